"""``drivetrain quality …`` — SPC charts, capability, defects, suppliers, sampling, the watch.

The plant's tables are read as the principal ``--as`` names (a quality
engineer of the principals file), for the purpose ``manufacturing_quality``;
every read is audited and every chart, capability study and alert is recorded
with its provenance (``drivetrain explain ID``). See docs/quality.md.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from drivetrain.cli.output import console, handle_errors, print_json, print_table, settings_of
from drivetrain.cli.quality_watch import parse_ts, trace_command, watch_command
from drivetrain.demo.plant_generator import FILES, PlantConfig
from drivetrain.demo.quality_tour import phase1_capability, simulate_plant
from drivetrain.demo.warranty_generator import (  # fmt: skip
    WarrantyConfig,
    generate_warranty,
    write_claims_csv,
    write_production_csv,
)
from drivetrain.errors import InputError
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import principal_named
from drivetrain.governance.provenance import record_output
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.ingest.quality_records import QualityImport, import_quality_files
from drivetrain.ingest.warranty_records import import_warranty_file
from drivetrain.lake import Lake
from drivetrain.quality.charts import CHARTS, control_chart, signals_of
from drivetrain.quality.data import PURPOSE, PlantData, load_plant_data, measurement_subgroups
from drivetrain.quality.defects import lot_trend, pareto, supplier_ppm
from drivetrain.quality.sampling import oc_curve, single_sampling_plan
from drivetrain.settings import Settings

app = typer.Typer(help=__doc__, no_args_is_help=True)
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Principal = Annotated[
    str, typer.Option("--as", help="Principal who reads the plant tables (a quality engineer).")
]
MODEL = "drivetrain.quality"


def plant_data(settings: Settings, principal: str, **window: datetime | None) -> PlantData:
    context = AccessContext(principal_named(settings.resolved_principals_file, principal), PURPOSE)
    return load_plant_data(Lake(settings.lake_dir), context, audit=AuditLog(settings.data_dir), **window)  # fmt: skip


def record(
    settings: Settings, data: PlantData, principal: str, kind: str, params: dict[str, Any]
) -> str:
    return record_output(
        AuditLog(settings.data_dir), kind=kind, model=MODEL, version="1", params=params,
        inputs=data.versions, sources=data.sources(), principal=principal, purpose=PURPOSE,
    )  # fmt: skip


def _imported(result: QualityImport, as_json: bool, title: str) -> None:
    if as_json:
        print_json({"run_id": result.run_id, "rows": result.rows, "versions": result.versions,
                    "rejects": {t: [list(r) for r in rs] for t, rs in result.rejects.items()}})  # fmt: skip
        return
    rows = [(t, f"{n:,}", len(result.rejects.get(t, [])), result.versions.get(t)) for t, n in result.rows.items()]  # fmt: skip
    print_table(title, ("table", "rows", "refused", "version"), rows)
    refused = [r for rs in result.rejects.values() for r in rs]
    for where, reason, _ in refused[:10]:
        console.print(f"[yellow]{where}[/]: {reason}", highlight=False)
    if len(refused) > 10:
        console.print(f"[dim]… {len(refused) - 10} more in the quarantine table[/]")


@app.command("import")
@handle_errors
def import_command(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="A folder with the plant's CSV exports.")],
    as_json: AsJson = False,
) -> None:
    """Import a plant's exports from a folder: stations.csv, characteristics.csv,
    defect_codes.csv, measurements.csv, inspections.csv, lots.csv, build_parts.csv (any
    that are there; docs/quality.md has their columns).

    A bad master row refuses the import with what to fix; a bad measurement,
    inspection, lot or genealogy row is quarantined with its line and reason.
    Example: drivetrain quality import plant/
    """
    settings = settings_of(ctx)
    files = {t: directory / name for t, name in FILES.items() if (directory / name).is_file()}
    if not files:
        raise InputError(f"{directory} holds none of {', '.join(FILES.values())}")
    data_dir = settings.ensure_data_dir()
    result = import_quality_files(Lake(settings.lake_dir), AuditLog(data_dir), PseudonymKey.load_or_create(data_dir), files)  # fmt: skip
    _imported(result, as_json, f"{directory} imported")


@app.command("simulate")
@handle_errors
def simulate_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Where to write the plant's CSV exports.")] = Path(
        "plant"
    ),
    seed: Annotated[int, typer.Option(help="Random seed of the plant.")] = PlantConfig().seed,
    per_model_month: Annotated[
        int, typer.Option(min=10, help="Vehicles built per model and month.")
    ] = 300,
    as_json: AsJson = False,
) -> None:
    """Simulate the Bursa engine line into the lake: four stations measuring (one tool
    drifts on 2 February), end-of-line inspection, supplier lots (one bad thermostat lot,
    fitted from 1 February) and the genealogy of the Fiat Tipos built with each lot.

    The warranty programs' production records and claims (the same as 'drivetrain
    warranty simulate') are imported too, so a lot can be followed into the field.
    Example: drivetrain quality simulate && drivetrain quality watch --as quality --replay
    """
    settings = settings_of(ctx)
    data_dir = settings.ensure_data_dir()
    lake, audit, keys = Lake(settings.lake_dir), AuditLog(data_dir), PseudonymKey.load_or_create(data_dir)  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    with console.status("simulating the warranty programs and the plant …"):
        history = generate_warranty(
            WarrantyConfig(per_model_month=per_model_month), pseudonyms=keys
        )
        for path, production in ((write_production_csv(history, out / "production.csv"), True),
                                 (write_claims_csv(history, out / "claims.csv"), False)):  # fmt: skip
            import_warranty_file(lake, audit, keys, path, production=production, currency=settings.warranty_currency)  # fmt: skip
        _, result = simulate_plant(
            lake, audit, keys, history.production, out, PlantConfig(seed=seed)
        )
    _imported(result, as_json, "simulated plant stored")
    if not as_json:
        console.print(f"wrote {', '.join(FILES.values())} to {out}")


@app.command("chart")
@handle_errors
def chart_command(
    ctx: typer.Context,
    characteristic: Annotated[str, typer.Argument(help="Characteristic id, e.g. TH-OPEN.")],
    principal: Principal,
    chart: Annotated[
        str | None,
        typer.Option(help=f"One of {', '.join(CHARTS[:3])}, ewma, cusum; default: the master's."),
    ] = None,
    phase1_until: Annotated[
        str | None,
        typer.Option(
            help="Limits from measurements before this time (Phase I); later ones are judged against them (Phase II). Default: all are Phase I."
        ),
    ] = None,
    rules: Annotated[
        str,
        typer.Option(
            help="Run rules: western_electric, nelson, limits, or ids like nelson1,nelson5."
        ),
    ] = "western_electric",
    plot: Annotated[Path | None, typer.Option(help="Write the chart (.png or .html).")] = None,
    as_json: AsJson = False,
) -> None:
    """Control chart of one characteristic: limits, out-of-control points and the rules
    they break. Subgroups are the master's subgroup_size consecutive parts.
    Example: drivetrain quality chart TH-OPEN --as quality --phase1-until 2024-02-01T00:00:00Z --plot th.png
    """
    settings = settings_of(ctx)
    cutoff = parse_ts(phase1_until, "--phase1-until")
    data = plant_data(settings, principal)
    master = data.characteristics.filter(pl.col("characteristic_id") == characteristic)
    if master.is_empty():
        known = ", ".join(data.characteristics.get_column("characteristic_id").to_list())
        raise InputError(f"no characteristic {characteristic!r}", hint=f"known: {known}")
    kind = chart or str(master["chart"][0])
    grouped = measurement_subgroups(data.measurements.filter(pl.col("characteristic_id") == characteristic), data.characteristics)  # fmt: skip
    history = grouped if cutoff is None else grouped.filter(pl.col("ts") < cutoff)
    if history.is_empty():
        raise InputError(f"no measurements of {characteristic} before {phase1_until}", hint="move --phase1-until later")  # fmt: skip
    rule_ids = [r.strip() for r in rules.split(",")] if "," in rules else rules
    result = control_chart(history, kind, by="characteristic_id", rules=rule_ids)
    points = result.points
    if cutoff is not None:
        later = grouped.filter(pl.col("ts") >= cutoff)
        if later.height:
            points = pl.concat([points, result.monitor(later.select("characteristic_id", "subgroup", "value")).points])  # fmt: skip
    signals = signals_of(points)
    params = result.parameters.row(0, named=True)
    output = record(settings, data, principal, "quality_chart", {
        "characteristic_id": characteristic, "chart": kind, "rules": list(result.options.rules),
        "phase1_until": phase1_until, "center": params["center"], "sigma": params["sigma"],
        "phase1_subgroups": params["used"], "signals": signals.height,
    })  # fmt: skip
    if plot is not None:
        from drivetrain.quality.plots import control_chart_plot

        control_chart_plot(points, plot, title=f"{characteristic} ({kind})")
    if as_json:
        print_json({"output_id": output, "parameters": params,
                    "signals": signals.select("subgroup", "statistic", "value", "lcl", "ucl", "rules", "phase").to_dicts()})  # fmt: skip
        return
    limits = points.filter(pl.col("phase") == "I").group_by("statistic", maintain_order=True).agg(pl.col("center", "lcl", "ucl").first())  # fmt: skip
    print_table(f"{characteristic}: {kind}, {params['used']} Phase I subgroups ({params['removed']} removed)",
                ("statistic", "LCL", "centre", "UCL"),
                [(s, f"{lcl:.5g}", f"{c:.5g}", f"{u:.5g}") for s, c, lcl, u in limits.iter_rows()])  # fmt: skip
    print_table(f"{signals.height} out-of-control point(s)", ("phase", "subgroup", "statistic", "value", "rules"),
                [(r["phase"], r["subgroup"], r["statistic"], f"{r['value']:.5g}", ", ".join(r["rules"])) for r in signals.head(20).iter_rows(named=True)])  # fmt: skip
    console.print(f"recorded as {output}" + (f"; chart written to {plot}" if plot else ""))


@app.command("capability")
@handle_errors
def capability_command(
    ctx: typer.Context,
    principal: Principal,
    until: Annotated[
        str | None, typer.Option(help="Only measurements before this time (a stable period).")
    ] = None,
    plot: Annotated[
        str | None,
        typer.Option(help="CHARACTERISTIC=PATH: write its histogram with the limits (.png/.html)."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Capability of every characteristic with specification limits: Cp, Cpk, Pp, Ppk,
    Cpm with 95 % intervals, a normality check, and fitted-distribution indices when the
    data are not normal.
    Example: drivetrain quality capability --as quality --until 2024-02-01T00:00:00Z
    """
    settings = settings_of(ctx)
    cutoff = parse_ts(until, "--until") or datetime.max.replace(tzinfo=UTC)
    data = plant_data(settings, principal)
    table = phase1_capability(data, cutoff)
    output = record(settings, data, principal, "quality_capability", {"until": until, "characteristics": table.height})  # fmt: skip
    if plot is not None:
        _capability_plot(data, table, plot, cutoff)
    if as_json:
        print_json({"output_id": output, "capability": table.drop("notes").to_dicts()})
        return

    def f(v: float | None) -> str:
        return "—" if v is None else f"{v:.2f}"

    print_table("process capability", ("characteristic", "n", "method", "Cp", "Cpk", "Pp", "Ppk", "PPM", "normal p"),
                [(r["characteristic"], r["n"], r["method"] or r["error"], f(r["cp"]), f(r["cpk"]), f(r["pp"]), f(r["ppk"]),
                  "—" if r["ppm_total"] is None else f"{r['ppm_total']:.1f}", f"{r['normality_p']:.3f}" if r["normality_p"] is not None else "—")
                 for r in table.iter_rows(named=True)])  # fmt: skip
    console.print(f"recorded as {output}")


