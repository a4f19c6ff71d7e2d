"""Campaigns: targeting and its refusals, dependencies, wave assignment, preconditions, gates."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from drivetrain.fleet import EcuSoftware, VehicleRecord, make_vin, register_vehicles
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.consent import give_consent
from drivetrain.governance.provenance import explain
from drivetrain.governance.subjects import link_vehicle, register_subject
from drivetrain.ota import DirectorRepository, ImageRepository
from drivetrain.ota.campaigns import (
    GateSettings,
    Targeting,
    WavePlan,
    create_campaign,
    get_campaign,
    register_release,
)
from drivetrain.ota.health_gates import HealthCounts, ObservationWindow, compare_rates
from drivetrain.ota.preconditions import VehicleConditions, in_window
from drivetrain.ota.rollout import (
    RolloutContext,
    assign_waves,
    report_install,
    start_campaign,
    tick,
)
from drivetrain.ota.rollout_errors import (
    CampaignInputError,
    CampaignRefused,
    ImpossibleVersion,
)
from drivetrain.ota.versions import VersionRange
from drivetrain.state import session_scope
from drivetrain.state.ota_models import OtaRolloutDecisionRow, OtaRolloutVehicleRow

from .._services import migrated_url, state_url
from .conftest import BMS_IMAGE, UpdateWorld

__all__ = ["migrated_url", "state_url"]

T0 = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)  # 02:30 in Berlin: inside the 01-05 window
GOOD_CONDITIONS = VehicleConditions(parked=True, state_of_charge=0.8, timezone="Europe/Berlin")


def fleet(
    n: int,
    *,
    brand: str = "Mercedes-Benz",
    market: str = "DE",
    bms: str = "2.1.0",
    gw: str = "1.4.0",
    start: int = 0,
) -> list[VehicleRecord]:
    records = []
    for i in range(start, start + n):
        software = [EcuSoftware("BMS", "bms-hw-a", bms, T0 - timedelta(days=100))]
        if gw:
            software.append(EcuSoftware("GW", "gw-hw-b", gw, T0 - timedelta(days=100)))
        records.append(
            VehicleRecord(
                vehicle_id=f"veh_{i:05d}",
                vin=make_vin("WDD", "20500", 2024, "F", f"{i:06d}"),
                brand=brand,
                model_id="eqe",
                model_name="EQE",
                model_year=2024,
                platform="eva2",
                market=market,
                region="eu",
                powertrain="bev",
                software=tuple(software),
            )
        )
    return records


@dataclass
class StaticHealth:
    """Health signals from fixed events: (vehicle_id, ts) pairs per signal."""

    dtc: list[tuple[str, datetime]] = field(default_factory=list)
    anomalies: list[tuple[str, datetime]] = field(default_factory=list)

    def counts(self, windows: Sequence[ObservationWindow]) -> dict[str, HealthCounts]:
        def n(events: list[tuple[str, datetime]], w: ObservationWindow) -> int:
            return sum(1 for v, ts in events if v == w.vehicle_id and w.start <= ts < w.end)

        return {w.vehicle_id: HealthCounts(n(self.dtc, w), n(self.anomalies, w)) for w in windows}

    def inputs(self) -> dict[str, int]:
        return {}


@dataclass
class Setup:
    session: Session
    ctx: RolloutContext
    audit: AuditLog
    image: ImageRepository
    director: DirectorRepository
    conditions: dict[str, VehicleConditions]


@pytest.fixture
def setup_factory(
    migrated_url: str, world: UpdateWorld, tmp_path: Path
) -> Iterator[Callable[..., Setup]]:
    scopes = []

    def make(vehicles: list[VehicleRecord], health: object | None = None) -> Setup:
        scope = session_scope(migrated_url)
        session = scope.__enter__()
        scopes.append(scope)
        register_vehicles(session, vehicles)
        audit = AuditLog(tmp_path / "audit")
        conditions = {v.vehicle_id: GOOD_CONDITIONS for v in vehicles}
        ctx = RolloutContext(
            session=session,
            image=world.image,
            director=world.director,
            audit=audit,
            health=health or StaticHealth(),  # type: ignore[arg-type]
            conditions=lambda vid, at: conditions.get(vid),
            consent=lambda vid, at: True,
        )
        return Setup(session, ctx, audit, world.image, world.director, conditions)

    yield make
    for scope in scopes:
        scope.__exit__(None, None, None)


def add_release(
    s: Setup,
    release_id: str = "bms-2.2.0",
    *,
    version: str = "2.2.0",
    counter: int = 22,
    data: bytes = b"BMS 2.2.0",
    safety: bool = True,
    requires: dict[str, str] | None = None,
    conflicts: dict[str, str] | None = None,
) -> None:
    s.image.add_image(
        f"bms/bms-{version}.bin",
        data,
        hardware_id="bms-hw-a",
        version=version,
        release_counter=counter,
    )
    register_release(
        s.session,
        s.image,
        release_id=release_id,
        ecu="BMS",
        image_path=f"bms/bms-{version}.bin",
        safety=safety,
        requires=requires,
        conflicts=conflicts,
        at=T0,
    )


def decisions(s: Setup, campaign_id: str) -> list[str]:
    rows = s.session.scalars(
        select(OtaRolloutDecisionRow)
        .where(OtaRolloutDecisionRow.campaign_id == campaign_id)
        .order_by(OtaRolloutDecisionRow.id)
    )
    return [r.decision for r in rows]


def rollout_rows(s: Setup, campaign_id: str) -> dict[str, OtaRolloutVehicleRow]:
    rows = s.session.scalars(
        select(OtaRolloutVehicleRow).where(OtaRolloutVehicleRow.campaign_id == campaign_id)
    )
    return {r.vehicle_id: r for r in rows}


# -- targeting ------------------------------------------------------------------


def test_targeting_by_brand_market_and_version(setup_factory: Callable[..., Setup]) -> None:
    vehicles = (
        fleet(4)
        + fleet(3, market="FR", start=10)
        + fleet(2, brand="Smart", start=20)
        + fleet(2, bms="2.0.0", start=30)
    )
    s = setup_factory(vehicles)
    s.image.add_image(
        "bms/bms-2.0.0.bin", b"old", hardware_id="bms-hw-a", version="2.0.0", release_counter=20
    )
    add_release(s)
    create_campaign(
        s.session,
        campaign_id="c1",
        release_id="bms-2.2.0",
        targeting=Targeting(brands=("Mercedes-Benz",), markets=("DE",), versions=("2.1.0",)),
        at=T0,
    )
    start_campaign(s.ctx, "c1", T0)
    assert sorted(rollout_rows(s, "c1")) == [f"veh_{i:05d}" for i in range(4)]
    assert decisions(s, "c1") == ["start"]


def test_a_campaign_targeting_nothing_is_refused(setup_factory: Callable[..., Setup]) -> None:
    s = setup_factory(fleet(3))
    add_release(s)
    create_campaign(
        s.session,
        campaign_id="none",
        release_id="bms-2.2.0",
        targeting=Targeting(markets=("JP",)),
        at=T0,
    )
    with pytest.raises(CampaignRefused, match=r"campaign none targets no vehicle.*JP"):
        start_campaign(s.ctx, "none", T0)
    assert get_campaign(s.session, "none").status == "draft"


def test_a_campaign_overlapping_a_running_one_is_refused(
    setup_factory: Callable[..., Setup],
) -> None:
    s = setup_factory(fleet(5))
    add_release(s)
    create_campaign(s.session, campaign_id="first", release_id="bms-2.2.0", at=T0)
    start_campaign(s.ctx, "first", T0)
    create_campaign(s.session, campaign_id="second", release_id="bms-2.2.0", at=T0)
    with pytest.raises(CampaignRefused, match=r"conflicts with running campaign first: 5 veh"):
        start_campaign(s.ctx, "second", T0)


def test_dependencies_and_conflicts_exclude_vehicles_with_reasons(
    setup_factory: Callable[..., Setup],
) -> None:
    vehicles = fleet(2) + fleet(2, gw="1.1.0", start=10) + fleet(1, gw="", start=20)
    vehicles += fleet(1, gw="1.9.3", start=30)
    s = setup_factory(vehicles)
    add_release(s, requires={"GW": ">=1.2,<2"}, conflicts={"GW": "==1.9.*"})
    create_campaign(s.session, campaign_id="dep", release_id="bms-2.2.0", at=T0)
    start_campaign(s.ctx, "dep", T0)
    assert sorted(rollout_rows(s, "dep")) == ["veh_00000", "veh_00001"]
    assert decisions(s, "dep") == ["exclusion", "start"]
    row = s.session.scalars(
        select(OtaRolloutDecisionRow).where(OtaRolloutDecisionRow.decision == "exclusion")
    ).one()
    params = explain(s.audit, row.output_id).params
    reasons = {e["vehicle_id"]: e["reason"] for e in params["evidence"]["vehicles"]}
    assert reasons["veh_00010"] == "bms-2.2.0 requires GW >=1.2,<2; GW runs 1.1.0"
    assert reasons["veh_00020"] == "bms-2.2.0 requires GW >=1.2,<2; the vehicle has no GW"
    assert reasons["veh_00030"] == "bms-2.2.0 conflicts with GW ==1.9.*; GW runs 1.9.3"
    assert params["evidence"]["counts"] == {"requires": 3, "conflicts": 1}


def test_a_vehicle_reporting_a_version_it_cannot_have_is_refused_and_audited(
    setup_factory: Callable[..., Setup],
) -> None:
    s = setup_factory(fleet(3) + fleet(1, bms="9.9.9", start=50))
    add_release(s)
    create_campaign(s.session, campaign_id="imp", release_id="bms-2.2.0", at=T0)
    start_campaign(s.ctx, "imp", T0)
    assert "veh_00050" not in rollout_rows(s, "imp")
    exclusion = s.session.scalars(
        select(OtaRolloutDecisionRow).where(OtaRolloutDecisionRow.decision == "exclusion")
    ).one()
    (excluded,) = explain(s.audit, exclusion.output_id).params["evidence"]["vehicles"]
    assert excluded["code"] == "impossible-version"
    with pytest.raises(ImpossibleVersion, match=r"reports BMS 7\.0\.0, which was never released"):
        report_install(s.ctx, "imp", "veh_00000", version="7.0.0", outcome="installed", at=T0)
    assert decisions(s, "imp")[-1] == "refusal"
    s.ctx.audit.verify()


def test_bad_definitions_are_refused_with_hints(setup_factory: Callable[..., Setup]) -> None:
    s = setup_factory(fleet(1))
    with pytest.raises(CampaignInputError, match="is not a comparison"):
        add_release(s, requires={"GW": "about 1.2"})
    add_release(s, "ok", version="2.3.0", counter=23)
    with pytest.raises(CampaignInputError, match="shares must rise"):
        create_campaign(
            s.session,
            campaign_id="w",
            release_id="ok",
            waves=[WavePlan(0.5), WavePlan(0.2), WavePlan(1.0)],
        )
    with pytest.raises(CampaignInputError, match="not 100 %"):
        create_campaign(s.session, campaign_id="w", release_id="ok", waves=[WavePlan(0.5)])
    with pytest.raises(CampaignInputError, match="built for bms-hw-a"):
        create_campaign(
            s.session, campaign_id="w", release_id="ok", targeting=Targeting(hardware=("bms-hw-z",))
        )


def test_version_ranges() -> None:
    assert VersionRange.parse(">=1.2,<2").contains("1.10.0")
    assert VersionRange.parse(">=1.2,<2").contains("1.9.9")
    assert not VersionRange.parse(">=1.2,<2").contains("2.0")
    assert VersionRange.parse("==2.*").contains("2.4.1")
    assert not VersionRange.parse("!=2.*").contains("2.4.1")


# -- waves ----------------------------------------------------------------------


def test_wave_assignment_is_deterministic_with_the_default_shares() -> None:
    ids = [f"veh_{i:05d}" for i in range(1000)]
    shares = [0.01, 0.10, 0.50, 1.00]
    first = assign_waves("c", ids, shares)
    assert first == assign_waves("c", list(reversed(ids)), shares)
    sizes = [sum(1 for w, _ in first.values() if w == i) for i in range(4)]
    assert sizes == [10, 90, 400, 500]
    other = assign_waves("other-campaign", ids, shares)
    wave0 = {v for v, (w, _) in first.items() if w == 0}
    assert wave0 != {v for v, (w, _) in other.items() if w == 0}  # the hash includes the campaign
    assert [
        sum(1 for w, _ in assign_waves("c", ids[:7], shares).values() if w == i) for i in range(4)
    ] == [1, 0, 3, 3]


# -- preconditions -----------------------------------------------------------------


def test_preconditions_defer_vehicles_until_they_hold(
    setup_factory: Callable[..., Setup],
) -> None:
    s = setup_factory(fleet(4))
    add_release(s)
    create_campaign(
        s.session,
        campaign_id="pre",
        release_id="bms-2.2.0",
        waves=[WavePlan(1.0, min_soak_s=0)],
        at=T0,
    )
    s.conditions["veh_00000"] = VehicleConditions(False, 0.8, "Europe/Berlin")
    s.conditions["veh_00001"] = VehicleConditions(True, 0.1, "Europe/Berlin")
    s.conditions["veh_00002"] = VehicleConditions(True, 0.8, "America/New_York")  # 20:30
    start_campaign(s.ctx, "pre", T0)
    rows = rollout_rows(s, "pre")
    assert rows["veh_00000"].status == "pending" and rows["veh_00000"].reason == "not parked"
    assert rows["veh_00001"].reason == "state of charge 10% below 30%"
    assert "outside the maintenance window 01:00-05:00" in rows["veh_00002"].reason
    assert rows["veh_00003"].status == "offered"
    assert [a.image.version for a in s.director.assignments("veh_00003")] == ["2.2.0"]
    assert "veh_00000" not in s.director.vehicles()
    s.conditions["veh_00000"] = GOOD_CONDITIONS
    tick(s.ctx, "pre", T0 + timedelta(minutes=5))
    assert rollout_rows(s, "pre")["veh_00000"].status == "offered"
    assert in_window((22, 4), 23) and in_window((22, 4), 3) and not in_window((22, 4), 12)


def test_non_safety_updates_need_the_owners_consent(
    setup_factory: Callable[..., Setup],
) -> None:
    s = setup_factory(fleet(2))
    s.ctx.consent = None  # read governance's consent records
    for n in (0, 1):
        register_subject(
            s.session,
            f"owner-{n}",
            kind="owner",
            display_name=f"O{n}",
            region="eu",
            created_at=T0 - timedelta(days=10),
        )
        link_vehicle(s.session, f"owner-{n}", f"veh_{n:05d}", "owner", T0 - timedelta(days=10))
    give_consent(
        s.session,
        "owner-0",
        "vehicle_health",
        "technical",
        notice_version="v1",
        at=T0 - timedelta(days=1),
    )
    add_release(s, safety=False)
    create_campaign(
        s.session, campaign_id="feat", release_id="bms-2.2.0", waves=[WavePlan(1.0)], at=T0
    )
    start_campaign(s.ctx, "feat", T0)
    rows = rollout_rows(s, "feat")
    assert rows["veh_00000"].status == "offered"
    assert rows["veh_00001"].status == "pending"
    assert "no owner consent (vehicle_health/technical)" in rows["veh_00001"].reason


# -- the statistics ---------------------------------------------------------------


def test_rate_gate_is_not_fooled_by_small_numbers() -> None:
    settings = GateSettings()
    kwargs = {
        "tolerated_rate_ratio": settings.tolerated_rate_ratio,
        "alpha": settings.alpha,
        "min_events": settings.min_events,
        "min_exposure_h": settings.min_exposure_h,
    }
    # 3 DTCs on one updated vehicle in 24 h vs 10 in 2400 h: p is small, but 3 < min_events
    few = compare_rates("dtc", (3, 24.0), (10, 2400.0), **kwargs)  # type: ignore[arg-type]
    assert few.p_value < 0.01 and few.verdict == "inconclusive"
    # 30 DTCs in 48 h vs 20 in 2400 h: a real raise
    bad = compare_rates("dtc", (30, 48.0), (20, 2400.0), **kwargs)  # type: ignore[arg-type]
    assert bad.verdict == "fail" and bad.p_value < 1e-10
    # the same rate as control passes once there is enough exposure, not before
    same = compare_rates("dtc", (1, 48.0), (50, 2400.0), **kwargs)  # type: ignore[arg-type]
    assert same.verdict == "pass"
    fresh = compare_rates("dtc", (0, 2.0), (50, 2400.0), **kwargs)  # type: ignore[arg-type]
    assert fresh.verdict == "inconclusive"
    # a rise within the tolerated ratio does not fail
    mild = compare_rates("dtc", (12, 480.0), (50, 2400.0), **kwargs)  # type: ignore[arg-type]
    assert mild.verdict == "pass"


def test_lake_health_signals_count_dtc_events_in_windows(tmp_path: Path) -> None:
    from drivetrain.lake import Lake
    from drivetrain.ota.health_gates import LakeHealthSignals

    lake = Lake(tmp_path / "lake")
    ts = [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=5), T0 - timedelta(hours=1)]
    lake.append(
        "dtc_events",
        pa.table(
            {
                "vehicle_id": ["a", "a", "a", "b"],
                "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
                "dtc": ["P0A80", "P0A81", "P0A82", "P0A80"],
                "ecu": ["BMS"] * 4,
                "status": ["confirmed", "pending", "confirmed", "confirmed"],
            }
        ),
    )
    signals = LakeHealthSignals(
        lambda: lake.read("dtc_events"),
        versions=lambda: {"dtc_events": lake.version("dtc_events") or 0},
    )
    windows = [
        ObservationWindow("a", T0, T0 + timedelta(hours=2)),
        ObservationWindow("b", T0, T0 + timedelta(hours=2)),
    ]
    assert signals.counts(windows) == {"a": HealthCounts(2, 0), "b": HealthCounts(0, 0)}
    confirmed = LakeHealthSignals(lambda: lake.read("dtc_events"), dtc_statuses=["confirmed"])
    assert confirmed.counts(windows)["a"] == HealthCounts(1, 0)
    assert signals.inputs() == {"dtc_events": 0}
    assert BMS_IMAGE  # the conftest world is shared with test_rollout
