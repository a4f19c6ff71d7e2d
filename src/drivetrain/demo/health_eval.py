"""``drivetrain health evaluate``: the detectors against a held-out simulated fleet.

The simulator's injected faults are the labels. The fleet is generated with a
seed the detector was never tuned on, written to a scratch lake (no
governance: it is synthetic data that belongs to nobody), reduced to daily
condition indicators and judged by both methods on the same indicators.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from drivetrain.demo.battery_eval import evaluate_battery
from drivetrain.demo.simulator import Progress, SimulationConfig, simulate_fleet
from drivetrain.health.anomaly import DetectorConfig, score_indicators
from drivetrain.health.battery import capacity_sums
from drivetrain.health.evaluate import evaluate_alarms, threshold_alarms
from drivetrain.health.features import FEATURE_SCHEMA, daily_indicators
from drivetrain.health.multivariate import ecod_alarms
from drivetrain.health.wear import remaining_life
from drivetrain.lake import Lake

# The methods compared: the fixed domain limits alone (the baseline); each comparison
# of the full method alone (ablation); and the full method, any of the three.
FULL_METHOD = "full"
HELD_OUT = SimulationConfig(vehicles=400, days=30, seed=2026, fault_rate=0.4)


@dataclass(frozen=True, slots=True)
class HealthEvaluation:
    """The metric table and what it was computed on."""

    metrics: pl.DataFrame
    config: SimulationConfig
    detector: DetectorConfig
    battery_life: pl.DataFrame  # days-left predictions of the 12 V battery against P0562
    traction_battery: pl.DataFrame  # state of health and years to 70 % against the truth
    vehicle_days: int
    signal_rows: int
    elapsed_s: float


def _frame(lake: Lake, table: str) -> pl.DataFrame:
    frame = pl.from_arrow(lake.read(table))
    assert isinstance(frame, pl.DataFrame)
    return frame


def evaluate_health(
    config: SimulationConfig = HELD_OUT,
    detector: DetectorConfig | None = None,
    *,
    on_progress: Progress | None = None,
) -> HealthEvaluation:
    """Simulate ``config``, detect, and score both methods per fault type."""
    detector = (detector or DetectorConfig()).validate()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="drivetrain-health-") as scratch:
        lake = Lake(Path(scratch) / "lake")
        report = simulate_fleet(config, lake, on_progress=on_progress)
        parts, sums = [], []
        for day in lake.partitions("telemetry"):
            table = lake.read("telemetry", filter=_day(day))
            parts.append(daily_indicators(table))
            sums.append(capacity_sums(table))
        features = pl.concat(parts) if parts else pl.DataFrame(schema=FEATURE_SCHEMA)
        faults, dtcs = _frame(lake, "sim_faults"), _frame(lake, "dtc_events")
        traction = evaluate_battery(pl.concat(sums), _frame(lake, "sim_battery"))
    models = pl.DataFrame(
        {
            "vehicle_id": [v.vehicle_id for v in report.vehicles],
            "model_id": [v.model_id for v in report.vehicles],
        }
    )
    detection = score_indicators(features, models, detector)
    basis = detection.by_basis
    methods = {
        "thresholds": threshold_alarms(features),
        "own CUSUM": basis.filter(pl.col("basis") == "own"),
        "peers": basis.filter(pl.col("basis") == "fleet"),
        "limit+check": basis.filter(pl.col("basis") == "limit"),
        "pyod ECOD": ecod_alarms(detection),
        FULL_METHOD: detection.anomalies,
    }
    metrics = evaluate_alarms(
        methods,
        features,
        faults,
        dtcs,
    )
    return HealthEvaluation(
        metrics=metrics,
        config=config,
        detector=detector,
        battery_life=battery_life(features, models, faults, dtcs, detector),
        traction_battery=traction,
        vehicle_days=features.select("vehicle_id", "day").unique().height,
        signal_rows=report.rows["telemetry"],
        elapsed_s=time.perf_counter() - began,
    )


def battery_life(
    features: pl.DataFrame,
    models: pl.DataFrame,
    faults: pl.DataFrame,
    dtcs: pl.DataFrame,
    detector: DetectorConfig,
    after_days: tuple[int, ...] = (4, 6, 9),
) -> pl.DataFrame:
    """How well the 12 V battery's days left predict its first P0562.

    For each degrading battery and each cut ``onset + n`` days, only the data up
    to the cut is used (detection and remaining life), and the prediction is
    compared with the day P0562 was actually first set.
    """
    first = (
        dtcs.filter(pl.col("dtc") == "P0562")
        .group_by("vehicle_id")
        .agg(pl.col("ts").min().dt.date().alias("dtc_day"))
    )
    degrading = faults.filter(pl.col("fault") == "lv_battery_degradation").join(
        first, on="vehicle_id"
    )
    rows: list[dict[str, float | None]] = []
    for n in after_days:
        for vehicle, onset, dtc_day in degrading.select(
            "vehicle_id", pl.col("onset_ts").dt.date(), "dtc_day"
        ).iter_rows():
            cut = onset + timedelta(days=n)
            if dtc_day <= cut:  # already failed: nothing left to predict
                continue
            seen = features.filter(pl.col("day") <= cut)
            found = score_indicators(seen, models, detector).anomalies
            life = remaining_life(seen.filter(pl.col("vehicle_id") == vehicle), found)
            row = life.filter(pl.col("item") == "lv_battery")
            if row.is_empty() or row["status"][0] != "trend":
                rows.append({"after_days": n, "actual": None, "predicted": None,
                             "low": None, "high": None})  # fmt: skip
                continue
            rows.append(
                {
                    "after_days": n,
                    "actual": float((dtc_day - row["as_of"][0]).days),
                    "predicted": row["days_left"][0],
                    "low": row["days_left_low"][0],
                    "high": row["days_left_high"][0],
                }
            )
    table = pl.DataFrame(
        rows,
        schema={
            "after_days": pl.Int64,
            "actual": pl.Float64,
            "predicted": pl.Float64,
            "low": pl.Float64,
            "high": pl.Float64,
        },
    )
    return (
        table.group_by("after_days")
        .agg(
            pl.len().alias("batteries"),
            pl.col("predicted").is_not_null().sum().alias("with_trend"),
            (pl.col("predicted") - pl.col("actual")).abs().median().alias("median_abs_error_days"),
            ((pl.col("actual") >= pl.col("low") - 1) & (pl.col("actual") <= pl.col("high") + 1))
            .filter(pl.col("predicted").is_not_null())
            .mean()
            .alias("interval_coverage"),
        )
        .sort("after_days")
    )


def _day(day: date) -> pc.Expression:
    return pc.field("date") == pa.scalar(day, pa.date32())