def _capability_plot(data: PlantData, table: pl.DataFrame, plot: str, cutoff: datetime) -> None:
    from drivetrain.quality.plots import capability_plot

    name, _, path = plot.partition("=")
    if not path:
        raise InputError("--plot takes CHARACTERISTIC=PATH", hint="e.g. --plot LEAK=leak.png")
    row = table.filter(pl.col("characteristic") == name)
    master = data.characteristics.filter(pl.col("characteristic_id") == name)
    if row.is_empty() or master.is_empty():
        raise InputError(f"no characteristic {name!r} with a capability study")
    values = data.measurements.filter((pl.col("characteristic_id") == name) & (pl.col("ts") < cutoff))["value"]  # fmt: skip
    m, r = master.row(0, named=True), row.row(0, named=True)
    indices = {k: r.get(k) for k in ("cp", "cpk", "pp", "ppk", "cpm", "ppm_total", "sigma_within")}
    capability_plot(values.to_numpy(), Path(path), lsl=m["lsl"], usl=m["usl"], target=m["nominal"], title=f"{name}: capability", indices=indices)  # fmt: skip


@app.command("pareto")
@handle_errors
def pareto_command(
    ctx: typer.Context,
    principal: Principal,
    by: Annotated[
        str, typer.Option(help="defect_code, station_id, shift or lot_id.")
    ] = "defect_code",
    since: Annotated[str | None, typer.Option(help="Inspections from this time.")] = None,
    until: Annotated[str | None, typer.Option(help="Inspections before this time.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write the Pareto chart (.png/.html).")] = None,
    as_json: AsJson = False,
) -> None:
    """Pareto of the failed inspections: the vital few defect codes (or stations, shifts,
    lots) that make up 80 % of the findings.
    Example: drivetrain quality pareto --as quality --by defect_code --since 2024-02-01
    """
    settings = settings_of(ctx)
    data = plant_data(settings, principal, start=parse_ts(since, "--since"), end=parse_ts(until, "--until"))  # fmt: skip
    if data.inspections is None or data.inspections.is_empty():
        raise InputError("no inspections in that period", hint="import inspections.csv, or widen --since/--until")  # fmt: skip
    failed = data.inspections.filter(pl.col("result") == "fail")
    table = pareto(failed, by, weight="defects", missing="label")
    output = record(settings, data, principal, "quality_pareto", {"by": by, "since": since, "until": until, "findings": failed.height})  # fmt: skip
    if plot is not None:
        from drivetrain.quality.plots import pareto_plot

        pareto_plot(table, plot, category=by, title=f"failed inspections by {by}")
    if as_json:
        print_json({"output_id": output, "pareto": table.to_dicts()})
        return
    print_table(f"{failed.height} findings by {by}", (by, "count", "share", "cumulative", "vital"),
                [(r[by], r["count"], f"{r['share']:.0%}", f"{r['cumulative_share']:.0%}", "●" if r["vital"] else "")
                 for r in table.iter_rows(named=True)])  # fmt: skip


