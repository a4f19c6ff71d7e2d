"""Driver profiles: who is at the wheel, from a key fob, a paired phone or a seat-memory slot.

A driver profile is a governance data subject (``governance.register_subject``,
kind ``driver`` or ``owner``). :func:`enrol_identifier` ties an identifier to
it and :func:`identify_driver` finds the profile again, on any vehicle of the
fleet: the profile follows the driver, not the car. Households are
:mod:`drivetrain.cockpit.profiles_households`; preferences
:mod:`drivetrain.cockpit.profiles_learning`.

Identifiers are never stored. The table keeps ``HMAC-SHA256(key, kind ‖ scope ‖
identifier)`` under the data directory's identifier key
(``keys/driver-identifier.key``, mode 0600, kept like the vehicle pseudonym
key): a copy of the database cannot tell which phone number or key fob it
holds, nor test a guessed one. A seat-memory slot only means something in its
vehicle, so its digest includes the vehicle id; keys and phones are
fleet-wide. Every function takes an open ``Session`` and leaves committing to
the caller.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from drivetrain.errors import InputError, IntegrityError, NotFound
from drivetrain.governance.key_files import KEYS_DIR, load_or_create_secret
from drivetrain.governance.subjects import get_subject, require_aware
from drivetrain.state.cockpit_models import (
    IDENTIFIER_KINDS,
    DriverIdentifierRow,
)

KEY_FILE = KEYS_DIR / "driver-identifier.key"
KEY_BYTES = 32
#: When several identifiers are present, the most personal one decides: the seat-memory
#: button the person pressed, then their phone, then the key fob (households share fobs).
IDENTIFICATION_ORDER: tuple[str, ...] = ("seat", "phone", "key")

_MAC = re.compile(r"[0-9A-F]{2}([:-]?)(?:[0-9A-F]{2}\1){4}[0-9A-F]{2}")
_PHONE = re.compile(r"\+?[0-9]{6,15}")
_FOB = re.compile(r"[A-Z0-9][A-Z0-9:_-]{3,63}")
MAX_SEAT_SLOT = 9


class IdentifierKey:
    """The secret key under which driver identifiers are digested (one per data directory)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise IntegrityError(f"an identifier key has {KEY_BYTES} bytes, this one {len(key)}")
        self._key = key

    def __repr__(self) -> str:  # never show the key
        return "IdentifierKey(<secret>)"

    @classmethod
    def load_or_create(cls, data_dir: Path) -> IdentifierKey:
        """The data directory's key, created (mode 0600) on first use."""
        return cls(load_or_create_secret(data_dir / KEY_FILE, KEY_BYTES, "identifier key"))

    def digest(self, kind: str, value: str | int, vehicle_id: str | None = None) -> bytes:
        """The keyed digest of identifier ``value`` of ``kind`` (normalised first)."""
        normal = normalise_identifier(kind, value)
        scope = _scope(kind, vehicle_id)
        message = f"{kind}\x1f{scope}\x1f{normal}".encode()
        return hmac.new(self._key, message, sha256).digest()


def normalise_identifier(kind: str, value: str | int) -> str:
    """``value`` in one canonical spelling; InputError if it is not an identifier of ``kind``.

    A phone is its Bluetooth address (``AA:BB:…``) or its number (digits, an
    optional leading ``+``; spaces, dots, dashes and brackets are ignored); a
    key fob id is 4-64 letters, digits, ``:``, ``_`` or ``-`` (case-insensitive);
    a seat-memory slot is 1-9.
    """
    if kind not in IDENTIFIER_KINDS:
        raise InputError(
            f"unknown identifier kind {kind!r}", hint=f"use {', '.join(IDENTIFIER_KINDS)}"
        )
    if kind == "seat":
        slot = value if isinstance(value, int) else int(value) if str(value).isdigit() else -1
        if isinstance(slot, bool) or not 1 <= slot <= MAX_SEAT_SLOT:
            raise InputError(
                f"seat-memory slot {value!r} is not valid", hint=f"use 1-{MAX_SEAT_SLOT}"
            )
        return str(slot)
    text = str(value).strip().upper()
    if kind == "phone":
        if _MAC.fullmatch(text):
            return ":".join(re.findall("[0-9A-F]{2}", text))
        number = re.sub(r"[\s().-]", "", text)
        if _PHONE.fullmatch(number):
            return number
        raise InputError(
            "the phone identifier is neither a Bluetooth address nor a phone number",
            hint="give the paired phone's address (AA:BB:CC:DD:EE:FF) or its number (+39…)",
        )
    if not _FOB.fullmatch(text):
        raise InputError(
            "the key fob id is not valid",
            hint="use 4-64 letters, digits, ':', '_' or '-' as the key reports it",
        )
    return text


