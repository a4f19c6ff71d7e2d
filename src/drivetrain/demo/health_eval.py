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
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from drivetrain.demo.simulator import Progress, SimulationConfig, simulate_fleet
from drivetrain.health.anomaly import DetectorConfig, score_indicators
from drivetrain.health.evaluate import evaluate_alarms, threshold_alarms
from drivetrain.health.features import FEATURE_SCHEMA, daily_indicators
from drivetrain.health.multivariate import ecod_alarms
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
        parts = [
            daily_indicators(lake.read("telemetry", filter=_day(day)))
            for day in lake.partitions("telemetry")
        ]
        features = pl.concat(parts) if parts else pl.DataFrame(schema=FEATURE_SCHEMA)
        faults, dtcs = _frame(lake, "sim_faults"), _frame(lake, "dtc_events")
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
        vehicle_days=features.select("vehicle_id", "day").unique().height,
        signal_rows=report.rows["telemetry"],
        elapsed_s=time.perf_counter() - began,
    )


def _day(day: date) -> pc.Expression:
    return pc.field("date") == pa.scalar(day, pa.date32())
