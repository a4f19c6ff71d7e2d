"""Retention: signals are kept no longer than the campaigns that collected them allow.

Each campaign states a retention in days. A signal's retention is the longest
among the campaigns (active or stopped) that ask for it — the row may still be
needed by that purpose — and rows older than that are deleted from
``telemetry`` and the files vacuumed. Signals no campaign asks for any more
are reported, not deleted: deciding about them is an administrator's call.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

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


def enforce_retention(
    lake: Lake,
    campaigns: Sequence[RetainingCampaign],
    *,
    now: datetime | None = None,
    audit: AuditLog | None = None,
) -> RetentionReport:
    """Delete telemetry older than the retention of the campaigns that asked for it."""
    now = now or datetime.now(UTC)
    report = RetentionReport()
    if not lake.exists("telemetry"):
        return report
    keep_days: dict[str, int] = {}
    for campaign in campaigns:
        for path in campaign.requested_paths():
            keep_days[path] = max(keep_days.get(path, 0), campaign.retention_days)
    by_period: dict[int, list[str]] = defaultdict(list)
    for path, days in keep_days.items():
        by_period[days].append(path)
    table = lake.table("telemetry")
    for days, paths in sorted(by_period.items()):
        cutoff = (now - timedelta(days=days)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        listed = ", ".join("'" + p.replace("'", "''") + "'" for p in sorted(paths))
        metrics = table.delete(f"signal IN ({listed}) AND ts < '{cutoff}'")
        report.deleted[days] = int(metrics.get("num_deleted_rows", 0))
        table = lake.table("telemetry")
    stored = lake.read("telemetry", columns=["signal"])["signal"].unique().to_pylist()
    report.uncovered_signals = sorted(set(stored) - set(keep_days))
    if any(report.deleted.values()):
        report.files_removed = len(lake.vacuum("telemetry", retention_hours=0))
    if audit is not None:
        audit.append(
            "retention",
            principal="service:retention",
            purpose="legal_obligation",
            details={
                "deleted_by_retention_days": {str(k): v for k, v in report.deleted.items()},
                "uncovered_signals": report.uncovered_signals,
                "files_removed": report.files_removed,
            },
        )
    return report
