"""Maintenance suggestions with booking slots: urgency, dates from wear intervals, the slot
calendar (opening hours, capacity, capability), bookings, provenance and bad input."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from drivetrain.errors import InputError, NotFound, PolicyDenied
from drivetrain.fleet import VehicleRecord, list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import explain
from drivetrain.health.diagnosis import Candidate, knowledge_base
from drivetrain.health.scan import WEAK_PACK_Z, ScanReport, diagnose_vehicle, fleet_scan
from drivetrain.health.service_booking import (
    JOBS,
    MaintenancePlan,
    VehicleHealth,
    book_slot,
    job_for,
    suggest_maintenance,
    wear_due,
)
from drivetrain.health.wear import RUL_SCHEMA
from drivetrain.health.workshop_calendar import (
    InMemoryBookingStore,
    SlotTaken,
    SlotUnavailable,
)
from drivetrain.health.workshops import (
    CAPABILITIES,
    MARKET_HOMES,
    WorkshopNetwork,
    dump_workshop_network,
    generate_workshop_network,
    load_workshop_network,
    workshop_network_from_dict,
)
from drivetrain.lake import Lake
from drivetrain.settings import Settings
from drivetrain.state import session_scope

from .conftest import EVERYWHERE

PARIS = ZoneInfo("Europe/Paris")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
# Friday 6 March 2026, 11:30 in Paris (CET, UTC+1)
FRIDAY = datetime(2026, 3, 6, 10, 30, tzinfo=UTC)
TODAY = FRIDAY.date()


@dataclass(frozen=True)
class Car:
    vehicle_id: str
    market: str


CAR = Car("veh_test", "FR")


def small_network() -> WorkshopNetwork:
    """Three Paris workshops ~0.7, ~10.5 and ~60 km north of the home point."""
    return workshop_network_from_dict(
        {
            "name": "test",
            "markets": {"FR": {"lat": 48.8566, "lon": 2.3522}},
            "workshops": [
                {
                    "workshop_id": "near-tyres", "name": "Near Tyres", "market": "FR",
                    "lat": 48.862, "lon": 2.356, "timezone": "Europe/Paris", "bays": 3,
                    "capabilities": ["tyres"],
                    "hours": {d: "08:00-18:00" for d in (*WEEKDAYS, "sat")},
                },
                {
                    "workshop_id": "small-brakes", "name": "Small Brakes", "market": "FR",
                    "lat": 48.951, "lon": 2.3522, "timezone": "Europe/Paris", "bays": 1,
                    "capabilities": ["brakes", "general"],
                    "hours": dict.fromkeys(WEEKDAYS, "08:00-12:00"),
                },
                {
                    "workshop_id": "far-dealer", "name": "Far Dealer", "market": "FR",
                    "lat": 49.40, "lon": 2.3522, "timezone": "Europe/Paris", "bays": 2,
                    "capabilities": sorted(CAPABILITIES),
                    "hours": dict.fromkeys(WEEKDAYS, "09:00-17:00"),
                },
            ],
        },
        "test network",
    )  # fmt: skip


def wear_rows(*rows: dict[str, Any], vehicle_id: str = "veh_test") -> pl.DataFrame:
    full = [
        {
            "vehicle_id": vehicle_id, "level": None, "slope_per_day": None, "p_fail_30d": None,
            "days_left_high": (r.get("days_left") or 0) * 1.5, **r,
        }
        for r in rows
    ]  # fmt: skip
    return pl.DataFrame(full, schema=RUL_SCHEMA)


def cause(cause_id: str, action: str, score: float, *, codes: tuple[str, ...] = ()) -> Candidate:
    c = Candidate(cause_id, cause_id.replace("_", " ").capitalize(), "system", action, "advice")
    c.add(score, "evidence line")
    if codes:
        c.codes.extend(codes)
        c.note("dtc_active")
    else:
        c.note("anomalies")
    return c


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


# -- urgency and dates -------------------------------------------------------------------


def test_suggestions_come_most_urgent_first_then_by_date() -> None:
    yesterday = TODAY - timedelta(days=1)
    wear = wear_rows(
        {"item": "tyre_fl", "status": "trend", "days_left": 60.0, "days_left_low": 50.0,
         "as_of": yesterday},
        {"item": "lv_battery", "status": "trend", "days_left": 14.0, "days_left_low": 10.7,
         "as_of": yesterday},
        {"item": "tyre_rr", "status": "no_trend", "as_of": yesterday},
        {"item": "brake_pads_front", "status": "at_limit", "days_left": 0.0,
         "days_left_low": 0.0, "as_of": yesterday},
    )  # fmt: skip
    causes = [
        cause("dtc:P0420", "book_service", 4.5, codes=("P0420",)),
        cause("ignition_misfire", "stop_safely", 9.0),
        cause("thermostat_stuck_open", "drive_on", 5.0),  # asks for no visit
        cause("sticking_brake_caliper", "book_service", 1.2),  # too faint
    ]
    plan = suggest_maintenance(
        CAR, VehicleHealth("veh_test", wear, causes), network=small_network(),
        store=InMemoryBookingStore(), now=FRIDAY,
    )  # fmt: skip
    got = [(s.job_id, s.urgency, s.latest_date) for s in plan.suggestions]
    assert got == [
        ("ignition_misfire", "immediate", TODAY),
        ("brake_pads_worn", "soon", TODAY),  # due today too, but less urgent
        ("weak_12v_battery", "soon", yesterday + timedelta(days=10 - 3)),  # floor(10.7) - margin
        ("dtc:P0420", "soon", TODAY + timedelta(days=14)),
        ("slow_puncture", "planned", yesterday + timedelta(days=50 - 3)),
    ]
    assert plan.suggestions[0].summary().startswith("Stop safely")
    assert "P0420" in " ".join(plan.suggestions[3].evidence)
    assert plan.suggestions[4].findings == ("wear:tyre_fl",)  # tyre_rr has no trend
    assert not plan.nothing_due and plan.summary().count(". ") >= 5


def test_a_due_wear_item_is_dated_by_the_lower_bound_of_its_interval() -> None:
    as_of = TODAY - timedelta(days=2)
    base = {"item": "brake_pads_front", "status": "trend", "as_of": as_of}
    for days_left, low, margin in ((20.0, 12.9, 3), (40.0, 12.9, 3), (20.0, 12.9, 0)):
        wear = wear_rows({**base, "days_left": days_left, "days_left_low": low})
        plan = suggest_maintenance(
            CAR, VehicleHealth("veh_test", wear), network=small_network(),
            store=InMemoryBookingStore(), now=FRIDAY, margin_days=margin,
        )  # fmt: skip
        (s,) = plan.suggestions
        # the point estimate does not move the date: only the fastest plausible wear does
        assert s.latest_date == as_of + timedelta(days=math.floor(low) - margin)
        assert s.job_id == "brake_pads_worn" and s.findings == ("wear:brake_pads_front",)
        assert s.urgency == "soon"
        assert all(x.start.astimezone(PARIS).date() <= s.latest_date for x in s.slots)
    overdue = wear_rows({**base, "days_left": 2.0, "days_left_low": 1.0})
    (s,) = suggest_maintenance(
        CAR, VehicleHealth("veh_test", overdue), network=small_network(),
        store=InMemoryBookingStore(), now=FRIDAY,
    ).suggestions  # fmt: skip
    assert s.latest_date == TODAY and "overdue" in s.evidence[0]
    at_limit = wear_rows({"item": "tyre_rr", "status": "at_limit", "days_left": 0.0,
                          "days_left_low": 0.0, "as_of": as_of})  # fmt: skip
    due = wear_due(at_limit, today=TODAY)
    assert due["latest_date"].to_list() == [TODAY] and due["job_id"].to_list() == ["slow_puncture"]


def test_the_horizon_bounds_the_wear_predictions() -> None:
    wear = wear_rows(
        {"item": "tyre_fl", "status": "trend", "days_left": 60.0, "days_left_low": 50.0,
         "as_of": TODAY},
        {"item": "lv_battery", "status": "trend", "days_left": 30.0, "days_left_low": 20.0,
         "as_of": TODAY},
    )  # fmt: skip
    due = wear_due(wear, today=TODAY, horizon_days=46)
    assert due["item"].to_list() == ["lv_battery"]  # the tyre is due on day 47
    assert wear_due(wear, today=TODAY, horizon_days=47)["item"].to_list() == [
        "lv_battery", "tyre_fl"
    ]  # fmt: skip
    assert wear_due(wear, today=TODAY, horizon_days=16).is_empty()


def test_a_wear_item_and_the_diagnosis_of_it_are_one_suggestion() -> None:
    wear = wear_rows({"item": "brake_pads_front", "status": "trend", "days_left": 20.0,
                      "days_left_low": 15.0, "as_of": TODAY})  # fmt: skip
    pads = Candidate("brake_pads_worn", "Front brake pads near the wear limit", "brakes",
                     "book_service", "replace")  # fmt: skip
    pads.add(2.0, "brake_pads_front due in 20 days (15-30)")
    pads.note("wear_due")
    (s,) = suggest_maintenance(
        CAR, VehicleHealth("veh_test", wear, [pads]), network=small_network(),
        store=InMemoryBookingStore(), now=FRIDAY,
    ).suggestions  # fmt: skip
    assert s.findings == ("wear:brake_pads_front", "cause:brake_pads_worn")
    assert s.latest_date == TODAY + timedelta(days=15 - 3)  # the interval's, not 14 days
    assert len(s.evidence) == 2


def test_nothing_due_is_said_and_recorded(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path)
    wear = wear_rows({"item": "lv_battery", "status": "no_trend", "as_of": TODAY})
    plan = suggest_maintenance(
        CAR, VehicleHealth("veh_test", wear), network=small_network(),
        store=InMemoryBookingStore(), now=FRIDAY, horizon_days=60,
        audit=audit, context=AccessContext(EVERYWHERE, "vehicle_health"),
    )  # fmt: skip
    assert plan.nothing_due and plan.suggestions == ()
    assert plan.summary().startswith("Nothing needs a workshop in the next 60 days")
    assert plan.output_id is not None
    explained = explain(audit, plan.output_id)
    assert explained.output_kind == "maintenance_suggestion"
    assert explained.params["nothing_due"] is True and explained.params["horizon_days"] == 60


# -- the slot calendar -------------------------------------------------------------------


def brake_job_at_limit() -> VehicleHealth:
    """Front pads at their limit: due today (Friday), a 2 h brakes job."""
    return VehicleHealth(
        "veh_test",
        wear_rows({"item": "brake_pads_front", "status": "at_limit", "days_left": 0.0,
                   "days_left_low": 0.0, "as_of": TODAY}),
    )  # fmt: skip


def test_slots_respect_opening_hours_capacity_and_capability() -> None:
    network, store = small_network(), InMemoryBookingStore()
    wear = wear_rows({"item": "brake_pads_front", "status": "trend", "days_left": 30.0,
                      "days_left_low": 25.0, "as_of": TODAY})  # fmt: skip
    health = VehicleHealth("veh_test", wear)

    def offered() -> list[tuple[str, datetime]]:
        (s,) = suggest_maintenance(
            CAR, health, network=network, store=store, now=FRIDAY, slots=3
        ).suggestions
        assert not any(x.late for x in s.slots)
        return [(x.workshop_id, x.start) for x in s.slots]

    monday = TODAY + timedelta(days=3)
    tuesday = monday + timedelta(days=1)
    # Friday 11:30 local: Small Brakes closes at 12:00 (too late for 2 h) and nobody opens
    # at the weekend; Far Dealer (09-17 local = 08-16 UTC) can start at 11:00 UTC.
    # Near Tyres, the nearest, cannot do brakes.
    assert offered() == [
        ("far-dealer", utc(TODAY, 11)),
        ("small-brakes", utc(monday, 7)),  # 08:00 local, nearer than Far Dealer
        ("far-dealer", utc(monday, 8)),
    ]
    # Small Brakes has one bay: 08:00-10:00 local booked, the next 2 h start is 10:00 local
    book_slot(network, store, workshop_id="small-brakes", start=utc(monday, 7),
              job_id="brake_pads_worn", vehicle_id="veh_other", now=FRIDAY)  # fmt: skip
    assert offered()[1] == ("small-brakes", utc(monday, 9))
    book_slot(network, store, workshop_id="small-brakes", start=utc(monday, 9),
              job_id="brake_pads_worn", vehicle_id="veh_third", now=FRIDAY)  # fmt: skip
    assert offered() == [
        ("far-dealer", utc(TODAY, 11)),
        ("far-dealer", utc(monday, 8)),  # Small Brakes is full on Monday
        ("small-brakes", utc(tuesday, 7)),
    ]
    # a tyre job goes to the nearest workshop that does tyres
    tyres = VehicleHealth("veh_test", wear_rows({"item": "tyre_rl", "status": "trend",
                          "days_left": 30.0, "days_left_low": 25.0, "as_of": TODAY}))  # fmt: skip
    (s,) = suggest_maintenance(CAR, tyres, network=network, store=store, now=FRIDAY).suggestions
    assert [(x.workshop_id, x.start) for x in s.slots] == [
        ("near-tyres", utc(TODAY, 11)),  # 12:00 local, on the hour after now
        ("far-dealer", utc(TODAY, 11)),
        ("near-tyres", utc(TODAY + timedelta(days=1), 7)),  # Saturday 08:00 local
    ]


def test_when_nothing_is_free_in_time_the_earliest_later_slots_are_marked_late() -> None:
    network, store = small_network(), InMemoryBookingStore()
    for start in (11, 13):  # Far Dealer's two bays, Friday 11:00-15:00 UTC
        for vehicle in ("veh_a", "veh_b"):
            book_slot(network, store, workshop_id="far-dealer", start=utc(TODAY, start),
                      job_id="brake_pads_worn", vehicle_id=vehicle, now=FRIDAY)  # fmt: skip
    (s,) = suggest_maintenance(
        CAR, brake_job_at_limit(), network=network, store=store, now=FRIDAY, slots=2
    ).suggestions
    assert s.latest_date == TODAY
    # 14:00 UTC would end at 16:00 UTC = closing time, but both bays are busy until 15:00
    monday = TODAY + timedelta(days=3)
    assert [(x.workshop_id, x.start, x.late) for x in s.slots] == [
        ("small-brakes", utc(monday, 7), True),
        ("far-dealer", utc(monday, 8), True),
    ]
    assert "Nothing is free in time" in s.summary()


def test_opening_hours_are_local_time_across_daylight_saving() -> None:
    # Paris moves to CEST (UTC+2) on Sunday 29 March 2026
    friday, monday = date(2026, 3, 27), date(2026, 3, 30)
    (s,) = suggest_maintenance(
        CAR, brake_job_at_limit(), network=small_network(), store=InMemoryBookingStore(),
        now=utc(friday, 6), slots=5,
    ).suggestions  # fmt: skip
    assert [(x.workshop_id, x.start) for x in s.slots][:1] == [("small-brakes", utc(friday, 7))]
    later = suggest_maintenance(
        CAR, VehicleHealth("veh_test", wear_rows({"item": "brake_pads_front", "status": "trend",
        "days_left": 9.0, "days_left_low": 6.0, "as_of": friday})), network=small_network(),
        store=InMemoryBookingStore(), now=utc(friday, 16), slots=2,
    ).suggestions[0]  # fmt: skip
    assert [(x.workshop_id, x.start) for x in later.slots] == [
        ("small-brakes", utc(monday, 6)),  # 08:00 CEST
        ("far-dealer", utc(monday, 7)),  # 09:00 CEST
    ]
    assert later.slots[0].local_start().hour == 8


def test_default_network_slots_lie_in_opening_hours_of_capable_workshops() -> None:
    network = generate_workshop_network(seed=7)
    store = InMemoryBookingStore()
    now = datetime(2026, 5, 4, 5, 0, tzinfo=UTC)
    for market in MARKET_HOMES:
        for job_id, item in (("brake_pads_worn", "brake_pads_front"),
                             ("traction_cell_imbalance", "traction_battery_balance")):  # fmt: skip
            health = VehicleHealth("v", wear_rows({"item": item, "status": "trend",
                "days_left": 20.0, "days_left_low": 15.0, "as_of": now.date()}, vehicle_id="v"))  # fmt: skip
            (s,) = suggest_maintenance(
                Car("v", market), health, network=network, store=store, now=now, slots=4
            ).suggestions
            assert s.job_id == job_id and len(s.slots) == 4
            days = [x.local_start().date() for x in s.slots]
            assert days == sorted(days)
            for x in s.slots:
                w = network.get(x.workshop_id)
                assert w.market == market and JOBS[job_id].capability in w.capabilities
                local_start, local_end = x.local_start(), x.end.astimezone(w.zone)
                span = w.hours[local_start.weekday()]
                assert span is not None and x.start >= now
                assert span[0] <= local_start.time() and local_end.time() <= span[1]
                assert local_end.date() == local_start.date()
                book_slot(network, store, workshop_id=x.workshop_id, start=x.start,
                          job_id=job_id, vehicle_id="v", now=now)  # fmt: skip


# -- booking -----------------------------------------------------------------------------


def test_booking_a_full_taken_past_or_closed_slot_is_refused() -> None:
    network, store = small_network(), InMemoryBookingStore()
    monday = TODAY + timedelta(days=3)
    args: dict[str, Any] = {"job_id": "brake_pads_worn", "now": FRIDAY}
    first = book_slot(network, store, workshop_id="small-brakes", start=utc(monday, 7),
                      vehicle_id="veh_a", suggestion_id="out-" + "0" * 32, **args)  # fmt: skip
    assert (first.start, first.end) == (utc(monday, 7), utc(monday, 9))
    for start, match in (
        (utc(monday, 7), "all 1 bays are taken"),  # the same slot
        (utc(monday, 8), "all 1 bays are taken"),  # overlaps its second hour
        (utc(TODAY, 7), "in the past"),
        (utc(monday, 10), "open 07:00-11:00 UTC"),  # would end at 12:00 UTC
        (utc(monday + timedelta(days=5), 7), "closed that day"),  # Saturday
        (utc(monday, 8, 30), "not a slot start"),
    ):
        with pytest.raises(SlotUnavailable, match=match) as refused:
            book_slot(network, store, workshop_id="small-brakes", start=start,
                      vehicle_id="veh_b", **args)  # fmt: skip
        taken = "taken" in match  # full: SlotTaken (a 409 for the API); else a bad slot
        assert isinstance(refused.value, SlotTaken) == taken and refused.value.hint
        assert refused.value.code == ("slot-taken" if taken else "slot-unavailable")
    assert [b.booking_id for b in store] == [first.booking_id]
    with pytest.raises(InputError, match="no hv_battery capability"):
        book_slot(network, store, workshop_id="small-brakes", start=utc(monday, 9),
                  vehicle_id="veh_b", job_id="traction_cell_imbalance", now=FRIDAY)  # fmt: skip
    with pytest.raises(NotFound, match="no workshop 'nowhere'"):
        book_slot(network, store, workshop_id="nowhere", start=utc(monday, 9),
                  vehicle_id="veh_b", **args)  # fmt: skip
    store.cancel(first.booking_id)
    again = book_slot(network, store, workshop_id="small-brakes", start=utc(monday, 8),
                      vehicle_id="veh_b", **args)  # fmt: skip
    assert [b.booking_id for b in store] == [again.booking_id]


# -- provenance on real health outputs ---------------------------------------------------


@pytest.fixture(scope="module")
def scanned(fleet: Settings) -> tuple[ScanReport, list[VehicleRecord], AuditLog]:
    with session_scope(fleet.resolved_state_url) as session:
        vehicles = list_vehicles(session)
    audit = AuditLog(fleet.data_dir)
    context = AccessContext(EVERYWHERE, "vehicle_health")
    return fleet_scan(Lake(fleet.lake_dir), context, vehicles, audit=audit), vehicles, audit


def test_a_real_due_wear_item_is_suggested_by_its_interval(
    scanned: tuple[ScanReport, list[VehicleRecord], AuditLog],
) -> None:
    scan, vehicles, _ = scanned
    due = scan.wear.filter(
        (pl.col("status") == "trend") & (pl.col("days_left_low") < 30)
        & pl.col("vehicle_id").is_in([v.vehicle_id for v in vehicles if v.market in MARKET_HOMES])
    ).sort("days_left_low")  # fmt: skip
    assert due.height > 0, "the fixture fleet has wear items due within 30 days"
    row = due.row(0, named=True)
    vehicle = next(v for v in vehicles if v.vehicle_id == row["vehicle_id"])
    now = utc(row["as_of"] + timedelta(days=1), 5)
    plan = suggest_maintenance(
        vehicle, VehicleHealth.from_health(scan, vehicle_id=vehicle.vehicle_id),
        network=generate_workshop_network(), store=InMemoryBookingStore(), now=now,
    )  # fmt: skip
    (s,) = [s for s in plan.suggestions if f"wear:{row['item']}" in s.findings]
    expected = row["as_of"] + timedelta(days=math.floor(row["days_left_low"]) - 3)
    assert s.latest_date == max(expected, now.date())
    assert s.slots and all(x.local_start().date() <= s.latest_date for x in s.slots)


def test_each_suggestion_is_recorded_and_explainable(
    fleet: Settings, scanned: tuple[ScanReport, list[VehicleRecord], AuditLog]
) -> None:
    scan, vehicles, audit = scanned
    context = AccessContext(EVERYWHERE, "vehicle_health")
    lake = Lake(fleet.lake_dir)
    by_id = {v.vehicle_id: v for v in vehicles}
    found = None
    for vid in scan.ranking["vehicle_id"].to_list():
        diagnosis = diagnose_vehicle(lake, context, by_id[vid], scan, audit=audit)
        if diagnosis.action == "stop_safely" and by_id[vid].market in MARKET_HOMES:
            found = by_id[vid], diagnosis
            break
    assert found is not None, "the fixture fleet has a vehicle to stop (misfire)"
    vehicle, diagnosis = found
    now = datetime(2026, 2, 19, 7, 0, tzinfo=UTC)
    plan = suggest_maintenance(
        vehicle, VehicleHealth.from_health(scan, diagnosis),
        network=generate_workshop_network(), store=InMemoryBookingStore(), now=now,
        audit=audit, context=context,
    )  # fmt: skip
    first = plan.suggestions[0]
    assert first.urgency == "immediate" and first.job_id == diagnosis.causes[0].cause_id
    assert first.latest_date == now.date()
    for s in plan.suggestions:
        assert s.output_id is not None
        e = explain(audit, s.output_id)
        assert (e.output_kind, e.purpose, e.principal) == (
            "maintenance_suggestion", "vehicle_health", "hana"
        )  # fmt: skip
        assert e.params["job"] == s.job_id and e.params["urgency"] == s.urgency
        assert e.params["latest_date"] == s.latest_date.isoformat()
        assert e.params["health_outputs"] == {
            "health_scan": scan.output_id, "health_diagnosis": diagnosis.output_id
        }  # fmt: skip
        assert set(e.params["health_models"]) == {"wear", "diagnosis", "dtc"}
        assert e.params["slots"] == [f"{x.workshop_id} {x.start.isoformat()}" for x in s.slots]
        assert e.inputs["telemetry"] == lake.version("telemetry")
        assert e.inputs["dtc_events"] == lake.version("dtc_events")
        assert set(s.evidence) <= set(e.sources)
    booking = book_slot(
        generate_workshop_network(), InMemoryBookingStore(), workshop_id=first.slots[0].workshop_id,
        start=first.slots[0].start, job_id=first.job_id, vehicle_id=vehicle.vehicle_id, now=now,
        suggestion_id=first.output_id,
    )  # fmt: skip
    assert booking.suggestion_id == first.output_id


def test_a_traction_battery_ageing_fast_asks_for_a_check(
    scanned: tuple[ScanReport, list[VehicleRecord], AuditLog],
) -> None:
    scan, vehicles, _ = scanned
    weak = scan.battery.filter(pl.col("residual_z") < -WEAK_PACK_Z).sort("residual_z")
    assert weak.height > 0, "the fixture fleet has a pack ageing fast"
    vehicle = next(v for v in vehicles if v.vehicle_id == weak["vehicle_id"][0])
    now = datetime(2026, 2, 19, 7, 0, tzinfo=UTC)
    network = generate_workshop_network()
    plan = suggest_maintenance(
        vehicle, VehicleHealth.from_health(scan, vehicle_id=vehicle.vehicle_id),
        network=network, store=InMemoryBookingStore(), now=now,
    )  # fmt: skip
    (check,) = [s for s in plan.suggestions if s.job_id == "hv_battery_check"]
    assert check.latest_date == now.date() + timedelta(days=30) and check.urgency == "soon"
    assert f"{weak['soh_pct'][0]:.1f} % state of health" in check.evidence[0]
    assert check.slots and all(network.get(x.workshop_id).can("hv_battery") for x in check.slots)
    healthy = {"soh_pct": 95.0, "expected_soh_pct": 96.0, "residual_z": -WEAK_PACK_Z + 0.1}
    quiet = VehicleHealth(vehicle.vehicle_id, wear_rows(), battery=healthy)
    assert suggest_maintenance(
        vehicle, quiet, network=network, store=InMemoryBookingStore(), now=now
    ).nothing_due


# -- bad input ---------------------------------------------------------------------------


def test_bad_input_gets_a_clear_error(
    tmp_path: Path, scanned: tuple[ScanReport, list[VehicleRecord], AuditLog]
) -> None:
    scan = scanned[0]
    with pytest.raises(NotFound, match=r"veh_nope.* not in the fleet scan"):
        VehicleHealth.from_health(scan, vehicle_id="veh_nope")
    health = VehicleHealth("veh_test", wear_rows())
    kwargs: dict[str, Any] = {
        "network": small_network(), "store": InMemoryBookingStore(), "now": FRIDAY
    }  # fmt: skip
    with pytest.raises(InputError, match="horizon_days must be a whole number of days >= 0"):
        suggest_maintenance(CAR, health, horizon_days=-1, **kwargs)
    with pytest.raises(InputError, match="margin_days"):
        wear_due(wear_rows(), today=TODAY, margin_days=-2)
    with pytest.raises(InputError, match=r"slots must be 1\.\.20"):
        suggest_maintenance(CAR, health, slots=0, **kwargs)
    with pytest.raises(InputError, match="are of veh_test, not veh_other"):
        suggest_maintenance(Car("veh_other", "FR"), health, **kwargs)
    with pytest.raises(NotFound, match="no workshop in market 'ZZ'") as unknown:
        suggest_maintenance(Car("veh_test", "ZZ"), health, **kwargs)
    assert unknown.value.hint == "markets with workshops: FR"
    with pytest.raises(InputError, match="no time zone"):
        suggest_maintenance(CAR, health, **{**kwargs, "now": datetime(2026, 3, 6, 10)})
    with pytest.raises(PolicyDenied, match="purpose vehicle_health"):
        suggest_maintenance(
            CAR, health, audit=AuditLog(tmp_path), context=AccessContext(EVERYWHERE, "marketing"),
            **kwargs,
        )  # fmt: skip
    with pytest.raises(InputError, match="unknown service job 'oil_change'"):
        job_for("oil_change")


# -- the network ---------------------------------------------------------------------------


def test_the_default_network_is_seeded_and_every_market_can_do_every_job() -> None:
    from drivetrain.demo.markets import MARKETS

    a, b = generate_workshop_network(3), generate_workshop_network(3)
    assert a == b and a != generate_workshop_network(4)
    assert set(MARKET_HOMES) == set(MARKETS)
    for code, (city, lat, lon, _) in MARKET_HOMES.items():
        assert (city, lat, lon) == (MARKETS[code].city, MARKETS[code].lat, MARKETS[code].lon)
        for capability in CAPABILITIES:
            assert any(w.can(capability) for w in a.in_market(code)), (code, capability)
    assert {m.cause_id for m in knowledge_base()} <= set(JOBS)
    assert {j.capability for j in JOBS.values()} <= set(CAPABILITIES)


def test_a_network_file_round_trips_and_bad_files_are_named(tmp_path: Path) -> None:
    path = tmp_path / "workshops.json"
    network = generate_workshop_network(5)
    dump_workshop_network(network, path)
    assert load_workshop_network(path) == network
    good = small_network().to_dict()
    bad = {**good, "workshops": [{**good["workshops"][0], "hours": {"mon": "18:00-08:00"}}]}
    with pytest.raises(InputError, match=r"workshops\[0\] mon: closes \(08:00\) before"):
        workshop_network_from_dict(bad, "x.json")
    bad["workshops"] = [{**good["workshops"][1], "capabilities": ["paint"]}]
    with pytest.raises(InputError, match=r"x.json: workshops\[0\]: unknown capabilities"):
        workshop_network_from_dict(bad, "x.json")
    bad["workshops"] = [good["workshops"][0], good["workshops"][0]]
    with pytest.raises(InputError, match="used twice: near-tyres"):
        workshop_network_from_dict(bad, "x.json")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match=r"broken\.json:1: not valid JSON"):
        load_workshop_network(tmp_path / "broken.json")


def test_plans_and_suggestions_serialise_for_the_faces() -> None:
    plan = suggest_maintenance(
        CAR, brake_job_at_limit(), network=small_network(), store=InMemoryBookingStore(),
        now=FRIDAY,
    )  # fmt: skip
    assert isinstance(plan, MaintenancePlan)
    d = plan.to_dict()
    assert d["suggestions"][0]["slots"][0]["start"] == utc(TODAY, 11).isoformat()
    assert d["suggestions"][0]["summary"] == plan.suggestions[0].summary()
    assert "Far Dealer" in plan.suggestions[0].summary()
