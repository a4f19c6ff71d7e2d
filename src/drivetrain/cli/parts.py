"""``drivetrain parts ...``: demand forecasts, backtests and stocking plans from a demand export.

The commands read a demand history exported from a dealer management or ERP
system: a CSV in long format, one row per series and period, with columns
``unique_id`` (or ``part_number`` and ``location_id``), ``ds`` (or ``month``)
and ``y`` (or ``quantity``). Periods are first-of-month dates (YYYY-MM-DD) or
integers. Every forecast, backtest and plan is recorded for ``drivetrain
explain`` with the file's SHA-256.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from drivetrain.cli.output import console, handle_errors, print_json, print_table
from drivetrain.errors import InputError
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import record_output
from drivetrain.parts.backtest import AUTO, backtest, choose_models, score
from drivetrain.parts.classify import classify
from drivetrain.parts.demand import Frequency, PreparedDemand, prepare_demand
from drivetrain.parts.forecast import forecast_by_class
from drivetrain.parts.inventory import StockingTerms, Target, tradeoff_curve
from drivetrain.parts.plan import plan_stock
from drivetrain.parts.plots import forecast_fan, tradeoff_plot
from drivetrain.settings import Settings

app = typer.Typer(help=__doc__, no_args_is_help=True)
PURPOSE = "parts_planning"
BASELINES = "Zero,Naive,HistoricAverage,CrostonSBA,TSB,ADIDA,IMAPA,AutoETS,auto"

Demand = Annotated[Path, typer.Option("--demand", help="Demand history CSV (see the group help).")]
Horizon = Annotated[int, typer.Option("--horizon", min=1, help="Periods to forecast.")]
Returns = Annotated[
    bool, typer.Option("--returns-as-zero", help="Count negative quantities (returns) as no demand.")
]
Jobs = Annotated[int, typer.Option("--jobs", min=1, help="Processes for statsforecast (one per core).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


def _read(path: Path, returns_as_zero: bool) -> tuple[PreparedDemand, Frequency, str]:
    """The prepared demand, its period kind, and the file's SHA-256."""
    if not path.is_file():
        raise InputError(f"no demand file at {path}", hint="export the demand history as CSV")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        raw = pl.read_csv(path, infer_schema_length=10_000)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not a readable CSV: {exc}") from exc
    names = set(raw.columns)
    if "unique_id" not in names and {"part_number", "location_id"} <= names:
        raw = raw.with_columns(
            (pl.col("part_number").cast(pl.String) + "@" + pl.col("location_id").cast(pl.String))
            .alias("unique_id")
        )
    raw = raw.rename({k: v for k, v in (("month", "ds"), ("quantity", "y")) if k in names})
    if "ds" not in raw.columns:
        raise InputError(f"{path} has no ds (or month) column", hint="see drivetrain parts --help")
    freq: Frequency = 1 if raw.schema["ds"].is_integer() else "MS"
    if freq == "MS":
        raw = raw.with_columns(pl.col("ds").cast(pl.String).str.to_date(strict=False))
    prepared = prepare_demand(raw, freq=freq, negative="zero" if returns_as_zero else "error")
    return prepared, freq, digest


def _record(settings: Settings, kind: str, params: dict[str, Any], path: Path, digest: str) -> str:
    return record_output(
        AuditLog(settings.ensure_data_dir()),
        kind=kind,
        model="drivetrain.parts (statsforecast models by demand class)",
        version=package_version("drivetrain"),
        params=params,
        inputs={},
        sources=[f"{path.name} sha256:{digest}"],
        principal="cli",
        purpose=PURPOSE,
    )


def _report(prepared: PreparedDemand) -> None:
    for line in prepared.report.lines():
        console.print(f"[dim]{line}[/]")


