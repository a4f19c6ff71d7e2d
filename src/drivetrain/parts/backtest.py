"""Rolling-origin backtests of demand forecasts, scored with intermittent-demand measures.

A backtest makes forecasts from several origins (cut-offs) in the past and
compares each with what was then issued. ``statsforecast``'s
``cross_validation`` does the refitting; drivetrain adds what a parts planner
needs around it:

* series too short for the chosen origins are listed, not dropped unseen;
* the *class-based choice* (``model="auto"``) is scored like any other model,
  each series classified on what was known at its origin (no look-ahead);
* the error measures suit intermittent demand. Per series and origin, with
  ``e = forecast - actual`` over the horizon and the scales taken from the
  history before the origin:

  - ``smae``: mean |e| / mean demand (Hyndman 2006's MAE/mean, scale-free);
  - ``rmsse``: sqrt(mean e^2 / mean squared one-step change) (the M5 measure);
  - ``sbias``: mean e / mean demand; positive means over-forecasting (stock builds up);
  - ``spis``: the scaled periods-in-stock (Wallstrom & Segerstedt 2010): the sum
    over the horizon of the cumulative forecast error / mean demand; the stock a
    forecast would leave on the shelf (positive) or owe (negative), in periods of
    demand.

  MASE-type means alone mislead here (an all-zero forecast scores well on
  intermittent demand), which is why bias and the inventory outcome of
  ``drivetrain.parts.inventory`` are reported beside them.

Series-origins whose history has no demand (a zero scale) are counted and left
out of the scaled means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from drivetrain.errors import InputError
from drivetrain.parts.classify import classify
from drivetrain.parts.demand import Frequency
from drivetrain.parts.forecast import DEFAULT_MENU, ZERO, check_models, statsforecast_for

AUTO = "auto"
MIN_TRAIN = 6  # periods of history before the first origin


@dataclass(frozen=True, slots=True)
class Backtest:
    """The forecasts made at each origin, and the series that could not be tested."""

    predictions: pl.DataFrame  # unique_id, ds, cutoff, y, model, forecast
    scales: pl.DataFrame  # unique_id, cutoff, mean_demand, msd, class
    skipped: tuple[str, ...]  # series too short for the origins
    h: int
    n_windows: int
    step_size: int


def _scales(series: pl.DataFrame, cutoffs: pl.DataFrame) -> pl.DataFrame:
    """Per series and origin: mean demand, mean squared change, class, from history only."""
    rows = []
    for cutoff in cutoffs["cutoff"].unique().sort():
        known = series.join(
            cutoffs.filter(pl.col("cutoff") == cutoff), on="unique_id", how="inner"
        ).filter(pl.col("ds") <= pl.col("cutoff")).sort("unique_id", "ds")  # diff() needs order
        stats = known.group_by("unique_id").agg(
            pl.col("y").mean().alias("mean_demand"),
            (pl.col("y").diff() ** 2).mean().alias("msd"),
        )
        classes = classify(known.select("unique_id", "ds", "y")).select("unique_id", "class")
        rows.append(stats.join(classes, on="unique_id").with_columns(pl.lit(cutoff).alias("cutoff")))
    return pl.concat(rows).select("unique_id", "cutoff", "mean_demand", "msd", "class")


def backtest(
    series: pl.DataFrame,
    models: Sequence[str],
    *,
    h: int,
    n_windows: int = 3,
    step_size: int | None = None,
    freq: Frequency = "MS",
    menu: Mapping[str, str] | None = None,
    n_jobs: int = 1,
) -> Backtest:
    """Forecast ``h`` periods from ``n_windows`` origins ``step_size`` apart (default ``h``).

    ``models`` are names from ``drivetrain.parts.forecast.MODELS``, ``Zero``,
    and ``auto`` (each series with its class's model from ``menu``).
    """
    if h < 1 or n_windows < 1:
        raise InputError("a backtest needs a horizon and a number of origins of 1 or more")
    step = h if step_size is None else step_size
    if step < 1:
        raise InputError(f"step size {step} is below 1 period")
    chosen: dict[str, str] = {**DEFAULT_MENU, **(menu or {})}
    fitted = sorted(
        {m for m in models if m not in (AUTO, ZERO)}
        | ({v for v in chosen.values() if v != ZERO} if AUTO in models else set())
    )
    check_models(fitted)
    test_size = h + step * (n_windows - 1)
    lengths = series.group_by("unique_id").len()
    short = lengths.filter(pl.col("len") < test_size + MIN_TRAIN)["unique_id"].sort()
    usable = series.filter(~pl.col("unique_id").is_in(short.implode()))
    if usable.is_empty():
        raise InputError(
            f"no series is long enough to backtest {n_windows} origins of {h} periods "
            f"({test_size + MIN_TRAIN} periods needed)",
            hint="use fewer origins (--windows), a shorter horizon, or more history",
        )
    if fitted:
        cv = statsforecast_for(fitted, freq, n_jobs).cross_validation(
            df=usable, h=h, n_windows=n_windows, step_size=step
        )
        long = cv.unpivot(
            index=["unique_id", "ds", "cutoff", "y"],
            on=fitted,
            variable_name="model",
            value_name="forecast",
        )
    else:  # only the zero forecast: the origins from the series' ends
        long = _origins(usable, h, n_windows, step).with_columns(
            pl.lit("_").alias("model"), pl.lit(0.0).alias("forecast")
        )
    long = long.with_columns(pl.col("forecast").clip(lower_bound=0.0))
    base = long.select("unique_id", "ds", "cutoff", "y").unique()
    scales = _scales(usable, base.select("unique_id", "cutoff").unique())
    frames = [long.filter(pl.col("model").is_in([m for m in models if m not in (AUTO, ZERO)]))]
    if ZERO in models:
        frames.append(base.with_columns(pl.lit(ZERO).alias("model"), pl.lit(0.0).alias("forecast")))
    if AUTO in models:
        menu_frame = pl.DataFrame(
            {"class": list(chosen), "model": list(chosen.values())},
            schema={"class": pl.String, "model": pl.String},
        )
        picks = scales.select("unique_id", "cutoff", "class").join(menu_frame, on="class")
        auto = base.join(picks, on=["unique_id", "cutoff"]).join(
            long.select("unique_id", "ds", "cutoff", "model", "forecast"),
            on=["unique_id", "ds", "cutoff", "model"],
            how="left",
        )
        frames.append(
            auto.with_columns(
                pl.col("forecast").fill_null(0.0),  # the Zero model of the no-demand class
                pl.lit(AUTO).alias("model"),
            ).select("unique_id", "ds", "cutoff", "y", "model", "forecast")
        )
    predictions = pl.concat(
        [f.select("unique_id", "ds", "cutoff", "y", "model", "forecast") for f in frames]
    ).sort("model", "unique_id", "cutoff", "ds")
    return Backtest(predictions, scales, tuple(short.to_list()), h, n_windows, step)


def _origins(series: pl.DataFrame, h: int, n_windows: int, step: int) -> pl.DataFrame:
    """The test periods of each origin, as statsforecast lays them out (for Zero alone)."""
    ranked = series.with_columns(
        (pl.len().over("unique_id") - pl.int_range(pl.len()).over("unique_id")).alias("_back")
    )
    frames = []
    for w in range(n_windows):
        end = (n_windows - 1 - w) * step  # periods after this window's last test period
        window = ranked.filter(pl.col("_back").is_between(end + 1, end + h))
        cut = ranked.filter(pl.col("_back") == end + h + 1).select(
            "unique_id", pl.col("ds").alias("cutoff")
        )
        frames.append(window.join(cut, on="unique_id").select("unique_id", "ds", "cutoff", "y"))
    return pl.concat(frames)


def series_scores(result: Backtest) -> pl.DataFrame:
    """Per model, series and origin: the error measures of the module docstring."""
    p = result.predictions.sort("model", "unique_id", "cutoff", "ds").with_columns(
        (pl.col("forecast") - pl.col("y")).alias("e")
    )
    per = p.group_by("model", "unique_id", "cutoff").agg(
        pl.col("e").abs().mean().alias("mae"),
        (pl.col("e") ** 2).mean().alias("mse"),
        pl.col("e").mean().alias("me"),
        pl.col("e").cum_sum().sum().alias("pis"),
        pl.col("y").sum().alias("actual"),
        pl.col("forecast").sum().alias("forecast"),
    )
    scaled = per.join(result.scales, on=["unique_id", "cutoff"], how="left")
    ok = pl.col("mean_demand") > 0
    return scaled.with_columns(
        pl.when(ok).then(pl.col("mae") / pl.col("mean_demand")).alias("smae"),
        pl.when(pl.col("msd") > 0).then((pl.col("mse") / pl.col("msd")).sqrt()).alias("rmsse"),
        pl.when(ok).then(pl.col("me") / pl.col("mean_demand")).alias("sbias"),
        pl.when(ok).then(pl.col("pis") / pl.col("mean_demand")).alias("spis"),
    )


def score(result: Backtest, by: Sequence[str] = ("model",)) -> pl.DataFrame:
    """Mean measures per model (and e.g. per ``class``), with RMSE and total bias in units."""
    s = series_scores(result)
    return (
        s.group_by(*by)
        .agg(
            pl.len().alias("series_origins"),
            pl.col("smae").mean(),
            pl.col("rmsse").mean(),
            pl.col("sbias").mean(),
            pl.col("spis").abs().mean().alias("abs_spis"),
            pl.col("mse").mean().sqrt().alias("rmse"),
            pl.col("mae").mean(),
            ((pl.col("forecast").sum() - pl.col("actual").sum()) / pl.col("actual").sum())
            .alias("total_bias"),
            pl.col("smae").is_null().sum().alias("unscaled"),
        )
        .sort(*by)
    )


def choose_models(result: Backtest, *, metric: str = "rmsse") -> dict[str, str]:
    """Per demand class, the model with the lowest mean ``metric`` (auto and Zero excluded)."""
    table = score(result, by=("class", "model"))
    if metric not in table.columns:
        raise InputError(f"unknown measure {metric}", hint="use smae, rmsse, abs_spis or rmse")
    table = table.filter(~pl.col("model").is_in([AUTO, ZERO]) & pl.col(metric).is_not_null())
    best = table.sort(metric).group_by("class", maintain_order=True).first()
    return dict(best.select("class", "model").iter_rows())
