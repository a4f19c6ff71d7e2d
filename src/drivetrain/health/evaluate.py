"""Scoring detectors against the simulator's injected faults (the labelled test set).

For each fault type the indicators that should reveal it are known
(:data:`FAULT_INDICATORS`). An alarm on one of them is a *true positive* when
the vehicle really has that fault and the alarm comes no earlier than
``tolerance_days`` before its onset; any other alarm on those indicators is a
*false alarm*. Per fault type we report

* recall — faulty vehicles alarmed / faulty vehicles;
* precision — true alarms / all alarms on the fault's indicators;
* false alarms per 1,000 vehicle-days observed of those indicators;
* median lead time — days between the alarm and the first DTC the fault sets
  (positive: the alarm came first), over the detected faults that set one.

Alarms on indicators that no injected fault shows up in (the simulator only
punctures front-left tyres, so the other three tyres) are all false alarms and
get a row of their own, so a method cannot hide noise there.

Two detectors are compared on the same indicators: fixed **threshold rules**
(:data:`THRESHOLD_RULES`, what an on-board monitor or a simple fleet rule
does) and the fleet- and baseline-relative CUSUM detector of
:mod:`drivetrain.health.anomaly`.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from drivetrain.health.anomaly import ANOMALY_SCHEMA, DOMAIN_LIMITS
from drivetrain.health.features import INDICATORS_BY_NAME

FAULT_INDICATORS: dict[str, tuple[str, ...]] = {
    "thermostat_stuck_open": ("coolant_warm_c",),
    "misfire": ("rpm_jitter",),
    "lv_battery_degradation": ("lv_min_v",),
    "slow_tyre_leak": ("tyre_fl_delta_kpa",),
    "cell_imbalance": ("cell_spread_v",),
    "brake_wear": ("pad_wear_ratio_fl",),
}

# The baseline watches the same indicators with the domain's fixed limits alone.
THRESHOLD_RULES: dict[str, float] = dict(DOMAIN_LIMITS)
OTHER = "(no fault: other indicators)"
METRIC_SCHEMA = {
    "fault": pl.String,
    "method": pl.String,
    "faults": pl.UInt32,
    "detected": pl.UInt32,
    "recall": pl.Float64,
    "precision": pl.Float64,
    "false_alarms": pl.UInt32,
    "false_alarms_per_1000_vehicle_days": pl.Float64,
    "median_lead_days": pl.Float64,
}


def threshold_alarms(features: pl.DataFrame) -> pl.DataFrame:
    """The baseline: an alarm the first day an indicator crosses its fixed limit."""
    limits = pl.DataFrame(
        {"indicator": list(THRESHOLD_RULES), "limit": list(THRESHOLD_RULES.values())}
    )
    low = [n for n in THRESHOLD_RULES if INDICATORS_BY_NAME[n].bad == "low"]
    crossed = (
        features.join(limits, on="indicator")
        .filter(
            pl.when(pl.col("indicator").is_in(low))
            .then(pl.col("value") < pl.col("limit"))
            .otherwise(pl.col("value") > pl.col("limit"))
        )
        .group_by("vehicle_id", "indicator")
        .agg(pl.col("day").min().alias("alarm_day"))
    )
    return crossed.with_columns(pl.col("alarm_day").alias("onset_day"))


def first_dtcs(dtc_events: pl.DataFrame, faults: pl.DataFrame) -> pl.DataFrame:
    """Per faulty vehicle, the day of the first DTC its fault is expected to set."""
    expected = (
        faults.select("vehicle_id", pl.col("expected_dtcs").alias("dtc"))
        .explode("dtc")
        .drop_nulls()
    )
    return (
        dtc_events.join(expected, on=["vehicle_id", "dtc"], how="semi")
        .group_by("vehicle_id")
        .agg(pl.col("ts").min().dt.date().alias("dtc_day"))
    )


def evaluate_alarms(
    alarms: Mapping[str, pl.DataFrame],
    features: pl.DataFrame,
    faults: pl.DataFrame,
    dtc_events: pl.DataFrame,
    *,
    tolerance_days: int = 1,
) -> pl.DataFrame:
    """The metric table of every method in ``alarms`` (method → alarms) per fault type.

    ``faults`` is the ``sim_faults`` table; ``dtc_events`` the lake's events.
    """
    truth = faults.select("vehicle_id", "fault", pl.col("onset_ts").dt.date().alias("onset"))
    first_dtc = first_dtcs(dtc_events, faults)
    rows: list[dict[str, object]] = []
    for method, found in alarms.items():
        found = found.select("vehicle_id", "indicator", "alarm_day")
        for fault, indicators in FAULT_INDICATORS.items():
            observed = features.filter(pl.col("indicator").is_in(indicators))
            vehicle_days = observed.select("vehicle_id", "day").unique().height
            mine = truth.filter(pl.col("fault") == fault)
            on_target = found.filter(pl.col("indicator").is_in(indicators))
            judged = on_target.join(mine, on="vehicle_id", how="left").with_columns(
                (
                    pl.col("onset").is_not_null()
                    & (pl.col("alarm_day") >= pl.col("onset") - pl.duration(days=tolerance_days))
                ).alias("true")
            )
            hits = (
                judged.filter("true")
                .group_by("vehicle_id")
                .agg(pl.col("alarm_day").min())
                .join(first_dtc, on="vehicle_id", how="left")
            )
            lead = hits.drop_nulls("dtc_day").select(
                (pl.col("dtc_day") - pl.col("alarm_day")).dt.total_days().alias("lead")
            )
            false_alarms = judged.filter(~pl.col("true")).height
            rows.append(
                {
                    "fault": fault,
                    "method": method,
                    "faults": mine.height,
                    "detected": hits.height,
                    "recall": hits.height / mine.height if mine.height else None,
                    "precision": (judged.height - false_alarms) / judged.height
                    if judged.height
                    else None,
                    "false_alarms": false_alarms,
                    "false_alarms_per_1000_vehicle_days": 1000 * false_alarms / vehicle_days
                    if vehicle_days
                    else None,
                    "median_lead_days": lead["lead"].median() if lead.height else None,
                }
            )
        # indicators no injected fault shows up in (the other three tyres): every alarm
        # there is a false alarm, and it must count against the method too
        watched = {i for names in FAULT_INDICATORS.values() for i in names}
        others = found.filter(~pl.col("indicator").is_in(list(watched)))
        observed = features.filter(~pl.col("indicator").is_in(list(watched)))
        vehicle_days = observed.select("vehicle_id", "day").unique().height
        rows.append(
            {
                "fault": OTHER,
                "method": method,
                "faults": 0,
                "detected": 0,
                "recall": None,
                "precision": 0.0 if others.height else None,
                "false_alarms": others.height,
                "false_alarms_per_1000_vehicle_days": 1000 * others.height / vehicle_days
                if vehicle_days
                else None,
                "median_lead_days": None,
            }
        )
    return pl.DataFrame(rows, schema=METRIC_SCHEMA)


__all__ = [
    "ANOMALY_SCHEMA",
    "FAULT_INDICATORS",
    "OTHER",
    "THRESHOLD_RULES",
    "evaluate_alarms",
    "first_dtcs",
    "threshold_alarms",
]
