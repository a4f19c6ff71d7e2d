"""From health findings to draft maintenance suggestions: which job, how urgent, by when.

Three kinds of finding ask for a workshop visit (the table in
``docs/maintenance_booking.md``): a wear item due within the horizon
(:func:`wear_due`, fleet-wide), a diagnosed cause whose action is
``stop_safely`` or ``book_service`` (scoring at least :data:`MIN_SCORE`), and a
traction battery ageing far faster than its age and use predict. Each becomes a
:class:`Draft`; drafts that need the same job are merged (:meth:`Draft.merge`)
by :func:`drivetrain.health.service_booking.suggest_maintenance`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl

from drivetrain.errors import InputError
from drivetrain.health.diagnosis import Candidate
from drivetrain.health.dtc import interpret_dtc
from drivetrain.health.maintenance_plan import URGENCIES, Urgency
from drivetrain.health.scan import WEAK_PACK_Z
from drivetrain.health.service_jobs import JOBS, ServiceJob, job_for, job_of_wear_item
from drivetrain.health.wear import WEAR_ITEMS

SOON_DAYS = 30  # due within this many days: "soon", later: "planned"
BOOK_WITHIN_DAYS = 14  # a book_service finding with evidence beyond wear
MIN_SCORE = 2.0  # weaker causes (one faint clue, or probably fixed already) ask for no visit


def wear_due(
    wear: pl.DataFrame, *, today: date, horizon_days: int = 90, margin_days: int = 3
) -> pl.DataFrame:
    """The wear items due within ``horizon_days`` of ``today``, for every vehicle at once.

    Latest date = ``as_of`` + floor(``days_left_low``) − ``margin_days`` (today if
    that has passed, or if the item is at its limit). Columns: ``vehicle_id``,
    ``item``, ``job_id``, ``urgency``, ``latest_date``, ``overdue``, ``days_left``,
    ``days_left_low``, ``days_left_high``, ``as_of``, ``status``.
    """
    check_days(horizon_days=horizon_days, margin_days=margin_days)
    jobs = job_of_wear_item()
    base = pl.col("as_of").fill_null(pl.lit(today))
    low = pl.col("days_left_low")
    raw = (
        pl.when(pl.col("status") == "at_limit")
        .then(pl.lit(today))
        .otherwise(base + pl.duration(days=low.floor().cast(pl.Int64) - margin_days))
    )
    return (
        wear.filter(
            (pl.col("status") == "at_limit")
            | ((pl.col("status") == "trend") & low.is_not_null() & low.is_finite())
        )
        .with_columns(raw.alias("raw"))
        .with_columns(
            pl.max_horizontal(pl.col("raw"), pl.lit(today)).alias("latest_date"),
            (pl.col("raw") < pl.lit(today)).alias("overdue"),
            pl.col("item").replace_strict(jobs, default=None).alias("job_id"),
        )
        .filter(pl.col("latest_date") <= pl.lit(today + timedelta(days=horizon_days)))
        .with_columns(
            pl.when((pl.col("latest_date") - pl.lit(today)).dt.total_days() <= SOON_DAYS)
            .then(pl.lit("soon"))
            .otherwise(pl.lit("planned"))
            .alias("urgency")
        )
        .select(
            "vehicle_id",
            "item",
            "job_id",
            "urgency",
            "latest_date",
            "overdue",
            "days_left",
            "days_left_low",
            "days_left_high",
            "as_of",
            "status",
        )
        .sort("vehicle_id", "latest_date", "item")
    )


@dataclass(slots=True)
class Draft:
    """A suggestion before its slots are looked for."""

    job: ServiceJob
    urgency: Urgency
    latest: date
    evidence: list[str]
    findings: list[str]
    reason: str

    def merge(self, other: Draft) -> None:
        if URGENCIES.index(other.urgency) < URGENCIES.index(self.urgency):
            self.urgency, self.reason = other.urgency, other.reason
        self.latest = min(self.latest, other.latest)
        self.evidence += [e for e in other.evidence if e not in self.evidence]
        self.findings += [f for f in other.findings if f not in self.findings]


def wear_drafts(rows: pl.DataFrame, margin_days: int) -> list[Draft]:
    described = {i.name: i.description for i in WEAR_ITEMS}
    drafts = []
    for r in rows.iter_rows(named=True):
        what = described.get(r["item"], r["item"])
        if r["status"] == "at_limit":
            line = f"{r['item']} at its limit ({what})"
            reason = f"{what}: at the limit now"
        else:
            reason = (
                f"{what} in about {r['days_left']:.0f} days, "
                f"{r['days_left_low']:.0f} at the earliest"
            )
            line = (
                f"{r['item']} due in {r['days_left']:.0f} days "
                f"({r['days_left_low']:.0f}-{r['days_left_high']:.0f}, 90 % interval) "
                f"from {r['as_of']}: {what}; latest date keeps a {margin_days}-day margin"
                + (" — overdue" if r["overdue"] else "")
            )
        job = JOBS.get(r["job_id"] or "") or ServiceJob(
            f"wear:{r['item']}", f"service the {r['item'].replace('_', ' ')}", "general", 1
        )
        drafts.append(
            Draft(job, r["urgency"], r["latest_date"], [line], [f"wear:{r['item']}"], reason)
        )
    return drafts


def cause_drafts(causes: Sequence[Candidate], today: date, have_wear: bool) -> list[Draft]:
    drafts = []
    for c in causes:
        if c.score < MIN_SCORE or c.action not in ("stop_safely", "book_service"):
            continue
        job = JOBS.get(c.cause_id) or (
            job_for(c.cause_id)
            if c.cause_id.startswith("dtc:")
            else ServiceJob(c.cause_id, f"have it checked: {c.name}", "diagnostics", 2)
        )
        beyond_wear = bool(c.codes) or any(k.startswith(("anomal", "dtc_")) for k in c.features)
        if c.action == "stop_safely":
            urgency: Urgency = "immediate"
            latest = today
        else:
            # only wear behind it: the wear item's own interval dates it (merged below)
            wear_only = have_wear and not beyond_wear
            urgency = "planned" if wear_only else "soon"
            latest = date.max if wear_only else today + timedelta(days=BOOK_WITHIN_DAYS)
        lines = [f"{c.name} ({c.system}), score {c.score:.1f}: {e}" for e in c.evidence]
        for code in dict.fromkeys(c.codes):
            meaning = interpret_dtc(code)
            lines.append(
                f"{code}: {meaning.description or meaning.coverage.replace('_', ' ')} "
                f"(severity {meaning.severity.replace('_', ' ')})"
            )
        findings = [f"cause:{c.cause_id}", *(f"dtc:{k}" for k in dict.fromkeys(c.codes))]
        codes = ", ".join(dict.fromkeys(c.codes))
        reason = f"{c.name[:1].lower()}{c.name[1:]}" + (f", code {codes}" if codes else "")
        drafts.append(Draft(job, urgency, latest, lines, findings, reason))
    return drafts


def battery_draft(pack: Mapping[str, Any] | None, today: date) -> list[Draft]:
    z = None if pack is None else pack.get("residual_z")
    if pack is None or z is None or not z < -WEAK_PACK_Z:
        return []
    line = (
        f"traction battery at {pack['soh_pct']:.1f} % state of health where its age and use "
        f"predict {pack['expected_soh_pct']:.1f} % ({-z:.1f} standard deviations below)"
    )
    return [
        Draft(
            JOBS["hv_battery_check"], "soon", today + timedelta(days=SOON_DAYS), [line],
            ["battery:ageing_fast"], "the traction battery is ageing faster than it should",
        )
    ]  # fmt: skip


def check_days(**values: int) -> None:
    """``InputError`` unless every value is a whole number of days >= 0."""
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InputError(
                f"{name} must be a whole number of days >= 0, got {value!r}",
                hint="e.g. horizon_days=90 asks what is due in the next 90 days",
            )
