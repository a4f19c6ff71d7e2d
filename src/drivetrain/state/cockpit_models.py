"""Control-plane tables of the in-car assistant: driver identifiers, households, preferences.

A driver profile *is* a governance data subject (``data_subjects.subject_id``):
every table that holds something about a driver keys on ``subject_id`` with
``ON DELETE CASCADE``, so erasing the subject removes it (the erasure also
deletes these rows explicitly, see ``governance.subject_rights``).

Identifiers (key fob, paired phone, seat-memory slot) are stored only as a
keyed digest (HMAC-SHA256 under a key of the data directory): the table can
match an identifier it is shown, but never says which phone number or key id
it holds. ``preference_events`` is what a driver set, stored only while their
consent for ``personalisation`` is in force; ``learned_preferences`` is what
was learned from those events, replaced at every learning run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from drivetrain.state.models import Base, UTCDateTime

IDENTIFIER_KINDS: tuple[str, ...] = ("key", "phone", "seat")
HOUSEHOLD_ROLES: tuple[str, ...] = ("owner", "member")
PREFERENCE_KINDS: tuple[str, ...] = (
    "climate_temperature",  # target: HVAC zone, e.g. Row1.Driver; number: °C
    "fan_speed",  # target: HVAC zone; number: percent
    "seat_heating",  # target: seat side, e.g. DriverSide; number: percent (<0 cooling)
    "seat_position",  # target: seat side; number: mm (as VSS Seat.Position)
    "volume",  # number: media volume, percent
    "media_genre",  # text: the genre played
    "media_artist",  # text: the artist played
    "destination",  # text: the place's name; latitude/longitude; at: departure time
)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class DriverIdentifierRow(Base):
    """A key fob, paired phone or seat-memory slot that identifies one driver, as a digest."""

    __tablename__ = "driver_identifiers"
    __table_args__ = (
        CheckConstraint(_one_of("kind", IDENTIFIER_KINDS), name="kind"),
        UniqueConstraint("kind", "digest"),
        Index("ix_driver_identifiers_subject_id", "subject_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("data_subjects.subject_id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(8))
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    # Only a seat-memory slot belongs to one vehicle; keys and phones work fleet-wide.
    vehicle_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    label: Mapped[str] = mapped_column(String(64))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HouseholdRow(Base):
    """A household: drivers who share vehicles and named places."""

    __tablename__ = "households"

    household_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HouseholdMemberRow(Base):
    """``subject_id`` belongs to ``household_id`` as ``role`` (owner or member)."""

    __tablename__ = "household_members"
    __table_args__ = (
        CheckConstraint(_one_of("role", HOUSEHOLD_ROLES), name="role"),
        Index("ix_household_members_subject_id", "subject_id"),
    )

    household_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("households.household_id", ondelete="CASCADE"), primary_key=True
    )
    subject_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("data_subjects.subject_id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(8))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HouseholdVehicleRow(Base):
    """A vehicle the household shares."""

    __tablename__ = "household_vehicles"

    household_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("households.household_id", ondelete="CASCADE"), primary_key=True
    )
    vehicle_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("vehicles.vehicle_id", ondelete="CASCADE"), primary_key=True
    )
    shared_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HouseholdPlaceRow(Base):
    """A named place (``home``…) every member of the household may navigate to."""

    __tablename__ = "household_places"

    household_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("households.household_id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    # Who added it; the place stays the household's when that member is erased.
    added_by: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("data_subjects.subject_id", ondelete="SET NULL"), nullable=True
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PreferenceEventRow(Base):
    """One thing a driver set in a vehicle (stored only with consent for personalisation)."""

    __tablename__ = "preference_events"
    __table_args__ = (
        CheckConstraint(_one_of("kind", PREFERENCE_KINDS), name="kind"),
        Index("ix_preference_events_subject_id_kind_at", "subject_id", "kind", "at"),
    )

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("data_subjects.subject_id", ondelete="CASCADE")
    )
    vehicle_id: Mapped[str] = mapped_column(String(64))
    model_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    target: Mapped[str] = mapped_column(String(32))
    number: Mapped[float | None] = mapped_column(Float, nullable=True)
    text: Mapped[str | None] = mapped_column(String(128), nullable=True)
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class LearnedPreferenceRow(Base):
    """One preference learned from a driver's events, with how many events it rests on."""

    __tablename__ = "learned_preferences"

    subject_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("data_subjects.subject_id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    events: Mapped[int] = mapped_column(Integer)
    learned_at: Mapped[datetime] = mapped_column(UTCDateTime())


#: Tables holding rows about one subject, keyed by ``subject_id`` (deleted on erasure).
SUBJECT_TABLES: tuple[type[Base], ...] = (
    DriverIdentifierRow,
    HouseholdMemberRow,
    PreferenceEventRow,
    LearnedPreferenceRow,
)

__all__ = [
    "HOUSEHOLD_ROLES",
    "IDENTIFIER_KINDS",
    "PREFERENCE_KINDS",
    "SUBJECT_TABLES",
    "DriverIdentifierRow",
    "HouseholdMemberRow",
    "HouseholdPlaceRow",
    "HouseholdRow",
    "HouseholdVehicleRow",
    "LearnedPreferenceRow",
    "PreferenceEventRow",
]
