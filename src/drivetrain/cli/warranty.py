"""``drivetrain warranty …`` — claims analytics, Weibull reliability, early warning, field support."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from drivetrain.cli.output import console, handle_errors, print_json, print_table, settings_of
from drivetrain.cli.warranty_alerts import alerts_command, evaluate_command
from drivetrain.cli.warranty_common import (
    AsJson,
    AsOf,
    AsPrincipal,
    Plot,
    load_data,
    parse_day,
)
from drivetrain.cli.warranty_field import similar_command, themes_command
from drivetrain.demo.warranty_generator import SupplierDefect, WarrantyConfig
from drivetrain.demo.warranty_tour import simulate_warranty_files
from drivetrain.errors import InputError
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.ingest.warranty_records import import_warranty_file
from drivetrain.lake import Lake
from drivetrain.warranty import (
    LifeFit,
    claims_per_thousand,
    fit_component,
    latest_claim_date,
    life_sample,
    with_build_month,
)
from drivetrain.warranty.plots import claims_per_thousand_plot, weibull_probability_plot

PURPOSE = "warranty"
SHOWN_MIS = (1, 3, 6, 12, 18, 24, 36)

app = typer.Typer(
    help="Warranty: claims per thousand, Weibull reliability, early warning, field support.",
    no_args_is_help=True,
)


@app.command("import")
@handle_errors
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A claims (or, with --production, production) CSV.")],
    production: Annotated[
        bool, typer.Option("--production", help="The file holds production and sales records.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Import dealer warranty claims, or production and sales records, keyed by VIN.

    Import the production records first: claims are checked against them. Bad rows
    (a repair before the sale, negative mileage, an unknown vehicle, a duplicate
    claim, a cost in another currency than warranty_currency, a malformed VIN or
    date) are quarantined with their line and reason; importing a file twice stores
    it once. Columns are listed in docs/warranty.md.
    Example: drivetrain warranty import production.csv --production && drivetrain warranty import claims.csv
    """
    settings = settings_of(ctx)
    data_dir = settings.ensure_data_dir()
    result, run_id = import_warranty_file(
        Lake(settings.lake_dir),
        AuditLog(data_dir),
        PseudonymKey.load_or_create(data_dir),
        file,
        production=production,
        currency=settings.warranty_currency,
    )
    reasons: dict[str, int] = {}
    for _, reason, _ in result.rejects:
        reasons[reason] = reasons.get(reason, 0) + 1
    summary = {
        "run_id": run_id,
        "table": result.table,
        "rows_stored": result.rows,
        "rows_new": result.rows_new,
        "rows_quarantined": len(result.rejects),
        "table_version": result.stored_version,
    }
    if as_json:
        print_json({**summary, "rejects": [list(r) for r in result.rejects]})
        return
    print_table(f"{file.name} imported", ("", "value"), summary.items())
    for where, reason, _ in result.rejects[:10]:
        console.print(f"[yellow]{where}[/]: {reason}", highlight=False)
    if len(result.rejects) > 10:
        console.print(f"[dim]… {len(result.rejects) - 10} more in the quarantine table[/]")