@app.command("backtest")
@handle_errors
def backtest_command(
    ctx: typer.Context,
    demand: Demand,
    horizon: Horizon = 6,
    windows: Annotated[int, typer.Option(min=1, help="Forecast origins, `horizon` apart.")] = 3,
    models: Annotated[str, typer.Option(help="Comma-separated models; auto = by class.")] = BASELINES,
    returns_as_zero: Returns = False,
    jobs: Jobs = 1,
    as_json: AsJson = False,
) -> None:
    """Rolling-origin backtest of each model: sMAE, RMSSE, bias, |sPIS|, RMSE; best per class.

    Example: drivetrain parts backtest --demand demand.csv --horizon 6 --windows 3
    """
    prepared, freq, digest = _read(demand, returns_as_zero)
    names = [m.strip() for m in models.split(",") if m.strip()]
    result = backtest(prepared.series, names, h=horizon, n_windows=windows, freq=freq, n_jobs=jobs)
    table = score(result).sort("rmse")
    fitted = [n for n in names if n not in (AUTO, "Zero")]
    best = choose_models(result) if fitted else {}
    params = {"horizon": horizon, "windows": windows, "models": names}
    output_id = _record(_settings(ctx), "parts_backtest", params, demand, digest)
    if as_json:
        print_json({"scores": table.to_dicts(), "best_by_class": best,
                    "skipped": list(result.skipped), "output_id": output_id})  # fmt: skip
        return
    _report(prepared)
    print_table(
        f"backtest: {windows} origin(s) x {horizon} periods, {table['series_origins'][0]:,} "
        "series-origins per model (sorted by RMSE)",
        ("model", "sMAE", "RMSSE", "scaled bias", "|sPIS|", "RMSE"),
        [(r["model"], f"{r['smae']:.3f}", f"{r['rmsse']:.3f}", f"{r['sbias']:+.3f}",
          f"{r['abs_spis']:.2f}", f"{r['rmse']:.3f}") for r in table.iter_rows(named=True)],
    )  # fmt: skip
    if best:
        console.print("best per class (RMSSE): " + ", ".join(f"{k} {v}" for k, v in best.items()))
    if result.skipped:
        console.print(f"{len(result.skipped)} series too short for these origins were not tested")
    console.print(f"[dim]how it was produced: drivetrain explain {output_id}[/]")


@app.command("forecast")
@handle_errors
def forecast_command(
    ctx: typer.Context,
    demand: Demand,
    horizon: Horizon = 12,
    out: Annotated[Path | None, typer.Option(help="Write the forecasts to this CSV.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write a forecast fan (.png) of --series.")] = None,
    series: Annotated[str | None, typer.Option(help="The series to plot (unique_id).")] = None,
    returns_as_zero: Returns = False,
    jobs: Jobs = 1,
    as_json: AsJson = False,
) -> None:
    """Forecast every series with its demand class's model (IMAPA, AutoETS, ...).

    Example: drivetrain parts forecast --demand demand.csv --horizon 12 --out forecast.csv
    """
    prepared, freq, digest = _read(demand, returns_as_zero)
    classes = classify(prepared.series)
    forecast = forecast_by_class(prepared.series, classes, h=horizon, freq=freq, n_jobs=jobs)
    output_id = _record(_settings(ctx), "parts_forecast", {"horizon": horizon}, demand, digest)
    if out is not None:
        forecast.write_csv(out)
    if plot is not None:
        _fan(prepared, forecast, series, plot)
    mix = dict(classes["class"].value_counts().sort("class").iter_rows())
    if as_json:
        print_json({"classes": mix, "forecast": forecast.to_dicts() if out is None else str(out),
                    "output_id": output_id})  # fmt: skip
        return
    _report(prepared)
    per = forecast.group_by("class", "model").agg(
        pl.col("unique_id").n_unique().alias("series"), pl.col("forecast").sum().alias("units")
    )
    print_table(
        f"{horizon}-period forecast by demand class",
        ("class", "model", "series", "units forecast"),
        [(r["class"], r["model"], r["series"], f"{r['units']:,.1f}")
         for r in per.sort("class").iter_rows(named=True)],
    )  # fmt: skip
    if out is not None:
        console.print(f"wrote {out}")
    console.print(f"[dim]how it was produced: drivetrain explain {output_id}[/]")


def _fan(prepared: PreparedDemand, forecast: pl.DataFrame, series: str | None, plot: Path) -> None:
    if series is None:
        raise InputError("--plot needs --series", hint="name the unique_id to draw")
    own = forecast.filter(pl.col("unique_id") == series)
    if own.is_empty():
        raise InputError(f"no forecast for series {series}", hint="check the unique_id")
    history = prepared.series.filter(pl.col("unique_id") == series)
    forecast_fan(history, own, title=f"{series}: demand and forecast").savefig(plot, dpi=110)
    console.print(f"wrote {plot}")


