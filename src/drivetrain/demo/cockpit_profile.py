"""The demo driver's profile: recognised by phone, three weeks of habits, a second car.

The owner of the cockpit tour's car pairs a phone (stored as a keyed digest
only). Three weeks of their earlier settings and commutes are simulated as
preference events (the history a real car would have recorded with their
consent); the profile learned from them sets up a car of another model, skipping
what that car lacks, and suggests the weekday departure for work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.orm import Session

from drivetrain.cockpit.cabin import SimulatedVehicle
from drivetrain.cockpit.habits import DepartureAdvice, suggest_departures
from drivetrain.cockpit.profiles import IdentifierKey, enrol_identifier, identify_driver
from drivetrain.cockpit.profiles_learning import LearnedPreferences, learn, record_event
from drivetrain.cockpit.profiles_settings import ProfileSettings, settings_for
from drivetrain.cockpit.requests import PLACES
from drivetrain.errors import NotFound
from drivetrain.fleet import VehicleRecord
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.subjects import subjects_of
from drivetrain.settings import Settings
from drivetrain.state import session_scope

PHONE = "+49 151 2345 6789"  # a made-up number: only its keyed digest is stored
ZONE = ZoneInfo("Europe/Berlin")
HISTORY_DAYS = 21


@dataclass(frozen=True)
class ProfileStory:
    """What the demo prints about the driver's profile."""

    subject_id: str
    identified_by: str
    events: int
    preferences: LearnedPreferences
    other: VehicleRecord
    other_settings: ProfileSettings
    departures: DepartureAdvice


def owner_of(settings: Settings, vehicle_id: str, at: datetime) -> str:
    """The subject linked to ``vehicle_id`` as its owner at ``at``."""
    with session_scope(settings.resolved_state_url) as session:
        links = [link for link in subjects_of(session, vehicle_id, at) if link.role == "owner"]
    if not links:
        raise NotFound(f"vehicle {vehicle_id} has no owner at {at:%Y-%m-%d}")
    return links[0].subject_id


def _history(session: Session, subject_id: str, car: SimulatedVehicle, end: datetime) -> int:
    """Three weeks of the driver's settings and weekday commutes, seeded."""
    rng = np.random.default_rng(11)
    work_lat, work_lon = PLACES["work"]
    count = 0
    for day in range(HISTORY_DAYS, 0, -1):
        morning = (end - timedelta(days=day)).astimezone(ZONE).replace(hour=7, minute=30)
        if morning.isoweekday() <= 5:
            leave = morning + timedelta(minutes=int(rng.integers(4, 16)))
            record_event(session, subject_id, car, "destination", "work",
                         latitude=work_lat, longitude=work_lon, at=leave)  # fmt: skip
            count += 1
        setpoint = float(rng.choice([21.5, 22.0, 22.0, 22.5]))
        record_event(session, subject_id, car, "climate_temperature", setpoint,
                     target="Row1.Driver", at=morning + timedelta(minutes=1))  # fmt: skip
        record_event(session, subject_id, car, "seat_heating", 33,
                     target="DriverSide", at=morning + timedelta(minutes=2))  # fmt: skip
        count += 2
    return count


def profile_story(
    settings: Settings,
    record: VehicleRecord,
    other: VehicleRecord,
    *,
    now: datetime,
    audit: AuditLog,
    principal: str,
) -> ProfileStory:
    """Pair the phone, simulate the history, learn, set up ``other``, suggest a departure."""
    subject_id = owner_of(settings, record.vehicle_id, now)
    key = IdentifierKey.load_or_create(settings.data_dir)
    car = SimulatedVehicle.parked(record.vehicle_id, record.model_id)
    with session_scope(settings.resolved_state_url) as session:
        enrol_identifier(session, key, subject_id, "phone", PHONE, label="demo phone", at=now)
        match = identify_driver(session, key, record.vehicle_id, phone=PHONE)
        assert match is not None and match.subject_id == subject_id
        events = _history(session, subject_id, car, now)
    with session_scope(settings.resolved_state_url) as session:
        preferences = learn(session, subject_id, at=now, tz=ZONE)
    second = SimulatedVehicle.parked(other.vehicle_id, other.model_id)
    setup = settings_for(second, preferences)
    monday = now.astimezone(ZONE) + timedelta(days=(7 - now.astimezone(ZONE).weekday()) % 7 or 7)
    at = monday.replace(hour=7, minute=25, second=0, microsecond=0)
    with session_scope(settings.resolved_state_url) as session:
        advice = suggest_departures(
            session, audit, subject_id, now=at, tz=ZONE, principal=principal
        )
    return ProfileStory(subject_id, "phone", events, preferences, other, setup, advice)
