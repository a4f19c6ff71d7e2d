"""Statistical forecasts of many demand series at once, the model chosen by demand class.

The models are ``statsforecast``'s (Nixtla), fitted across all series of a
class in one call; nothing here re-implements them. The menu follows the
intermittent-demand literature:

* smooth and erratic demand: ``AutoETS`` (exponential smoothing, the state-space
  form of Hyndman et al. 2008, chosen by AICc);
* intermittent and lumpy demand: ``IMAPA`` (Petropoulos & Kourentzes 2015: the
  mean of forecasts made at several temporal aggregation levels). The textbook
  choice for intermittent demand is Croston with the Syntetos-Boylan correction
  (``CrostonSBA``); on the 2,509 complete real series of the carparts benchmark
  IMAPA beats it in every intermittent class on RMSSE, RMSE and sMAE (see
  docs/parts.md), so it is the default and SBA is one call away;
* no demand so far: zero.

``DEFAULT_MENU`` can be replaced per class, e.g. by the winners of a backtest
(``drivetrain.parts.backtest.choose_models``). Every forecast row says which
model made it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl
from statsforecast import StatsForecast
from statsforecast.models import (
    ADIDA,
    IMAPA,
    TSB,
    AutoARIMA,
    AutoETS,
    AutoTheta,
    CrostonClassic,
    CrostonOptimized,
    CrostonSBA,
    HistoricAverage,
    Naive,
    SeasonalNaive,
)

from drivetrain.errors import InputError
from drivetrain.parts.classify import CLASSES
from drivetrain.parts.demand import Frequency

ZERO = "Zero"
MODELS: dict[str, Callable[[], Any]] = {
    "Naive": Naive,
    "HistoricAverage": HistoricAverage,
    "SeasonalNaive": lambda: SeasonalNaive(season_length=12),
    "CrostonClassic": CrostonClassic,
    "CrostonOptimized": CrostonOptimized,
    "CrostonSBA": CrostonSBA,
    "TSB": lambda: TSB(alpha_d=0.1, alpha_p=0.1),
    "ADIDA": ADIDA,
    "IMAPA": IMAPA,
    "AutoETS": AutoETS,
    # exponential smoothing without trend or season: a level, which the fleet signal's
    # foreseen change is added to without counting the growth twice (docs/parts.md)
    "LevelETS": lambda: AutoETS(model="ZNN", alias="LevelETS"),
    "AutoARIMA": AutoARIMA,
    "AutoTheta": AutoTheta,
}
DEFAULT_MENU: dict[str, str] = {  # demand class -> model
    "smooth": "AutoETS",
    "erratic": "AutoETS",
    "intermittent": "IMAPA",
    "lumpy": "IMAPA",
    "no_demand": ZERO,
}


def check_models(names: Sequence[str]) -> None:
    """Raise InputError naming any model drivetrain does not know."""
    unknown = [n for n in names if n not in MODELS and n != ZERO]
    if unknown:
        raise InputError(
            f"unknown forecasting model(s): {', '.join(unknown)}",
            hint=f"choose from {', '.join([*MODELS, ZERO])}",
        )


def statsforecast_for(names: Sequence[str], freq: Frequency, n_jobs: int = 1) -> StatsForecast:
    """A StatsForecast running the named models (``Zero`` is not one of them)."""
    check_models(names)
    return StatsForecast(
        models=[MODELS[n]() for n in names if n != ZERO],
        freq=1 if freq == 1 else "1mo",  # statsforecast takes polars offsets for polars frames
        n_jobs=n_jobs,
    )


def _long(wide: pl.DataFrame, names: Sequence[str]) -> pl.DataFrame:
    """statsforecast's wide output (a column per model) as rows of one model each."""
    return wide.unpivot(
        index=["unique_id", "ds"], on=list(names), variable_name="model", value_name="forecast"
    )


def _zeros(series: pl.DataFrame, h: int, freq: Frequency) -> pl.DataFrame:
    last = series.group_by("unique_id").agg(pl.col("ds").max())
    step = (
        pl.int_ranges(pl.col("ds") + 1, pl.col("ds") + h + 1)
        if freq == 1
        else pl.date_ranges(
            pl.col("ds").dt.offset_by("1mo"), pl.col("ds").dt.offset_by(f"{h}mo"), "1mo"
        )
    )
    return (
        last.select("unique_id", step.alias("ds"))
        .explode("ds")
        .with_columns(pl.lit(ZERO).alias("model"), pl.lit(0.0).alias("forecast"))
    )


def forecast_by_class(
    series: pl.DataFrame,
    classes: pl.DataFrame,
    *,
    h: int,
    freq: Frequency = "MS",
    menu: Mapping[str, str] | None = None,
    n_jobs: int = 1,
) -> pl.DataFrame:
    """Forecast ``h`` periods of every series with its class's model.

    ``series`` is long format (``unique_id, ds, y``), ``classes`` the output of
    ``drivetrain.parts.classify.classify``. Returns ``unique_id, ds, model,
    forecast, class``, forecasts clipped at zero (demand is never negative).
    """
    if h < 1:
        raise InputError(f"horizon {h} is below 1 period", hint="forecast 1 or more periods")
    chosen: dict[str, str] = {**DEFAULT_MENU, **(menu or {})}
    check_models(list(chosen.values()))
    parts: list[pl.DataFrame] = []
    for cls in CLASSES:
        ids = classes.filter(pl.col("class") == cls)["unique_id"]
        if ids.is_empty():
            continue
        subset = series.filter(pl.col("unique_id").is_in(ids.implode()))
        name = chosen[cls]
        if name == ZERO:
            out = _zeros(subset, h, freq)
        else:
            wide = statsforecast_for([name], freq, n_jobs).forecast(df=subset, h=h)
            out = _long(wide, [name])
        parts.append(out.with_columns(pl.lit(cls).alias("class")))
    if not parts:
        raise InputError("there is no demand series to forecast", hint="import demand history first")
    return (
        pl.concat([p.select("unique_id", "ds", "model", "forecast", "class") for p in parts])
        .with_columns(pl.col("forecast").clip(lower_bound=0.0))
        .sort("unique_id", "ds")
    )


def forecast_models(
    series: pl.DataFrame,
    names: Sequence[str],
    *,
    h: int,
    freq: Frequency = "MS",
    n_jobs: int = 1,
) -> pl.DataFrame:
    """Forecast every series with every named model: ``unique_id, ds, model, forecast``."""
    if h < 1:
        raise InputError(f"horizon {h} is below 1 period", hint="forecast 1 or more periods")
    if not names:
        raise InputError("no forecasting model named", hint=f"choose from {', '.join(MODELS)}")
    check_models(names)
    fitted = [n for n in names if n != ZERO]
    frames = []
    if fitted:
        wide = statsforecast_for(fitted, freq, n_jobs).forecast(df=series, h=h)
        frames.append(_long(wide, fitted))
    if ZERO in names:
        frames.append(_zeros(series, h, freq))
    return pl.concat(frames).with_columns(pl.col("forecast").clip(lower_bound=0.0))
