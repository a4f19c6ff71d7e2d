"""The MQTT gateway against a real Mosquitto: at least once delivered, stored exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from drivetrain.ingest.gateway import Gateway, GatewayConfig
from drivetrain.ingest.vss_json import PayloadRejected, decode_vss_json, parse_ts_ns
from drivetrain.lake import Lake
from tests.ingest.conftest import Broker

SIGNALS = ("Vehicle.Speed", "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current")
T0 = 1_790_841_600_000_000_000  # 2026-10-01T08:00:00Z in ns
KNOWN = frozenset({*SIGNALS, "Vehicle.Acceleration.Longitudinal"})


def sample(i: int, vehicle: str = "V1") -> tuple[str, bytes]:
    """Message i: two signals at T0 + i ms + 123 µs, values derived from i."""
    body = {
        "ts": T0 + i * 1_000_000 + 123_000,
        "signals": {SIGNALS[0]: i + 0.25, SIGNALS[1]: (i % 100) + 0.5},
        "msg_id": f"{vehicle}-{i}",
    }
    return f"vehicles/{vehicle}/vss", json.dumps(body).encode()


def publish(port: int, messages: Iterable[tuple[str, bytes]]) -> None:
    """Publish at QoS 1 and wait for every PUBACK."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(timeout=10)
    client.disconnect()
    client.loop_stop()


def config(broker: Broker, **overrides: object) -> GatewayConfig:
    base: dict[str, object] = {"port": broker.port, "batch_seconds": 0.3, "reconnect_max_s": 2}
    return GatewayConfig(**(base | overrides))  # type: ignore[arg-type]


def telemetry(lake: Lake) -> pa.Table:
    return lake.read("telemetry", columns=["vehicle_id", "ts", "signal", "value"]).sort_by(
        [("vehicle_id", "ascending"), ("ts", "ascending"), ("signal", "ascending")]
    )


def assert_exactly(lake: Lake, expected_messages: Iterable[int], vehicle: str = "V1") -> None:
    table = telemetry(lake).filter(pc.field("vehicle_id") == vehicle)
    wanted = sorted(expected_messages)
    assert table.num_rows == 2 * len(wanted)
    keys = set(zip(*(table[c].to_pylist() for c in ("ts", "signal")), strict=True))
    assert len(keys) == table.num_rows, "a key is stored twice"
    ts_us = pc.cast(table["ts"], pa.int64()).to_pylist()
    assert ts_us[::2] == [(T0 + i * 1_000_000 + 123_000) // 1000 for i in wanted]
    speed = table.filter(pc.field("signal") == SIGNALS[0])["value"].to_pylist()
    assert speed == [i + 0.25 for i in wanted]


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


# -- payloads -----------------------------------------------------------------


def test_timestamps_parse_to_exact_nanoseconds() -> None:
    assert parse_ts_ns("2026-10-01T08:00:00.123456Z") == T0 + 123_456_000
    assert parse_ts_ns("2026-10-01T10:00:00.123456789+02:00") == T0 + 123_456_789
    assert parse_ts_ns(T0) == T0
    with pytest.raises(ValueError, match="nanoseconds"):
        parse_ts_ns(1_790_841_600)
    with pytest.raises(ValueError, match="UTC offset"):
        parse_ts_ns("2026-10-01T08:00:00")


def test_batch_payload_decodes_and_refuses_unknown_signals_only() -> None:
    payload = json.dumps(
        {
            "samples": [
                {"ts": "2026-10-01T08:00:00Z", "signals": {SIGNALS[0]: 1, "Vehicle.Nope": 2.0}},
                {"ts": T0 + 1000, "signals": {SIGNALS[1]: 55.5}},
            ]
        }
    ).encode()
    decoded = decode_vss_json("V1", payload, KNOWN)
    assert decoded.signals == [SIGNALS[0], SIGNALS[1]]
    assert decoded.ts_us == [T0 // 1000, T0 // 1000 + 1]
    assert decoded.rejected == [("sample 0 signal Vehicle.Nope", "signal is not in the catalog")]


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"ts": 1, "signals": {}}', "invalid VSS JSON sample"),
        (b'{"ts": "2026-10-01T08:00:00Z", "signals": {"Vehicle.Speed": "fast"}}', "number"),
        (b'{"samples": [{"ts": "x", "signals": {"Vehicle.Speed": 1}}]}', "samples.0.ts"),
        (
            b'{"vehicle_id": "V2", "ts": "2026-10-01T08:00:00Z", "signals": {"Vehicle.Speed": 1}}',
            "differs from the topic",
        ),
    ],
)
def test_malformed_payloads_are_refused_with_a_reason(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadRejected, match=reason):
        decode_vss_json("V1", payload, KNOWN)