def _scope(kind: str, vehicle_id: str | None) -> str:
    if kind != "seat":
        return ""
    if not vehicle_id:
        raise InputError(
            "a seat-memory slot identifies a driver only in its own vehicle",
            hint="give the vehicle_id of the car whose slot it is",
        )
    return vehicle_id


@dataclass(frozen=True, slots=True)
class DriverIdentifier:
    """An enrolled identifier of a driver profile (its digest stays in the store)."""

    identifier_id: int
    subject_id: str
    kind: str  # key | phone | seat
    label: str
    vehicle_id: str | None  # the vehicle of a seat-memory slot
    enrolled_at: datetime


@dataclass(frozen=True, slots=True)
class DriverMatch:
    """Who an identifier on a vehicle belongs to, and what else was seen."""

    subject_id: str
    display_name: str
    by: str  # the identifier kind that decided
    vehicle_id: str
    # Other profiles that other identifiers present pointed at (a borrowed key, say).
    others: tuple[str, ...] = ()


def _identifier(row: DriverIdentifierRow) -> DriverIdentifier:
    return DriverIdentifier(
        row.id, row.subject_id, row.kind, row.label, row.vehicle_id, row.enrolled_at
    )


def enrol_identifier(
    session: Session,
    key: IdentifierKey,
    subject_id: str,
    kind: str,
    value: str | int,
    *,
    vehicle_id: str | None = None,
    label: str | None = None,
    at: datetime | None = None,
) -> DriverIdentifier:
    """Tie identifier ``value`` (key fob id, paired phone, seat slot) to ``subject_id``.

    Enrolling the same identifier twice for the same driver returns the first
    enrolment; one enrolled for another driver is refused (remove it there first).
    """
    subject = get_subject(session, subject_id)
    if subject.kind == "household":
        raise InputError(
            f"subject {subject_id!r} is a household, not a driver",
            hint="enrol identifiers for each driver; households group drivers",
        )
    digest = key.digest(kind, value, vehicle_id)
    if label is not None and not 0 < len(label) <= 64:
        raise InputError("an identifier label must be 1-64 characters", hint="e.g. 'work phone'")
    existing = session.scalar(
        select(DriverIdentifierRow).where(
            DriverIdentifierRow.kind == kind, DriverIdentifierRow.digest == digest
        )
    )
    if existing is not None:
        if existing.subject_id != subject_id:
            raise InputError(
                f"this {kind} is already enrolled for another driver profile",
                hint="remove it from that profile first (remove_identifier)",
            )
        return _identifier(existing)
    row = DriverIdentifierRow(
        subject_id=subject_id,
        kind=kind,
        digest=digest,
        vehicle_id=vehicle_id if kind == "seat" else None,
        label=label or kind,
        enrolled_at=require_aware(at or datetime.now(UTC), "at"),
    )
    session.add(row)
    session.flush()
    return _identifier(row)


def identifiers_of(session: Session, subject_id: str) -> list[DriverIdentifier]:
    """The identifiers enrolled for ``subject_id``, oldest first."""
    rows = session.scalars(
        select(DriverIdentifierRow)
        .where(DriverIdentifierRow.subject_id == subject_id)
        .order_by(DriverIdentifierRow.enrolled_at, DriverIdentifierRow.id)
    )
    return [_identifier(r) for r in rows]


def remove_identifier(session: Session, subject_id: str, identifier_id: int) -> None:
    """Forget one identifier of ``subject_id``; NotFound if the profile has no such one."""
    row = session.get(DriverIdentifierRow, identifier_id)
    if row is None or row.subject_id != subject_id:
        raise NotFound(
            f"driver {subject_id!r} has no identifier {identifier_id}",
            hint="identifiers_of lists the profile's identifiers",
        )
    session.delete(row)
    session.flush()


def identify_driver(
    session: Session,
    key: IdentifierKey,
    vehicle_id: str,
    *,
    seat: int | str | None = None,
    phone: str | None = None,
    key_fob: str | None = None,
) -> DriverMatch | None:
    """The driver profile the identifiers present in ``vehicle_id`` point at (None: nobody).

    The first match in :data:`IDENTIFICATION_ORDER` decides; profiles the other
    identifiers name are reported in ``others`` so the assistant can ask.
    """
    given = {"seat": seat, "phone": phone, "key": key_fob}
    found: list[tuple[str, str]] = []
    for kind in IDENTIFICATION_ORDER:
        value = given[kind]
        if value is None:
            continue
        digest = key.digest(kind, value, vehicle_id)
        subject_id = session.scalar(
            select(DriverIdentifierRow.subject_id).where(
                DriverIdentifierRow.kind == kind, DriverIdentifierRow.digest == digest
            )
        )
        if subject_id is not None:
            found.append((kind, subject_id))
    if not found:
        return None
    by, subject_id = found[0]
    others = tuple(dict.fromkeys(s for _, s in found[1:] if s != subject_id))
    return DriverMatch(
        subject_id, get_subject(session, subject_id).display_name, by, vehicle_id, others
    )
