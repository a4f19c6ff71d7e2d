"""Forecasts and stocking plans of the whole parts network, from the lake's parts tables.

The steps ``drivetrain parts forecast`` and ``drivetrain parts plan`` take, as
two functions of :class:`~drivetrain.parts.data.PartsData` (what a planner may
read), so that every face plans the same way:

* :func:`forecast_network`: the demand per ``part@location`` (superseded numbers
  merged), classified, forecast with each class's model; with ``fleet`` from the
  level models and with the change the newest fleet signal foresees added;
* :func:`plan_network`: that forecast over each series' lead time plus review
  period, and the reorder point and order-up-to level that reach the target.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from drivetrain.parts.classify import classify
from drivetrain.parts.data import (
    PartsData,
    demand_series,
    latest_vintage,
    signal_series,
    stocking_terms,
)
from drivetrain.parts.demand import NegativePolicy, PreparedDemand
from drivetrain.parts.fleet_demand import FLEET_MENU, combine
from drivetrain.parts.forecast import forecast_by_class
from drivetrain.parts.inventory import Target
from drivetrain.parts.plan import plan_stock


@dataclass(frozen=True, slots=True)
class NetworkForecast:
    """The forecast of every series, the demand it was made from, and the class mix."""

    prepared: PreparedDemand
    classes: dict[str, int]  # series per demand class
    forecast: pl.DataFrame  # unique_id, ds, model, forecast, class (+ adjustment with fleet)
    fleet: bool


@dataclass(frozen=True, slots=True)
class NetworkPlan:
    """The stocking plan of every series (one row each) and its totals."""

    forecast: NetworkForecast
    plan: pl.DataFrame  # the columns of drivetrain.parts.plan.PLAN_SCHEMA, and model
    target: float
    kind: Target

    def totals(self) -> dict[str, float | int]:
        """Series, units expected on hand, stock value, mean fill rate and cycle service."""
        row = self.plan.select(
            pl.len().alias("series"),
            pl.col("expected_on_hand").sum(),
            pl.col("stock_value").sum(),
            pl.col("fill_rate").mean(),
            pl.col("cycle_service").mean(),
        ).row(0, named=True)
        return {k: (0 if v is None else v) for k, v in row.items()}


def _with_fleet(data: PartsData, prepared: PreparedDemand, forecast: pl.DataFrame) -> pl.DataFrame:
    """``forecast`` plus the change the newest fleet signal (by the history's end) foresees."""
    series = prepared.series
    ends = series.group_by("unique_id").agg(pl.col("ds").max().alias("cutoff"))
    end = series.select(pl.col("ds").max()).item()
    return combine(forecast, latest_vintage(signal_series(data), end), ends)


def _forecast(
    data: PartsData, prepared: PreparedDemand, horizon: int, fleet: bool, n_jobs: int
) -> NetworkForecast:
    classes = classify(prepared.series)
    menu = FLEET_MENU if fleet else None
    forecast = forecast_by_class(prepared.series, classes, h=horizon, menu=menu, n_jobs=n_jobs)
    if fleet:
        forecast = _with_fleet(data, prepared, forecast)
    mix = dict(classes["class"].value_counts().sort("class").iter_rows())
    return NetworkForecast(prepared, mix, forecast, fleet)


def forecast_network(
    data: PartsData,
    *,
    horizon: int = 12,
    fleet: bool = False,
    negative: NegativePolicy = "error",
    n_jobs: int = 1,
) -> NetworkForecast:
    """Forecast ``horizon`` months of every series with its demand class's model.

    ``fleet`` adds the change the fleet foresees (NotFound without a fleet signal);
    ``negative="zero"`` counts returns as no demand.
    """
    prepared = demand_series(data, negative=negative)
    return _forecast(data, prepared, horizon, fleet, n_jobs)


def plan_network(
    data: PartsData,
    *,
    target: float = 0.95,
    kind: Target = "cycle_service",
    fleet: bool = False,
    review_period: int = 1,
    holding_rate: float = 0.25,
    negative: NegativePolicy = "error",
    n_jobs: int = 1,
) -> NetworkPlan:
    """Reorder point and order-up-to level of every series for a service ``target``.

    Lead times and unit costs come from the parts master (:func:`stocking_terms`);
    the forecast covers the longest lead time plus review period.
    """
    prepared = demand_series(data, negative=negative)
    ids = prepared.series["unique_id"].unique().sort().to_list()
    terms = stocking_terms(data, ids, review_period=review_period, holding_rate=holding_rate)
    ahead = int(terms.select((pl.col("lead_time") + pl.col("review_period")).max()).item() or 1)
    made = _forecast(data, prepared, ahead, fleet, n_jobs)
    forecast = made.forecast
    plan = plan_stock(
        prepared.series, forecast.rename({"forecast": "mean"}), terms, target=target, kind=kind
    ).join(forecast.select("unique_id", "model").unique(), on="unique_id", how="left")
    return NetworkPlan(made, plan, target, kind)
