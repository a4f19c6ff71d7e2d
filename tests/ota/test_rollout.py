"""Staged rollouts end to end: real repositories over HTTP, real vehicles, real lake DTCs.

A bad build (vehicles that install it report a DTC about once an hour, against
a fleet background of one every ~40 h) halts at the first wave and is rolled
back automatically: the director then assigns the old version, and a vehicle
refreshing installs the old image. A good build advances through every wave.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from sqlalchemy import select

from drivetrain.fleet import VehicleRecord
from drivetrain.governance.access import AccessContext
from drivetrain.governance.governed_read import governed_read
from drivetrain.governance.principals import Principal
from drivetrain.governance.provenance import explain
from drivetrain.lake import Lake
from drivetrain.ota import Ecu, PrimaryEcu
from drivetrain.ota.campaigns import GateSettings, WavePlan, create_campaign, get_campaign
from drivetrain.ota.health_gates import LakeHealthSignals
from drivetrain.ota.rollout import report_install, start_campaign, tick
from drivetrain.state.ota_models import OtaInstallHistoryRow, OtaRolloutDecisionRow

from .conftest import UpdateWorld
from .test_campaigns import (
    T0,
    Setup,
    StaticHealth,
    add_release,
    decisions,
    fleet,
    migrated_url,
    rollout_rows,
    setup_factory,
    state_url,
)

__all__ = ["migrated_url", "setup_factory", "state_url"]

ECUS = (Ecu("BMS", "bms-hw-a"), Ecu("GW", "gw-hw-b"))
BACKGROUND_PER_H = 1 / 40
BAD_BUILD_PER_H = 1.0
INSTALL_DELAY = timedelta(minutes=10)


class FleetDtcs:
    """DTC events of the fleet, written to the lake's dtc_events table."""

    def __init__(self, lake: Lake, vehicles: list[VehicleRecord]) -> None:
        self.lake = lake
        self.rng = np.random.default_rng(12)
        start, hours = T0 - timedelta(days=5), 24 * 12
        self._write([v.vehicle_id for v in vehicles], start, hours, BACKGROUND_PER_H)

    def raise_rate(self, vehicle_id: str, since: datetime, hours: int) -> None:
        self._write([vehicle_id], since, hours, BAD_BUILD_PER_H)

    def _write(self, ids: list[str], start: datetime, hours: int, rate: float) -> None:
        rows: dict[str, list[object]] = {
            "vehicle_id": [],
            "ts": [],
            "dtc": [],
            "ecu": [],
            "status": [],
        }
        for vehicle_id in ids:
            count = int(self.rng.poisson(rate * hours))
            for offset in np.sort(self.rng.uniform(0, hours * 3600, count)):
                rows["vehicle_id"].append(vehicle_id)
                rows["ts"].append(start + timedelta(seconds=float(offset)))
                rows["dtc"].append("P0A80" if rate > BACKGROUND_PER_H else "U0100")
                rows["ecu"].append("BMS")
                rows["status"].append("confirmed")
        if rows["vehicle_id"]:
            rows["ts"] = pa.array(rows["ts"], pa.timestamp("us", tz="UTC"))  # type: ignore[assignment]
            self.lake.append("dtc_events", pa.table(rows))


def lake_signals(lake: Lake, vehicles: list[VehicleRecord]) -> LakeHealthSignals:
    """The health gate's reads go through governance as a fleet analyst for vehicle_health."""
    principal = Principal.of(
        "ota-rollout", roles=["fleet_analyst"], brands=["*"], regions=["*"], country="DE"
    )
    context = AccessContext(principal, "vehicle_health")
    return LakeHealthSignals(
        lambda: governed_read(
            lake, "dtc_events", context, vehicles, ["vehicle_id", "ts", "status"]
        ),
        versions=lambda: {"dtc_events": lake.version("dtc_events") or 0},
    )


def vehicle(world: UpdateWorld, vehicle_id: str) -> PrimaryEcu:
    return PrimaryEcu(
        vehicle_id,
        list(ECUS),
        world.tmp / "vehicles" / vehicle_id,
        image_url=f"{world.server.url}/image",
        director_url=f"{world.server.url}/director",
        image_root=world.image.root_bytes(1),
        director_root=world.director.root_bytes(1),
    )


