"""Predictive maintenance of wear and degradation items: days left, with an interval.

For each vehicle and wear item, the recent trend of its daily indicator is
extrapolated to the limit at which the item fails or needs service:

| item | indicator | limit | why that limit |
|---|---|---|---|
| 12 V battery | ``lv_min_v`` | 11.9 V | below it the ECU sets P0562 (system voltage low) and cranking fails |
| front brake pads | ``pad_wear_pct`` | 90 % | the wear indicator's service point |
| tyres (each) | ``tyre_*_delta_kpa`` | -60 kPa | 25 % under the others: the TPMS warning of FMVSS 138 |
| traction battery balance | ``cell_spread_v`` | 0.10 V | the battery ECU sets P0A7F |

The trend is the Theil-Sen slope (median of pairwise slopes: robust to the odd
bad day) over the last ``window_days`` days — or, where the anomaly detector
found an onset for the indicator, over the days since that onset only (a flat
history before a fault began would hide how fast it now degrades) — with its
90 % confidence interval
(Sen, 1968; ``scipy.stats.theilslopes``). Days left = (limit - level) / slope,
and the interval comes from the slope's interval. An item whose slope interval
includes zero or points away from its limit has **no degradation trend**: its
days left are reported as beyond the horizon, not as a number. An item with
fewer than ``min_days`` days of data is **insufficient data**. The traction
battery's state of health itself is not estimated: no shipped vehicle model
reports it (VSS ``StateOfHealth``), and capacity fade cannot be told apart from
the simulator's energy model; that is stated, not guessed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.stats import theilslopes

from drivetrain.errors import InputError
from drivetrain.health.features import INDICATORS_BY_NAME


@dataclass(frozen=True, slots=True)
class WearItem:
    """A part that wears out, the indicator that shows it and where it ends."""

    name: str
    indicator: str
    limit: float
    description: str


WEAR_ITEMS: tuple[WearItem, ...] = (
    WearItem("lv_battery", "lv_min_v", 11.9, "12 V battery: the car will not start"),
    WearItem("brake_pads_front", "pad_wear_pct", 90.0, "front brake pads at the service point"),
    *(
        WearItem(f"tyre_{w}", f"tyre_{w}_delta_kpa", -60.0, f"{w.upper()} tyre 25 % under-inflated")
        for w in ("fl", "fr", "rl", "rr")
    ),
    WearItem("traction_battery_balance", "cell_spread_v", 0.10, "cell imbalance sets P0A7F"),
)
RUL_SCHEMA = {
    "vehicle_id": pl.String,
    "item": pl.String,
    "status": pl.String,  # trend | no_trend | insufficient_data | at_limit
    "level": pl.Float64,
    "slope_per_day": pl.Float64,
    "days_left": pl.Float64,
    "days_left_low": pl.Float64,
    "days_left_high": pl.Float64,
    "as_of": pl.Date,
}


def _days_to(limit: float, level: float, slope: float, horizon: float) -> float:
    if slope == 0 or np.sign(limit - level) != np.sign(slope):
        return float("inf")
    return min((limit - level) / slope, horizon)


def remaining_life(
    features: pl.DataFrame,
    onsets: pl.DataFrame | None = None,
    *,
    window_days: int = 14,
    min_days: int = 5,
    horizon_days: float = 365.0,
    confidence: float = 0.90,
) -> pl.DataFrame:
    """Days left per vehicle and wear item, with a ``confidence`` interval.

    ``onsets`` (``vehicle_id, indicator, onset_day``, e.g. the detector's
    anomalies) start an item's trend window at the onset of its degradation.
    """
    if min_days < 3 or window_days < min_days or not 0 < confidence < 1:
        raise InputError(
            f"invalid settings window_days={window_days}, min_days={min_days}, "
            f"confidence={confidence}",
            hint="need 3 <= min_days <= window_days and 0 < confidence < 1",
        )
    items = {i.indicator: i for i in WEAR_ITEMS}
    wanted = features.filter(pl.col("indicator").is_in(list(items))).sort(
        "vehicle_id", "indicator", "day"
    )
    if onsets is not None:
        wanted = wanted.join(
            onsets.select("vehicle_id", "indicator", "onset_day"),
            on=["vehicle_id", "indicator"],
            how="left",
        )
    else:
        wanted = wanted.with_columns(pl.lit(None, dtype=pl.Date).alias("onset_day"))
    start = pl.max_horizontal(
        pl.col("day").max().over("vehicle_id", "indicator") - pl.duration(days=window_days - 1),
        pl.col("onset_day"),
    )
    wanted = wanted.filter(pl.col("day") >= start)
    rows: list[dict[str, object]] = []
    for (vehicle, indicator), recent in wanted.group_by(
        "vehicle_id", "indicator", maintain_order=True
    ):
        item = items[str(indicator)]
        rows.append(_estimate(str(vehicle), item, recent, min_days, horizon_days, confidence))
    return pl.DataFrame(rows, schema=RUL_SCHEMA)


def _estimate(
    vehicle: str,
    item: WearItem,
    recent: pl.DataFrame,
    min_days: int,
    horizon: float,
    confidence: float,
) -> dict[str, object]:
    as_of = recent["day"].max()
    row: dict[str, object] = {"vehicle_id": vehicle, "item": item.name, "as_of": as_of}
    if recent.height < min_days:
        return row | {"status": "insufficient_data"}
    x = (recent["day"] - recent["day"].min()).dt.total_days().to_numpy().astype(float)
    y = recent["value"].to_numpy()
    fit = theilslopes(y, x, alpha=confidence)
    level = float(fit.intercept + fit.slope * x[-1])
    bad_up = INDICATORS_BY_NAME[item.indicator].bad == "high"
    row |= {"level": level, "slope_per_day": float(fit.slope)}
    if (level >= item.limit) if bad_up else (level <= item.limit):
        return row | {"status": "at_limit", "days_left": 0.0, "days_left_low": 0.0,
                      "days_left_high": 0.0}  # fmt: skip
    toward = (fit.low_slope > 0) if bad_up else (fit.high_slope < 0)
    if not toward:  # the interval includes no wear, or wear away from the limit
        return row | {"status": "no_trend"}
    fastest = fit.high_slope if bad_up else fit.low_slope
    slowest = fit.low_slope if bad_up else fit.high_slope
    return row | {
        "status": "trend",
        "days_left": _days_to(item.limit, level, float(fit.slope), horizon),
        "days_left_low": _days_to(item.limit, level, float(fastest), horizon),
        "days_left_high": _days_to(item.limit, level, float(slowest), horizon),
    }
