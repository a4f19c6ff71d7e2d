"""Retention: signals are kept no longer than the campaigns that collected them allow.

Each campaign states a retention in days. A signal's retention is the longest
among the campaigns (active or stopped) that ask for it — the row may still be
needed by that purpose — and rows older than that are deleted from
``telemetry`` and ``telemetry_sealed`` (personal signals) and the files
vacuumed. Signals no campaign asks for any more are reported, not deleted:
deciding about them is an administrator's call.

Quarantined rows (refused input, kept so that a data engineer can repair the
source) may hold personal data too; they are kept ``quarantine_days`` after
they were refused (30 by default) and then deleted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from drivetrain.errors import InputError
from drivetrain.governance.audit import AuditLog
from drivetrain.lake import Lake


class RetainingCampaign(Protocol):
    """What retention needs of a campaign (``drivetrain.ingest.Campaign`` fits)."""

    @property
    def campaign_id(self) -> str: ...

    @property
    def retention_days(self) -> int: ...

    def requested_paths(self) -> frozenset[str]: ...


@dataclass(slots=True)
class RetentionReport:
    """Rows deleted per retention period, and signals no campaign covers."""

    deleted: dict[int, int] = field(default_factory=dict)
    uncovered_signals: list[str] = field(default_factory=list)
    files_removed: int = 0
    quarantine_deleted: int = 0


TELEMETRY_TABLES = ("telemetry", "telemetry_sealed")
QUARANTINE_DAYS = 30


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def enforce_retention(
    lake: Lake,
    campaigns: Sequence[RetainingCampaign],
    *,
    now: datetime | None = None,
    audit: AuditLog | None = None,
    quarantine_days: int = QUARANTINE_DAYS,
) -> RetentionReport:
    """Delete signals older than the retention of the campaigns that asked for them.

    Also deletes quarantined rows refused more than ``quarantine_days`` ago.
    """
    if quarantine_days < 1:
        raise InputError(
            f"quarantine retention must be at least one day, not {quarantine_days}",
            hint="a data engineer needs time to see and repair refused rows",
        )
    now = now or datetime.now(UTC)
    report = RetentionReport()
    keep_days: dict[str, int] = {}
    for campaign in campaigns:
        for path in campaign.requested_paths():
            keep_days[path] = max(keep_days.get(path, 0), campaign.retention_days)
    by_period: dict[int, list[str]] = defaultdict(list)
    for path, days in keep_days.items():
        by_period[days].append(path)
    stored: set[str] = set()
    touched: list[str] = []
    for name in TELEMETRY_TABLES:
        if not lake.exists(name):
            continue
        deleted_here = 0
        for days, paths in sorted(by_period.items()):
            cutoff = _stamp(now - timedelta(days=days))
            listed = ", ".join("'" + p.replace("'", "''") + "'" for p in sorted(paths))
            n = lake.delete_where(name, f"signal IN ({listed}) AND ts < '{cutoff}'")
            report.deleted[days] = report.deleted.get(days, 0) + n
            deleted_here += n
        stored |= set(lake.read(name, columns=["signal"])["signal"].unique().to_pylist())
        if deleted_here:
            touched.append(name)
    report.uncovered_signals = sorted(stored - set(keep_days))
    if lake.exists("quarantine"):
        cutoff = _stamp(now - timedelta(days=quarantine_days))
        report.quarantine_deleted = lake.delete_where("quarantine", f"ts < '{cutoff}'")
        if report.quarantine_deleted:
            touched.append("quarantine")
    for name in touched:
        report.files_removed += len(lake.vacuum(name, retention_hours=0))
    if audit is not None:
        audit.append(
            "retention",
            principal="service:retention",
            purpose="legal_obligation",
            details={
                "deleted_by_retention_days": {str(k): v for k, v in report.deleted.items()},
                "uncovered_signals": report.uncovered_signals,
                "quarantine_deleted": report.quarantine_deleted,
                "quarantine_days": quarantine_days,
                "files_removed": report.files_removed,
            },
        )
    return report
