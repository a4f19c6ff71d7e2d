"""Stocking levels for a table of series: shape, determinism, fallbacks and errors."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from scipy import stats

from drivetrain.errors import InputError
from drivetrain.parts.plan import PLAN_SCHEMA, plan_stock


def _months(n: int, start: int = 2020) -> list[date]:
    return [date(start + i // 12, i % 12 + 1, 1) for i in range(n)]


def _network() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(5)
    n = 48
    series = {
        "brake-pad@dealer-1": np.where(rng.random(n) < 0.4, 1 + rng.poisson(1.5, n), 0),
        "pump@dealer-1": np.where(rng.random(n) < 0.1, 1, 0),
        "thermostat@dealer-2": np.zeros(n, dtype=int),  # never sold: the fleet foresees a wave
    }
    history = pl.DataFrame(
        {
            "unique_id": [uid for uid in series for _ in range(n)],
            "ds": _months(n) * len(series),
            "y": np.concatenate(list(series.values())).astype(float),
        }
    )
    rates = {"brake-pad@dealer-1": 1.0, "pump@dealer-1": 0.1, "thermostat@dealer-2": 2.0}
    forecast = pl.DataFrame(
        {
            "unique_id": [uid for uid in rates for _ in range(6)],
            "ds": _months(6, 2024) * len(rates),
            "mean": [r for r in rates.values() for _ in range(6)],
        }
    )
    terms = pl.DataFrame(
        {
            "unique_id": list(rates),
            "lead_time": [2, 1, 2],
            "review_period": [1, 1, 1],
            "unit_cost": [40.0, 300.0, 25.0],
            "holding_rate": [0.25, 0.25, 0.2],
        }
    )
    return history, forecast, terms


def test_one_row_of_levels_per_series() -> None:
    history, forecast, terms = _network()
    plan = plan_stock(history, forecast, terms, target=0.95)
    assert plan.schema == pl.Schema(PLAN_SCHEMA)
    assert plan["unique_id"].to_list() == sorted(terms["unique_id"].to_list())
    assert (plan["reorder_point"] <= plan["order_up_to"]).all()
    assert (plan["cycle_service"] >= 0.95).all()
    costs = plan.join(terms, on="unique_id")
    assert costs["stock_value"].to_list() == pytest.approx(
        (costs["order_up_to"] * costs["unit_cost"]).to_list()
    )
    # the never-sold thermostat falls back to Poisson(2 x 3) over L + R = 3 months:
    # its S is the Poisson quantile (scipy), give or take one unit of sampling noise
    thermostat = plan.row(by_predicate=pl.col("unique_id") == "thermostat@dealer-2", named=True)
    assert thermostat["order_up_to"] == pytest.approx(stats.poisson.ppf(0.95, 6.0), abs=1)
    assert thermostat["mean_per_period"] == 2.0 and thermostat["reorder_point"] > 0


def test_a_forecast_of_more_demand_raises_the_levels() -> None:
    history, forecast, terms = _network()
    base = plan_stock(history, forecast, terms, target=0.9)
    wave = plan_stock(history, forecast.with_columns(pl.col("mean") * 3), terms, target=0.9)
    assert (wave["order_up_to"] > base["order_up_to"]).all()


def test_the_plan_is_reproducible_and_a_row_does_not_depend_on_the_others() -> None:
    history, forecast, terms = _network()
    plan = plan_stock(history, forecast, terms, target=0.95, kind="fill_rate", draws=500)
    again = plan_stock(
        history.sample(fraction=1.0, shuffle=True, seed=3),
        forecast.reverse(),
        terms.reverse(),
        target=0.95,
        kind="fill_rate",
        draws=500,
    )
    assert again.equals(plan)
    alone = plan_stock(
        history,
        forecast.filter(pl.col("unique_id") == "pump@dealer-1"),
        terms,
        target=0.95,
        kind="fill_rate",
        draws=500,
    )
    assert alone.equals(plan.filter(pl.col("unique_id") == "pump@dealer-1"))
    normal = plan_stock(history, forecast, terms, target=0.95, method="normal")
    assert normal["method"].unique().to_list() == ["normal"]


def test_series_without_terms_or_history_are_named() -> None:
    history, forecast, terms = _network()
    with pytest.raises(InputError, match="no terms: 'pump@dealer-1'") as caught:
        plan_stock(history, forecast, terms.filter(pl.col("unique_id") != "pump@dealer-1"),
                   target=0.95)  # fmt: skip
    assert caught.value.hint is not None and "terms row" in caught.value.hint
    with pytest.raises(InputError, match="no demand history: 'thermostat@dealer-2'"):
        plan_stock(history.filter(pl.col("unique_id") != "thermostat@dealer-2"), forecast, terms,
                   target=0.95)  # fmt: skip
    with pytest.raises(InputError, match="more than one row for 'pump@dealer-1'"):
        plan_stock(history, forecast, pl.concat([terms, terms[1]]), target=0.95)
    with pytest.raises(InputError, match="terms of 'pump@dealer-1': lead time"):
        plan_stock(history, forecast, terms.with_columns(lead_time=pl.Series([2, -1, 2])),
                   target=0.95)  # fmt: skip
    with pytest.raises(InputError, match=r"'brake-pad@dealer-1'.*negative"):
        plan_stock(history.with_columns(y=-pl.col("y")), forecast, terms, target=0.95)
    with pytest.raises(InputError, match="no column holding_rate"):
        plan_stock(history, forecast, terms.drop("holding_rate"), target=0.95)
    with pytest.raises(InputError, match="unknown method"):
        plan_stock(history, forecast, terms, target=0.95, method="poisson")  # type: ignore[arg-type]
