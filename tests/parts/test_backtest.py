"""Rolling-origin backtests: the origins, the measures by hand, and no look-ahead."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest
from statsforecast import StatsForecast
from statsforecast.models import Naive

from drivetrain.errors import InputError
from drivetrain.parts.backtest import (
    AUTO,
    MIN_TRAIN,
    backtest,
    choose_models,
    score,
    series_scores,
)
from drivetrain.parts.classify import classify
from drivetrain.parts.forecast import ZERO

# distinct, hand-computable models per class, so that "auto" shows which one it used
HAND_MENU = {
    "smooth": "Naive",
    "erratic": "Naive",
    "intermittent": "HistoricAverage",
    "lumpy": "HistoricAverage",
    "no_demand": ZERO,
}


def _frame(data: dict[str, list[float]]) -> pl.DataFrame:
    rows = [(k, t, v) for k, ys in data.items() for t, v in enumerate(ys)]
    return pl.DataFrame(rows, schema=["unique_id", "ds", "y"], orient="row")


def _forecasts(
    result_predictions: pl.DataFrame, model: str, uid: str, cutoff: object
) -> list[float]:
    rows = result_predictions.filter(
        (pl.col("model") == model) & (pl.col("unique_id") == uid) & (pl.col("cutoff") == cutoff)
    )
    return rows.sort("ds")["forecast"].to_list()


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


def test_the_windows_are_statsforecasts_own() -> None:
    rng = np.random.default_rng(6)
    frame = _frame(
        {
            "a": list(rng.poisson(2, 30).astype(float)),
            "b": list(rng.poisson(1, 22).astype(float)),  # ragged: origins from its own end
        }
    )
    result = backtest(frame, ["Naive"], h=4, n_windows=3, step_size=2, freq=1)
    ref = StatsForecast(models=[Naive()], freq=1).cross_validation(
        df=frame, h=4, n_windows=3, step_size=2
    )
    mine = result.predictions.select("unique_id", "ds", "cutoff", "y", "forecast")
    theirs = ref.select("unique_id", "ds", "cutoff", "y", pl.col("Naive").alias("forecast"))
    assert mine.sort("unique_id", "cutoff", "ds").equals(theirs.sort("unique_id", "cutoff", "ds"))
    # by hand: the last test period of the last window is the series' last period
    cut = dict(
        result.predictions.group_by("unique_id").agg(pl.col("cutoff").unique().sort()).iter_rows()
    )
    assert cut == {"a": [21, 23, 25], "b": [13, 15, 17]}


def test_the_zero_only_backtest_lays_out_the_same_origins() -> None:
    rng = np.random.default_rng(7)
    frame = _frame(
        {"a": list(rng.poisson(2, 30).astype(float)), "b": list(rng.poisson(1, 19).astype(float))}
    )
    zero = backtest(frame, [ZERO], h=3, n_windows=3, step_size=2, freq=1)
    both = backtest(frame, ["Naive", ZERO], h=3, n_windows=3, step_size=2, freq=1)
    keys = ["unique_id", "ds", "cutoff", "y"]
    assert set(zero.predictions["model"]) == {ZERO}
    assert zero.predictions["forecast"].to_list() == [0.0] * zero.predictions.height
    laid = zero.predictions.select(keys).sort(keys)
    assert laid.equals(both.predictions.filter(pl.col("model") == "Naive").select(keys).sort(keys))
    assert laid.height == 2 * 3 * 3
    assert sorted(zero.predictions.filter(pl.col("unique_id") == "b")["cutoff"].unique()) == [
        11,
        13,
        15,
    ]


def test_only_series_too_short_for_the_origins_are_skipped() -> None:
    need = 3 + 3 * (2 - 1) + MIN_TRAIN  # h + step * (windows - 1) + the least history
    frame = _frame(
        {"enough": [1.0, 2.0] * 10, "just": [1.0] * need, "one_less": [1.0] * (need - 1)}
    )
    result = backtest(frame, ["Naive"], h=3, n_windows=2, step_size=3, freq=1)
    assert result.skipped == ("one_less",)
    assert set(result.predictions["unique_id"]) == {"enough", "just"}
    assert set(result.scales["unique_id"]) == {"enough", "just"}
    with pytest.raises(InputError, match=f"{need} periods needed"):
        backtest(frame.filter(pl.col("unique_id") == "one_less"), ["Naive"], h=3, n_windows=2,
                 step_size=3, freq=1)  # fmt: skip


def test_bad_origins_are_refused() -> None:
    frame = _frame({"a": [1.0] * 24})
    with pytest.raises(InputError):
        backtest(frame, ["Naive"], h=0, freq=1)
    with pytest.raises(InputError):
        backtest(frame, ["Naive"], h=3, n_windows=0, freq=1)
    with pytest.raises(InputError, match="step size"):
        backtest(frame, ["Naive"], h=3, step_size=0, freq=1)
    with pytest.raises(InputError, match="unknown forecasting model"):
        backtest(frame, ["Oracle"], h=3, freq=1)


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


def test_the_measures_by_hand_at_each_origin() -> None:
    y = np.array([0.0, 2.0, 0.0, 1.0, 3.0, 0.0, 0.0, 4.0, 1.0, 0.0, 2.0, 5.0, 0.0, 3.0])
    result = backtest(_frame({"A": list(y)}), ["Zero"], h=4, n_windows=2, step_size=2, freq=1)
    rows = {r["cutoff"]: r for r in series_scores(result).iter_rows(named=True)}
    assert sorted(rows) == [7, 9]  # tests 8..11 and 10..13
    for cutoff, row in rows.items():
        history, actual = y[: cutoff + 1], y[cutoff + 1 : cutoff + 5]
        e = np.zeros(4) - actual
        mean = history.mean()
        msd = np.mean(np.diff(history) ** 2)
        assert row["mae"] == pytest.approx(np.abs(e).mean())
        assert row["mse"] == pytest.approx(np.mean(e**2))
        assert row["smae"] == pytest.approx(np.abs(e).mean() / mean)
        assert row["rmsse"] == pytest.approx(np.sqrt(np.mean(e**2) / msd))
        assert row["sbias"] == pytest.approx(e.mean() / mean)
        assert row["spis"] == pytest.approx(np.cumsum(e).sum() / mean)
        assert (row["actual"], row["forecast"]) == (actual.sum(), 0.0)
    table = score(result).row(0, named=True)
    assert table["model"] == ZERO and table["series_origins"] == 2
    assert table["mae"] == pytest.approx(np.mean([rows[7]["mae"], rows[9]["mae"]]))
    assert table["rmse"] == pytest.approx(np.sqrt(np.mean([rows[7]["mse"], rows[9]["mse"]])))
    assert table["total_bias"] == pytest.approx(-1.0)  # nothing forecast: all of it missed


def test_a_history_without_demand_is_left_out_of_the_scaled_means() -> None:
    y = [0.0] * 10 + [1.0, 2.0]
    result = backtest(_frame({"new": y}), ["Zero"], h=2, n_windows=1, freq=1)
    row = series_scores(result).row(0, named=True)
    assert row["mae"] == pytest.approx(1.5)
    assert row["smae"] is None and row["rmsse"] is None and row["spis"] is None
    assert score(result)["unscaled"].to_list() == [1]


def test_auto_uses_the_class_known_at_the_origin() -> None:
    # smooth for 12 periods, then one large order at the end of the test period: with the
    # test period the series is lumpy, with the history up to the origin it is smooth
    rng = np.random.default_rng(8)
    y = [*list(rng.poisson(6, 12).astype(float) + 1), 0.0, 0.0, 0.0, 0.0, 0.0, 40.0]
    sparse = list(np.where(rng.random(18) < 0.3, 3.0, 0.0))
    frame = _frame({"turns": y, "sparse": sparse})
    assert dict(classify(frame).select("unique_id", "class").iter_rows()) == {
        "turns": "lumpy",  # what look-ahead would see
        "sparse": "intermittent",
    }
    result = backtest(frame, ["auto", "AutoETS", "IMAPA"], h=6, n_windows=1, freq=1)
    scales = dict(result.scales.select("unique_id", "class").iter_rows())
    assert scales == {"turns": "smooth", "sparse": "intermittent"}
    p = result.predictions
    ets, imapa = (_forecasts(p, m, "turns", 11) for m in ("AutoETS", "IMAPA"))
    assert ets != pytest.approx(imapa)  # the two candidates tell apart
    for uid, model in (("turns", "AutoETS"), ("sparse", "IMAPA")):
        assert _forecasts(p, "auto", uid, 11) == _forecasts(p, model, uid, 11)


def test_auto_changes_model_when_the_class_changes_between_origins() -> None:
    rng = np.random.default_rng(12)
    turns = list(rng.poisson(6, 12).astype(float) + 1)
    y = np.array([*turns, 0, 0, 0, 0, 0, 2, 0, 0, 3, 0, 0, 0], dtype=float)
    new = np.array([0.0] * 12 + [4, 0, 4, 0, 4, 0] + [4.0] * 6)
    frame = _frame({"y": list(y), "new": list(new)})
    result = backtest(frame, [AUTO], h=6, n_windows=2, step_size=6, freq=1, menu=HAND_MENU)
    classes = {
        (u, c): k for u, c, k in result.scales.select("unique_id", "cutoff", "class").iter_rows()
    }
    # by hand: up to 11 every period has demand (ADI 1, CV2 small); up to 17 there are
    # 13 demands by period 18, ADI 18 / 13 = 1.38
    assert classes == {
        ("y", 11): "smooth",
        ("y", 17): "intermittent",
        ("new", 11): "no_demand",
        ("new", 17): "intermittent",  # 3 demands by period 17: ADI 5.7
    }
    p = result.predictions
    assert set(p["model"]) == {AUTO}
    assert _forecasts(p, AUTO, "y", 11) == [y[11]] * 6  # Naive: the last value
    assert _forecasts(p, AUTO, "y", 17) == pytest.approx([y[:18].mean()] * 6)  # the mean
    assert _forecasts(p, AUTO, "new", 11) == [0.0] * 6  # Zero
    assert _forecasts(p, AUTO, "new", 17) == pytest.approx([12.0 / 18] * 6)


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


def test_choose_models_never_picks_auto_or_zero_and_honours_the_metric() -> None:
    rng = np.random.default_rng(5)
    data = {f"S{i}": list(np.where(rng.random(30) < 0.15, 1.0, 0.0)) for i in range(12)}
    data.update({f"T{i}": list(rng.poisson(4, 30).astype(float) + 1) for i in range(4)})
    models = ["Naive", "HistoricAverage", "CrostonSBA", ZERO, AUTO]
    result = backtest(_frame(data), models, h=4, n_windows=2, freq=1)
    s = series_scores(result).filter(pl.col("smae").is_not_null())
    assert set(s["model"]) == set(models)
    for metric in ("rmsse", "smae"):
        means: dict[str, dict[str, float]] = {}
        for cls, model, value in (
            s.group_by("class", "model").agg(pl.col(metric).mean()).iter_rows()
        ):
            means.setdefault(cls, {})[model] = value
        expected = {
            cls: min((m for m in v if m not in (ZERO, AUTO)), key=v.__getitem__)
            for cls, v in means.items()
        }
        assert choose_models(result, metric=metric) == expected
    # on this sparse demand the zero forecast has the lowest error, and is still not chosen
    sparse_cls = "intermittent"
    assert min(means[sparse_cls], key=means[sparse_cls].__getitem__) == ZERO


def test_an_unknown_metric_is_an_input_error() -> None:
    result = backtest(_frame({"a": [1.0, 2.0, 0.0] * 6}), ["Naive"], h=3, n_windows=1, freq=1)
    with pytest.raises(InputError, match="unknown measure"):
        choose_models(result, metric="accuracy")


def test_monthly_backtests_cut_at_month_starts() -> None:
    months = [date(2022 + m // 12, m % 12 + 1, 1) for m in range(24)]
    rng = np.random.default_rng(9)
    frame = pl.DataFrame(
        {"unique_id": ["m"] * 24, "ds": months, "y": rng.poisson(3, 24).astype(float)}
    )
    result = backtest(frame, ["Naive", ZERO], h=3, n_windows=2, freq="MS")
    assert sorted(result.predictions["cutoff"].unique()) == [date(2023, 6, 1), date(2023, 9, 1)]
    naive = result.predictions.filter(
        (pl.col("model") == "Naive") & (pl.col("cutoff") == date(2023, 9, 1))
    )
    assert naive["ds"].to_list() == months[21:]
    assert naive["forecast"].to_list() == [frame["y"][20]] * 3


def test_the_scores_do_not_depend_on_row_order() -> None:
    rng = np.random.default_rng(1)
    frame = _frame(
        {"A": list(rng.poisson(3, 24).astype(float)), "B": list(rng.poisson(1, 24).astype(float))}
    )
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=3)
    keys = ["model", "unique_id", "cutoff"]
    cols = [*keys, "smae", "rmsse", "sbias", "spis"]
    ordered = series_scores(backtest(frame, ["Naive", ZERO], h=3, n_windows=2, freq=1))
    mixed = series_scores(backtest(shuffled, ["Naive", ZERO], h=3, n_windows=2, freq=1))
    a, b = ordered.select(cols).sort(keys), mixed.select(cols).sort(keys)
    assert np.allclose(a["rmsse"].to_numpy(), b["rmsse"].to_numpy())
    assert np.allclose(a["smae"].to_numpy(), b["smae"].to_numpy())
