"""The running gateway re-reads its collection gate: withdrawals and new vehicles apply."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from drivetrain.catalog import get_vehicle_model
from drivetrain.cli.main import app
from drivetrain.demo.can_export import can_frames
from drivetrain.errors import InputError, StorageError
from drivetrain.fleet import VehicleRecord, register_vehicles
from drivetrain.fleet.vin import make_vin
from drivetrain.governance.consent import give_consent, withdraw_consent
from drivetrain.governance.keys import Keyring
from drivetrain.governance.sealing import read_opened
from drivetrain.governance.subjects import link_vehicle, register_subject
from drivetrain.ingest import Campaign, CampaignFilter, VehicleTarget, create_campaign
from drivetrain.ingest.campaigns import NOT_TARGETED, THINNED
from drivetrain.ingest.can_logs import candump_lines
from drivetrain.ingest.can_payload import can_payload_decoder
from drivetrain.ingest.gate_refresh import ControlPlaneGate, GateRefresher
from drivetrain.ingest.gateway import Gateway
from drivetrain.lake import Lake
from drivetrain.state import migrate, session_scope

from .conftest import Broker
from .test_gateway import config, publish

SPEED = "Vehicle.Speed"
LAT = "Vehicle.CurrentLocation.Latitude"
LON = "Vehicle.CurrentLocation.Longitude"
MODEL = "hyundai-i30"
OWNED = "veh_000000000001"
NEW = "veh_000000000002"
T0 = datetime(2020, 1, 1, tzinfo=UTC)
REFRESH_S = 0.3

Message = tuple[str, bytes]
StartGateway = Callable[..., Gateway]


def register(url: str, n: int) -> str:
    """Register EU vehicle ``n`` of MODEL; its id."""
    vehicle_id = f"veh_{n:012d}"
    record = VehicleRecord(
        vehicle_id=vehicle_id,
        vin=make_vin("KMH", "AB12C", 2024, "K", f"{n:06d}"),
        brand="Hyundai",
        model_id=MODEL,
        model_name="i30",
        model_year=2024,
        platform="PD",
        market="DE",
        region="eu",
        powertrain="ice",
    )
    with session_scope(url) as s:
        register_vehicles(s, [record])
    return vehicle_id


@pytest.fixture
def state(tmp_path: Path) -> tuple[str, ControlPlaneGate]:
    """Vehicle OWNED, whose owner alice consented to location for vehicle_health, and an
    active campaign for speed and position; the gate source the CLI's gateway uses."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    migrate(url)
    register(url, 1)
    with session_scope(url) as s:
        register_subject(s, "alice", kind="owner", display_name="Alice", region="eu")
        link_vehicle(s, "alice", OWNED, "owner", T0)
        give_consent(s, "alice", "vehicle_health", "location", notice_version="v1", at=T0)
        create_campaign(s, Campaign("speed-and-where", "vehicle_health", (SPEED, LAT, LON)))
    return url, ControlPlaneGate(url, Keyring.load_or_create(tmp_path))


@pytest.fixture
def start_gateway(broker: Broker, tmp_path: Path) -> Iterator[StartGateway]:
    """Run a gateway in a thread; it is stopped (flushed) and joined when the test ends."""
    runs: list[tuple[Gateway, threading.Thread]] = []

    def start(kinds: tuple[str, ...] = ("vss",), **kwargs: object) -> Gateway:
        settings = config(broker, batch_seconds=0.1, kinds=kinds)
        gateway = Gateway(Lake(tmp_path / "lake"), settings, **kwargs)
        gateway.open()
        runner = threading.Thread(target=gateway.run, kwargs={"duration_s": 60})
        runner.start()
        runs.append((gateway, runner))
        return gateway

    yield start
    for gateway, runner in runs:
        gateway.stop()
        runner.join(timeout=10)


def vss(vehicle: str, signals: dict[str, float]) -> tuple[Message, int]:
    """A VSS JSON message of ``vehicle`` stamped now, and that time in µs."""
    ts_ns = time.time_ns()
    payload = json.dumps({"ts": ts_ns, "signals": signals}).encode()
    return (f"vehicles/{vehicle}/vss", payload), ts_ns // 1000


def position_and_speed(vehicle: str) -> tuple[Message, int]:
    return vss(vehicle, {SPEED: 50.0, LAT: 48.1, LON: 11.6})


