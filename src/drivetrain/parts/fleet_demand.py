"""Demand the fleet foresees, combined with the statistical forecast.

History only knows what was issued. The fleet knows more: how many vehicles a
dealer serves and how old they are, which of them vehicle health expects to
fail or to come in for due maintenance, and how many claims a warranty alert
projects for a defective lot. Converted to parts (see ``drivetrain.demo`` and
the CLI, which hold the conversions, since a capability does not import
another), that knowledge arrives here as a **fleet signal**: per series
(``part@location``) and month, the expected units and their variance.

The combination adds to the statistical forecast the *change* the fleet
foresees relative to the level history already reflects:

    combined(t) = statistical(t) + fleet(t) - mean(fleet over the last `window` periods of history)

(``window`` is 3 periods by default, see ``WINDOW``)

clipped at zero. A flat signal adds nothing, so where the fleet has nothing to
say the forecast is the statistical one (no harm); a foreseen wave (a defect, a
campaign, a cohort reaching a maintenance interval) raises the forecast before
history can show it. The statistical models are level models (IMAPA, Croston,
ETS), whose level tracks roughly the recent past, hence the recent mean of the
signal as the part already "in" the forecast. A short window suits a growing
installed base: a year's mean lags it, and the adjustment then counts the growth
the level already holds.

A signal has **vintages**: the signal the fleet issued at a date knows only what
was known then (a defect before its alert fired is unknown). When the frame has
an ``issued`` column, a backtest origin uses the newest vintage issued on or
before it; without one, the single vintage is used for every origin, which a
backtest report must then call look-ahead.
"""

from __future__ import annotations

import polars as pl

from drivetrain.errors import InputError
from drivetrain.parts.backtest import AUTO, Backtest, backtest
from drivetrain.parts.demand import Frequency

FLEET_SUFFIX = "+fleet"
# The periods of history whose mean signal is taken as already "in" the statistical
# forecast. Measured on the simulated network (docs/parts.md): with 12 the adjustment
# lags a growing fleet and over-forecasts maintenance items (RMSE +10 % over history
# alone); with 3 it beats history alone on 33 of 35 parts and is within 2.5 % on the rest.
WINDOW = 3
# The statistical models a fleet-informed forecast starts from: level models. A trend
# model (AutoETS picks one for a growing smooth series) already projects the growth the
# signal foresees, and the sum would count it twice (+8 % RMSE on the oil filters of the
# simulated network); with a level (ETS without trend) the informed forecast is within
# 0.3 % of history alone or better on every part (docs/parts.md).
FLEET_MENU: dict[str, str] = {"smooth": "LevelETS", "erratic": "LevelETS"}


def _check(signal: pl.DataFrame) -> pl.DataFrame:
    missing = {"unique_id", "ds", "expected"} - set(signal.columns)
    if missing:
        raise InputError(
            f"the fleet signal lacks the column(s) {', '.join(sorted(missing))}",
            hint="a fleet signal is unique_id, ds, expected[, variance][, issued]",
        )
    bad = signal.filter(pl.col("expected").is_null() | (pl.col("expected") < 0))
    if bad.height:
        row = bad.row(0, named=True)
        raise InputError(
            f"the fleet signal has {bad.height} negative or missing expectations, e.g. "
            f"{row['unique_id']} at {row['ds']}",
            hint="expected units are counts of parts: 0 or more",
        )
    out = signal
    if "variance" not in out.columns:
        out = out.with_columns(pl.lit(None, dtype=pl.Float64).alias("variance"))
    if "issued" not in out.columns:
        out = out.with_columns(pl.lit(None, dtype=out.schema["ds"]).alias("issued"))
    return out.select("unique_id", "ds", "expected", "variance", "issued")


def _vintage(signal: pl.DataFrame, origins: pl.DataFrame) -> pl.DataFrame:
    """Per (unique_id, cutoff): the newest signal issued on or before the cutoff."""
    if signal["issued"].null_count() == signal.height:
        return origins.join(signal.drop("issued"), on="unique_id", how="inner")
    issued = (
        origins.join(signal.select("unique_id", "issued").unique(), on="unique_id")
        .filter(pl.col("issued") <= pl.col("cutoff"))
        .group_by("unique_id", "cutoff")
        .agg(pl.col("issued").max())
    )
    return issued.join(signal, on=["unique_id", "issued"]).drop("issued")