@app.command("simulate")
@handle_errors
def simulate_command(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Folder to write production.csv and claims.csv to.")],
    per_model_month: Annotated[int, typer.Option(help="Vehicles built per model and month.")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    as_of: Annotated[str, typer.Option("--as-of", help="Last day of the history.")] = "2026-10-31",
    defect: Annotated[
        bool, typer.Option("--defect/--no-defect", help="Inject the supplier defect.")
    ] = True,
    dirty: Annotated[
        bool, typer.Option("--dirty", help="Add the bad rows a real claims export has.")
    ] = False,
) -> None:
    """Write the simulated programs' production and claims exports (keyed by VIN).

    Six models built month by month, sold, driven and claimed under a 36-month /
    100,000 km warranty; the registered fleet is among them, and its injected faults
    become claims. With --defect a bad thermostat lot goes into Fiat Tipos built
    February to April 2024 (12.5 % defective, calibrated on reliability's
    defective_sample). Import them with 'drivetrain warranty import'.
    Example: drivetrain warranty simulate --out warranty/ --dirty
    """
    settings = settings_of(ctx)
    end = parse_day(as_of, "--as-of")
    assert end is not None
    config = WarrantyConfig(
        seed=seed,
        per_model_month=per_model_month,
        as_of=end,
        defect=SupplierDefect() if defect else None,
    )
    files = simulate_warranty_files(settings, out, config, dirty=dirty)
    console.print(
        f"wrote {files.history.production.height:,} vehicles to {files.production} and "
        f"{files.history.claims.height:,} claims to {files.claims}"
    )


def _max_int(column: pl.Series) -> int:
    top = column.max()
    return int(top) if isinstance(top, int | float) else 0


def _cohort_table(table: pl.DataFrame) -> list[tuple[object, ...]]:
    shown = [m for m in SHOWN_MIS if m <= _max_int(table["mis"])]
    rows = []
    for cohort, group in table.group_by("cohort", maintain_order=True):
        values = dict(zip(group["mis"].to_list(), group["cumulative_per_thousand"], strict=True))
        at_risk = _max_int(group["at_risk"])
        cells = (f"{values[m]:.1f}" if m in values else "" for m in shown)
        rows.append((cohort[0], at_risk, *cells))
    return rows


@app.command("table")
@handle_errors
def table_command(
    ctx: typer.Context,
    as_: AsPrincipal,
    component: Annotated[str | None, typer.Option(help="Only claims of this causal part.")] = None,
    model: Annotated[str | None, typer.Option(help="Only vehicles of this model id.")] = None,
    cohort: Annotated[
        str, typer.Option(help="Cohort column: build_month, plant, model_id, region, market.")
    ] = "build_month",
    as_of: AsOf = None,
    plot: Plot = None,
    as_json: AsJson = False,
) -> None:
    """Claims per thousand vehicles at risk by cohort and month in service (cumulative).

    Maturity-aware: a cohort's month counts only once its vehicles have completed it,
    so young and old build months compare fairly. --plot draws the curves.
    Example: drivetrain warranty table --as warranty --component thermostat --model fiat-tipo --plot tipo.png
    """
    settings = settings_of(ctx)
    given = parse_day(as_of, "--as-of")  # a bad date fails before the load
    data, _, _ = load_data(settings, as_)
    when = given or latest_claim_date(data)
    vehicles = with_build_month(data.production)
    if cohort not in vehicles.columns:
        raise InputError(
            f"unknown cohort column {cohort!r}",
            hint="one of build_month, plant, model_id, region, market, model_year",
        )
    if model:
        vehicles = vehicles.filter(pl.col("model_id") == model)
    claims = data.claims
    if component:
        claims = claims.filter(pl.col("causal_part") == component)
    table = claims_per_thousand(claims, vehicles, when, cohort=cohort)
    if plot is not None:
        what = f"{component or 'all'} claims per 1,000 {model or 'vehicles'} by {cohort}"
        claims_per_thousand_plot(table, plot, title=what)
    if as_json:
        print_json({"as_of": when, "cohort": cohort, "rows": table.to_dicts()})
        return
    shown = [m for m in SHOWN_MIS if m <= _max_int(table["mis"])]
    print_table(
        f"cumulative claims per 1,000 vehicles at risk by months in service (as of {when})",
        (cohort, "sold", *(f"MIS {m}" for m in shown)),
        _cohort_table(table),
    )
    if plot is not None:
        console.print(f"chart: {plot}")


def _fit_row(fit: LifeFit, horizon: float) -> tuple[object, ...]:
    params = ", ".join(f"{k}={v:.4g}" for k, v in fit.parameters.items())
    b10 = "never" if fit.b10 == float("inf") else f"{fit.b10:,.0f}"
    return (fit.distribution, params, b10, f"{fit.p_fail(horizon):.2%}", f"{fit.aicc:.1f}")


@app.command("weibull")
@handle_errors
def weibull_command(
    ctx: typer.Context,
    component: Annotated[str, typer.Argument(help="Causal part, e.g. thermostat.")],
    as_: AsPrincipal,
    model: Annotated[str | None, typer.Option(help="Only this model id.")] = None,
    region: Annotated[str | None, typer.Option(help="Only this region.")] = None,
    build_from: Annotated[str | None, typer.Option(help="First build month YYYY-MM.")] = None,
    build_to: Annotated[str | None, typer.Option(help="Last build month YYYY-MM.")] = None,
    as_of: AsOf = None,
    plot: Plot = None,
    as_json: AsJson = False,
) -> None:
    """Fit life distributions to a component's claims, the running vehicles censored.

    Age is days in service at the first claim of the part; vehicles without one are
    right-censored at their age (at most the warranty). Weibull, lognormal,
    exponential and Weibull with a defective subpopulation, best AICc first, with
    B10 and the probability of failing by the end of warranty. Recorded for explain.
    Example: drivetrain warranty weibull thermostat --as warranty --model fiat-tipo --build-from 2024-02 --build-to 2024-04 --plot weibull.png
    """
    settings = settings_of(ctx)
    given = parse_day(as_of, "--as-of")  # a bad date fails before the load
    data, context, audit = load_data(settings, as_)
    when = given or latest_claim_date(data)
    sample = life_sample(
        data,
        component,
        when,
        model_id=model,
        region=region,
        build_from=build_from,
        build_to=build_to,
        warranty_months=settings.warranty_months,
    )
    fits, output_id = fit_component(
        sample, context, data=data, audit=audit, params={"as_of": when.isoformat()}
    )
    horizon = settings.warranty_months * 365.25 / 12
    if plot is not None:
        weibull_probability_plot(
            sample.failures,
            sample.running,
            fits[:2],
            plot,
            title=f"Weibull plot: {sample.description}",
            warranty_end=horizon,
        )
    if as_json:
        print_json(
            {
                "sample": sample.description,
                "failures": len(sample.failures),
                "running": len(sample.running),
                "as_of": when,
                "output_id": output_id,
                "fits": [
                    {
                        "distribution": f.distribution,
                        "parameters": f.parameters,
                        "bounds": f.bounds,
                        "b10_days": None if f.b10 == float("inf") else f.b10,
                        "p_fail_by_warranty_end": f.p_fail(horizon),
                        "aicc": f.aicc,
                        "bic": f.bic,
                        "anderson_darling": f.anderson_darling,
                    }
                    for f in fits
                ],
            }
        )
        return
    print_table(
        f"{sample.description}: {len(sample.failures)} failures, {len(sample.running)} running "
        f"(as of {when}; ages in days)",
        ("fit", "parameters", "B10", f"P(fail) by {settings.warranty_months} mo", "AICc"),
        (_fit_row(f, horizon) for f in fits),
    )
    if plot is not None:
        console.print(f"chart: {plot}")
    if output_id:
        console.print(f"[dim]how it was produced: drivetrain explain {output_id}[/]")


app.command("alerts")(alerts_command)
app.command("evaluate")(evaluate_command)
app.command("similar")(similar_command)
app.command("themes")(themes_command)
