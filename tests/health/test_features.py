"""Daily condition indicators from constructed telemetry, checked against hand computation."""

from __future__ import annotations

import itertools
import statistics
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from drivetrain.errors import SchemaMismatch
from drivetrain.health.features import (
    COOLANT,
    ENGINE_SPEED,
    LV_VOLTAGE,
    SPEED,
    TYRES,
    daily_indicators,
    stuck_signals,
)

T0 = datetime(2026, 5, 4, 7, 0, tzinfo=UTC)


def samples(signal: str, values: list[float], vehicle: str = "v", step_s: int = 10,
            start: datetime = T0) -> list[tuple[str, datetime, str, float]]:  # fmt: skip
    return [
        (vehicle, start + timedelta(seconds=i * step_s), signal, v) for i, v in enumerate(values)
    ]


def frame(rows: list[tuple[str, datetime, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "vehicle_id": pl.String,
            "ts": pl.Datetime("us", "UTC"),
            "signal": pl.String,
            "value": pl.Float64,
        },
        orient="row",
    )


def indicator(features: pl.DataFrame, name: str) -> float:
    (value,) = features.filter(pl.col("indicator") == name)["value"].to_list()
    return float(value)


def test_coolant_counts_only_after_fifteen_minutes_of_a_trip() -> None:
    n = 180  # 30 minutes at 10 s
    coolant = [20 + min(i, 90) * (70 / 90) for i in range(n)]  # warms to 90 °C in 15 min
    rows = samples(COOLANT, coolant) + samples(SPEED, [50.0] * n)
    warm = indicator(daily_indicators(frame(rows)), "coolant_warm_c")
    assert warm == pytest.approx(90.0)  # the warm-up ramp is not in the statistic


def test_rpm_jitter_is_the_median_step_between_steady_samples() -> None:
    rpm = [2000.0, 2010.0, 1990.0, 2020.0] * 10  # steps of 10, 20, 30, 20 …
    speed = [80.0] * 40
    rows = samples(ENGINE_SPEED, rpm) + samples(SPEED, speed)
    steps = [abs(b - a) for a, b in itertools.pairwise(rpm)]
    assert indicator(daily_indicators(frame(rows)), "rpm_jitter") == pytest.approx(
        statistics.median(steps)
    )


def test_tyre_delta_is_one_tyre_against_the_median_of_the_others() -> None:
    pressures = {"Row1.Wheel.Left": 230.0, "Row1.Wheel.Right": 250.0,
                 "Row2.Wheel.Left": 248.0, "Row2.Wheel.Right": 252.0}  # fmt: skip
    rows = [r for w, p in pressures.items() for r in samples(TYRES[w], [p] * 30)]
    features = daily_indicators(frame(rows))
    assert indicator(features, "tyre_fl_delta_kpa") == pytest.approx(230.0 - 250.0)
    assert indicator(features, "tyre_rr_delta_kpa") == pytest.approx(252.0 - 248.0)


def test_a_stuck_sensor_gives_no_indicator_and_is_reported() -> None:
    rows = samples(LV_VOLTAGE, [12.61] * 40) + samples(LV_VOLTAGE, [12.6, 12.4] * 20, vehicle="w")
    df = frame(rows)
    assert set(daily_indicators(df)["vehicle_id"].to_list()) == {"w"}
    stuck = stuck_signals(df)
    assert stuck.select("vehicle_id", "signal", "value").rows() == [("v", LV_VOLTAGE, 12.61)]


def test_too_few_samples_give_no_indicator() -> None:
    rows = samples(LV_VOLTAGE, [12.6, 12.5] * 5)  # 10 samples < MIN_SAMPLES
    assert daily_indicators(frame(rows)).is_empty()


def test_missing_columns_are_named() -> None:
    with pytest.raises(SchemaMismatch, match="signal"):
        daily_indicators(pl.DataFrame({"vehicle_id": ["v"], "ts": [T0], "value": [1.0]}))
