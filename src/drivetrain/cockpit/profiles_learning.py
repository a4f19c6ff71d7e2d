"""Preferences learned from what a driver sets, under consent, and applied in any fleet vehicle.

**Consent.** :func:`record_event` stores an event only while the driver's
consent for purpose ``personalisation`` is in force, both at the event's time
and now: data category ``cabin`` for climate, seat, volume and media, and
``location`` for destinations. Without it nothing is stored and the caller gets
a :class:`RecordResult` saying why — not an exception, because the setting
itself was applied; only remembering it is refused. :func:`learn` uses only
events of the *current* uninterrupted consent period of their category: once
consent is withdrawn it returns nothing (and drops what it had materialised),
and a later renewed consent does not revive the events from before the
withdrawal. :func:`withdraw_personalisation` withdraws and deletes the events
and everything learned from them at once (GDPR Art. 7(3), 17(1)(b)).

**Learning rules** (each preference says how many events it rests on; fewer
than ``min_events`` teach nothing):

* climate setpoint and fan speed per zone, volume, seat position per seat and
  vehicle model: the median of the latest :data:`RECENT_EVENTS` values, with
  the median absolute deviation as its spread (robust to a one-off change);
* seat heating per seat: the most frequent level (ties: the latest);
* favourite genres and artists: counted with recency weighting, each event
  weighing ``0.5 ** (age / FAVOURITE_HALF_LIFE)``;
* destinations: :func:`drivetrain.cockpit.profiles_trips.frequent_destinations`.

:func:`drivetrain.cockpit.profiles_settings.settings_for` turns them into the
VSS writes for a (possibly different) vehicle of the fleet.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from drivetrain.cockpit.cabin import SimulatedVehicle, Value, vss_refusal
from drivetrain.cockpit.profiles_households import shared_place
from drivetrain.cockpit.profiles_trips import DestinationHabit, frequent_destinations
from drivetrain.cockpit.vss import cockpit_signal
from drivetrain.errors import InputError
from drivetrain.governance.consent import consent_history, consent_state, withdraw_consent
from drivetrain.governance.subjects import get_subject, require_aware
from drivetrain.state.cockpit_models import (
    PREFERENCE_KINDS,
    LearnedPreferenceRow,
    PreferenceEventRow,
)

PURPOSE = "personalisation"
ZONES: tuple[str, ...] = ("Row1.Driver", "Row1.Passenger", "Row2.Driver", "Row2.Passenger")
SEATS: tuple[str, ...] = ("DriverSide", "PassengerSide")
RECENT_EVENTS = 50  # per setting: a changed habit wins within weeks
FAVOURITE_HALF_LIFE = timedelta(days=30)
TOP_FAVOURITES = 5
MIN_EVENTS = 3

#: The VSS leaf each setting kind writes, from its target (zone or seat side).
SETTING_PATHS: dict[str, str] = {
    "climate_temperature": "Vehicle.Cabin.HVAC.Station.{}.Temperature",
    "fan_speed": "Vehicle.Cabin.HVAC.Station.{}.FanSpeed",
    "seat_heating": "Vehicle.Cabin.Seat.Row1.{}.HeatingCooling",
    "seat_position": "Vehicle.Cabin.Seat.Row1.{}.Position",
    "volume": "Vehicle.Cabin.Infotainment.Media.Volume",
}
_FAVOURITE_KINDS = ("media_genre", "media_artist")


def category_of(kind: str) -> str:
    """The governance data category of a preference kind (destinations are ``location``)."""
    return "location" if kind == "destination" else "cabin"


@dataclass(frozen=True, slots=True)
class RecordResult:
    """Whether a preference event was stored, and if not why."""

    stored: bool
    event_id: int | None = None
    reason: str | None = None
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class LearnedSetting:
    """A setting learned for one target (zone, seat side, '' for volume)."""

    kind: str
    target: str
    value: float
    events: int
    spread: float  # median absolute deviation (medians) or share of events off the mode
    model_id: str | None = None  # seat positions hold for the model they were learned in


@dataclass(frozen=True, slots=True)
class Favourite:
    kind: str  # media_genre | media_artist
    name: str
    score: float  # recency-weighted count
    events: int


@dataclass(frozen=True, slots=True)
class LearnedPreferences:
    """What was learned about one driver; empty with ``reasons`` when nothing may be."""

    subject_id: str
    learned_at: datetime
    settings: tuple[LearnedSetting, ...] = ()
    favourites: tuple[Favourite, ...] = ()
    destinations: tuple[DestinationHabit, ...] = ()
    reasons: tuple[str, ...] = ()  # why a part is empty (no consent…)

    @property
    def empty(self) -> bool:
        return not (self.settings or self.favourites or self.destinations)

    def setting(self, kind: str, target: str = "") -> LearnedSetting | None:
        return next((s for s in self.settings if s.kind == kind and s.target == target), None)


def _check_event(kind: str, target: str, value: Value) -> tuple[float | None, str | None]:
    if kind not in PREFERENCE_KINDS:
        raise InputError(
            f"unknown preference kind {kind!r}", hint=f"use {', '.join(PREFERENCE_KINDS)}"
        )
    if kind in _FAVOURITE_KINDS or kind == "destination":
        if not isinstance(value, str) or not 0 < len(value.strip()) <= 128:
            raise InputError(f"a {kind} is a name of 1-128 characters, got {value!r}")
        if target:
            raise InputError(f"a {kind} has no target, got {target!r}", hint="leave target ''")
        return None, value.strip()
    targets = ("",) if kind == "volume" else ZONES if "Station" in SETTING_PATHS[kind] else SEATS
    if target not in targets:
        raise InputError(
            f"{kind} needs a target of {', '.join(repr(t) for t in targets)}, got {target!r}"
        )
    path = SETTING_PATHS[kind].format(target)
    if (why := vss_refusal(cockpit_signal(path), value)) is not None:
        raise InputError(f"{kind} {value!r} is not valid: {why}", hint=f"as VSS {path}")
    return float(value), None


def record_event(
    session: Session,
    subject_id: str,
    vehicle: SimulatedVehicle,
    kind: str,
    value: Value,
    *,
    target: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
    at: datetime | None = None,
) -> RecordResult:
    """Remember that ``subject_id`` set ``kind`` (on ``target``) to ``value`` in ``vehicle``.

    A destination is ``value`` = its name, with its position; without one, a
    place of that name shared by the driver's household is used. A bad value
    raises InputError; missing consent returns ``stored=False`` with the reason.
    """
    get_subject(session, subject_id)
    number, text = _check_event(kind, target, value)
    now = datetime.now(UTC)
    moment = require_aware(at or now, "at")
    category = category_of(kind)
    for when in (moment, now):
        if not consent_state(session, subject_id, PURPOSE, category, when).active:
            return RecordResult(
                stored=False,
                reason=f"{subject_id} has not consented to personalisation with {category} "
                f"data at {when.isoformat()}, so this {kind.replace('_', ' ')} is not remembered",
                hint=f"the driver can opt in: give_consent(…, {PURPOSE!r}, {category!r}, …)",
            )
    if kind == "destination" and (latitude is None or longitude is None):
        place = shared_place(session, subject_id, str(text))
        if place is None:
            raise InputError(
                f"destination {text!r} has no position",
                hint="give latitude and longitude, or share the place with the household",
            )
        latitude, longitude = place.latitude, place.longitude
    if latitude is not None and longitude is not None:
        for path, degrees in (("Latitude", latitude), ("Longitude", longitude)):
            signal = cockpit_signal(f"Vehicle.Cabin.Infotainment.Navigation.DestinationSet.{path}")
            if (why := vss_refusal(signal, degrees)) is not None:
                raise InputError(f"destination {text!r}: {why}", hint="WGS-84 degrees")
    row = PreferenceEventRow(
        subject_id=subject_id,
        vehicle_id=vehicle.vehicle_id,
        model_id=vehicle.features.model_id,
        kind=kind,
        target=target,
        number=number,
        text=text,
        latitude=latitude if kind == "destination" else None,
        longitude=longitude if kind == "destination" else None,
        at=moment,
    )
    session.add(row)
    session.flush()
    return RecordResult(stored=True, event_id=row.event_id)


def consent_period_start(
    session: Session, subject_id: str, category: str, at: datetime
) -> datetime | None:
    """When the uninterrupted personalisation consent in force at ``at`` began (None: none)."""
    start: datetime | None = None
    for event in consent_history(session, subject_id):
        if event.at > at:
            break
        if event.purpose != PURPOSE or event.data_category != category:
            continue
        # A renewed consent continues the period; a withdrawal ends it.
        start = (start or event.at) if event.action == "given" else None
    return start


def _mad(values: list[float], centre: float) -> float:
    return float(statistics.median(abs(v - centre) for v in values))


def _learn_settings(rows: list[PreferenceEventRow], min_events: int) -> list[LearnedSetting]:
    groups: dict[tuple[str, str, str | None], list[PreferenceEventRow]] = {}
    for row in rows:
        if row.kind in SETTING_PATHS:
            model = row.model_id if row.kind == "seat_position" else None
            groups.setdefault((row.kind, row.target, model), []).append(row)
    learned = []
    for (kind, target, model), group in sorted(groups.items(), key=lambda g: str(g[0])):
        recent = sorted(group, key=lambda r: (r.at, r.event_id))[-RECENT_EVENTS:]
        values = [float(r.number) for r in recent if r.number is not None]
        if len(values) < min_events:
            continue
        if kind == "seat_heating":
            counts = Counter(values)
            top = max(counts.values())
            value = next(v for v in reversed(values) if counts[v] == top)  # ties: the latest
            spread = 1 - top / len(values)
        else:
            value = float(statistics.median(values))
            spread = _mad(values, value)
        learned.append(LearnedSetting(kind, target, value, len(values), spread, model))
    return learned


def _learn_favourites(
    rows: list[PreferenceEventRow], at: datetime, min_events: int
) -> list[Favourite]:
    favourites: list[Favourite] = []
    for kind in _FAVOURITE_KINDS:
        scores: dict[str, float] = {}
        counts: Counter[str] = Counter()
        spelling: dict[str, str] = {}
        for row in rows:
            if row.kind != kind or not row.text:
                continue
            name = row.text.casefold()
            spelling.setdefault(name, row.text)
            age = max(at - row.at, timedelta(0))
            scores[name] = scores.get(name, 0.0) + 0.5 ** (age / FAVOURITE_HALF_LIFE)
            counts[name] += 1
        ranked = sorted(
            (n for n in scores if counts[n] >= min_events), key=lambda n: (-scores[n], n)
        )
        favourites.extend(
            Favourite(kind, spelling[n], round(scores[n], 6), counts[n])
            for n in ranked[:TOP_FAVOURITES]
        )
    return favourites


def learn(
    session: Session,
    subject_id: str,
    *,
    at: datetime | None = None,
    tz: tzinfo = UTC,
    min_events: int = MIN_EVENTS,
) -> LearnedPreferences:
    """Learn ``subject_id``'s preferences from their events, as of ``at`` (now).

    ``tz`` is the driver's time zone for departure habits. The result replaces
    what ``learned_preferences`` held for the subject.
    """
    get_subject(session, subject_id)
    moment = require_aware(at or datetime.now(UTC), "at")
    reasons: list[str] = []
    usable: dict[str, list[PreferenceEventRow]] = {}
    for category in ("cabin", "location"):
        start = consent_period_start(session, subject_id, category, moment)
        if start is None:
            reasons.append(f"no consent to personalisation with {category} data in force")
            usable[category] = []
            continue
        kinds = [k for k in PREFERENCE_KINDS if category_of(k) == category]
        usable[category] = list(
            session.scalars(
                select(PreferenceEventRow).where(
                    PreferenceEventRow.subject_id == subject_id,
                    PreferenceEventRow.kind.in_(kinds),
                    PreferenceEventRow.at >= start,
                    PreferenceEventRow.at <= moment,
                )
            )
        )
    preferences = LearnedPreferences(
        subject_id=subject_id,
        learned_at=moment,
        settings=tuple(_learn_settings(usable["cabin"], min_events)),
        favourites=tuple(_learn_favourites(usable["cabin"], moment, min_events)),
        destinations=tuple(frequent_destinations(_trips(usable["location"]), moment, tz)),
        reasons=tuple(reasons),
    )
    _materialise(session, preferences)
    return preferences


def _trips(rows: list[PreferenceEventRow]) -> list[tuple[int, str, float, float, datetime]]:
    return [
        (r.event_id, r.text, r.latitude, r.longitude, r.at)
        for r in rows
        if r.text and r.latitude is not None and r.longitude is not None
    ]


def _materialise(session: Session, preferences: LearnedPreferences) -> None:
    subject_id = preferences.subject_id
    session.execute(
        delete(LearnedPreferenceRow).where(LearnedPreferenceRow.subject_id == subject_id)
    )
    rows: list[LearnedPreferenceRow] = []
    items: Iterable[tuple[str, str, int, object]] = [
        *((s.kind, f"{s.model_id or ''}/{s.target}", s.events, s) for s in preferences.settings),
        *((f.kind, f.name.casefold(), f.events, f) for f in preferences.favourites),
        *(("destination", d.key, d.trips, d) for d in preferences.destinations),
    ]
    for kind, key, events, item in items:
        value = {k: _json(v) for k, v in asdict(item).items()}  # type: ignore[call-overload]
        rows.append(
            LearnedPreferenceRow(
                subject_id=subject_id,
                kind=kind,
                key=key[:160],
                value=value,
                events=events,
                learned_at=preferences.learned_at,
            )
        )
    session.add_all(rows)
    session.flush()


def _json(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    if hasattr(value, "isoformat"):  # datetime.time
        return value.isoformat()
    return value


def forget_preferences(session: Session, subject_id: str) -> int:
    """Delete every preference event of ``subject_id`` and what was learned; the event count."""
    get_subject(session, subject_id)
    result = session.execute(
        delete(PreferenceEventRow).where(PreferenceEventRow.subject_id == subject_id)
    )
    session.execute(
        delete(LearnedPreferenceRow).where(LearnedPreferenceRow.subject_id == subject_id)
    )
    session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def withdraw_personalisation(
    session: Session, subject_id: str, *, at: datetime | None = None
) -> int:
    """Withdraw ``subject_id``'s consent to personalisation and delete what it allowed.

    Returns the number of preference events deleted.
    """
    withdraw_consent(session, subject_id, PURPOSE, ("cabin", "location"), at=at)
    return forget_preferences(session, subject_id)