def can_speed(vehicle: str) -> tuple[Message, int]:
    """A candump line carrying Vehicle.Speed, encoded with MODEL's DBC, stamped now."""
    ts_us = time.time_ns() // 1000
    telemetry = pa.table(
        {
            "vehicle_id": [vehicle],
            "ts": pa.array([ts_us], pa.timestamp("us", tz="UTC")),
            "signal": [SPEED],
            "value": [42.0],
        }
    )
    lines = candump_lines(can_frames(telemetry, get_vehicle_model(MODEL)))
    return (f"vehicles/{vehicle}/can", "\n".join(lines).encode()), ts_us


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def send(broker: Broker, gateway: Gateway, *messages: Message) -> None:
    """Publish, then wait until the gateway has stored the batch and acknowledged them."""
    expected = gateway.stats.acked + len(messages)
    publish(broker.port, messages)
    wait_for(lambda: gateway.stats.acked >= expected, f"{len(messages)} acknowledgement(s)")


def keys(lake: Lake, table: str, vehicle: str) -> list[tuple[int, str]]:
    """(ts in µs, signal) of ``vehicle``'s rows in ``table``, sorted."""
    if not lake.exists(table):
        return []
    found = lake.read(table, filter=pc.field("vehicle_id") == vehicle)
    ts_us = pc.cast(found["ts"], pa.int64()).to_pylist()
    return sorted(zip(ts_us, found["signal"].to_pylist(), strict=True))


# -- against the broker -----------------------------------------------------------


def test_a_withdrawal_stops_location_after_a_refresh_and_speed_is_still_stored(
    broker: Broker, state: tuple[str, ControlPlaneGate], start_gateway: StartGateway
) -> None:
    url, control_plane = state
    gateway = start_gateway(gate_factory=control_plane, refresh_s=REFRESH_S)
    before, before_us = position_and_speed(OWNED)
    send(broker, gateway, before)
    with session_scope(url) as s:
        withdraw_consent(s, "alice", "vehicle_health", "location")
    time.sleep(REFRESH_S)  # the next batch opens a refresh interval after the last one
    after, after_us = position_and_speed(OWNED)
    send(broker, gateway, after)

    lake = gateway.lake
    assert keys(lake, "telemetry", OWNED) == [(before_us, SPEED), (after_us, SPEED)]
    assert keys(lake, "telemetry_sealed", OWNED) == [(before_us, LAT), (before_us, LON)]
    with session_scope(url) as s:
        opened = read_opened(s, control_plane.keyring, lake.read("telemetry_sealed"))
    assert sorted(opened.telemetry["value"].to_pylist()) == [11.6, 48.1]
    assert gateway.stats.dropped_rows == 2  # the position sent after the withdrawal
    assert gateway.stats.gate_refreshes >= 1
    assert gateway.stats.gate_refresh_failures == 0


def test_a_vehicle_registered_while_running_is_collected_after_a_refresh(
    broker: Broker, state: tuple[str, ControlPlaneGate], start_gateway: StartGateway
) -> None:
    url, control_plane = state
    decoders = {"can": can_payload_decoder(control_plane.vehicle_models)}
    gateway = start_gateway(
        ("vss", "can"), gate_factory=control_plane, refresh_s=REFRESH_S, decoders=decoders
    )
    early_vss, _ = vss(NEW, {SPEED: 30.0})
    early_can, _ = can_speed(NEW)
    send(broker, gateway, early_vss, early_can)
    assert register(url, 2) == NEW
    time.sleep(REFRESH_S)
    late_vss, vss_us = vss(NEW, {SPEED: 31.0})
    late_can, can_us = can_speed(NEW)
    send(broker, gateway, late_vss, late_can)

    lake = gateway.lake
    assert keys(lake, "telemetry", NEW) == sorted([(vss_us, SPEED), (can_us, SPEED)])
    # before the refresh: VSS rows dropped as untargeted, CAN unreadable without the model
    assert gateway.stats.dropped_rows == 1
    reasons = lake.read("quarantine", filter=pc.field("vehicle_id") == NEW)["reason"]
    assert reasons.to_pylist() == [
        f"vehicle {NEW!r} is not registered, so its DBC files are unknown"
    ]
    assert gateway.stats.gate_refreshes >= 1


class StateDatabaseDown:
    """A gate factory that fails like an unreachable state database while ``down``."""

    def __init__(self, control_plane: ControlPlaneGate) -> None:
        self.control_plane = control_plane
        self.down = False

    def __call__(self) -> CampaignFilter:
        if self.down:
            raise StorageError("the state database at sqlite:///state.db is not reachable")
        return self.control_plane()


