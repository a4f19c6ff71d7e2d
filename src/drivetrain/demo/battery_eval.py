"""How well the traction battery's state of health and years to 70 % match the simulator.

The simulator's ageing law (:mod:`drivetrain.demo.traction_battery`) is the
truth: each pack's state of health, which packs are weak, and — projected at
the vehicle's simulated mileage — when it would reach 70 %. The estimator does
not know the law's form (it picks the calendar exponent from the data;
the truth's is 0.75), so the projection is scored out of its own model.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from drivetrain.demo.traction_battery import (
    CALENDAR_EXPONENT,
    CALENDAR_PCT,
    CYCLE_PCT_PER_100_CYCLES,
)
from drivetrain.health.battery import HORIZON_YEARS, WARRANTY_SOH_PCT, battery_health

WEAK_Z = 4.0  # the scan's threshold (drivetrain.health.scan.WEAK_PACK_Z)


def true_years_to_70(truth: pl.DataFrame, cycles_per_year: np.ndarray) -> np.ndarray:
    """Years until each pack of ``truth`` reaches 70 % under the simulator's own law, at the
    usage (equivalent full cycles a year) its BMS counters showed over the month."""
    age, now = truth["age_years"].to_numpy(), truth["soh_pct"].to_numpy()
    t = np.linspace(0.0, HORIZON_YEARS, 40_001)[None, :]
    lost = CALENDAR_PCT * (
        (age[:, None] + t) ** CALENDAR_EXPONENT - age[:, None] ** CALENDAR_EXPONENT
    )
    lost = lost + CYCLE_PCT_PER_100_CYCLES * cycles_per_year[:, None] * t / 100.0
    reached = lost >= (now - WARRANTY_SOH_PCT)[:, None]
    first = reached.argmax(axis=1)
    return np.where(reached.any(axis=1), t[0, first], np.inf)


def evaluate_battery(sums: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """One row of metrics: estimate error, interval coverage, weak packs, years to 70 %."""
    nominal = dict(zip(truth["vehicle_id"], truth["nominal_kwh"], strict=True))
    age = dict(zip(truth["vehicle_id"], truth["age_years"], strict=True))
    health = battery_health(sums, nominal, age)
    usage = health.select(
        "vehicle_id",
        (pl.col("kwh_per_day") * 365.25 / pl.col("nominal_kwh")).alias("cycles_per_year"),
    )
    truth = truth.join(usage, on="vehicle_id", how="inner")
    truth = truth.with_columns(
        pl.Series("true_years", true_years_to_70(truth, truth["cycles_per_year"].to_numpy()))
    )
    both = health.join(
        truth.select("vehicle_id", pl.col("soh_pct").alias("true"), "weak_pack", "true_years"),
        on="vehicle_id",
    )
    est = both.filter(pl.col("status") == "estimated")
    error = (est["soh_pct"] - est["true"]).to_numpy()
    judged = est.filter(pl.col("residual_z").is_not_null())
    flagged = judged["residual_z"] < -WEAK_Z
    weak = judged["weak_pack"]
    finite = judged.filter(pl.col("true_years").is_finite() & pl.col("years_to_70").is_finite())
    inside = finite.filter(
        pl.col("true_years").is_between(pl.col("years_low"), pl.col("years_high"))
    )
    return pl.DataFrame(
        {
            "plug_ins": [len(nominal)],
            "estimated": [est.height],
            "mae_points": [float(np.abs(error).mean()) if est.height else None],
            "bias_points": [float(error.mean()) if est.height else None],
            "interval_coverage": [
                est.filter(pl.col("true").is_between(pl.col("soh_low"), pl.col("soh_high"))).height
                / est.height
                if est.height
                else None
            ],
            "weak_packs": [int(weak.sum())],
            "weak_found": [int((weak & flagged).sum())],
            "false_weak": [int((~weak & flagged).sum())],
            "years_median_abs_error": [
                float(np.median(np.abs((finite["years_to_70"] - finite["true_years"]).to_numpy())))
                if finite.height
                else None
            ],
            "years_true_median": [
                float(np.median(finite["true_years"].to_numpy())) if finite.height else None
            ],
            "years_interval_coverage": [inside.height / finite.height if finite.height else None],
        }
    )
