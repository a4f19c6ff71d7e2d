"""``drivetrain parts ...``: demand forecasts, backtests and stocking plans.

The demand comes from the lake (``drivetrain parts import`` of an ERP export,
or ``drivetrain parts simulate``), read as the principal ``--as`` names for
the purpose parts_planning; or from a demand export given with ``--demand``: a
CSV in long format, one row per series and period, with columns ``unique_id``
(or ``part_number`` and ``location_id``), ``ds`` (or ``month``) and ``y`` (or
``quantity``), periods as first-of-month dates (YYYY-MM-DD) or integers. With
``--fleet`` (lake only) the forecast adds the change the fleet foresees (due
maintenance, predicted failures, warranty projections, campaigns). Every
forecast, backtest and plan is recorded for ``drivetrain explain``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from drivetrain.cli.output import console, handle_errors, print_json, print_table
from drivetrain.cli.parts_input import (
    AsPrincipal,
    Demand,
    DemandInput,
    read_demand,
    record,
    report,
)
from drivetrain.cli.parts_lake import import_command, simulate_command
from drivetrain.cli.parts_signal import signal_command
from drivetrain.errors import InputError
from drivetrain.parts.backtest import AUTO, backtest, choose_models, score
from drivetrain.parts.classify import classify
from drivetrain.parts.data import stocking_terms
from drivetrain.parts.demand import PreparedDemand
from drivetrain.parts.fleet_demand import FLEET_MENU, combine, informed_backtest, with_fleet
from drivetrain.parts.forecast import forecast_by_class
from drivetrain.parts.inventory import StockingTerms, Target, tradeoff_curve
from drivetrain.parts.plan import plan_stock
from drivetrain.parts.plots import forecast_fan, tradeoff_plot

app = typer.Typer(help=__doc__, no_args_is_help=True)
PURPOSE = "parts_planning"
BASELINES = "Zero,Naive,HistoricAverage,CrostonSBA,TSB,ADIDA,IMAPA,AutoETS,auto"

Horizon = Annotated[int, typer.Option("--horizon", min=1, help="Periods to forecast.")]
Returns = Annotated[
    bool,
    typer.Option("--returns-as-zero", help="Count negative quantities (returns) as no demand."),
]
Jobs = Annotated[
    int, typer.Option("--jobs", min=1, help="Processes for statsforecast (one per core).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Fleet = Annotated[
    bool,
    typer.Option("--fleet", help="Add the change the fleet foresees (the lake's fleet signal)."),
]

app.command("import")(handle_errors(import_command))
app.command("simulate")(handle_errors(simulate_command))
app.command("signal")(handle_errors(signal_command))


def _informed(source: DemandInput, forecast: pl.DataFrame, fleet: bool) -> pl.DataFrame:
    """The forecast, plus the fleet's foreseen change when ``fleet``."""
    if not fleet:
        return forecast
    ends = source.prepared.series.group_by("unique_id").agg(pl.col("ds").max().alias("cutoff"))
    return combine(forecast, source.latest_signal(), ends)