def install_offered(
    s: Setup, world: UpdateWorld, campaign_id: str, at: datetime, done: set[str]
) -> list[str]:
    """Every newly offered vehicle updates over HTTP and reports its installed version."""
    installed = []
    for vehicle_id, row in sorted(rollout_rows(s, campaign_id).items()):
        if row.status != "offered" or vehicle_id in done:
            continue
        (image,) = vehicle(world, vehicle_id).update()
        report_install(
            s.ctx,
            campaign_id,
            vehicle_id,
            version=image.version,
            outcome="installed",
            at=at + INSTALL_DELAY,
        )
        done.add(vehicle_id)
        installed.append(vehicle_id)
    return installed


N = 120
GATES = GateSettings(maintenance_window=(0, 24))


@pytest.mark.slow
def test_a_bad_build_halts_at_the_first_wave_and_is_rolled_back(
    setup_factory: Callable[..., Setup], world: UpdateWorld, tmp_path: Path
) -> None:
    vehicles = fleet(N)
    lake = Lake(tmp_path / "lake")
    dtcs = FleetDtcs(lake, vehicles)
    s = setup_factory(vehicles, lake_signals(lake, vehicles))
    add_release(s, "bms-2.2.0-bad", data=b"BMS 2.2.0 with a bad current sensor filter")
    create_campaign(s.session, campaign_id="bad", release_id="bms-2.2.0-bad", gates=GATES, at=T0)

    started = start_campaign(s.ctx, "bad", T0)
    assert started.evidence["wave_sizes"] == [2, 10, 48, 60]
    done: set[str] = set()
    wave0 = install_offered(s, world, "bad", T0, done)
    assert len(wave0) == 2
    for vehicle_id in wave0:
        dtcs.raise_rate(vehicle_id, T0 + INSTALL_DELAY, 48)

    early = tick(s.ctx, "bad", T0 + timedelta(hours=1))  # too few events to judge
    assert early.outcome == "hold" and "soak time" in early.evidence["waiting_for"]
    halted = tick(s.ctx, "bad", T0 + timedelta(hours=8))
    assert halted.outcome == "rollback" and halted.wave == 0
    (dtc,) = [h for h in halted.evidence["health"] if h["signal"] == "dtc"]
    assert dtc["verdict"] == "fail" and dtc["p_value"] < GATES.alpha
    assert dtc["updated_rate_per_h"] > 10 * dtc["control_rate_per_h"]
    assert get_campaign(s.session, "bad").status == "rolled_back"
    assert decisions(s, "bad") == ["start", "pause", "rollback"]

    # the director now tells wave-0 vehicles to run 2.1.0 again, and nobody else anything
    assert sorted(s.director.vehicles()) == sorted(wave0)
    for vehicle_id in wave0:
        (assignment,) = s.director.assignments(vehicle_id)
        assert assignment.image.version == "2.1.0"
        assert assignment.image.release_counter > 22  # re-released: vehicles refuse a downgrade
        (back,) = vehicle(world, vehicle_id).update()
        assert (back.version, back.sha256) == ("2.1.0", world.bms_image.hashes["sha256"])
        report_install(
            s.ctx,
            "bad",
            vehicle_id,
            version=back.version,
            outcome="installed",
            at=T0 + timedelta(hours=9),
        )
    history = s.session.scalars(
        select(OtaInstallHistoryRow)
        .where(OtaInstallHistoryRow.vehicle_id == wave0[0])
        .order_by(OtaInstallHistoryRow.id)
    ).all()
    assert [(h.from_version, h.to_version, h.outcome) for h in history] == [
        ("2.1.0", "2.2.0", "installed"),
        ("2.2.0", "2.1.0", "rolled_back"),
    ]
    rollback = s.session.scalars(
        select(OtaRolloutDecisionRow).where(OtaRolloutDecisionRow.decision == "rollback")
    ).one()
    record = explain(s.audit, rollback.output_id)
    assert record.output_kind == "rollout_decision" and record.inputs["dtc_events"] >= 1
    assert record.params["evidence"]["rolled_back_vehicles"] == 2
    assert tick(s.ctx, "bad", T0 + timedelta(days=2)).outcome == "rolled_back"


