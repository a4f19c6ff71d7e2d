"""Forecasts by class: the same numbers statsforecast gives, each row naming its model."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from statsforecast import StatsForecast
from statsforecast.models import IMAPA, AutoETS, CrostonSBA, HistoricAverage, Naive

from drivetrain.errors import InputError
from drivetrain.parts.classify import classify
from drivetrain.parts.forecast import DEFAULT_MENU, MODELS, ZERO, forecast_by_class, forecast_models


def _series(months: bool = False) -> pl.DataFrame:
    rng = np.random.default_rng(5)
    rows = []
    for i in range(12):
        p = 0.9 if i < 4 else 0.25
        y = np.where(rng.random(30) < p, rng.poisson(4, 30) + 1, 0).astype(float)
        if i == 11:
            y[:] = 0.0
        for t, v in enumerate(y):
            ds: object = date(2022 + (t // 12), t % 12 + 1, 1) if months else t
            rows.append((f"S{i:02d}", ds, v))
    return pl.DataFrame(rows, schema=["unique_id", "ds", "y"], orient="row")


def test_each_class_gets_its_model_and_statsforecasts_numbers() -> None:
    series = _series()
    classes = classify(series)
    out = forecast_by_class(series, classes, h=6, freq=1)
    per = out.join(classes.select("unique_id", pl.col("class").alias("c")), on="unique_id")
    assert (per["class"] == per["c"]).all()
    models = dict(per.select("class", "model").unique().iter_rows())
    assert models["no_demand"] == "Zero" and models["intermittent"] == "IMAPA"
    assert out.filter(pl.col("model") == "Zero")["forecast"].abs().max() == 0.0
    for model, reference in (("IMAPA", IMAPA()), ("AutoETS", AutoETS())):
        ids = per.filter(pl.col("model") == model)["unique_id"].unique()
        if ids.is_empty():
            continue
        subset = series.filter(pl.col("unique_id").is_in(ids.implode()))
        ref = StatsForecast(models=[reference], freq=1).forecast(df=subset, h=6)
        mine = out.filter(pl.col("model") == model).sort("unique_id", "ds")["forecast"]
        expected = ref.sort("unique_id", "ds")[model].clip(lower_bound=0.0)
        assert np.allclose(mine.to_numpy(), expected.to_numpy())
    assert out.group_by("unique_id").agg(pl.col("ds").min())["ds"].unique().to_list() == [30]
    assert out["forecast"].min() >= 0.0


def test_months_continue_and_bad_requests_are_refused() -> None:
    series = _series(months=True)
    out = forecast_models(series, ["Zero", "Naive"], h=3, freq="MS")
    assert sorted(out["ds"].unique()) == [date(2024, 7, 1), date(2024, 8, 1), date(2024, 9, 1)]
    assert out.filter(pl.col("model") == "Zero").height == 12 * 3
    with pytest.raises(InputError, match="choose from"):
        forecast_models(series, ["Prophet"], h=3, freq="MS")
    with pytest.raises(InputError, match="horizon"):
        forecast_by_class(series, classify(series), h=0)


def _frame(data: dict[str, list[float]]) -> pl.DataFrame:
    rows = [(k, t, v) for k, ys in data.items() for t, v in enumerate(ys)]
    return pl.DataFrame(rows, schema=["unique_id", "ds", "y"], orient="row")


def _reference(series: pl.DataFrame, model: object, h: int) -> dict[tuple[str, object], float]:
    wide = StatsForecast(models=[model], freq=1).forecast(df=series, h=h)
    name = wide.columns[-1]
    return {(u, d): max(v, 0.0) for u, d, v in wide.select("unique_id", "ds", name).iter_rows()}


def _mine(out: pl.DataFrame, model: str) -> dict[tuple[str, object], float]:
    rows = out.filter(pl.col("model") == model).select("unique_id", "ds", "forecast")
    return {(u, d): v for u, d, v in rows.iter_rows()}


def test_the_synthetic_fleet_has_every_class_the_menu_covers() -> None:
    # guards the comparison above: each model of the default menu is exercised
    classes = set(classify(_series())["class"])
    assert {"smooth", "intermittent", "no_demand"} <= classes
    assert {DEFAULT_MENU[c] for c in classes} >= {"AutoETS", "IMAPA", ZERO}


def test_every_series_gets_h_periods_right_after_its_own_last_one() -> None:
    ragged = _frame({"A": [3.0, 4.0, 5.0, 4.0] * 4, "B": [0.0, 2.0] * 9, "N": [0.0] * 13})
    out = forecast_by_class(ragged, classify(ragged), h=4, freq=1)
    steps = dict(out.group_by("unique_id").agg(pl.col("ds").sort()).iter_rows())
    assert steps == {"A": [16, 17, 18, 19], "B": [18, 19, 20, 21], "N": [13, 14, 15, 16]}
    assert dict(out.select("unique_id", "model").unique().iter_rows()) == {
        "A": "AutoETS",
        "B": "IMAPA",
        "N": "Zero",
    }
    assert out.filter(pl.col("unique_id") == "N")["forecast"].to_list() == [0.0] * 4


def test_monthly_forecasts_by_class_continue_the_months_with_statsforecasts_numbers() -> None:
    series = _series(months=True)  # Jan 2022 .. Jun 2024
    classes = classify(series)
    out = forecast_by_class(series, classes, h=4, freq="MS")
    months = [date(2024, 7, 1), date(2024, 8, 1), date(2024, 9, 1), date(2024, 10, 1)]
    per_series = out.group_by("unique_id").agg(pl.col("ds").sort())["ds"].to_list()
    assert per_series == [months] * 12
    # statsforecast's numbers do not depend on the calendar: the same series with integer periods
    ints = _series()
    ids = classes.filter(pl.col("class") == "intermittent")["unique_id"]
    ref = _reference(ints.filter(pl.col("unique_id").is_in(ids.implode())), IMAPA(), 4)
    mine = _mine(out, "IMAPA")
    assert len(mine) == len(ref) == ids.len() * 4
    for (uid, ds), value in mine.items():
        assert value == pytest.approx(ref[(uid, 30 + months.index(ds))], rel=1e-9, abs=1e-12)


def test_the_menu_can_replace_a_class_model() -> None:
    series = _series()
    classes = classify(series)
    out = forecast_by_class(series, classes, h=3, freq=1, menu={"intermittent": "CrostonSBA"})
    ids = classes.filter(pl.col("class") == "intermittent")["unique_id"]
    assert not ids.is_empty()
    assert set(out.filter(pl.col("class") == "intermittent")["model"]) == {"CrostonSBA"}
    ref = _reference(series.filter(pl.col("unique_id").is_in(ids.implode())), CrostonSBA(), 3)
    mine = _mine(out, "CrostonSBA")
    assert mine.keys() == ref.keys()
    assert all(mine[k] == pytest.approx(ref[k], rel=1e-9) for k in ref)
    assert set(out.filter(pl.col("class") == "smooth")["model"]) == {"AutoETS"}  # others kept


def test_negative_model_forecasts_are_clipped_at_zero() -> None:
    falling = _frame({"D": [30.0 - 1.5 * t for t in range(20)]})  # a trend through zero
    raw = StatsForecast(models=[AutoETS()], freq=1).forecast(df=falling, h=8)["AutoETS"]
    assert raw.min() < -1.0  # the model itself goes below zero
    out = forecast_by_class(falling, classify(falling), h=8, freq=1)
    assert out["model"].unique().to_list() == ["AutoETS"]
    assert out.sort("ds")["forecast"].to_list() == pytest.approx(
        raw.clip(lower_bound=0.0).to_list()
    )
    assert out["forecast"].min() == 0.0


def test_forecast_models_runs_every_model_on_every_series() -> None:
    series = _series()
    out = forecast_models(series, ["Naive", "HistoricAverage", "Zero"], h=2, freq=1)
    assert out.height == 12 * 2 * 3
    for name, model in (("Naive", Naive()), ("HistoricAverage", HistoricAverage())):
        ref = _reference(series, model, 2)
        mine = _mine(out, name)
        assert mine.keys() == ref.keys()
        assert all(mine[k] == pytest.approx(ref[k]) for k in ref)
    last = dict(series.filter(pl.col("ds") == 29).select("unique_id", "y").iter_rows())
    assert all(_mine(out, "Naive")[(u, 30)] == last[u] for u in last)  # by hand: the last value


def test_unknown_models_are_refused_with_the_choices() -> None:
    series = _series()
    with pytest.raises(InputError, match="unknown forecasting model") as caught:
        forecast_by_class(series, classify(series), h=2, freq=1, menu={"lumpy": "Prophet"})
    assert "Prophet" in str(caught.value)
    assert all(name in str(caught.value.hint) for name in [*MODELS, ZERO])
    with pytest.raises(InputError, match="Prophet, Magic"):
        forecast_models(series, ["Naive", "Prophet", "Magic"], h=2, freq=1)


def test_nothing_to_forecast_is_an_input_error() -> None:
    series = _series()
    with pytest.raises(InputError, match="no demand series"):
        forecast_by_class(series, classify(series).clear(), h=2, freq=1)


def test_forecast_models_refuses_a_horizon_below_one() -> None:
    with pytest.raises(InputError, match="horizon"):
        forecast_models(_series(), ["Naive"], h=0, freq=1)
