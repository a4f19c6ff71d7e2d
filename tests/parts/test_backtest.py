"""Rolling-origin backtests: the origins, the measures by hand, and no look-ahead."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from drivetrain.errors import InputError
from drivetrain.parts.backtest import backtest, choose_models, score, series_scores


def _frame(data: dict[str, list[float]]) -> pl.DataFrame:
    rows = [(k, t, v) for k, ys in data.items() for t, v in enumerate(ys)]
    return pl.DataFrame(rows, schema=["unique_id", "ds", "y"], orient="row")


def test_origins_are_laid_out_and_short_series_listed() -> None:
    rng = np.random.default_rng(3)
    frame = _frame({"long": list(rng.poisson(2, 30).astype(float)), "short": [1.0] * 10})
    result = backtest(frame, ["Naive", "Zero"], h=3, n_windows=2, step_size=3, freq=1)
    assert result.skipped == ("short",)
    cutoffs = sorted(result.predictions["cutoff"].unique())
    assert cutoffs == [23, 26]  # the last window ends with the series
    naive = result.predictions.filter((pl.col("model") == "Naive") & (pl.col("cutoff") == 23))
    assert naive["ds"].to_list() == [24, 25, 26]
    assert naive["forecast"].to_list() == [frame["y"][23]] * 3  # the last value known
    with pytest.raises(InputError, match="long enough"):
        backtest(frame.filter(pl.col("unique_id") == "short"), ["Naive"], h=3, freq=1)


def test_the_zero_forecasts_measures_by_hand() -> None:
    y = [0.0, 2.0, 0.0, 1.0, 3.0, 0.0, 0.0, 4.0, 1.0, 0.0, 2.0, 5.0]
    result = backtest(_frame({"A": y}), ["Zero"], h=4, n_windows=1, freq=1)
    row = series_scores(result).row(0, named=True)
    history, test = np.array(y[:8]), np.array(y[8:])
    e = 0.0 - test
    mean, msd = history.mean(), np.mean(np.diff(history) ** 2)
    assert row["smae"] == pytest.approx(np.abs(e).mean() / mean)
    assert row["rmsse"] == pytest.approx(np.sqrt(np.mean(e**2) / msd))
    assert row["sbias"] == pytest.approx(e.mean() / mean)
    assert row["spis"] == pytest.approx(np.cumsum(e).sum() / mean)


def test_auto_uses_the_class_known_at_the_origin() -> None:
    # smooth for 24 months, then sparse: with the test period the series is
    # intermittent, before the origin it is smooth, so auto must use AutoETS
    rng = np.random.default_rng(8)
    y = list(rng.poisson(6, 24).astype(float) + 1) + [0.0, 0.0, 0.0, 9.0, 0.0, 0.0] * 4
    sparse = list(np.where(rng.random(48) < 0.2, 3.0, 0.0))
    frame = _frame({"turns": y[:30], "sparse": sparse[:30]})
    result = backtest(frame, ["auto", "AutoETS", "IMAPA"], h=6, n_windows=1, freq=1)
    scales = dict(result.scales.select("unique_id", "class").iter_rows())
    assert scales == {"turns": "smooth", "sparse": "intermittent"}
    p = result.predictions
    for uid, model in (("turns", "AutoETS"), ("sparse", "IMAPA")):
        auto = p.filter((pl.col("model") == "auto") & (pl.col("unique_id") == uid))["forecast"]
        own = p.filter((pl.col("model") == model) & (pl.col("unique_id") == uid))["forecast"]
        assert auto.to_list() == own.to_list()


def test_choose_models_takes_the_lowest_mean_rmsse_per_class() -> None:
    rng = np.random.default_rng(4)
    data = {f"S{i}": list(np.where(rng.random(36) < (0.9 if i < 5 else 0.3),
                                   rng.poisson(3, 36) + 1, 0).astype(float)) for i in range(20)}  # fmt: skip
    result = backtest(_frame(data), ["Naive", "HistoricAverage", "IMAPA"], h=6, n_windows=2, freq=1)
    mine = (
        series_scores(result)
        .group_by("class", "model")
        .agg(pl.col("rmsse").mean())
        .sort("rmsse")
        .group_by("class", maintain_order=True)
        .first()
    )
    assert choose_models(result) == dict(mine.select("class", "model").iter_rows())
    table = score(result)
    assert table["series_origins"].to_list() == [40, 40, 40]
