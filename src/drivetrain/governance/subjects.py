"""Data subjects (owners, drivers, households) and their links to vehicles over time.

A vehicle changes hands: each link holds for ``[valid_from, valid_to)``
(open-ended while ``valid_to`` is ``None``). A vehicle has at most one owner at
any instant; drivers may overlap freely. Every function takes an open
``Session`` and leaves committing to the caller.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from drivetrain.errors import InputError, NotFound
from drivetrain.governance.policies import REGIONS
from drivetrain.state.governance_models import (
    SUBJECT_KINDS,
    SUBJECT_ROLES,
    DataSubjectRow,
    VehicleSubjectRow,
)
from drivetrain.state.models import VehicleRow

_SUBJECT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class DataSubject:
    """A person or household whose data a vehicle may produce."""

    subject_id: str
    kind: str  # owner | driver | household
    display_name: str
    region: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SubjectLink:
    """``subject_id`` is ``role`` of ``vehicle_id`` during ``[valid_from, valid_to)``."""

    vehicle_id: str
    subject_id: str
    role: str  # owner | driver
    valid_from: datetime
    valid_to: datetime | None

    def holds_at(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_to is None or at < self.valid_to)

    def period(self) -> str:
        end = "open" if self.valid_to is None else _iso(self.valid_to)
        return f"[{_iso(self.valid_from)}, {end})"


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def require_aware(value: datetime, name: str) -> datetime:
    """``value`` in UTC; InputError if it carries no time zone."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InputError(
            f"{name} {value!r} has no time zone", hint="give a UTC time, e.g. 2026-10-05T12:00:00Z"
        )
    return value.astimezone(UTC)


def _subject(row: DataSubjectRow) -> DataSubject:
    return DataSubject(row.subject_id, row.kind, row.display_name, row.region, row.created_at)


def _link(row: VehicleSubjectRow) -> SubjectLink:
    return SubjectLink(row.vehicle_id, row.subject_id, row.role, row.valid_from, row.valid_to)


def register_subject(
    session: Session,
    subject_id: str,
    *,
    kind: str,
    display_name: str,
    region: str,
    created_at: datetime | None = None,
) -> DataSubject:
    """Record a new data subject; InputError if the id is taken or a field is bad."""
    if not isinstance(subject_id, str) or not _SUBJECT_ID.fullmatch(subject_id):
        raise InputError(
            f"subject id {subject_id!r} is not valid",
            hint="use 1-64 letters, digits, '_', '.', ':' or '-', starting with a letter or digit",
        )
    if kind not in SUBJECT_KINDS:
        raise InputError(f"unknown subject kind {kind!r}", hint=f"use {', '.join(SUBJECT_KINDS)}")
    if region not in REGIONS:
        raise InputError(f"unknown region {region!r}", hint=f"use {', '.join(REGIONS)}")
    if not display_name.strip() or len(display_name) > 128:
        raise InputError("display name must be 1-128 characters", hint="e.g. 'Household Rossi'")
    if session.get(DataSubjectRow, subject_id) is not None:
        raise InputError(
            f"subject {subject_id!r} is already registered", hint="choose another subject id"
        )
    row = DataSubjectRow(
        subject_id=subject_id,
        kind=kind,
        display_name=display_name,
        region=region,
        created_at=require_aware(created_at or datetime.now(UTC), "created_at"),
    )
    session.add(row)
    session.flush()
    return _subject(row)


def get_subject(session: Session, subject_id: str) -> DataSubject:
    """The subject ``subject_id``; NotFound with a hint if it is not registered."""
    row = session.get(DataSubjectRow, subject_id)
    if row is None:
        raise NotFound(
            f"data subject {subject_id!r} is not registered",
            hint="register it first: drivetrain governance subject add",
        )
    return _subject(row)


def list_subjects(session: Session) -> list[DataSubject]:
    """Every registered subject, by id."""
    rows = session.scalars(select(DataSubjectRow).order_by(DataSubjectRow.subject_id))
    return [_subject(r) for r in rows]


def _overlaps(a_from: datetime, a_to: datetime | None, b: SubjectLink) -> bool:
    return (b.valid_to is None or a_from < b.valid_to) and (a_to is None or b.valid_from < a_to)


def link_vehicle(
    session: Session,
    subject_id: str,
    vehicle_id: str,
    role: str,
    valid_from: datetime,
    valid_to: datetime | None = None,
) -> SubjectLink:
    """Make ``subject_id`` the ``role`` (owner or driver) of ``vehicle_id`` over a period.

    An owner period overlapping another owner period of the same vehicle is
    refused with InputError naming both; end the previous one first.
    """
    get_subject(session, subject_id)
    if session.get(VehicleRow, vehicle_id) is None:
        raise NotFound(
            f"vehicle {vehicle_id!r} is not registered",
            hint="register it in the fleet first (drivetrain fleet …)",
        )
    if role not in SUBJECT_ROLES:
        raise InputError(f"unknown role {role!r}", hint=f"use {', '.join(SUBJECT_ROLES)}")
    start = require_aware(valid_from, "valid_from")
    end = None if valid_to is None else require_aware(valid_to, "valid_to")
    if end is not None and end <= start:
        raise InputError(
            f"link period [{_iso(start)}, {_iso(end)}) is empty",
            hint="valid_to must be after valid_from",
        )
    new = SubjectLink(vehicle_id, subject_id, role, start, end)
    if role == "owner":
        for other in links_of_vehicles(session, [vehicle_id]):
            if other.role == "owner" and _overlaps(start, end, other):
                raise InputError(
                    f"vehicle {vehicle_id}: owner period {new.period()} of {subject_id} overlaps "
                    f"owner period {other.period()} of {other.subject_id}",
                    hint="a vehicle has one owner at a time; end the other period first",
                )
    session.add(
        VehicleSubjectRow(
            vehicle_id=vehicle_id, subject_id=subject_id, role=role, valid_from=start, valid_to=end
        )
    )
    session.flush()
    return new


def links_of_vehicles(session: Session, vehicle_ids: Iterable[str]) -> list[SubjectLink]:
    """Every subject link of the given vehicles, by vehicle and start."""
    ids = sorted(set(vehicle_ids))
    links: list[SubjectLink] = []
    for i in range(0, len(ids), _LOOKUP_CHUNK):
        rows = session.scalars(
            select(VehicleSubjectRow)
            .where(VehicleSubjectRow.vehicle_id.in_(ids[i : i + _LOOKUP_CHUNK]))
            .order_by(VehicleSubjectRow.vehicle_id, VehicleSubjectRow.valid_from)
        )
        links.extend(_link(r) for r in rows)
    return links


def links_of_subject(session: Session, subject_id: str) -> list[SubjectLink]:
    """The vehicles ``subject_id`` is or was linked to."""
    rows = session.scalars(
        select(VehicleSubjectRow)
        .where(VehicleSubjectRow.subject_id == subject_id)
        .order_by(VehicleSubjectRow.valid_from)
    )
    return [_link(r) for r in rows]


def subjects_of(session: Session, vehicle_id: str, at: datetime) -> list[SubjectLink]:
    """The links of ``vehicle_id`` that hold at ``at`` (owner first)."""
    moment = require_aware(at, "at")
    current = [link for link in links_of_vehicles(session, [vehicle_id]) if link.holds_at(moment)]
    return sorted(current, key=lambda link: (link.role != "owner", link.subject_id))