def test_a_failed_refresh_is_logged_and_the_previous_gate_kept_until_one_succeeds(
    broker: Broker,
    state: tuple[str, ControlPlaneGate],
    start_gateway: StartGateway,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, control_plane = state
    factory = StateDatabaseDown(control_plane)
    gateway = start_gateway(gate_factory=factory, refresh_s=REFRESH_S)
    caplog.set_level(logging.WARNING, logger="drivetrain.ingest.gate_refresh")
    factory.down = True
    with session_scope(url) as s:
        withdraw_consent(s, "alice", "vehicle_health", "location")
    time.sleep(REFRESH_S)
    stale, stale_us = position_and_speed(OWNED)
    send(broker, gateway, stale)
    assert gateway.stats.gate_refresh_failures == 1
    # stored under the previous gate: the withdrawal is not known yet
    assert keys(gateway.lake, "telemetry_sealed", OWNED) == [(stale_us, LAT), (stale_us, LON)]
    assert keys(gateway.lake, "telemetry", OWNED) == [(stale_us, SPEED)]
    (failure,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "cannot refresh the collection gate" in failure.getMessage()
    assert "not reachable" in failure.getMessage()
    assert "not applied yet" in failure.getMessage()

    factory.down = False
    time.sleep(REFRESH_S)
    fresh, fresh_us = position_and_speed(OWNED)
    send(broker, gateway, fresh)
    assert keys(gateway.lake, "telemetry", OWNED) == [(stale_us, SPEED), (fresh_us, SPEED)]
    assert keys(gateway.lake, "telemetry_sealed", OWNED) == [(stale_us, LAT), (stale_us, LON)]
    assert gateway.stats.gate_refreshes >= 1
    assert any("refreshed after 1 failed attempt" in r.getMessage() for r in caplog.records)


def test_the_cli_gateway_refreshes_at_the_given_interval(
    broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIVETRAIN_MQTT_PORT", str(broker.port))
    runner = CliRunner()

    def gateway_run(*args: str) -> dict[str, float]:
        result = runner.invoke(
            app, ["--data-dir", str(tmp_path), "gateway", "run", *args, "--json"]
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    gateway_run("--duration", "0.2")  # opens the persistent session
    publish(broker.port, [vss("veh_unregistered", {SPEED: 1.0})[0]])
    stats = gateway_run("--max-messages", "1", "--duration", "20", "--refresh-seconds", "0")
    assert (stats["received"], stats["gate_refreshes"], stats["gate_refresh_failures"]) == (1, 1, 0)
    refused = runner.invoke(
        app, ["--data-dir", str(tmp_path), "gateway", "run", "--refresh-seconds", "-1"]
    )
    assert refused.exit_code == 2 and "refresh-seconds" in refused.output


# -- the refresher alone ----------------------------------------------------------


def test_the_gate_is_rebuilt_only_once_the_interval_has_passed() -> None:
    now = [0.0]
    built: list[CampaignFilter] = []

    def factory() -> CampaignFilter:
        built.append(CampaignFilter([], {}))
        return built[-1]

    refresher = GateRefresher(factory, 10.0, clock=lambda: now[0])
    assert len(built) == 1 and refresher.current is built[0]
    now[0] = 9.9
    assert refresher.refreshed() is built[0]
    now[0] = 10.0
    assert refresher.refreshed() is built[1]
    assert (refresher.refreshes, refresher.failures) == (1, 0)
    with pytest.raises(InputError, match="refresh interval"):
        GateRefresher(factory, -1.0)


def test_a_refresh_keeps_the_sampling_state_of_unchanged_campaigns() -> None:
    hourly = Campaign("hourly", "vehicle_health", (SPEED,), period_s=3600)
    campaigns = [hourly]
    targets = {OWNED: VehicleTarget("Hyundai", MODEL, "DE")}
    refresher = GateRefresher(lambda: CampaignFilter(campaigns, targets), 0.0)  # every batch

    def kept(minute: int) -> tuple[int, dict[str, int]]:
        batch = pa.RecordBatch.from_pydict(
            {
                "vehicle_id": [OWNED],
                "ts": pa.array(
                    [datetime(2026, 3, 9, 8, minute, tzinfo=UTC)], pa.timestamp("us", tz="UTC")
                ),
                "signal": [SPEED],
                "value": [1.0],
            }
        )
        rows, dropped = refresher.refreshed().apply(batch)
        return rows.num_rows, dict(dropped)

    assert kept(0) == (1, {})
    assert kept(10) == (0, {THINNED: 1})  # a rebuilt gate, the same hour: not sampled again
    campaigns[0] = replace(hourly, period_s=1800)
    assert kept(20) == (1, {})  # a changed campaign starts afresh
    campaigns.clear()
    assert kept(40) == (0, {NOT_TARGETED: 1})  # and a stopped one collects no more
    assert refresher.refreshes == 4