# -- against the broker -------------------------------------------------------


def test_messages_are_stored_with_exact_values_and_timestamps(broker: Broker, lake: Lake) -> None:
    with Gateway(lake, config(broker), known_signals=KNOWN) as gateway:
        publish(broker.port, [sample(i) for i in range(50)])
        stats = gateway.run(max_messages=50, duration_s=20)
    assert_exactly(lake, range(50))
    assert (stats.received, stats.stored_rows, stats.acked) == (50, 100, 50)
    assert stats.duplicate_rows == stats.quarantined == 0


def test_a_message_delivered_twice_is_stored_once(broker: Broker, lake: Lake) -> None:
    with Gateway(lake, config(broker, batch_seconds=0.2), known_signals=KNOWN) as gateway:
        publish(broker.port, [sample(1), sample(1), sample(2)])  # twice in one batch
        gateway.run(max_messages=3, duration_s=20)
    with Gateway(lake, config(broker), known_signals=KNOWN) as gateway:
        publish(broker.port, [sample(1), sample(3)])  # again, against the lake
        stats = gateway.run(max_messages=2, duration_s=20)
    assert_exactly(lake, [1, 2, 3])
    assert stats.duplicate_rows == 2


def test_poison_messages_are_quarantined_and_good_ones_kept(broker: Broker, lake: Lake) -> None:
    unknown = json.dumps({"ts": T0, "signals": {SIGNALS[0]: 9.0, "Vehicle.Warp.Factor": 9.0}})
    poison = [
        ("vehicles/V1/vss", b"{this is not json"),
        ("vehicles/bad id!/vss", sample(7)[1]),
        ("vehicles/V1/vss", unknown.encode()),
        ("vehicles/V1/vss", b'{"ts": 1790841600000000000, "signals": {"Vehicle.Speed": "9"}}'),
        ("vehicles/V1/vss", b"x" * 10_000),
    ]
    good = [sample(i) for i in range(5)]
    with Gateway(lake, config(broker, batch_seconds=1.0), known_signals=KNOWN) as gateway:
        publish(broker.port, [good[0], *poison[:3], good[1], *poison[3:], *good[2:]])
        stats = gateway.run(max_messages=10, duration_s=20)
    stored = telemetry(lake)
    assert stored.num_rows == 2 * 5 + 1  # five good messages + the known signal of `unknown`
    assert stats.batches == 1 and stats.acked == 10 and stats.rejected_messages == 4
    quarantine = lake.read("quarantine").to_pylist()
    expected = [
        "payload is not valid JSON",
        "vehicle id 'bad id!' in the topic must be 1-64 of",
        "signal is not in the catalog",
        "invalid VSS JSON sample: signals.Vehicle.Speed: Input should be a valid number",
        "payload is not valid JSON",  # the 10 kB of 'x'
    ]
    reasons = sorted(q["reason"] for q in quarantine)
    for prefix in expected:
        match = next(r for r in reasons if r.startswith(prefix))
        reasons.remove(match)
    assert reasons == []
    assert len(quarantine) == 5
    by_reason = {q["reason"]: q for q in quarantine}
    catalog_miss = by_reason["signal is not in the catalog"]
    # only the refused signal is kept, not the payload (whose other signals may be
    # location data that campaigns or the legal basis refused)
    assert json.loads(catalog_miss["record"]) == {"refused": "sample 0 signal Vehicle.Warp.Factor"}
    assert unknown  # the message itself carried more
    assert "vehicles/V1/vss" in catalog_miss["location"]
    assert "Vehicle.Warp.Factor" in catalog_miss["location"]
    assert all(len(q["record"]) < 4200 for q in quarantine)
    assert all(q["source"] == f"mqtt://127.0.0.1:{broker.port}" for q in quarantine)


