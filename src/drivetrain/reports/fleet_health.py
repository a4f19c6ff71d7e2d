"""``fleet-health-weekly``: the fleet scan of the last seven days of telemetry, as a document.

The builder runs :func:`drivetrain.health.scan.fleet_scan` — the scan ``drivetrain
health scan`` and the console's overview run — over the vehicles the principal
may read, for the purpose ``vehicle_health``, on the last seven days of
telemetry the lake holds (or ``--since``/``--until``). The scan is recorded
with its own provenance; the report cites it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import polars as pl

from drivetrain.errors import NotFound, PolicyDenied
from drivetrain.fleet import VehicleRecord
from drivetrain.governance.access import AccessContext
from drivetrain.governance.governed_read import DENIED_KIND, default_enforcer
from drivetrain.health.scan import SOON_DAYS, WEAK_PACK_Z, ScanReport, fleet_scan
from drivetrain.reports.figures import GREEN, ORANGE, RED, bar_chart
from drivetrain.reports.models import (
    Figure,
    Paragraph,
    Report,
    ReportInputs,
    Section,
    Table,
    fmt_number,
    now_utc,
)

NAME = "fleet-health-weekly"
PURPOSE = "vehicle_health"
PRINCIPAL = "fleet-health"
WEEK = 7  # days
# health bands of the distribution chart: (lowest, highest, label), best first
BANDS = (
    (100, 100, "100"),
    (80, 99, "80–99"),
    (60, 79, "60–79"),
    (40, 59, "40–59"),
    (20, 39, "20–39"),
    (0, 19, "0–19"),
)
_BAND_COLOURS = (GREEN, "#7fa650", ORANGE, ORANGE, RED, RED)
NO_TELEMETRY_HINT = (
    "simulate a fleet with 'drivetrain demo' or 'drivetrain fleet simulate', or bring logs "
    "in with 'drivetrain ingest can' / 'drivetrain ingest obd'"
)


def scan_period(days: Sequence[date], since: date | None, until: date | None) -> tuple[date, date]:
    """``[since, until]`` of the report: by default the last seven days of telemetry."""
    if not days:
        raise NotFound("the lake holds no telemetry", hint=NO_TELEMETRY_HINT)
    last = until or days[-1]
    first = since or last - timedelta(days=WEEK - 1)
    if not any(first <= d <= last for d in days):
        raise NotFound(
            f"no telemetry between {first} and {last}",
            hint=f"the lake holds telemetry from {days[0]} to {days[-1]}; move --since/--until",
        )
    return first, last


def findings_by_kind(scan: ScanReport) -> pl.DataFrame:
    """``kind, findings``: what the ranking counts as a finding (see ``rank_vehicles``)."""
    alarms = scan.detection.anomalies.select(pl.col("indicator").alias("kind"))
    due = scan.wear.filter(
        pl.col("status").is_in(["trend", "at_limit"]) & (pl.col("days_left") <= SOON_DAYS)
    ).select((pl.lit("wear:") + pl.col("item")).alias("kind"))
    weak = (
        # a literal alone would make one row of an empty frame: carry the vehicle along
        scan.battery.filter(pl.col("residual_z") < -WEAK_PACK_Z)
        .select("vehicle_id", pl.lit("battery:ageing_fast").alias("kind"))
        .select("kind")
        if "residual_z" in scan.battery.columns
        else alarms.clear()
    )
    every = pl.concat([alarms, due, weak])
    return (
        every.group_by("kind").len("findings").sort(["findings", "kind"], descending=[True, False])
    )


def health_of_scanned(scan: ScanReport) -> pl.DataFrame:
    """``vehicle_id, health``: every vehicle with telemetry in the period (100: nothing found)."""
    scanned = scan.models.join(
        scan.features.select("vehicle_id").unique(), on="vehicle_id", how="semi"
    )
    return (
        scanned.select("vehicle_id")
        .join(scan.ranking.select("vehicle_id", "health"), on="vehicle_id", how="left")
        .with_columns(pl.col("health").fill_null(100.0))
        .sort("vehicle_id")
    )


def _ranking_table(scan: ScanReport, fleet: dict[str, VehicleRecord], top: int) -> Table:
    rows = []
    for n, r in enumerate(scan.ranking.head(top).iter_rows(named=True), start=1):
        v = fleet[r["vehicle_id"]]
        onset = r["first_onset"].isoformat() if r["first_onset"] else "—"
        rows.append(
            (
                str(n),
                r["vehicle_id"],
                v.brand,
                v.model_name,
                v.market,
                f"{r['health']:.0f}",
                f"{r['attention']:.2f}",
                str(r["findings"]),
                r["top_finding"] or "—",
                onset,
            )
        )
    shown = min(top, scan.ranking.height)
    return Table(
        f"Top {shown} of {scan.ranking.height} vehicles needing attention, most urgent first",
        (
            "#",
            "vehicle",
            "brand",
            "model",
            "market",
            "health",
            "attention",
            "findings",
            "top finding",
            "first onset",
        ),
        tuple(rows),
        (True, False, False, False, False, True, True, True, False, False),
    )


def _markets_table(
    health: pl.DataFrame, ranked: set[str], fleet: dict[str, VehicleRecord]
) -> Table:
    scored = dict(health.iter_rows())
    groups: dict[tuple[str, str], list[VehicleRecord]] = {}
    for v in fleet.values():
        groups.setdefault((v.market, v.region), []).append(v)
    rows = []
    for (market, region), members in sorted(groups.items()):
        values = [scored[v.vehicle_id] for v in members if v.vehicle_id in scored]
        attention = sum(1 for v in members if v.vehicle_id in ranked)
        mean = sum(values) / len(values) if values else None
        rows.append(
            (
                market,
                region,
                str(len(members)),
                str(len(values)),
                str(attention),
                fmt_number(mean, 1),
            )
        )
    return Table(
        "Vehicles by market",
        ("market", "region", "vehicles", "scanned", "needing attention", "mean health"),
        tuple(rows),
        (False, False, True, True, True, True),
    )


def _bands(health: pl.DataFrame) -> list[int]:
    values = health["health"].to_list()
    return [sum(1 for h in values if low <= h <= high) for low, high, _ in BANDS]


def _check_access(inputs: ReportInputs, context: AccessContext) -> None:
    """Refuse (and audit) a principal who may not read telemetry for the purpose at all,
    before the period is looked up: a refusal tells nothing of what the lake holds."""
    try:
        default_enforcer().check(context, "read", "telemetry")
    except PolicyDenied as refused:
        inputs.audit.append(
            DENIED_KIND,
            principal=context.principal.principal_id,
            purpose=context.purpose,
            details={"table": "telemetry", "report": NAME, "reason": refused.message},
        )
        raise


def fleet_health_weekly(inputs: ReportInputs, context: AccessContext) -> Report:
    """Build the weekly fleet-health report as ``context`` may read the fleet."""
    lake = inputs.lake
    if not lake.exists("telemetry"):
        raise NotFound("the lake holds no telemetry", hint=NO_TELEMETRY_HINT)
    _check_access(inputs, context)
    if not inputs.vehicles:
        raise NotFound("no vehicle is registered", hint=NO_TELEMETRY_HINT)
    version = lake.version("telemetry")
    since, until = scan_period(lake.partitions("telemetry", version), inputs.since, inputs.until)
    allowed = default_enforcer().permitted_vehicles(context, "telemetry", inputs.vehicles)
    visible = [v for v in inputs.vehicles if v.vehicle_id in allowed]
    scan = fleet_scan(lake, context, visible, audit=inputs.audit, since=since, until=until)
    fleet = {v.vehicle_id: v for v in visible}
    health = health_of_scanned(scan)
    kinds = findings_by_kind(scan)
    bands = _bands(health)
    attention = scan.ranking.height
    days = (until - since).days + 1
    overview = Paragraph(
        f"{scan.vehicles:,} vehicles scanned ({len(visible):,} registered vehicles this "
        f"principal may read; {scan.rows_read:,} telemetry rows over {scan.days} days with "
        f"data): {attention:,} need attention, with {scan.detection.anomalies.height:,} "
        f"anomalies. Each vehicle's daily condition indicators are judged against its own "
        f"baseline and its model's peers; wear items due within {SOON_DAYS:.0f} days and "
        "traction batteries ageing far faster than their peers count as findings too. "
        "Health is 100 × exp(−attention / 20): 100 means nothing was found."
    )
    labels = [f"{label}\n({n})" for (_, _, label), n in zip(BANDS, bands, strict=True)]
    distribution = Figure(
        "Health of the scanned vehicles",
        bar_chart(
            labels,
            bands,
            title="Fleet health distribution",
            xlabel="health score",
            ylabel="vehicles",
            colours=_BAND_COLOURS,
        ),
        "Vehicles by health score: "
        + ", ".join(f"{label}: {n}" for (_, _, label), n in zip(BANDS, bands, strict=True)),
    )
    blocks: list[Paragraph | Table | Figure] = [overview, distribution]
    if kinds.height:
        names, counts = kinds["kind"].to_list(), kinds["findings"].to_list()
        blocks.append(
            Figure(
                "Findings by kind (an anomaly, a wear item due, a battery ageing fast)",
                bar_chart(
                    names,
                    counts,
                    title="Findings by kind",
                    xlabel="finding",
                    ylabel="findings",
                    horizontal=True,
                ),
                "Findings by kind: "
                + ", ".join(f"{k}: {n}" for k, n in zip(names, counts, strict=True)),
            )
        )
    else:
        blocks.append(Paragraph("No finding in the period."))
    sections = (
        Section("Overview", tuple(blocks)),
        Section(
            "Vehicles needing attention",
            (
                _ranking_table(scan, fleet, inputs.top) if attention else Paragraph("None."),
                Paragraph("Diagnose one with: drivetrain health diagnose VEHICLE --as PRINCIPAL"),
            ),
        ),
        Section("Markets", (_markets_table(health, set(scan.ranking["vehicle_id"]), fleet),)),
    )
    summary: dict[str, Any] = {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "days_with_data": scan.days,
        "vehicles_visible": len(visible),
        "vehicles_scanned": scan.vehicles,
        "needing_attention": attention,
        "anomalies": scan.detection.anomalies.height,
        "health_bands": {label: n for (_, _, label), n in zip(BANDS, bands, strict=True)},
        "findings_by_kind": dict(kinds.iter_rows()),
        "scan_output_id": scan.output_id,
        "ranking": [
            {k: (v.isoformat() if isinstance(v, date) else v) for k, v in r.items()}
            for r in scan.ranking.head(inputs.top).iter_rows(named=True)
        ],
    }
    return Report(
        name=NAME,
        title="Fleet health — weekly",
        period=f"{since} to {until} ({days} days)",
        principal=context.principal.principal_id,
        purpose=context.purpose,
        sections=sections,
        inputs={"telemetry": version} if version is not None else {},
        generated_at=now_utc(),
        params={"since": since.isoformat(), "until": until.isoformat(), "top": inputs.top},
        sources=tuple(
            ([f"health_scan {scan.output_id}"] if scan.output_id else [])
            + [f"vehicle {v}" for v in scan.ranking["vehicle_id"].head(inputs.top).to_list()]
        ),
        summary=summary,
    )