@app.command("suppliers")
@handle_errors
def suppliers_command(ctx: typer.Context, principal: Principal, as_json: AsJson = False) -> None:
    """Supplier quality from incoming inspection: PPM per supplier and part with exact 95 %
    bounds, the lots above their p-chart limit, and the trend across lots.
    Example: drivetrain quality suppliers --as quality
    """
    settings = settings_of(ctx)
    data = plant_data(settings, principal)
    if data.lots is None or data.lots.is_empty():
        raise InputError("the lake holds no supplier lots", hint="import lots.csv")
    ppm = supplier_ppm(data.lots, by=("supplier", "part_number"), lot="lot_id")
    trend = lot_trend(data.lots, lot="lot_id")
    flagged = trend.flagged()
    output = record(settings, data, principal, "quality_suppliers", {"lots": data.lots.height, "flagged": flagged.get_column("lot_id").to_list()})  # fmt: skip
    if as_json:
        print_json({"output_id": output, "ppm": ppm.to_dicts(), "flagged": flagged.to_dicts(), "trend": trend.trend.to_dicts()})  # fmt: skip
        return
    print_table("supplier PPM (incoming inspection)", ("supplier", "part", "lots", "inspected", "PPM", "95 % bounds"),
                [(r["supplier"], r["part_number"], r["lots"], r["inspected"], f"{r['ppm']:,.0f}", f"{r['ppm_lower']:,.0f}–{r['ppm_upper']:,.0f}")
                 for r in ppm.iter_rows(named=True)])  # fmt: skip
    print_table("lots above their limit", ("lot", "supplier", "received", "PPM", "UCL PPM"),
                [(r["lot_id"], r["supplier"], r["received_date"], f"{r['ppm']:,.0f}", f"{r['ucl_ppm']:,.0f}") for r in flagged.iter_rows(named=True)])  # fmt: skip


