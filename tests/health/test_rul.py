"""Remaining useful life: metrics by hand, generic histories, bad input, and NASA C-MAPSS FD001.

The FD001 tests read the real benchmark in place from ../shared/data/cmapss
(NASA's train_FD001, test_FD001 and RUL_FD001 files). Without it they skip,
unless CI=true, where they fail: CI must not go green by skipping.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from threadpoolctl import threadpool_limits

from drivetrain.errors import InputError
from drivetrain.health.cmapss import read_cmapss, read_cmapss_rul
from drivetrain.health.rul import (
    STATUS_INSUFFICIENT,
    STATUS_MISSING,
    STATUS_OK,
    RulModel,
)
from drivetrain.health.rul_metrics import interval_coverage, phm08_score, rmse

CMAPSS_DIR = Path(__file__).parents[2].parent / "shared/data/cmapss"
IN_CI = os.environ.get("CI", "").strip().lower() == "true"


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    """Fit single-threaded: same numbers, and on a busy 2-core machine the
    gradient boosting's OpenMP threads slow down 4x (measured 3.2 s vs 13 s)."""
    with threadpool_limits(limits=1):
        yield


def _unavailable(reason: str) -> None:
    """Skip locally; in CI a missing prerequisite is a failure, not a silent skip."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true, so this does not skip)")
    pytest.skip(reason)


# --- metrics, computed by hand from the formulas ---------------------------------------


def test_phm08_score_matches_the_formula_by_hand() -> None:
    # d = predicted - true = -13, +10, 0, -26:
    # early by 13 -> e^(13/13) - 1; late by 10 -> e^(10/10) - 1; exact -> 0;
    # early by 26 -> e^(26/13) - 1.
    predicted = [87, 110, 50, 74]
    actual = [100, 100, 50, 100]
    expected = (math.e - 1) + (math.e - 1) + 0.0 + (math.e**2 - 1)  # 9.8257
    assert phm08_score(predicted, actual) == pytest.approx(expected, rel=1e-12)
    # Late costs more than early by the same amount: e^(10/10) - 1 > e^(10/13) - 1.
    assert phm08_score([110], [100]) == pytest.approx(math.e - 1)
    assert phm08_score([90], [100]) == pytest.approx(math.exp(10 / 13) - 1)
    assert phm08_score([90], [100]) < phm08_score([110], [100])


def test_rmse_and_coverage_by_hand() -> None:
    # squared errors 169, 100, 0, 676 -> sqrt(945 / 4)
    assert rmse([87, 110, 50, 74], [100, 100, 50, 100]) == pytest.approx(math.sqrt(236.25))
    low, high = [0.0, 10.0, 20.0, 30.0], [5.0, 20.0, math.inf, 40.0]
    assert interval_coverage(low, high, [5.0, 21.0, 500.0, 29.0]) == 0.5


@pytest.mark.parametrize(
    ("predicted", "actual", "message"),
    [
        ([1.0, math.nan], [1.0, 2.0], "1 of 2 estimates are missing"),
        ([1.0, None], [1.0, 2.0], "missing"),
        ([1.0], [1.0, 2.0], "1 predictions for 2 true values"),
        ([], [], "no estimates"),
    ],
)
def test_metrics_refuse_missing_or_mismatched_estimates(
    predicted: list[float | None], actual: list[float], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        rmse(predicted, actual)
    with pytest.raises(InputError, match=message):
        phm08_score(predicted, actual)


# --- generic histories: string unit ids, time in operating hours ------------------------


def _fleet(units: int = 40, seed: int = 7) -> pl.DataFrame:
    """Run-to-failure histories: a wear signal that accelerates before failure, plus noise."""
    rng = np.random.default_rng(seed)
    frames = []
    for u in range(units):
        life = int(rng.integers(120, 260))
        k = np.arange(life + 1)
        hours = 8.0 * k + 3.5
        wear = np.exp((k - life) / 40.0)
        frames.append(
            pl.DataFrame(
                {
                    "vehicle_id": f"veh_{u:03d}",
                    "hours": hours,
                    "oil_temp": 360.0 + rng.normal(0, 2) + 15 * wear + rng.normal(0, 0.8, k.size),
                    "vibration": 1.0 + 0.5 * wear + rng.normal(0, 0.05, k.size),
                    "ambient": rng.normal(290, 5, k.size),
                    "firmware": np.full(k.size, 3),  # constant: dropped
                }
            )
        )
    return pl.concat(frames)


@pytest.fixture(scope="module")
def fleet() -> pl.DataFrame:
    return _fleet()


@pytest.fixture(scope="module")
def fleet_model(fleet: pl.DataFrame) -> RulModel:
    return RulModel(cap=600.0).fit(fleet, unit="vehicle_id", time="hours")


def _cut(histories: pl.DataFrame, unit: str, keep: dict[str, int]) -> pl.DataFrame:
    """The first ``keep[u]`` rows of each unit ``u`` named in ``keep``."""
    kept = [histories.filter(pl.col(unit) == u).head(n) for u, n in keep.items()]
    return pl.concat(kept)


def test_generic_histories_in_hours(fleet: pl.DataFrame, fleet_model: RulModel) -> None:
    assert fleet_model.dropped_columns == ["firmware"]
    assert fleet_model.columns == ["oil_temp", "vibration", "ambient"]
    new = _fleet(units=20, seed=99)  # units the model has not seen
    lives = new.group_by("vehicle_id", maintain_order=True).agg(
        pl.col("hours").max().alias("failure"), pl.len().alias("rows")
    )
    # Cut each history somewhere between 30 % and 97 % of its life.
    keep = {
        u: round(rows * (0.3 + 0.67 * i / 19))
        for i, (u, rows) in enumerate(lives.select("vehicle_id", "rows").iter_rows())
    }
    cut = _cut(new, "vehicle_id", keep)
    result = pl.from_arrow(fleet_model.predict(cut))
    assert isinstance(result, pl.DataFrame)
    assert result.columns == ["vehicle_id", "hours", "observations", "rul", "low", "high", "status"]
    assert result["status"].to_list() == [STATUS_OK] * 20
    assert result["observations"].to_list() == list(keep.values())
    scored = result.join(lives, on="vehicle_id").with_columns(
        (pl.col("failure") - pl.col("hours")).clip(upper_bound=600.0).alias("true")
    )
    assert (scored["low"] <= scored["rul"]).all() and (scored["rul"] <= scored["high"]).all()
    assert ((scored["rul"] >= 0) & (scored["rul"] <= 600)).all()
    # Lives of 1,000-2,000 h; measured 15 h.
    assert rmse(scored["rul"], scored["true"]) < 30


def test_fitting_is_deterministic_with_a_seed(fleet: pl.DataFrame, fleet_model: RulModel) -> None:
    again = RulModel(cap=600.0).fit(fleet.to_arrow(), unit="vehicle_id", time="hours")
    assert again.predict(fleet).equals(fleet_model.predict(fleet))
    assert again.describe() == fleet_model.describe()


def test_short_or_gappy_histories_get_a_status_not_a_number(
    fleet: pl.DataFrame, fleet_model: RulModel
) -> None:
    assert fleet_model.min_cycles == 30
    cut = _cut(fleet, "vehicle_id", {"veh_000": 29, "veh_001": 30, "veh_002": 80, "veh_003": 80})
    rows = cut.with_columns(pl.int_range(pl.len()).over("vehicle_id").alias("k"))
    oil = pl.col("oil_temp")
    rows = rows.with_columns(
        # veh_002: a gap in its last window -> no estimate; veh_003: a gap in rows
        # no feature reads (between the baseline and the last window) -> estimate.
        pl.when((pl.col("vehicle_id") == "veh_002") & (pl.col("k") == 75))
        .then(None)
        .when((pl.col("vehicle_id") == "veh_003") & (pl.col("k") == 50))
        .then(float("nan"))
        .otherwise(oil)
        .alias("oil_temp")
    ).drop("k")
    result = fleet_model.predict(rows.to_arrow()).to_pylist()
    status = {r["vehicle_id"]: r["status"] for r in result}
    assert status == {
        "veh_000": STATUS_INSUFFICIENT,
        "veh_001": STATUS_OK,
        "veh_002": STATUS_MISSING,
        "veh_003": STATUS_OK,
    }
    for r in result:
        if r["status"] != STATUS_OK:
            assert (r["rul"], r["low"], r["high"]) == (None, None, None)
        else:
            assert r["low"] <= r["rul"] <= r["high"]


def test_bad_input_is_refused_with_a_reason(fleet: pl.DataFrame, fleet_model: RulModel) -> None:
    with pytest.raises(InputError, match="lacks column"):
        fleet_model.predict(fleet.drop("vibration"))
    with pytest.raises(InputError, match=r"share a \(vehicle_id, hours\) pair"):
        fleet_model.predict(pl.concat([fleet.head(40), fleet.head(1)]))
    with pytest.raises(InputError, match="not fitted"):
        RulModel().predict(fleet)
    gap = fleet.with_columns(
        pl.when(pl.int_range(pl.len()) == 500).then(None).otherwise("vibration").alias("vibration")
    )
    with pytest.raises(InputError, match=r"'vibration' has 1 missing.*vehicle_id='veh_00"):
        RulModel().fit(gap, unit="vehicle_id", time="hours")
    with pytest.raises(InputError, match="not numeric"):
        RulModel().fit(
            fleet.with_columns(pl.col("hours").cast(pl.String)), unit="vehicle_id", time="hours"
        )
    few = fleet.filter(pl.col("vehicle_id") < "veh_005")
    with pytest.raises(InputError, match=r"5 unit.*needs 10 run-to-failure histories"):
        RulModel().fit(few, unit="vehicle_id", time="hours")
    with pytest.raises(InputError, match="every feature column is constant"):
        RulModel().fit(fleet, unit="vehicle_id", time="hours", features=["firmware"])
    with pytest.raises(InputError, match="coverage"):
        RulModel(coverage=1.0)


# --- NASA C-MAPSS FD001 --------------------------------------------------------------


@pytest.fixture(scope="module")
def fd001() -> tuple[pa.Table, pa.Table, pa.Table]:
    files = ("train_FD001.txt", "test_FD001.txt", "RUL_FD001.txt")
    missing = [f for f in files if not (CMAPSS_DIR / f).is_file()]
    if missing:
        _unavailable(f"NASA C-MAPSS FD001 is not at {CMAPSS_DIR} (missing {', '.join(missing)})")
    return (
        read_cmapss(CMAPSS_DIR / files[0]),
        read_cmapss(CMAPSS_DIR / files[1]),
        read_cmapss_rul(CMAPSS_DIR / files[2]),
    )


@pytest.fixture(scope="module")
def fd001_scored(fd001: tuple[pa.Table, pa.Table, pa.Table]) -> tuple[RulModel, pl.DataFrame]:
    train, test, truth = fd001
    model = RulModel(seed=0).fit(train, unit="unit", time="cycle")
    predicted = pl.from_arrow(model.predict(test))
    assert isinstance(predicted, pl.DataFrame)
    actual = pl.from_arrow(truth)
    assert isinstance(actual, pl.DataFrame)
    return model, predicted.join(actual.rename({"rul": "true_rul"}), on="unit")


def test_fd001_reads_like_nasa_says(fd001: tuple[pa.Table, pa.Table, pa.Table]) -> None:
    train, test, truth = fd001
    assert (train.num_rows, test.num_rows, truth.num_rows) == (20_631, 13_096, 100)
    assert len(set(train.column("unit").to_pylist())) == 100


def test_fd001_rmse_and_phm08_score(fd001_scored: tuple[RulModel, pl.DataFrame]) -> None:
    model, scored = fd001_scored
    assert model.dropped_columns == [
        "setting_3", "sensor_1", "sensor_5", "sensor_10", "sensor_16", "sensor_18", "sensor_19"
    ]  # fmt: skip
    assert scored.height == 100 and (scored["status"] == STATUS_OK).all()
    # Measured 12.25 (PHM08 216) with seed 0; seeds 0-4 gave 11.5-12.5 (193-231).
    # Published on the same 100 engines: deep LSTM (Zheng et al. 2017) 16.14,
    # CNN (Babu et al. 2016) 18.45, untuned random forests about 18-19.
    error = rmse(scored["rul"], scored["true_rul"])
    assert error < 13.0, error
    score = phm08_score(scored["rul"], scored["true_rul"])
    assert score < 260, score


def test_fd001_interval_coverage(fd001_scored: tuple[RulModel, pl.DataFrame]) -> None:
    model, scored = fd001_scored
    # Nominal 80 %; with 100 engines one run's coverage has a binomial standard
    # deviation of 4 points, so accept 70-90 % (measured 78 % with seed 0,
    # 71-84 % over seeds 0-4).
    coverage = interval_coverage(scored["low"], scored["high"], scored["true_rul"])
    assert 0.70 <= coverage <= 0.90, coverage
    assert model.calibration_units == 20
    # Intervals reaching the cap are open-ended, and only those.
    open_ended = scored.filter(pl.col("high").is_infinite())
    assert 0 < open_ended.height < 50
    assert (scored.filter(pl.col("high").is_finite())["high"] < model.cap).all()
