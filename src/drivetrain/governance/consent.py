"""Consent per data subject × purpose × data category, as an append-only history.

Each :class:`ConsentRecord` says that at ``at`` a subject *gave* or *withdrew*
its agreement to ``purpose`` using ``data_category`` on a ``legal_basis``
(``consent``; or, for a standing basis such as ``legitimate_interest``, a
withdrawal records the subject's objection). The state at any moment is the
latest event at or before it: nothing is updated or deleted, except when the
subject is erased. :func:`consent_receipt` exports the current state in the
structure of the Kantara Initiative Consent Receipt Specification v1.1.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from drivetrain.errors import InputError
from drivetrain.governance.policies import DATA_CATEGORIES
from drivetrain.governance.purposes import PURPOSES, check_purpose
from drivetrain.governance.subjects import get_subject, require_aware
from drivetrain.state.governance_models import LEGAL_BASES, ConsentEventRow

RECEIPT_VERSION = "KI-CR-v1.1.0"
# Categories a receipt flags as sensitive PII: location tracks (PIPL Art. 28,
# CPRA precise geolocation) and cabin sensors (voice, camera).
SENSITIVE_CATEGORIES: tuple[str, ...] = ("location", "cabin")
_RECEIPT_NAMESPACE = uuid.UUID("6f1c1d1e-3c55-4d0b-9a62-4c0d7e0f5a11")
_LOOKUP_CHUNK = 500


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One event of a subject's consent history."""

    event_id: int
    subject_id: str
    purpose: str
    data_category: str
    legal_basis: str
    region: str
    notice_version: str
    action: str  # given | withdrawn
    at: datetime
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class ConsentState:
    """Where a subject stands on one purpose × category at one moment."""

    subject_id: str
    purpose: str
    data_category: str
    active: bool  # the latest event is "given"
    last_event: ConsentRecord | None  # None: the subject never said anything


def _record(row: ConsentEventRow) -> ConsentRecord:
    return ConsentRecord(
        event_id=row.event_id,
        subject_id=row.subject_id,
        purpose=row.purpose,
        data_category=row.data_category,
        legal_basis=row.legal_basis,
        region=row.region,
        notice_version=row.notice_version,
        action=row.action,
        at=row.at,
        recorded_at=row.recorded_at,
    )


def event_order(record: ConsentRecord) -> tuple[datetime, datetime, int]:
    """Sort key of the history: when it took effect, then when it was recorded."""
    return (record.at, record.recorded_at, record.event_id)


def check_categories(categories: str | Iterable[str]) -> tuple[str, ...]:
    """The given data categories, de-duplicated; InputError naming an unknown one."""
    names = (categories,) if isinstance(categories, str) else tuple(categories)
    if not names:
        raise InputError("no data category given", hint=f"use {', '.join(DATA_CATEGORIES)}")
    for name in names:
        if name not in DATA_CATEGORIES:
            raise InputError(
                f"unknown data category {name!r}", hint=f"use {', '.join(DATA_CATEGORIES)}"
            )
    return tuple(dict.fromkeys(names))


def _record_events(
    session: Session,
    subject_id: str,
    purpose: str,
    categories: str | Iterable[str],
    *,
    action: str,
    legal_basis: str | None,
    notice_version: str | None,
    region: str | None,
    at: datetime | None,
) -> list[ConsentRecord]:
    subject = get_subject(session, subject_id)
    check_purpose(purpose)
    names = check_categories(categories)
    if legal_basis is not None and legal_basis not in LEGAL_BASES:
        raise InputError(
            f"unknown legal basis {legal_basis!r}", hint=f"use {', '.join(LEGAL_BASES)}"
        )
    if notice_version is not None and not 0 < len(notice_version) <= 32:
        raise InputError("notice version must be 1-32 characters", hint="e.g. 2026-03")
    now = datetime.now(UTC)
    moment = require_aware(at or now, "at")
    rows = []
    for category in names:
        previous = consent_state(session, subject_id, purpose, category).last_event
        if action == "given" and (legal_basis is None or notice_version is None):
            raise InputError(
                "giving consent needs a legal basis and the version of the notice shown",
                hint="e.g. legal_basis='consent', notice_version='2026-03'",
            )
        rows.append(
            ConsentEventRow(
                subject_id=subject_id,
                purpose=purpose,
                data_category=category,
                legal_basis=legal_basis or (previous.legal_basis if previous else "consent"),
                region=region or subject.region,
                notice_version=notice_version or (previous.notice_version if previous else "-"),
                action=action,
                at=moment,
                recorded_at=now,
            )
        )
    session.add_all(rows)
    session.flush()
    return [_record(r) for r in rows]


def give_consent(
    session: Session,
    subject_id: str,
    purpose: str,
    categories: str | Iterable[str],
    *,
    notice_version: str,
    legal_basis: str = "consent",
    region: str | None = None,
    at: datetime | None = None,
) -> list[ConsentRecord]:
    """Record that ``subject_id`` agreed to ``purpose`` using ``categories`` from ``at`` on.

    ``region`` defaults to the subject's region; ``at`` to now.
    """
    return _record_events(
        session,
        subject_id,
        purpose,
        categories,
        action="given",
        legal_basis=legal_basis,
        notice_version=notice_version,
        region=region,
        at=at,
    )