@pytest.mark.slow
def test_a_good_build_advances_through_every_wave(
    setup_factory: Callable[..., Setup], world: UpdateWorld, tmp_path: Path
) -> None:
    vehicles = fleet(N)
    lake = Lake(tmp_path / "lake")
    FleetDtcs(lake, vehicles)
    s = setup_factory(vehicles, lake_signals(lake, vehicles))
    add_release(s, "bms-2.2.0", data=b"BMS 2.2.0, a good one")
    create_campaign(s.session, campaign_id="good", release_id="bms-2.2.0", gates=GATES, at=T0)
    start_campaign(s.ctx, "good", T0)
    done: set[str] = set()
    outcomes = []
    at = T0
    for _ in range(4):
        install_offered(s, world, "good", at, done)
        at += timedelta(hours=24)
        result = tick(s.ctx, "good", at)
        outcomes.append(result.outcome)
    assert outcomes == ["advance", "advance", "advance", "complete"]
    assert len(done) == N
    assert decisions(s, "good") == ["start", "advance", "advance", "advance", "complete"]
    assert get_campaign(s.session, "good").status == "completed"
    assert result.evidence["health"][0]["control"] == "same vehicles before install"
    assert {a.image.version for v in s.director.vehicles() for a in s.director.assignments(v)} == {
        "2.2.0"
    }


def test_a_wave_waits_for_its_soak_time(setup_factory: Callable[..., Setup]) -> None:
    s = setup_factory(fleet(10))
    add_release(s)
    gates = GateSettings(maintenance_window=(0, 24), min_exposure_h=1.0)
    create_campaign(
        s.session,
        campaign_id="soak",
        release_id="bms-2.2.0",
        gates=gates,
        waves=[WavePlan(0.5, min_soak_s=3 * 3600), WavePlan(1.0)],
        at=T0,
    )
    start_campaign(s.ctx, "soak", T0)
    for vehicle_id, row in rollout_rows(s, "soak").items():
        if row.status == "offered":
            report_install(
                s.ctx,
                "soak",
                vehicle_id,
                version="2.2.0",
                outcome="installed",
                at=T0 + INSTALL_DELAY,
            )
    held = tick(s.ctx, "soak", T0 + timedelta(hours=2, minutes=59))
    assert held.outcome == "hold" and held.evidence["waiting_for"] == ["soak time"]
    assert tick(s.ctx, "soak", T0 + timedelta(hours=3)).outcome == "advance"


def test_install_failures_above_the_error_threshold_halt_the_wave(
    setup_factory: Callable[..., Setup],
) -> None:
    s = setup_factory(fleet(40))
    add_release(s)
    create_campaign(
        s.session,
        campaign_id="err",
        release_id="bms-2.2.0",
        gates=GATES,
        waves=[WavePlan(0.25, max_error_rate=0.2, min_soak_s=0), WavePlan(1.0)],
        at=T0,
    )
    start_campaign(s.ctx, "err", T0)
    offered = sorted(v for v, r in rollout_rows(s, "err").items() if r.status == "offered")
    assert len(offered) == 10
    for n, vehicle_id in enumerate(offered):
        outcome = "failed" if n < 2 else "installed"  # 20 %: at the threshold, not above
        version = "2.1.0" if outcome == "failed" else "2.2.0"
        report_install(
            s.ctx, "err", vehicle_id, version=version, outcome=outcome, at=T0 + INSTALL_DELAY
        )
    s.ctx.health = StaticHealth()
    assert tick(s.ctx, "err", T0 + timedelta(hours=1)).outcome == "hold"  # success 80 % < 90 %
    report_install(
        s.ctx, "err", offered[2], version="2.1.0", outcome="failed", at=T0 + timedelta(hours=1)
    )
    halted = tick(s.ctx, "err", T0 + timedelta(hours=2))
    assert halted.outcome == "rollback" and halted.evidence["error_rate"] == pytest.approx(0.3)
    assert get_campaign(s.session, "err").status_reason.startswith("wave 0: error rate 30.0%")


def test_without_auto_rollback_a_failed_gate_only_pauses(
    setup_factory: Callable[..., Setup],
) -> None:
    s = setup_factory(fleet(4))
    add_release(s)
    gates = GateSettings(maintenance_window=(0, 24), auto_rollback=False)
    create_campaign(
        s.session,
        campaign_id="p",
        release_id="bms-2.2.0",
        gates=gates,
        waves=[WavePlan(0.5, min_soak_s=0), WavePlan(1.0)],
        at=T0,
    )
    start_campaign(s.ctx, "p", T0)
    offered = [v for v, r in rollout_rows(s, "p").items() if r.status == "offered"]
    for vehicle_id in offered:
        report_install(s.ctx, "p", vehicle_id, version="2.1.0", outcome="failed", at=T0)
    assert tick(s.ctx, "p", T0 + timedelta(hours=1)).outcome == "pause"
    assert get_campaign(s.session, "p").status == "paused"
    assert [a.image.version for a in s.director.assignments(offered[0])] == ["2.2.0"]