@app.command("sampling")
@handle_errors
def sampling_command(
    lot_size: Annotated[int, typer.Option(help="Units in the lot.")],
    aql: Annotated[
        float, typer.Option(help="Acceptance quality limit, e.g. 1.0 (percent nonconforming).")
    ],
    level: Annotated[str, typer.Option(help="Inspection level: I, II, III, S-1 … S-4.")] = "II",
    severity: Annotated[str, typer.Option(help="normal, tightened or reduced.")] = "normal",
    as_json: AsJson = False,
) -> None:
    """Incoming-inspection sampling plan (ANSI/ASQ Z1.4 single sampling): code letter,
    sample size, accept and reject numbers, and the plan's operating characteristic.
    Example: drivetrain quality sampling --lot-size 5000 --aql 1.0
    """
    plan = single_sampling_plan(lot_size, aql, level=level, severity=severity)
    quality = [aql / 4, aql / 2, aql, 2 * aql, 4 * aql]
    accept = oc_curve(plan, [q / 100 for q in quality])
    if as_json:
        print_json({"plan": {k: getattr(plan, k) for k in ("code_letter", "sample_size", "accept", "reject", "severity", "full_inspection")},
                    "oc": [{"percent_nonconforming": q, "p_accept": float(a)} for q, a in zip(quality, accept, strict=True)]})  # fmt: skip
        return
    print_table(f"Z1.4 {severity} inspection, level {level}, lot of {lot_size:,}, AQL {aql}",
                ("code letter", "sample", "accept", "reject"), [(plan.code_letter, plan.sample_size, plan.accept, plan.reject)])  # fmt: skip
    print_table("operating characteristic", ("% nonconforming", "P(accept)"), [(f"{q:g}", f"{a:.3f}") for q, a in zip(quality, accept, strict=True)])  # fmt: skip


app.command("watch")(handle_errors(watch_command))
app.command("trace")(handle_errors(trace_command))