def fleet_adjustment(
    signal: pl.DataFrame, origins: pl.DataFrame, *, window: int = WINDOW
) -> pl.DataFrame:
    """Per series, origin and later period: the fleet's foreseen change in units.

    ``origins`` holds ``unique_id, cutoff`` (the last period of history). Returns
    ``unique_id, cutoff, ds, adjustment, fleet_variance`` for the periods after
    each cutoff. Series without a signal get no rows (no adjustment).
    """
    if window < 1:
        raise InputError(f"window {window} is below 1 period")
    known = _vintage(_check(signal), origins.unique())
    before = known.filter(pl.col("ds") <= pl.col("cutoff"))
    recent = (
        before.sort("ds")
        .group_by("unique_id", "cutoff")
        .agg(pl.col("expected").tail(window).mean().alias("_level"))
    )
    after = known.filter(pl.col("ds") > pl.col("cutoff"))
    return after.join(recent, on=["unique_id", "cutoff"], how="left").select(
        "unique_id",
        "cutoff",
        "ds",
        (pl.col("expected") - pl.col("_level").fill_null(0.0)).alias("adjustment"),
        pl.col("variance").alias("fleet_variance"),
    )


def combine(
    forecast: pl.DataFrame, signal: pl.DataFrame, history_end: pl.DataFrame, *, window: int = WINDOW
) -> pl.DataFrame:
    """A forecast (``unique_id, ds, model, forecast``) made fleet-informed.

    ``history_end`` holds ``unique_id, cutoff``: each series' last period of
    history. The model name gains ``+fleet``; ``adjustment`` says by how much
    the fleet moved each period.
    """
    adj = fleet_adjustment(signal, history_end, window=window).drop("cutoff")
    return (
        forecast.join(adj, on=["unique_id", "ds"], how="left")
        .with_columns(pl.col("adjustment").fill_null(0.0))
        .with_columns(
            (pl.col("forecast") + pl.col("adjustment")).clip(lower_bound=0.0).alias("forecast"),
            (pl.col("model") + FLEET_SUFFIX).alias("model"),
        )
    )


def with_fleet(
    result: Backtest, signal: pl.DataFrame, *, model: str, window: int = WINDOW
) -> Backtest:
    """The backtest with one more model: ``model`` adjusted by the fleet signal.

    Each origin sees the signal vintage of its cutoff, so the comparison with
    history alone is fair when the signal has an ``issued`` column.
    """
    base = result.predictions.filter(pl.col("model") == model)
    if base.is_empty():
        raise InputError(
            f"the backtest has no model {model}",
            hint=f"it has {', '.join(result.predictions['model'].unique().sort())}",
        )
    adj = fleet_adjustment(
        signal, base.select("unique_id", "cutoff").unique(), window=window
    ).drop("fleet_variance")
    informed = (
        base.join(adj, on=["unique_id", "cutoff", "ds"], how="left")
        .with_columns(
            (pl.col("forecast") + pl.col("adjustment").fill_null(0.0)).clip(lower_bound=0.0),
            pl.lit(model + FLEET_SUFFIX).alias("model"),
        )
        .select(result.predictions.columns)
    )
    return Backtest(
        pl.concat([result.predictions, informed]),
        result.scales,
        result.skipped,
        result.h,
        result.n_windows,
        result.step_size,
    )


def informed_backtest(
    result: Backtest,
    series: pl.DataFrame,
    signal: pl.DataFrame,
    *,
    freq: Frequency = "MS",
    n_jobs: int = 1,
    window: int = WINDOW,
) -> Backtest:
    """``result`` with ``auto+fleet``: the class-based forecast with :data:`FLEET_MENU`'s
    level models, adjusted by the signal vintage of each origin. Same origins as ``result``."""
    level = backtest(
        series, [AUTO], h=result.h, n_windows=result.n_windows, step_size=result.step_size,
        freq=freq, menu=FLEET_MENU, n_jobs=n_jobs,
    )  # fmt: skip
    informed = with_fleet(level, signal, model=AUTO, window=window).predictions.filter(
        pl.col("model") == AUTO + FLEET_SUFFIX
    )
    return Backtest(
        pl.concat([result.predictions, informed.select(result.predictions.columns)]),
        result.scales,
        result.skipped,
        result.h,
        result.n_windows,
        result.step_size,
    )
