"""Departure suggestions from learned trips: the habit, its evidence, provenance, refusals."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from drivetrain.cockpit.cabin import SimulatedVehicle
from drivetrain.cockpit.habits import OUTPUT_KIND, suggest_departures
from drivetrain.cockpit.profiles_learning import learn, record_event
from drivetrain.cockpit.profiles_trips import days_words
from drivetrain.governance import AuditLog, explain
from drivetrain.governance.consent import give_consent
from drivetrain.governance.provenance import OUTPUT_KIND as AI_OUTPUT
from drivetrain.governance.subjects import register_subject
from drivetrain.state import session_scope
from drivetrain.state.cockpit_models import PreferenceEventRow

from .._services import migrated_url, state_url

__all__ = ["migrated_url", "state_url"]

ROME = ZoneInfo("Europe/Rome")
ANNA = "drv-anna"
START = datetime(2026, 3, 2, tzinfo=ROME)  # a Monday
WORK = (45.0703, 7.6869)
#: Minutes after 07:30 local of each weekday departure for Work, three weeks.
JITTER = [10, 8, 12, 9, 15, 11, 7, 10, 14, 6, 10, 9, 13, 12, 8]


@pytest.fixture
def audit(tmp_path: Path) -> AuditLog:
    return AuditLog(tmp_path / "data")


def _anna(session: Session, categories: tuple[str, ...] = ("cabin", "location")) -> None:
    register_subject(session, ANNA, kind="driver", display_name="Anna", region="eu")
    if categories:
        give_consent(
            session,
            ANNA,
            "personalisation",
            categories,
            notice_version="2026-03",
            at=START - timedelta(days=1),
        )


def _commutes(session: Session, count: int = len(JITTER)) -> list[datetime]:
    car = SimulatedVehicle.parked("veh_tipo", "fiat-tipo")
    days = [
        START + timedelta(days=d)
        for d in range(21)
        if (START + timedelta(days=d)).isoweekday() <= 5
    ]
    departures = []
    for day, jitter in zip(days[:count], JITTER, strict=False):
        leave = day.replace(hour=7, minute=30) + timedelta(minutes=jitter)
        record_event(
            session, ANNA, car, "destination", "Work", latitude=WORK[0], longitude=WORK[1], at=leave
        )
        departures.append(leave)
    return departures


def _monday(hour: int, minute: int) -> datetime:
    return datetime(2026, 3, 23, hour, minute, tzinfo=ROME)  # the fourth Monday


def test_weekday_commutes_give_a_departure_suggestion_with_its_evidence(
    migrated_url: str, audit: AuditLog
) -> None:
    with session_scope(migrated_url) as session:
        _anna(session)
        departures = _commutes(session)
        advice = suggest_departures(session, audit, ANNA, now=_monday(7, 30), tz=ROME)
    (suggestion,) = advice.suggestions
    assert advice.reason is None
    median = statistics.median(d.hour * 60 + d.minute for d in departures)
    usual = time(int(median) // 60, int(median) % 60)
    assert suggestion.habit.departure == usual == time(7, 40)
    spread = statistics.median(abs(d.hour * 60 + d.minute - median) for d in departures)
    assert suggestion.habit.spread_min == spread
    assert suggestion.habit.trips == len(departures)
    assert suggestion.habit.weekdays == (1, 2, 3, 4, 5)
    assert suggestion.message == "Weekdays you leave for Work around 07:40; leave in 10 min"
    assert suggestion.minutes_until == 10
    assert suggestion.leave_at == _monday(7, 40).astimezone(UTC)
    assert f"{len(departures)} trips to Work" in suggestion.explanation
    assert dict(suggestion.route_writes) == {
        "Vehicle.Cabin.Infotainment.Navigation.DestinationSet.Latitude": WORK[0],
        "Vehicle.Cabin.Infotainment.Navigation.DestinationSet.Longitude": WORK[1],
    }

    explained = explain(audit, suggestion.output_id)
    assert explained.output_kind == OUTPUT_KIND == "departure_suggestion"
    assert explained.purpose == "personalisation"
    assert explained.params["trips"] == len(departures)
    assert explained.params["spread_min"] == spread
    assert len(explained.sources) == len(departures)
    # the append-only log holds no place name or position of the driver
    line = audit.log_path.read_text()
    assert "Work" not in line and "45.07" not in line


def test_time_zones_and_late_departures(migrated_url: str, audit: AuditLog) -> None:
    with session_scope(migrated_url) as session:
        _anna(session)
        _commutes(session)
        late = suggest_departures(session, audit, ANNA, now=_monday(7, 50), tz=ROME)
        # in UTC the same habit is at 06:40: at 07:30 Rome (06:30 UTC) it is still due
        utc = suggest_departures(session, audit, ANNA, now=_monday(7, 30), tz=UTC)
    (suggestion,) = late.suggestions
    assert suggestion.message.endswith("time to leave") and suggestion.minutes_until == 0
    (in_utc,) = utc.suggestions
    assert in_utc.habit.departure == time(6, 40)
    assert in_utc.leave_at == suggestion.leave_at


def test_no_suggestion_without_a_habit_due_now(migrated_url: str, audit: AuditLog) -> None:
    with session_scope(migrated_url) as session:
        _anna(session)
        _commutes(session)
        noon = suggest_departures(session, audit, ANNA, now=_monday(12, 0), tz=ROME)
        saturday = suggest_departures(
            session, audit, ANNA, now=datetime(2026, 3, 28, 7, 30, tzinfo=ROME), tz=ROME
        )
    assert (
        noon.suggestions == () and noon.reason == "no usual departure between now and 13:00 today"
    )
    assert saturday.suggestions == ()
    assert not audit.entries(kind=AI_OUTPUT)


def test_too_little_history_gives_no_suggestion(migrated_url: str, audit: AuditLog) -> None:
    with session_scope(migrated_url) as session:
        _anna(session)
        _commutes(session, count=2)
        advice = suggest_departures(session, audit, ANNA, now=_monday(7, 30), tz=ROME)
        assert learn(session, ANNA, at=_monday(7, 30), tz=ROME).destinations == ()
    assert advice.suggestions == ()
    assert advice.reason is not None and advice.reason.startswith("too little history")
    assert not audit.entries(kind=AI_OUTPUT)


@pytest.mark.parametrize("categories", [(), ("cabin",)])
def test_no_suggestion_without_consent_for_location_data(
    migrated_url: str, audit: AuditLog, categories: tuple[str, ...]
) -> None:
    with session_scope(migrated_url) as session:
        _anna(session, categories)
        _commutes(session)
        stored = session.scalar(select(func.count()).select_from(PreferenceEventRow))
        advice = suggest_departures(session, audit, ANNA, now=_monday(7, 30), tz=ROME)
    assert stored == 0  # the trips were not even recorded
    assert advice.suggestions == ()
    assert advice.reason is not None and "not consented" in advice.reason
    assert not audit.entries(kind=AI_OUTPUT)


def test_weekend_habits_are_learned_apart_from_weekday_ones(migrated_url: str) -> None:
    car = SimulatedVehicle.parked("veh_tipo", "fiat-tipo")
    with session_scope(migrated_url) as session:
        _anna(session)
        _commutes(session)
        for week in range(3):
            saturday = START + timedelta(days=5 + 7 * week)
            leave = saturday.replace(hour=10, minute=5 * week)
            record_event(
                session, ANNA, car, "destination", "Market", latitude=45.0, longitude=7.6, at=leave
            )
        habits = learn(session, ANNA, at=_monday(7, 0), tz=ROME).destinations
    by_name = {h.name: h for h in habits}
    assert by_name["Market"].weekdays == (6,) and by_name["Market"].departure == time(10, 5)
    assert by_name["Market"].days == "Saturdays"
    assert by_name["Work"].days == "Weekdays"
    assert days_words([1, 4]) == "Mondays and Thursdays"
    assert days_words([6, 7]) == "Weekends"