@app.command("backtest")
@handle_errors
def backtest_command(
    ctx: typer.Context,
    demand: Demand = None,
    as_: AsPrincipal = None,
    horizon: Horizon = 6,
    windows: Annotated[int, typer.Option(min=1, help="Forecast origins, `horizon` apart.")] = 3,
    models: Annotated[
        str, typer.Option(help="Comma-separated models; auto = by class.")
    ] = BASELINES,
    fleet: Fleet = False,
    fleet_model: Annotated[
        str,
        typer.Option(
            help="With --fleet: the model the signal adjusts (auto: by class, level models)."
        ),
    ] = AUTO,
    returns_as_zero: Returns = False,
    jobs: Jobs = 1,
    as_json: AsJson = False,
) -> None:
    """Rolling-origin backtest of each model: sMAE, RMSSE, bias, |sPIS|, RMSE; best per class.

    With --fleet, FLEET_MODEL+fleet is scored too: each origin sees only the fleet
    signal issued by then (its vintage), so the comparison with history is fair.
    Example: drivetrain parts backtest --as parts --fleet --horizon 6 --windows 4
    """
    source = read_demand(ctx, demand, as_, returns_as_zero)
    prepared, freq = source.prepared, source.freq
    names = [m.strip() for m in models.split(",") if m.strip()]
    if fleet and fleet_model not in names:
        raise InputError(f"--fleet-model {fleet_model} is not among --models", hint="add it")
    result = backtest(prepared.series, names, h=horizon, n_windows=windows, freq=freq, n_jobs=jobs)
    fitted = [n for n in names if n not in (AUTO, "Zero")]
    best = choose_models(result) if fitted else {}
    if fleet:
        result = (
            informed_backtest(result, prepared.series, source.signal(), freq=freq, n_jobs=jobs)
            if fleet_model == AUTO
            else with_fleet(result, source.signal(), model=fleet_model)
        )
    table = score(result).sort("rmse")
    params = {"horizon": horizon, "windows": windows, "models": names, "fleet": fleet}
    output_id = record(ctx, "parts_backtest", params, source)
    if as_json:
        print_json({"scores": table.to_dicts(), "best_by_class": best,
                    "skipped": list(result.skipped), "output_id": output_id})  # fmt: skip
        return
    report(source)
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
    demand: Demand = None,
    as_: AsPrincipal = None,
    horizon: Horizon = 12,
    out: Annotated[Path | None, typer.Option(help="Write the forecasts to this CSV.")] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write a forecast fan (.png) of --series.")
    ] = None,
    series: Annotated[str | None, typer.Option(help="The series to plot (unique_id).")] = None,
    fleet: Fleet = False,
    returns_as_zero: Returns = False,
    jobs: Jobs = 1,
    as_json: AsJson = False,
) -> None:
    """Forecast every series with its demand class's model (IMAPA, AutoETS, ...).

    With --fleet the newest fleet signal adds the change the fleet foresees.
    Example: drivetrain parts forecast --as parts --fleet --horizon 12 --out forecast.csv
    """
    source = read_demand(ctx, demand, as_, returns_as_zero)
    prepared, freq = source.prepared, source.freq
    classes = classify(prepared.series)
    menu = FLEET_MENU if fleet else None
    forecast = forecast_by_class(
        prepared.series, classes, h=horizon, freq=freq, menu=menu, n_jobs=jobs
    )
    forecast = _informed(source, forecast, fleet)
    params = {"horizon": horizon, "fleet": fleet}
    output_id = record(ctx, "parts_forecast", params, source)
    if out is not None:
        forecast.write_csv(out)
    if plot is not None:
        _fan(prepared, forecast, series, plot)
    mix = dict(classes["class"].value_counts().sort("class").iter_rows())
    if as_json:
        print_json({"classes": mix, "forecast": forecast.to_dicts() if out is None else str(out),
                    "output_id": output_id})  # fmt: skip
        return
    report(source)
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
    demand: Demand = None,
    as_: AsPrincipal = None,
    service_level: Annotated[
        float, typer.Option(min=0.5, max=0.999, help="Target: cycle service (or fill rate).")
    ] = 0.95,
    fill_rate: Annotated[bool, typer.Option("--fill-rate", help="Target the fill rate.")] = False,
    lead_time: Annotated[
        int | None,
        typer.Option(min=0, help="Lead time, periods (default: the parts master's, or 1)."),
    ] = None,
    review: Annotated[int, typer.Option(min=1, help="Review period, periods.")] = 1,
    unit_cost: Annotated[
        float | None,
        typer.Option(min=0.0, help="Unit cost (default: the parts master's, or 1)."),
    ] = None,
    holding_rate: Annotated[
        float, typer.Option(min=0.0, help="Holding cost, share per year.")
    ] = 0.25,
    out: Annotated[Path | None, typer.Option(help="Write the plan to this CSV.")] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write the stock-service trade-off (.png) of --series.")
    ] = None,
    series: Annotated[str | None, typer.Option(help="The series to plot (unique_id).")] = None,
    fleet: Fleet = False,
    returns_as_zero: Returns = False,
    jobs: Jobs = 1,
    as_json: AsJson = False,
) -> None:
    """Reorder point and order-up-to level per series for a service target.

    Forecasts each series by class, bootstraps its lead-time demand from its history
    (rescaled to the forecast) and sets the smallest level that reaches the target.
    From the lake, each part's lead time (supplier days, rounded up to months) and
    unit cost come from the parts master; --lead-time and --unit-cost override them.
    Example: drivetrain parts plan --as parts --fleet --service-level 0.95
    """
    source = read_demand(ctx, demand, as_, returns_as_zero)
    prepared, freq = source.prepared, source.freq
    ids = prepared.series["unique_id"].unique().sort().to_list()
    if source.data is not None:
        terms = stocking_terms(source.data, ids, review_period=review, holding_rate=holding_rate)
    else:
        terms = pl.DataFrame({"unique_id": ids}).with_columns(
            pl.lit(1).alias("lead_time"), pl.lit(review).alias("review_period"),
            pl.lit(1.0).alias("unit_cost"), pl.lit(holding_rate).alias("holding_rate"),
        )  # fmt: skip
    if lead_time is not None:
        terms = terms.with_columns(pl.lit(lead_time).alias("lead_time"))
    if unit_cost is not None:
        terms = terms.with_columns(pl.lit(unit_cost).alias("unit_cost"))
    classes = classify(prepared.series)
    ahead = int(terms.select((pl.col("lead_time") + pl.col("review_period")).max()).item() or 1)
    menu = FLEET_MENU if fleet else None
    forecast = forecast_by_class(
        prepared.series, classes, h=ahead, freq=freq, menu=menu, n_jobs=jobs
    )
    forecast = _informed(source, forecast, fleet)
    kind: Target = "fill_rate" if fill_rate else "cycle_service"
    plan = plan_stock(
        prepared.series,
        forecast.rename({"forecast": "mean"}),
        terms,
        target=service_level,
        kind=kind,
    ).join(forecast.select("unique_id", "model").unique(), on="unique_id", how="left")
    params = {"target": service_level, "kind": kind, "lead_time": lead_time, "review": review,
              "unit_cost": unit_cost, "holding_rate": holding_rate, "fleet": fleet}  # fmt: skip
    output_id = record(ctx, "parts_plan", params, source)
    if out is not None:
        plan.write_csv(out)
    if plot is not None:
        if series is None:
            raise InputError("--plot needs --series", hint="name the unique_id to draw")
        history = prepared.series.filter(pl.col("unique_id") == series)
        row = plan.filter(pl.col("unique_id") == series)
        if row.is_empty():
            raise InputError(f"no plan for series {series}", hint="check the unique_id")
        own = terms.filter(pl.col("unique_id") == series).row(0, named=True)
        curve = tradeoff_curve(
            history["y"].to_numpy(), float(row["mean_per_period"][0]),
            StockingTerms(own["lead_time"], review, max(own["unit_cost"], 1e-9), holding_rate),
            kind=kind,
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
    report(source)
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
