"""Fleet-wide anomaly detection on constructed indicator series, and CUSUM against a loop."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from drivetrain.errors import InputError
from drivetrain.health.anomaly import DetectorConfig, score_indicators

DAY0 = date(2026, 3, 1)


def fleet(
    indicator: str,
    values: dict[str, list[float]],
    model: str = "m",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = [
        (v, DAY0 + timedelta(days=d), indicator, x, 100)
        for v, series in values.items()
        for d, x in enumerate(series)
        if not np.isnan(x)
    ]
    features = pl.DataFrame(
        rows,
        schema={
            "vehicle_id": pl.String,
            "day": pl.Date,
            "indicator": pl.String,
            "value": pl.Float64,
            "samples": pl.UInt32,
        },
        orient="row",
    )
    models = pl.DataFrame({"vehicle_id": list(values), "model_id": [model] * len(values)})
    return features, models


def healthy(rng: np.random.Generator, n: int, level: float, noise: float) -> list[float]:
    return list(level + rng.normal(0, noise, n))


def test_a_drifting_battery_is_found_with_its_onset_and_nobody_else() -> None:
    rng = np.random.default_rng(1)
    series = {f"v{i}": healthy(rng, 24, 12.5, 0.02) for i in range(12)}
    drift = np.maximum(0, np.arange(24) - 12) * 0.04  # falls 40 mV a day from day 12
    series["v0"] = list(np.array(series["v0"]) - drift)
    features, models = fleet("lv_min_v", series)
    found = score_indicators(features, models).anomalies
    assert found["vehicle_id"].to_list() == ["v0"]
    row = found.row(0, named=True)
    assert row["indicator"] == "lv_min_v" and row["signals"] == [
        "Vehicle.LowVoltageBattery.CurrentVoltage"
    ]
    assert DAY0 + timedelta(days=11) <= row["onset_day"] <= DAY0 + timedelta(days=14)
    assert row["onset_day"] <= row["alarm_day"] <= DAY0 + timedelta(days=18)
    assert "own" in row["basis"]


def test_what_the_whole_fleet_shares_is_not_an_anomaly() -> None:
    rng = np.random.default_rng(2)
    cold_snap = np.where(np.arange(20) >= 10, -0.3, 0.0)  # every battery sags in the cold
    series = {f"v{i}": list(np.array(healthy(rng, 20, 12.5, 0.02)) + cold_snap) for i in range(10)}
    features, models = fleet("lv_min_v", series)
    assert score_indicators(features, models).anomalies.is_empty()


def test_a_vehicle_that_always_differs_a_little_is_normal_for_itself() -> None:
    rng = np.random.default_rng(3)
    # tyres differ by a few kPa from car to car (valve, gauge, fitting): that is normal
    series = {f"v{i}": healthy(rng, 20, rng.normal(0, 4.0), 1.0) for i in range(10)}
    series["v0"] = [x - 8.0 for x in series["v0"]]  # one that always runs 8 kPa soft
    features, models = fleet("tyre_fl_delta_kpa", series)
    assert score_indicators(features, models).anomalies.is_empty()


def test_a_leak_on_a_vehicle_that_always_differed_is_still_found() -> None:
    rng = np.random.default_rng(4)
    series = {f"v{i}": healthy(rng, 20, rng.normal(0, 4.0), 1.0) for i in range(10)}
    leak = np.maximum(0, np.arange(20) - 8) * 3.0
    series["v0"] = list(np.array(series["v0"]) - 6.0 - leak)
    features, models = fleet("tyre_fl_delta_kpa", series)
    found = score_indicators(features, models).anomalies
    assert found["vehicle_id"].to_list() == ["v0"]


def test_a_fault_present_from_the_first_day_is_found_against_the_peers() -> None:
    rng = np.random.default_rng(7)
    series = {f"v{i}": healthy(rng, 15, 88.0, 1.5) for i in range(10)}
    series["v0"] = healthy(rng, 15, 58.0, 1.5)  # thermostat stuck open since delivery
    features, models = fleet("coolant_warm_c", series)
    found = score_indicators(features, models).anomalies
    assert found["vehicle_id"].to_list() == ["v0"] and found["basis"].to_list() == ["fleet"]


def test_too_little_history_has_no_baseline_but_is_still_compared_to_peers() -> None:
    rng = np.random.default_rng(5)
    series = {f"v{i}": healthy(rng, 20, 90.0, 1.0) for i in range(8)}
    series["new"] = [float("nan")] * 17 + [89.0, 91.0, 90.0]  # three ordinary days
    series["cold"] = [float("nan")] * 18 + [60.0, 58.0]  # two days, far off every peer
    features, models = fleet("coolant_warm_c", series)
    result = score_indicators(features, models)
    assert result.anomalies["vehicle_id"].to_list() == ["cold"]
    assert "fleet" in result.anomalies["basis"][0]  # no baseline: the peers decide
    short = result.insufficient.sort("vehicle_id")
    assert short["vehicle_id"].to_list() == ["cold", "new"] and short["days"].to_list() == [2, 3]
    new = result.scored.filter(pl.col("vehicle_id") == "new")
    assert (new["cusum_own"] == 0).all()  # no baseline: no drift evidence at all


def test_cusum_matches_the_textbook_recursion() -> None:
    rng = np.random.default_rng(6)
    series = {f"v{i}": healthy(rng, 30, 0.01, 0.003) for i in range(6)}
    features, models = fleet("cell_spread_v", series)
    config = DetectorConfig(k=0.5, h=4.0)
    scored = score_indicators(features, models, config).scored.sort("vehicle_id", "day")
    for vehicle in series:
        mine = scored.filter(pl.col("vehicle_id") == vehicle)
        s, expected = 0.0, []
        for z in mine["z_own"].to_list():  # Page's recursion, one step at a time
            s = max(0.0, s + z - config.k)
            expected.append(s)
        assert mine["cusum_own"].to_list() == pytest.approx(expected)


def test_one_wild_day_is_not_a_drift() -> None:
    rng = np.random.default_rng(8)
    series = {f"v{i}": healthy(rng, 20, 8.0, 1.0) for i in range(10)}
    series["v0"][14] = 33.0  # a day of stop-and-go with too few steady samples
    features, models = fleet("rpm_jitter", series)
    assert score_indicators(features, models).anomalies.is_empty()
    series["v0"][15] = 35.0  # two days running is evidence
    features, models = fleet("rpm_jitter", series)
    assert score_indicators(features, models).anomalies["vehicle_id"].to_list() == ["v0"]


def test_bad_input_is_named() -> None:
    features, models = fleet("not_an_indicator", {"v": [1.0, 2.0]})
    with pytest.raises(InputError, match="not_an_indicator"):
        score_indicators(features, models)
    features, _ = fleet("lv_min_v", {"v": [1.0, 2.0]})
    with pytest.raises(InputError, match="no model"):
        score_indicators(features, pl.DataFrame({"vehicle_id": ["x"], "model_id": ["m"]}))
    with pytest.raises(InputError, match="invalid detector"):
        DetectorConfig(h=0).validate()
