"""Audit records of control-plane changes: consent events and administrative changes.

Consent given or withdrawn, subjects registered, vehicles linked, campaigns
created or stopped: each is recorded in the audit log *after* the change is
committed to the state database (an entry never describes a change that was
rolled back). Entries name the subject by id — never by name — and the
change's parameters; the audit log keeps them after an erasure, as the record
that the controller met its obligations (GDPR Art. 5(2), accountability).
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Mapping
from typing import Any

from drivetrain.governance.audit import AuditLog
from drivetrain.governance.audit_records import AuditEntry, PendingEntry
from drivetrain.governance.consent import ConsentRecord

CONSENT_KIND = "consent"
ADMIN_KIND = "admin"
ADMIN_PURPOSE = "administration"


def operator() -> str:
    """Who runs this command line: ``cli:<operating-system user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this environment
        return "cli:unknown"


def record_consent_events(
    audit: AuditLog, records: Iterable[ConsentRecord], *, principal: str
) -> list[AuditEntry]:
    """One audit entry per consent event (one signed tree head for the batch)."""
    return audit.append_many(
        PendingEntry(
            CONSENT_KIND,
            principal,
            r.purpose,
            {
                "event_id": r.event_id,
                "subject": r.subject_id,
                "action": r.action,
                "data_category": r.data_category,
                "legal_basis": r.legal_basis,
                "region": r.region,
                "notice_version": r.notice_version,
                "at": r.at.isoformat(),
            },
        )
        for r in records
    )


def record_admin_change(
    audit: AuditLog, action: str, details: Mapping[str, Any], *, principal: str
) -> AuditEntry:
    """An administrative change (``subject_add``, ``campaign_stop``…) with its parameters."""
    return audit.append(
        ADMIN_KIND,
        principal=principal,
        purpose=ADMIN_PURPOSE,
        details={"action": action, **details},
    )
