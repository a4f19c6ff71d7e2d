"""Forecasts by class: the same numbers statsforecast gives, each row naming its model."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from statsforecast import StatsForecast
from statsforecast.models import IMAPA, AutoETS

from drivetrain.errors import InputError
from drivetrain.parts.classify import classify
from drivetrain.parts.forecast import forecast_by_class, forecast_models


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