@app.command("plan")
@handle_errors
def plan_command(
    ctx: typer.Context,
    demand: Demand,
    service_level: Annotated[
        float, typer.Option(min=0.5, max=0.999, help="Target: cycle service (or fill rate).")
    ] = 0.95,
    fill_rate: Annotated[bool, typer.Option("--fill-rate", help="Target the fill rate.")] = False,
    lead_time: Annotated[int, typer.Option(min=0, help="Replenishment lead time, periods.")] = 1,
    review: Annotated[int, typer.Option(min=1, help="Review period, periods.")] = 1,
    unit_cost: Annotated[float, typer.Option(min=0.0, help="Unit cost (for stock value).")] = 1.0,
    holding_rate: Annotated[float, typer.Option(min=0.0, help="Holding cost, share per year.")] = 0.25,
    out: Annotated[Path | None, typer.Option(help="Write the plan to this CSV.")] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write the stock-service trade-off (.png) of --series.")
    ] = None,
    series: Annotated[str | None, typer.Option(help="The series to plot (unique_id).")] = None,
    returns_as_zero: Returns = False,
    jobs: Jobs = 1,
    as_json: AsJson = False,
) -> None:
    """Reorder point and order-up-to level per series for a service target.

    Forecasts each series by class, bootstraps its lead-time demand from its history
    (rescaled to the forecast) and sets the smallest level that reaches the target.
    Example: drivetrain parts plan --demand demand.csv --service-level 0.95 --lead-time 2
    """
    prepared, freq, digest = _read(demand, returns_as_zero)
    classes = classify(prepared.series)
    forecast = forecast_by_class(
        prepared.series, classes, h=lead_time + review, freq=freq, n_jobs=jobs
    )
    terms = pl.DataFrame({"unique_id": forecast["unique_id"].unique()}).with_columns(
        pl.lit(lead_time).alias("lead_time"), pl.lit(review).alias("review_period"),
        pl.lit(unit_cost).alias("unit_cost"), pl.lit(holding_rate).alias("holding_rate"),
    )  # fmt: skip
    kind: Target = "fill_rate" if fill_rate else "cycle_service"
    plan = plan_stock(
        prepared.series, forecast.rename({"forecast": "mean"}), terms, target=service_level,
        kind=kind,
    ).join(forecast.select("unique_id", "model").unique(), on="unique_id", how="left")
    params = {"target": service_level, "kind": kind, "lead_time": lead_time, "review": review,
              "unit_cost": unit_cost, "holding_rate": holding_rate}  # fmt: skip
    output_id = _record(_settings(ctx), "parts_plan", params, demand, digest)
    if out is not None:
        plan.write_csv(out)
    if plot is not None:
        if series is None:
            raise InputError("--plot needs --series", hint="name the unique_id to draw")
        history = prepared.series.filter(pl.col("unique_id") == series)
        row = plan.filter(pl.col("unique_id") == series)
        if row.is_empty():
            raise InputError(f"no plan for series {series}", hint="check the unique_id")
        curve = tradeoff_curve(
            history["y"].to_numpy(), float(row["mean_per_period"][0]),
            StockingTerms(lead_time, review, max(unit_cost, 1e-9), holding_rate), kind=kind,
        )  # fmt: skip
        tradeoff_plot(curve, title=f"{series}: stock against service").savefig(plot, dpi=110)
        console.print(f"wrote {plot}")
    totals = plan.select(
        pl.len().alias("series"), pl.col("expected_on_hand").sum(), pl.col("stock_value").sum(),
        pl.col("fill_rate").mean(), pl.col("cycle_service").mean(),
    ).row(0, named=True)  # fmt: skip
    if as_json:
        print_json({"totals": totals, "plan": plan.to_dicts() if out is None else str(out),
                    "output_id": output_id})  # fmt: skip
        return
    _report(prepared)
    top = plan.sort("stock_value", descending=True).head(10)
    print_table(
        f"plan for {kind.replace('_', ' ')} {service_level:.0%}: the 10 largest stock values",
        ("series", "model", "mean/period", "reorder point", "order-up-to", "fill rate"),
        [(r["unique_id"], r["model"], f"{r['mean_per_period']:.2f}", f"{r['reorder_point']:.0f}",
          f"{r['order_up_to']:.0f}", f"{r['fill_rate']:.3f}") for r in top.iter_rows(named=True)],
    )  # fmt: skip
    console.print(
        f"{totals['series']:,} series: {totals['expected_on_hand']:,.0f} units expected on hand, "
        f"stock value at order-up-to {totals['stock_value']:,.0f}; estimated mean fill rate "
        f"{totals['fill_rate']:.3f}, cycle service {totals['cycle_service']:.3f}"
    )
    if out is not None:
        console.print(f"wrote {out}")
    console.print(f"[dim]how it was produced: drivetrain explain {output_id}[/]")
