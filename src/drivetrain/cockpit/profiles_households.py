"""Households: drivers who share vehicles and named places (``home``…).

A household has owners, who may add members and share vehicles; any member
may share a place. A household whose owners were all erased is run by its
longest-standing member; one left with no members is deleted with its places,
by :func:`leave_household` or by the erasure of its last member
(``governance.subject_rights``). Sharing is the members' own act, so it needs
no consent record; a member's learned preferences stay their own. Every
function takes an open ``Session`` and leaves committing to the caller.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from drivetrain.errors import InputError, NotFound, PolicyDenied
from drivetrain.governance.subjects import get_subject, require_aware
from drivetrain.state.cockpit_models import (
    HOUSEHOLD_ROLES,
    HouseholdMemberRow,
    HouseholdPlaceRow,
    HouseholdRow,
    HouseholdVehicleRow,
)
from drivetrain.state.models import VehicleRow

_HOUSEHOLD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_PLACE = re.compile(r"[^\x00-\x1f]{1,64}")


@dataclass(frozen=True, slots=True)
class HouseholdMember:
    subject_id: str
    role: str  # owner | member
    joined_at: datetime


@dataclass(frozen=True, slots=True)
class SharedPlace:
    """A named place of a household, in WGS-84 degrees."""

    name: str
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Household:
    """Drivers sharing vehicles and named places."""

    household_id: str
    name: str
    members: tuple[HouseholdMember, ...]
    vehicles: tuple[str, ...]
    places: tuple[SharedPlace, ...]

    @property
    def owners(self) -> tuple[str, ...]:
        """Who may add members and share: the owners, else the longest-standing member."""
        owners = tuple(m.subject_id for m in self.members if m.role == "owner")
        return owners or tuple(m.subject_id for m in self.members[:1])

    def place(self, name: str) -> SharedPlace | None:
        wanted = name.strip().casefold()
        return next((p for p in self.places if p.name.casefold() == wanted), None)


def get_household(session: Session, household_id: str) -> Household:
    """The household ``household_id``; NotFound if there is none."""
    row = session.get(HouseholdRow, household_id)
    if row is None:
        raise NotFound(
            f"household {household_id!r} does not exist",
            hint="households_of lists a driver's households",
        )
    members = session.scalars(
        select(HouseholdMemberRow)
        .where(HouseholdMemberRow.household_id == household_id)
        .order_by(HouseholdMemberRow.joined_at, HouseholdMemberRow.subject_id)
    )
    vehicles = session.scalars(
        select(HouseholdVehicleRow.vehicle_id)
        .where(HouseholdVehicleRow.household_id == household_id)
        .order_by(HouseholdVehicleRow.vehicle_id)
    )
    places = session.scalars(
        select(HouseholdPlaceRow)
        .where(HouseholdPlaceRow.household_id == household_id)
        .order_by(HouseholdPlaceRow.name)
    )
    return Household(
        household_id,
        row.name,
        tuple(HouseholdMember(m.subject_id, m.role, m.joined_at) for m in members),
        tuple(vehicles),
        tuple(SharedPlace(p.name, p.latitude, p.longitude) for p in places),
    )


def households_of(session: Session, subject_id: str) -> list[Household]:
    """The households ``subject_id`` belongs to."""
    ids = session.scalars(
        select(HouseholdMemberRow.household_id)
        .where(HouseholdMemberRow.subject_id == subject_id)
        .order_by(HouseholdMemberRow.household_id)
    )
    return [get_household(session, h) for h in ids]


def create_household(
    session: Session,
    owner_id: str,
    name: str,
    *,
    household_id: str | None = None,
    at: datetime | None = None,
) -> Household:
    """A new household with ``owner_id`` as its owner."""
    get_subject(session, owner_id)
    if not name.strip() or len(name) > 128:
        raise InputError("a household name must be 1-128 characters", hint="e.g. 'The Rossis'")
    hid = household_id or f"hh-{uuid.uuid4().hex[:12]}"
    if not _HOUSEHOLD_ID.fullmatch(hid):
        raise InputError(
            f"household id {hid!r} is not valid",
            hint="use 1-64 letters, digits, '_', '.', ':' or '-'",
        )
    if session.get(HouseholdRow, hid) is not None:
        raise InputError(f"household {hid!r} already exists", hint="choose another id")
    moment = require_aware(at or datetime.now(UTC), "at")
    session.add(HouseholdRow(household_id=hid, name=name.strip(), created_at=moment))
    session.flush()
    session.add(
        HouseholdMemberRow(household_id=hid, subject_id=owner_id, role="owner", joined_at=moment)
    )
    session.flush()
    return get_household(session, hid)


def _require_owner(household: Household, subject_id: str, doing: str) -> None:
    if subject_id not in household.owners:
        raise PolicyDenied(
            f"{subject_id!r} is not an owner of household {household.household_id!r} "
            f"and so cannot {doing}",
            hint=f"ask an owner ({', '.join(household.owners)})",
        )


def _require_member(household: Household, subject_id: str, doing: str) -> None:
    if all(m.subject_id != subject_id for m in household.members):
        raise PolicyDenied(
            f"{subject_id!r} is not a member of household {household.household_id!r} "
            f"and so cannot {doing}",
            hint="join the household first",
        )


def join_household(
    session: Session,
    household_id: str,
    subject_id: str,
    *,
    added_by: str,
    role: str = "member",
    at: datetime | None = None,
) -> Household:
    """Add ``subject_id`` to the household; ``added_by`` must be one of its owners."""
    household = get_household(session, household_id)
    get_subject(session, subject_id)
    if role not in HOUSEHOLD_ROLES:
        raise InputError(
            f"unknown household role {role!r}", hint=f"use {', '.join(HOUSEHOLD_ROLES)}"
        )
    _require_owner(household, added_by, "add members")
    if any(m.subject_id == subject_id for m in household.members):
        raise InputError(
            f"{subject_id!r} is already a member of household {household_id!r}",
            hint="nothing to do",
        )
    session.add(
        HouseholdMemberRow(
            household_id=household_id,
            subject_id=subject_id,
            role=role,
            joined_at=require_aware(at or datetime.now(UTC), "at"),
        )
    )
    session.flush()
    return get_household(session, household_id)


def leave_household(session: Session, household_id: str, subject_id: str) -> Household | None:
    """Take ``subject_id`` out of the household; the last one out deletes it (None)."""
    household = get_household(session, household_id)
    _require_member(household, subject_id, "leave it")
    session.execute(
        delete(HouseholdMemberRow).where(
            HouseholdMemberRow.household_id == household_id,
            HouseholdMemberRow.subject_id == subject_id,
        )
    )
    if len(household.members) == 1:
        session.execute(
            delete(HouseholdPlaceRow).where(HouseholdPlaceRow.household_id == household_id)
        )
        session.execute(
            delete(HouseholdVehicleRow).where(HouseholdVehicleRow.household_id == household_id)
        )
        session.execute(delete(HouseholdRow).where(HouseholdRow.household_id == household_id))
        session.flush()
        return None
    session.flush()
    return get_household(session, household_id)


def share_vehicle(
    session: Session, household_id: str, vehicle_id: str, *, by: str, at: datetime | None = None
) -> Household:
    """Share ``vehicle_id`` with every member of the household (``by``: an owner)."""
    household = get_household(session, household_id)
    _require_owner(household, by, "share vehicles")
    if session.get(VehicleRow, vehicle_id) is None:
        raise NotFound(f"vehicle {vehicle_id!r} is not registered", hint="register it first")
    if vehicle_id not in household.vehicles:
        session.add(
            HouseholdVehicleRow(
                household_id=household_id,
                vehicle_id=vehicle_id,
                shared_at=require_aware(at or datetime.now(UTC), "at"),
            )
        )
        session.flush()
    return get_household(session, household_id)


def share_place(
    session: Session,
    household_id: str,
    name: str,
    latitude: float,
    longitude: float,
    *,
    by: str,
    at: datetime | None = None,
) -> Household:
    """Name a place for the whole household (replacing one of the same name); ``by``: a member."""
    household = get_household(session, household_id)
    _require_member(household, by, "share places")
    if not _PLACE.fullmatch(name.strip()):
        raise InputError("a place name must be 1-64 printable characters", hint="e.g. 'home'")
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        raise InputError(
            f"({latitude}, {longitude}) is not a position",
            hint="give WGS-84 degrees: latitude -90..90, longitude -180..180",
        )
    existing = household.place(name)
    if existing is not None:
        session.execute(
            delete(HouseholdPlaceRow).where(
                HouseholdPlaceRow.household_id == household_id,
                HouseholdPlaceRow.name == existing.name,
            )
        )
    session.add(
        HouseholdPlaceRow(
            household_id=household_id,
            name=name.strip(),
            latitude=float(latitude),
            longitude=float(longitude),
            added_by=by,
            added_at=require_aware(at or datetime.now(UTC), "at"),
        )
    )
    session.flush()
    return get_household(session, household_id)


def shared_place(session: Session, subject_id: str, name: str) -> SharedPlace | None:
    """The place ``name`` of one of ``subject_id``'s households (None: no household has it)."""
    for household in households_of(session, subject_id):
        if (place := household.place(name)) is not None:
            return place
    return None


def shared_vehicles(session: Session, subject_id: str) -> list[str]:
    """The vehicles ``subject_id``'s households share with them."""
    rows = session.scalars(
        select(HouseholdVehicleRow.vehicle_id)
        .join(
            HouseholdMemberRow,
            HouseholdMemberRow.household_id == HouseholdVehicleRow.household_id,
        )
        .where(HouseholdMemberRow.subject_id == subject_id)
        .distinct()
        .order_by(HouseholdVehicleRow.vehicle_id)
    )
    return list(rows)