def test_broker_restart_mid_stream_loses_nothing_and_duplicates_nothing(
    broker: Broker, lake: Lake
) -> None:
    gateway = Gateway(lake, config(broker, batch_seconds=0.5), known_signals=KNOWN)
    gateway.open()
    runner = threading.Thread(target=gateway.run, kwargs={"duration_s": 60})
    runner.start()
    try:
        publish(broker.port, [sample(i) for i in range(200)])
        broker.restart()  # some of the 200 are still unacknowledged in the gateway's batch
        publish(broker.port, [sample(i) for i in range(200, 400)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if lake.exists("telemetry") and telemetry(lake).num_rows >= 800:
                break
            time.sleep(0.2)
        time.sleep(1.0)  # let redelivered copies arrive: they must not be stored again
    finally:
        gateway.stop()
        runner.join(timeout=10)
    assert_exactly(lake, range(400))
    assert gateway.stats.reconnects >= 1
    assert gateway.stats.stored_rows == 800


_CRASHING_GATEWAY = """
import os, signal, sys
from pathlib import Path
from drivetrain.ingest.gateway import Gateway, GatewayConfig
from drivetrain.lake import Lake

def crash(self, messages):
    os.kill(os.getpid(), signal.SIGKILL)  # stored in the lake, not yet acknowledged

Gateway._acknowledge = crash
config = GatewayConfig(port=int(sys.argv[2]), batch_seconds=0.3)
Gateway(Lake(Path(sys.argv[1])), config).run(max_messages=int(sys.argv[3]), duration_s=30)
"""


def test_gateway_killed_before_ack_gets_redelivery_and_stores_once(
    broker: Broker, lake: Lake
) -> None:
    Gateway(lake, config(broker), known_signals=KNOWN).open()  # the session exists first
    publish(broker.port, [sample(i) for i in range(30)])
    crashed = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(_CRASHING_GATEWAY),
            str(lake.root),
            str(broker.port),
            "30",
        ],
        check=False,
        timeout=60,
        capture_output=True,
    )
    assert crashed.returncode == -9, crashed.stderr.decode()
    assert_exactly(lake, range(30))  # committed before the crash
    with Gateway(lake, config(broker), known_signals=KNOWN) as gateway:
        stats = gateway.run(max_messages=30, duration_s=20)
    assert stats.received == 30, "the broker redelivers every unacknowledged message"
    assert (stats.stored_rows, stats.duplicate_rows, stats.acked) == (0, 60, 30)
    assert_exactly(lake, range(30))
    with Gateway(lake, config(broker), known_signals=KNOWN) as gateway:
        assert gateway.run(duration_s=1.0).received == 0, "acknowledged ones are not resent"


def test_lake_timestamps_are_utc_microseconds(broker: Broker, lake: Lake) -> None:
    iso = json.dumps(
        {"ts": "2026-10-01T10:00:00.654321987+02:00", "signals": {SIGNALS[0]: 3.5}}
    ).encode()
    with Gateway(lake, config(broker), known_signals=KNOWN) as gateway:
        publish(broker.port, [("vehicles/V9/vss", iso)])
        gateway.run(max_messages=1, duration_s=20)
    row = telemetry(lake).to_pylist()[0]
    assert row["ts"] == datetime(2026, 10, 1, 8, 0, 0, 654321, tzinfo=UTC)
    assert row["value"] == 3.5


@pytest.mark.slow
def test_published_fleet_arrives_as_the_simulator_writes_it(
    broker: Broker, lake: Lake, tmp_path: Path
) -> None:
    from drivetrain.demo import SimulationConfig, simulate_fleet
    from drivetrain.demo.publisher import publish_fleet

    sim = SimulationConfig(vehicles=3, days=1, period_s=60, seed=11)
    with Gateway(lake, config(broker, batch_seconds=0.5)) as gateway:
        report = publish_fleet(sim, port=broker.port, window_s=600)
        stats = gateway.run(max_messages=report.messages, duration_s=60)
    direct = Lake(tmp_path / "direct")
    simulate_fleet(sim, direct)
    assert stats.stored_rows == report.signals == telemetry(direct).num_rows
    assert telemetry(lake).equals(telemetry(direct))
    assert stats.duplicate_rows == stats.quarantined == 0