def withdraw_consent(
    session: Session,
    subject_id: str,
    purpose: str,
    categories: str | Iterable[str],
    *,
    at: datetime | None = None,
    legal_basis: str | None = None,
    notice_version: str | None = None,
) -> list[ConsentRecord]:
    """Record that ``subject_id`` withdrew (or objected) from ``at`` on.

    Data with a timestamp at or after ``at`` no longer has this basis; earlier
    data keeps it. Basis and notice default to those of the latest event.
    """
    return _record_events(
        session,
        subject_id,
        purpose,
        categories,
        action="withdrawn",
        legal_basis=legal_basis,
        notice_version=notice_version,
        region=None,
        at=at,
    )


def consent_history(session: Session, subject_id: str) -> list[ConsentRecord]:
    """Every consent event of ``subject_id``, in the order they took effect."""
    get_subject(session, subject_id)
    return histories(session, [subject_id]).get(subject_id, [])


def histories(session: Session, subject_ids: Iterable[str]) -> dict[str, list[ConsentRecord]]:
    """The consent histories of many subjects at once, each in effect order."""
    ids = sorted(set(subject_ids))
    out: dict[str, list[ConsentRecord]] = {}
    for i in range(0, len(ids), _LOOKUP_CHUNK):
        rows = session.scalars(
            select(ConsentEventRow).where(
                ConsentEventRow.subject_id.in_(ids[i : i + _LOOKUP_CHUNK])
            )
        )
        for row in rows:
            out.setdefault(row.subject_id, []).append(_record(row))
    for events in out.values():
        events.sort(key=event_order)
    return out


def state_at(
    events: Sequence[ConsentRecord], purpose: str, category: str, at: datetime
) -> ConsentRecord | None:
    """The latest event of ``events`` (in effect order) for purpose × category at ``at``."""
    latest = None
    for event in events:
        if event.at > at:
            break
        if event.purpose == purpose and event.data_category == category:
            latest = event
    return latest


def consent_state(
    session: Session, subject_id: str, purpose: str, category: str, at: datetime | None = None
) -> ConsentState:
    """Whether ``subject_id``'s agreement to ``purpose`` × ``category`` holds at ``at`` (now)."""
    check_purpose(purpose)
    (category,) = check_categories(category)
    moment = require_aware(at or datetime.now(UTC), "at")
    latest = state_at(consent_history(session, subject_id), purpose, category, moment)
    return ConsentState(
        subject_id, purpose, category, latest is not None and latest.action == "given", latest
    )


def consent_receipt(
    session: Session,
    subject_id: str,
    *,
    controller: Mapping[str, Any] | None = None,
    policy_url: str | None = None,
    collection_method: str = "privacy notice in the vehicle or companion app",
    at: datetime | None = None,
) -> dict[str, Any]:
    """The subject's current agreements as a Kantara Consent Receipt v1.1 document.

    One service per purpose with an active agreement; each lists the data
    categories (``piiCategory``), the legal basis (``consentType``: ``EXPLICIT``
    for consent, else the basis) and how to end it (``termination``).
    """
    subject = get_subject(session, subject_id)
    moment = require_aware(at or datetime.now(UTC), "at")
    events = [e for e in consent_history(session, subject_id) if e.at <= moment]
    current: dict[tuple[str, str], ConsentRecord] = {}
    for event in events:
        current[(event.purpose, event.data_category)] = event
    active = [e for e in current.values() if e.action == "given"]
    services: dict[str, list[ConsentRecord]] = {}
    for event in sorted(active, key=lambda e: (list(PURPOSES).index(e.purpose), e.data_category)):
        services.setdefault(event.purpose, []).append(event)
    latest = max(events, key=event_order) if events else None
    notice = latest.notice_version if latest else "-"
    categories = sorted({e.data_category for e in active})
    spi = [c for c in SENSITIVE_CATEGORIES if c in categories]
    return {
        "version": RECEIPT_VERSION,
        "jurisdiction": subject.region.upper(),
        "consentTimestamp": int((latest.at if latest else moment).timestamp()),
        "collectionMethod": collection_method,
        "consentReceiptID": str(
            uuid.uuid5(
                _RECEIPT_NAMESPACE, f"{subject_id}:{latest.event_id if latest else 0}:{moment}"
            )
        ),
        "language": "en",
        "piiPrincipalId": subject_id,
        "piiControllers": [
            dict(controller)
            if controller
            else {"piiController": "drivetrain operator", "onBehalf": False}
        ],
        "policyUrl": policy_url or f"urn:drivetrain:notice:{subject.region}:{notice}",
        "services": [
            {
                "service": purpose,
                "purposes": _receipt_purposes(purpose, records),
            }
            for purpose, records in services.items()
        ],
        "sensitive": bool(spi),
        "spiCat": spi,
    }


def _receipt_purposes(purpose: str, records: list[ConsentRecord]) -> list[dict[str, Any]]:
    by_basis: dict[str, list[ConsentRecord]] = {}
    for record in records:
        by_basis.setdefault(record.legal_basis, []).append(record)
    return [
        {
            "purpose": PURPOSES[purpose],
            "purposeCategory": [purpose],
            "consentType": "EXPLICIT" if basis == "consent" else basis.upper(),
            "piiCategory": [r.data_category for r in group],
            "primaryPurpose": True,
            "termination": (
                "withdraw at any time; takes effect for data collected afterwards"
                if basis == "consent"
                else f"object at any time; {basis.replace('_', ' ')} then ends for new data"
            ),
            "thirdPartyDisclosure": False,
            "noticeVersion": max(group, key=event_order).notice_version,
        }
        for basis, group in by_basis.items()
    ]
