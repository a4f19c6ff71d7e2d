"""Route and departure suggestions from a driver's learned trips, with their evidence.

:func:`suggest_departures` takes the driver's destination habits
(:mod:`drivetrain.cockpit.profiles_trips`) that hold on today's weekday and
suggests leaving for those whose usual departure lies within the next
``horizon`` (or at most :data:`LATE_GRACE` ago): *"Weekdays you leave for
Work around 07:40; leave in 10 min"*, with the route's destination ready to
set. Each suggestion is an AI output: :func:`governance.record_output` (kind
``departure_suggestion``, purpose ``personalisation``) records the rule's
parameters, the evidence (trip count, spread) and the ids of the preference
events it rests on, so ``explain <id>`` shows why it was made. The audit record
holds no place name, position or time of day: the audit log is append-only and
outlives an erasure, while the events it cites are deleted with the subject.

There is no suggestion, and the advice says why, when the driver's consent to
personalisation with location data is not in force, when the history is too
thin for a habit, or when no habit is due now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy.orm import Session

from drivetrain.cockpit.profiles_learning import PURPOSE, learn
from drivetrain.cockpit.profiles_trips import (
    CLUSTER_GAP_MIN,
    HISTORY,
    MIN_TRIPS,
    DestinationHabit,
)
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.consent import consent_state
from drivetrain.governance.provenance import record_output
from drivetrain.governance.subjects import get_subject, require_aware

MODEL = "drivetrain.cockpit.habits"
VERSION = "1"
OUTPUT_KIND = "departure_suggestion"
HORIZON = timedelta(minutes=60)
LATE_GRACE = timedelta(minutes=15)
_DESTINATION = "Vehicle.Cabin.Infotainment.Navigation.DestinationSet"


@dataclass(frozen=True, slots=True)
class DepartureSuggestion:
    """Leave for ``destination`` at ``leave_at``: the habit behind it and its output id."""

    output_id: str
    destination: str
    latitude: float
    longitude: float
    leave_at: datetime  # UTC
    minutes_until: int  # 0: now (or a little late)
    habit: DestinationHabit
    message: str
    explanation: str

    @property
    def route_writes(self) -> tuple[tuple[str, float], ...]:
        """The VSS writes that set the destination for the route."""
        return (
            (f"{_DESTINATION}.Latitude", self.latitude),
            (f"{_DESTINATION}.Longitude", self.longitude),
        )


@dataclass(frozen=True, slots=True)
class DepartureAdvice:
    """The suggestions for one driver now, or why there are none."""

    subject_id: str
    suggestions: tuple[DepartureSuggestion, ...]
    reason: str | None = None


def _suggestion_text(habit: DestinationHabit, minutes: int) -> tuple[str, str]:
    usual = f"{habit.departure:%H:%M}"
    when = f"leave in {minutes} min" if minutes > 0 else "time to leave"
    message = f"{habit.days} you leave for {habit.name} around {usual}; {when}"
    explanation = (
        f"{habit.trips} trips to {habit.name} on {habit.days.lower()} between "
        f"{habit.first:%Y-%m-%d} and {habit.last:%Y-%m-%d}, leaving at {usual} "
        f"± {habit.spread_min:g} min (median and median absolute deviation, {habit.tz})"
    )
    return message, explanation


def suggest_departures(
    session: Session,
    audit: AuditLog,
    subject_id: str,
    *,
    now: datetime | None = None,
    tz: tzinfo = UTC,
    horizon: timedelta = HORIZON,
    principal: str = "cockpit-assistant",
) -> DepartureAdvice:
    """The departures ``subject_id`` usually makes around ``now``, each recorded as an AI output.

    ``tz`` is the driver's time zone (habits are learned and said in local time).
    """
    get_subject(session, subject_id)
    moment = require_aware(now or datetime.now(UTC), "now")
    if not consent_state(session, subject_id, PURPOSE, "location", moment).active:
        return DepartureAdvice(
            subject_id,
            (),
            f"{subject_id} has not consented to personalisation with location data, "
            "so no trips are learned and no departure is suggested",
        )
    habits = learn(session, subject_id, at=moment, tz=tz).destinations
    if not habits:
        return DepartureAdvice(
            subject_id,
            (),
            f"too little history: no place was left for at least {MIN_TRIPS} times at about "
            f"the same time on similar days in the last {HISTORY.days} days",
        )
    local = moment.astimezone(tz)
    suggestions = []
    for habit in habits:
        if local.isoweekday() not in habit.weekdays:
            continue
        leave_at = datetime.combine(local.date(), habit.departure, tzinfo=tz).astimezone(UTC)
        ahead = leave_at - moment
        if not -LATE_GRACE <= ahead <= horizon:
            continue
        minutes = max(0, round(ahead / timedelta(minutes=1)))
        message, explanation = _suggestion_text(habit, minutes)
        output_id = record_output(
            audit,
            kind=OUTPUT_KIND,
            model=MODEL,
            version=VERSION,
            params={
                "min_trips": MIN_TRIPS,
                "cluster_gap_min": CLUSTER_GAP_MIN,
                "history_days": HISTORY.days,
                "horizon_min": horizon / timedelta(minutes=1),
                "late_grace_min": LATE_GRACE / timedelta(minutes=1),
                "trips": habit.trips,
                "spread_min": habit.spread_min,
            },
            inputs={},
            sources=[f"preference_events/{event_id}" for event_id in habit.event_ids],
            principal=principal,
            purpose=PURPOSE,
        )
        suggestions.append(
            DepartureSuggestion(
                output_id=output_id,
                destination=habit.name,
                latitude=habit.latitude,
                longitude=habit.longitude,
                leave_at=leave_at,
                minutes_until=minutes,
                habit=habit,
                message=message,
                explanation=explanation,
            )
        )
    if not suggestions:
        until = (moment + horizon).astimezone(tz)
        return DepartureAdvice(
            subject_id, (), f"no usual departure between now and {until:%H:%M} today"
        )
    return DepartureAdvice(subject_id, tuple(sorted(suggestions, key=lambda s: s.leave_at)))
