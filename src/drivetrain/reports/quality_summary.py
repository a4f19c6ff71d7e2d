"""``quality-summary``: capability, control-chart signals, defect Pareto and supplier PPM.

The plant's tables are read with :func:`drivetrain.quality.data.load_plant_data`
(purpose ``manufacturing_quality``), as every ``drivetrain quality`` command
reads them, and summarised with the same functions: capability indices of
every characteristic over the period (as ``drivetrain quality capability``),
the out-of-control points when the period's own subgroups set the limits
(Phase I, the master's chart, Western Electric rules; as ``drivetrain quality
chart``), the Pareto of the failed end-of-line inspections (as ``drivetrain
quality pareto``) and supplier PPM from incoming inspection (as ``drivetrain
quality suppliers``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import polars as pl

from drivetrain.errors import NotFound
from drivetrain.governance.access import AccessContext
from drivetrain.quality.charts import control_chart, signals_of
from drivetrain.quality.data import PURPOSE as PLANT_PURPOSE
from drivetrain.quality.data import PlantData, load_plant_data, measurement_subgroups
from drivetrain.quality.defects import lot_trend, pareto, supplier_ppm
from drivetrain.quality.plots import control_chart_plot, pareto_plot, short_rule
from drivetrain.quality.studies import capability_study
from drivetrain.reports.figures import captured
from drivetrain.reports.models import (
    Block,
    Figure,
    Paragraph,
    Report,
    ReportInputs,
    Section,
    Table,
    fmt_number,
    now_utc,
)

NAME = "quality-summary"
PURPOSE = PLANT_PURPOSE
PRINCIPAL = "quality"
RULES = "western_electric"
PLANT_HINT = (
    "import a plant export with 'drivetrain quality import DIR' or simulate one with "
    "'drivetrain quality simulate'"
)


def period_capability(data: PlantData) -> pl.DataFrame:
    """Capability of every characteristic over the measurements read (its subgroups)."""
    return capability_study(data)


def period_signals(data: PlantData) -> pl.DataFrame:
    """Control-chart points of every characteristic (its master's chart), limits from the
    period itself: ``characteristic_id, chart, subgroup, statistic, signal, rules …``."""
    grouped = measurement_subgroups(data.measurements, data.characteristics)
    parts = []
    for (kind,), members in data.characteristics.group_by("chart", maintain_order=True):
        ids = members["characteristic_id"].to_list()
        mine = grouped.filter(pl.col("characteristic_id").is_in(ids))
        if mine.height:
            chart = control_chart(mine, str(kind), by="characteristic_id", rules=RULES)
            parts.append(chart.points.with_columns(pl.lit(str(kind)).alias("chart")))
    if not parts:
        raise NotFound("no characteristic of the master has measurements", hint=PLANT_HINT)
    return pl.concat(parts, how="diagonal_relaxed")


def _capability_table(table: pl.DataFrame, names: dict[str, str]) -> Table:
    rows = []
    for r in table.iter_rows(named=True):
        ppm = None if r["ppm_total"] is None else fmt_number(r["ppm_total"], 1)
        rows.append(
            (
                r["characteristic"],
                names.get(r["characteristic"], ""),
                str(r["n"]),
                r["method"] or (r["error"] or "—"),
                fmt_number(r["cp"]),
                fmt_number(r["cpk"]),
                fmt_number(r["pp"]),
                fmt_number(r["ppk"]),
                ppm or "—",
                "—" if r["normality_p"] is None else f"{r['normality_p']:.3f}",
            )
        )
    return Table(
        "Process capability by characteristic (Cpk within, Ppk overall; — where the method "
        "gives none)",
        ("characteristic", "name", "n", "method", "Cp", "Cpk", "Pp", "Ppk", "PPM", "normal p"),
        tuple(rows),
        (False, False, True, False, True, True, True, True, True, True),
    )


def _signal_blocks(points: pl.DataFrame) -> tuple[list[Block], dict[str, int]]:
    """Signals per characteristic (a table), the control chart of the one with the most, and
    the count of each."""
    flagged = signals_of(points)
    rows, counts = [], {}
    for (cid, kind), part in points.group_by("characteristic_id", "chart", maintain_order=True):
        mine = flagged.filter(pl.col("characteristic_id") == cid)
        subgroups = part.filter(pl.col("statistic") == part["statistic"][0]).height
        rules = sorted({short_rule(r) for rs in mine["rules"].to_list() for r in rs})
        rows.append(
            (str(cid), str(kind), str(subgroups), str(mine.height), ", ".join(rules) or "—")
        )
        counts[str(cid)] = mine.height
    blocks: list[Block] = [
        Table(
            "Control-chart signals: out-of-control points when the period's subgroups set the "
            "limits (Western Electric rules)",
            ("characteristic", "chart", "subgroups", "signals", "rules broken"),
            tuple(rows),
            (False, False, True, True, False),
        )
    ]
    worst = max(counts, key=lambda c: counts[c], default=None)
    if worst is not None and counts[worst]:
        one = points.filter(pl.col("characteristic_id") == worst)
        kind = one["chart"][0]
        title = f"{worst} ({kind}), the characteristic with the most signals"
        png = captured(lambda path: control_chart_plot(one.drop("chart"), path, title=title))
        alt = f"{kind} control chart of {worst} with its {counts[worst]} out-of-control points"
        blocks.append(Figure(f"Control chart of {worst}", png, alt))
    return blocks, counts


def _pareto_blocks(data: PlantData) -> tuple[list[Block], dict[str, Any]]:
    """The defect Pareto of the failed inspections (chart and table), and its numbers."""
    if data.inspections is None or data.inspections.is_empty():
        return [Paragraph("No end-of-line inspection in the period.")], {}
    failed = data.inspections.filter(pl.col("result") == "fail")
    if failed.is_empty():
        return [Paragraph(f"All {data.inspections.height:,} inspections passed.")], {}
    table = pareto(failed, "defect_code", weight="defects", missing="label")
    names: dict[str, str] = {}
    if data.defect_codes is not None:
        names = dict(data.defect_codes.select("defect_code", "description").iter_rows())
    rows = tuple(
        (
            str(r["defect_code"]),
            names.get(str(r["defect_code"]), ""),
            f"{r['defects']:,}",
            f"{r['share']:.1%}",
            f"{r['cumulative_share']:.1%}",
            "yes" if r["vital"] else "",
        )
        for r in table.iter_rows(named=True)
    )
    title = "Defects of the failed end-of-line inspections"
    png = captured(
        lambda path: pareto_plot(table, path, category="defect_code", count="defects", title=title)
    )
    vital = ", ".join(r[0] for r in rows if r[5])
    blocks: list[Block] = [
        Paragraph(
            f"{failed.height:,} of {data.inspections.height:,} inspections failed, with "
            f"{int(table['defects'].sum()):,} defects; the vital few ({vital}) make up 80 % "
            "of them."
        ),
        Figure("Defect Pareto", png, f"Pareto chart of defects by code; vital few: {vital}"),
        Table(
            "Defects by code, largest first",
            ("defect code", "description", "defects", "share", "cumulative", "vital few"),
            rows,
            (False, False, True, True, True, False),
        ),
    ]
    numbers = {
        "failed_inspections": failed.height,
        "defects": dict(table.select("defect_code", "defects").iter_rows()),
    }
    return blocks, numbers


def _supplier_blocks(data: PlantData, since: date | None, until: date | None) -> list[Block]:
    lots = data.lots
    if lots is not None and (since or until):  # the lots received in the period
        lots = lots.filter(
            (pl.col("received_date") >= (since or date.min))
            & (pl.col("received_date") <= (until or date.max))
        )
    if lots is None or lots.is_empty():
        return [Paragraph("No supplier lot received in the period.")]
    ppm = supplier_ppm(lots, by=("supplier", "part_number"), lot="lot_id")
    flagged = lot_trend(lots, lot="lot_id").flagged()
    blocks: list[Block] = [
        Table(
            "Supplier PPM from incoming inspection (exact 95 % bounds)",
            ("supplier", "part", "lots", "inspected", "defective", "PPM", "95 % bounds"),
            tuple(
                (
                    str(r["supplier"]),
                    str(r["part_number"]),
                    str(r["lots"]),
                    f"{r['inspected']:,}",
                    f"{r['defective']:,}",
                    f"{r['ppm']:,.0f}",
                    f"{r['ppm_lower']:,.0f}–{r['ppm_upper']:,.0f}",
                )
                for r in ppm.iter_rows(named=True)
            ),
            (False, False, True, True, True, True, True),
        )
    ]
    if flagged.height:
        blocks.append(
            Table(
                "Lots above their p-chart limit",
                ("lot", "supplier", "part", "received", "PPM", "UCL PPM"),
                tuple(
                    (
                        str(r["lot_id"]),
                        str(r["supplier"]),
                        str(r["part_number"]),
                        str(r["received_date"]),
                        f"{r['ppm']:,.0f}",
                        f"{r['ucl_ppm']:,.0f}",
                    )
                    for r in flagged.iter_rows(named=True)
                ),
                (False, False, False, False, True, True),
            )
        )
    else:
        blocks.append(Paragraph("No lot above its p-chart limit."))
    return blocks


def quality_summary(inputs: ReportInputs, context: AccessContext) -> Report:
    """Build the quality summary of the period as ``context`` may read the plant."""
    start, end = inputs.window()
    data = load_plant_data(inputs.lake, context, audit=inputs.audit, start=start, end=end)
    if data.measurements.is_empty():
        raise NotFound(
            "no plant measurement in the period", hint=f"widen --since/--until, or {PLANT_HINT}"
        )
    first, last = data.measurements["ts"].min(), data.measurements["ts"].max()
    assert isinstance(first, datetime) and isinstance(last, datetime)
    names = dict(data.characteristics.select("characteristic_id", "name").iter_rows())
    capability = period_capability(data)
    signal_blocks, signals = _signal_blocks(period_signals(data))
    pareto_blocks, defects = _pareto_blocks(data)
    overview = Paragraph(
        f"{data.measurements.height:,} measurements of {data.characteristics.height} "
        f"characteristics at {data.stations.height} stations, from {first:%Y-%m-%d %H:%M} to "
        f"{last:%Y-%m-%d %H:%M} UTC."
    )
    sections = (
        Section("Overview", (overview,)),
        Section("Process capability", (_capability_table(capability, names),)),
        Section("Control charts", tuple(signal_blocks)),
        Section("Defects", tuple(pareto_blocks)),
        Section("Suppliers", tuple(_supplier_blocks(data, inputs.since, inputs.until))),
    )
    indices = ("n", "method", "cp", "cpk", "pp", "ppk", "ppm_total")
    summary: dict[str, Any] = {
        "measurements": data.measurements.height,
        "first": first.isoformat(),
        "last": last.isoformat(),
        "capability": {
            r["characteristic"]: {k: r[k] for k in indices}
            for r in capability.iter_rows(named=True)
        },
        "signals": signals,
        **defects,
    }
    return Report(
        name=NAME,
        title="Manufacturing quality — summary",
        period=f"{first:%Y-%m-%d} to {last:%Y-%m-%d}",
        principal=context.principal.principal_id,
        purpose=context.purpose,
        sections=sections,
        inputs=dict(data.versions),
        generated_at=now_utc(),
        params={"since": _iso(inputs.since), "until": _iso(inputs.until), "rules": RULES},
        sources=tuple(data.sources()),
        summary=summary,
    )


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
