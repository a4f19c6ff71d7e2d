"""Days left for wear items: extrapolated trends with intervals, and honest refusals."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from drivetrain.errors import InputError
from drivetrain.health.wear import remaining_life

DAY0 = date(2026, 5, 1)


def series(indicator: str, values: list[float], vehicle: str = "v") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "vehicle_id": [vehicle] * len(values),
            "day": [DAY0 + timedelta(days=d) for d in range(len(values))],
            "indicator": [indicator] * len(values),
            "value": values,
            "samples": [100] * len(values),
        },
        schema_overrides={"samples": pl.UInt32},
    )


def test_a_battery_losing_50_mv_a_day_has_the_days_the_arithmetic_says() -> None:
    rng = np.random.default_rng(0)
    volts = list(12.6 - 0.05 * np.arange(14) + rng.normal(0, 0.005, 14))
    (row,) = remaining_life(series("lv_min_v", volts)).iter_rows(named=True)
    level = 12.6 - 0.05 * 13
    assert row["item"] == "lv_battery" and row["status"] == "trend"
    assert row["days_left"] == pytest.approx((level - 11.9) / 0.05, abs=0.6)
    assert row["days_left_low"] <= row["days_left"] <= row["days_left_high"]
    assert row["slope_per_day"] == pytest.approx(-0.05, abs=0.003)


def test_a_flat_series_has_no_trend_and_no_number() -> None:
    rng = np.random.default_rng(1)
    (row,) = remaining_life(series("lv_min_v", list(12.55 + rng.normal(0, 0.02, 14)))).iter_rows(
        named=True
    )
    assert row["status"] == "no_trend" and row["days_left"] is None


def test_the_window_starts_at_a_known_onset() -> None:
    flat, falling = [12.6] * 12, list(12.6 - 0.06 * np.arange(1, 6))
    features = series("lv_min_v", flat + falling)
    without = remaining_life(features).row(0, named=True)
    onset = pl.DataFrame(
        {"vehicle_id": ["v"], "indicator": ["lv_min_v"], "onset_day": [DAY0 + timedelta(days=12)]}
    )
    with_onset = remaining_life(features, onset).row(0, named=True)
    assert with_onset["slope_per_day"] == pytest.approx(-0.06, abs=1e-6)
    assert with_onset["days_left"] == pytest.approx((12.6 - 0.3 - 11.9) / 0.06, abs=1e-6)
    # the flat days before the onset would have hidden most of the decline
    assert without["days_left"] is None or without["days_left"] > with_onset["days_left"]


def test_at_the_limit_and_too_short_are_said_as_such() -> None:
    worn = remaining_life(series("pad_wear_pct", [88.0, 89.0, 90.0, 91.0, 92.0])).row(0, named=True)
    assert worn["item"] == "brake_pads_front" and worn["status"] == "at_limit"
    assert worn["days_left"] == 0.0
    short = remaining_life(series("cell_spread_v", [0.02, 0.03, 0.04])).row(0, named=True)
    assert short["status"] == "insufficient_data" and short["days_left"] is None
    ignored = remaining_life(series("rpm_jitter", [8.0] * 10))
    assert ignored.is_empty()  # not a wear item


def test_bad_settings_are_refused() -> None:
    with pytest.raises(InputError, match="min_days"):
        remaining_life(series("lv_min_v", [12.0] * 5), min_days=2)


def test_the_vectorised_theil_sen_matches_scipy_group_by_group() -> None:
    from scipy.stats import theilslopes

    from drivetrain.health.wear import theil_sen

    rng = np.random.default_rng(11)
    rows = []
    for g in range(40):
        n = int(rng.integers(3, 15))
        xs = np.sort(rng.choice(30, n, replace=False)).astype(float)
        ys = rng.normal(0, 1, n) + rng.normal(0, 0.3) * xs
        rows += [(f"v{g}", "lv_min_v", float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
    points = pl.DataFrame(rows, schema=["vehicle_id", "indicator", "x", "y"], orient="row")
    fits = theil_sen(points, ["vehicle_id", "indicator"], 0.90)
    for g in range(40):
        mine = points.filter(pl.col("vehicle_id") == f"v{g}")
        ref = theilslopes(mine["y"].to_numpy(), mine["x"].to_numpy(), alpha=0.90)
        got = fits.filter(pl.col("vehicle_id") == f"v{g}").row(0, named=True)
        assert got["slope"] == pytest.approx(ref.slope)
        assert got["intercept"] == pytest.approx(ref.intercept)
        assert got["low_slope"] == pytest.approx(ref.low_slope)
        assert got["high_slope"] == pytest.approx(ref.high_slope)


def test_failure_probability_within_30_days_follows_the_arithmetic() -> None:
    rng = np.random.default_rng(2)
    soon = list(12.6 - 0.05 * np.arange(14) + rng.normal(0, 0.01, 14))  # ~8 days left
    late = list(12.6 - 0.005 * np.arange(14) + rng.normal(0, 0.001, 14))  # ~130 days left
    flat = list(12.55 + rng.normal(0, 0.02, 14))
    rows = pl.concat(
        [series("lv_min_v", soon, "soon"), series("lv_min_v", late, "late"),
         series("lv_min_v", flat, "flat"), series("pad_wear_pct", [95.0] * 6, "worn")]
    )  # fmt: skip
    p = dict(remaining_life(rows).select("vehicle_id", "p_fail_30d").iter_rows())
    assert p["soon"] > 0.95 and p["late"] < 0.05 and p["worn"] == 1.0
    assert 0.0 <= p["flat"] < 0.5
    short = remaining_life(series("lv_min_v", [12.5, 12.4, 12.3]))
    assert short["p_fail_30d"].to_list() == [None]
