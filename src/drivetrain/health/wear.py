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
battery's state of health and its years to 70 % are estimated apart, from the
BMS's counters: :mod:`drivetrain.health.battery`.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from scipy.stats import norm

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
    "p_fail_30d": pl.Float64,  # probability of reaching the limit within 30 days
    "as_of": pl.Date,
}
HORIZON_DAYS = 30.0


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
    group = ["vehicle_id", "indicator"]
    points = wanted.with_columns(
        (pl.col("day") - pl.col("day").min().over(group))
        .dt.total_days()
        .cast(pl.Float64)
        .alias("x"),
        pl.col("value").alias("y"),
    )
    fits = theil_sen(points, group, confidence).join(
        points.group_by(group).agg(pl.col("day").max().alias("as_of")), on=group
    )
    limits = pl.DataFrame(
        {
            "indicator": [i.indicator for i in WEAR_ITEMS],
            "item": [i.name for i in WEAR_ITEMS],
            "limit": [i.limit for i in WEAR_ITEMS],
            "up": [INDICATORS_BY_NAME[i.indicator].bad == "high" for i in WEAR_ITEMS],
        }
    )
    return _status(fits.join(limits, on="indicator"), min_days, horizon_days, confidence)


def _p_fail(confidence: float, enough: pl.Expr, at_limit: pl.Expr) -> pl.Expr:
    z = float(norm.ppf(0.5 + confidence / 2))
    sigma = pl.max_horizontal((pl.col("high_slope") - pl.col("low_slope")) / (2 * z), 1e-12)
    needed = (pl.col("limit") - pl.col("level")) / HORIZON_DAYS  # the slope that just gets there
    towards = pl.when(pl.col("up")).then(1.0).otherwise(-1.0)
    # P(slope beyond `needed` in the bad direction), with slope ~ N(slope, sigma)
    score = towards * (pl.col("slope") - needed) / sigma
    p = score.map_batches(lambda s: pl.Series(norm.cdf(s.to_numpy())), return_dtype=pl.Float64)
    return pl.when(~enough).then(None).when(at_limit).then(1.0).otherwise(p)


def theil_sen(points: pl.DataFrame, group: list[str], confidence: float) -> pl.DataFrame:
    """Theil-Sen slope, intercept and the slope's ``confidence`` interval, per group, at once.

    The same estimates as ``scipy.stats.theilslopes`` (Sen 1968, the interval from
    the normal approximation of Kendall's S, x without ties) — computed for every
    group in one pass: all pairwise slopes by a self-join, then ranks.
    ``points`` has the group columns, ``x`` and ``y``.
    """
    z = float(norm.ppf((1 - confidence) / 2))  # negative, as in scipy
    pts = points.select(*group, "x", "y")
    pairs = (
        pts.join(pts, on=group, suffix="_b")
        .filter(pl.col("x_b") > pl.col("x"))
        .select(*group, ((pl.col("y_b") - pl.col("y")) / (pl.col("x_b") - pl.col("x"))).alias("s"))
    )
    stats = pts.group_by(group).agg(
        pl.len().alias("n"),
        pl.col("x").median().alias("x_med"),
        pl.col("y").median().alias("y_med"),
        pl.col("x").max().alias("x_last"),
    )
    slopes = pairs.group_by(group).agg(
        pl.col("s").median().alias("slope"), pl.col("s").sort().alias("sorted")
    )
    n = pl.col("n").cast(pl.Float64)
    sigma = (n * (n - 1) * (2 * n + 5) / 18).sqrt()
    count = pl.col("sorted").list.len()
    upper = pl.min_horizontal(((count - z * sigma) / 2).round(0).cast(pl.Int64), count - 1)
    lower = pl.max_horizontal(((count + z * sigma) / 2).round(0).cast(pl.Int64) - 1, 0)
    return (
        stats.join(slopes, on=group, how="left")
        .with_columns(
            (pl.col("y_med") - pl.col("slope") * pl.col("x_med")).alias("intercept"),
            pl.col("sorted").list.get(lower, null_on_oob=True).alias("low_slope"),
            pl.col("sorted").list.get(upper, null_on_oob=True).alias("high_slope"),
        )
        .drop("sorted")
    )


def _status(fits: pl.DataFrame, min_days: int, horizon: float, confidence: float) -> pl.DataFrame:
    """Level, status, days left (with interval) and 30-day failure probability per series.

    The probability treats the slope as normal, centred on the Theil-Sen slope with
    the spread its interval implies (half-width / z): the chance that the item
    wears at least fast enough to reach its limit within :data:`HORIZON_DAYS`.
    An item at its limit has probability 1; one without enough data, none.
    """
    level = pl.col("intercept") + pl.col("slope") * pl.col("x_last")
    up = pl.col("up")
    at_limit = (
        pl.when(up)
        .then(pl.col("level") >= pl.col("limit"))
        .otherwise(pl.col("level") <= pl.col("limit"))
    )
    toward = pl.when(up).then(pl.col("low_slope") > 0).otherwise(pl.col("high_slope") < 0)
    fastest = pl.when(up).then(pl.col("high_slope")).otherwise(pl.col("low_slope"))
    slowest = pl.when(up).then(pl.col("low_slope")).otherwise(pl.col("high_slope"))

    def days(slope: pl.Expr) -> pl.Expr:
        left = (pl.col("limit") - pl.col("level")) / slope
        return pl.when(left > 0).then(pl.min_horizontal(left, horizon)).otherwise(float("inf"))

    enough = pl.col("n") >= min_days
    status = (
        pl.when(~enough)
        .then(pl.lit("insufficient_data"))
        .when(at_limit)
        .then(pl.lit("at_limit"))
        .when(toward)
        .then(pl.lit("trend"))
        .otherwise(pl.lit("no_trend"))
    )
    out = fits.with_columns(level.alias("level")).with_columns(status.alias("status"))
    trend, limit_reached = pl.col("status") == "trend", pl.col("status") == "at_limit"

    def when_trend(expr: pl.Expr) -> pl.Expr:
        return pl.when(limit_reached).then(0.0).when(trend).then(expr).otherwise(None)

    return (
        out.with_columns(
            when_trend(days(pl.col("slope"))).alias("days_left"),
            when_trend(days(fastest)).alias("days_left_low"),
            when_trend(days(slowest)).alias("days_left_high"),
            _p_fail(confidence, enough, at_limit).alias("p_fail_30d"),
            pl.when(enough).then(pl.col("level")).alias("level"),
            pl.when(enough).then(pl.col("slope")).alias("slope_per_day"),
        )
        .select(list(RUL_SCHEMA))
        .cast(RUL_SCHEMA)  # type: ignore[arg-type]
        .sort("vehicle_id", "item")
    )
