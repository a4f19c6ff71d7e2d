"""Fleet-wide anomaly detection on daily condition indicators.

Each vehicle's indicators are judged twice, on the same robust scale:

* **against comparable vehicles** — the median of the vehicle's model on the
  same day is subtracted first, so what the whole fleet shares (a cold week, a
  heat wave, a holiday with short trips) cancels out; the *peer residual* is
  what is left;
* **against the vehicle's own baseline** — the median of its peer residual over
  its first ``baseline_days`` days, so a tyre that always runs a little soft or
  an engine that always idles a little rough is normal *for that vehicle*.

Both residuals are scaled by robust spreads (1.4826 × MAD) and oriented so that
positive means "worse" for the indicator. Against its own baseline, a one-sided
CUSUM (Page, 1954) accumulates the evidence day by day,
``S_t = max(0, S_{t-1} + z_t - k)``, computed without a loop as
``C_t - min_{j<=t} C_j`` over the cumulative sum ``C`` of ``z - k``; an alarm
is raised when ``S`` crosses ``h``, and the onset estimate is the day after
``S`` last stood at zero before the alarm: where the drift began, not where it
became obvious. Against its peers alone, a vehicle alarms only when the median
of its fleet z over ``baseline_days`` days exceeds ``fleet_z`` — far off every
comparable vehicle for days on end, which catches a fault present from the
first day (no healthy baseline to drift from) without flagging the vehicles
that are merely always a little different (their spread is in the scale).

The result is one row per alarm with its score (``S / h`` at its maximum), the
first alarm day, the onset estimate, which comparison raised it and the
signals behind the indicator. Vehicles with too little history for a
baseline of an indicator are listed apart as insufficient data and judged
against their peers only.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from drivetrain.errors import InputError
from drivetrain.health.features import INDICATORS, INDICATORS_BY_NAME

CONDITION_INDICATORS = [i.name for i in INDICATORS if i.kind == "condition"]

MAD_TO_SIGMA = 1.4826
# Smallest spread per indicator: sensor resolution and day-to-day scatter of a
# healthy vehicle; keeps a vehicle with a very steady baseline from alarming on noise.
SCALE_FLOOR: dict[str, float] = {
    "coolant_warm_c": 2.0,
    "rpm_jitter": 2.0,
    "lv_min_v": 0.03,
    "tyre_fl_delta_kpa": 1.0,
    "tyre_fr_delta_kpa": 1.0,
    "tyre_rl_delta_kpa": 1.0,
    "tyre_rr_delta_kpa": 1.0,
    "cell_spread_v": 0.002,
    "pad_wear_ratio_fl": 0.15,
}
# Where each condition indicator becomes a fault by the domain's own rules.
DOMAIN_LIMITS: dict[str, float] = {
    "coolant_warm_c": 75.0,  # the OBD thermostat monitor's warm-up target (P0128 logic)
    "rpm_jitter": 40.0,  # steady engine speed wanders ±10 rpm; 40 rpm steps are rough running
    "lv_min_v": 12.2,  # resting 12 V lead-acid battery at about 50 % state of charge
    **{f"tyre_{w}_delta_kpa": -20.0 for w in ("fl", "fr", "rl", "rr")},  # ≈ 8 % below the rest
    "cell_spread_v": 0.10,  # the spread at which the battery ECU sets P0A7F
    "pad_wear_ratio_fl": 2.0,  # one pad wearing twice as fast as its axle partner
}
STEP_SIGMAS = 1.0  # one typical day-to-day step of the model's indicator is one sigma at most
ANOMALY_SCHEMA = {
    "vehicle_id": pl.String,
    "indicator": pl.String,
    "basis": pl.String,
    "score": pl.Float64,
    "onset_day": pl.Date,
    "alarm_day": pl.Date,
    "baseline": pl.Float64,
    "latest": pl.Float64,
    "signals": pl.List(pl.String),
}


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Detector settings.

    ``k`` and ``h`` are the CUSUM allowance and threshold in robust standard
    deviations; ``fleet_z`` is how far off its peers (robust z, median over
    ``baseline_days`` days) a vehicle must be to alarm on that alone. Daily
    evidence is capped at ``z_cap`` (winsorised) so that one wild day cannot
    raise a drift alarm on its own: with the defaults it takes two bad days.
    A large shift is caught the day it happens (the Shewhart half of a combined
    Shewhart-CUSUM scheme, Lucas 1982): the indicator is past its domain limit
    (:data:`DOMAIN_LIMITS`), more than ``shewhart_z`` off the vehicle's own
    baseline (or the vehicle has none yet) and more than half that off its peers.
    """

    k: float = 1.0
    h: float = 6.0
    fleet_z: float = 5.0
    z_cap: float = 4.0
    shewhart_z: float = 6.0
    baseline_days: int = 5
    min_peers: int = 4

    def validate(self) -> DetectorConfig:
        if (
            self.k < 0
            or self.h <= 0
            or self.fleet_z <= 0
            or self.z_cap <= self.k
            or self.shewhart_z <= 0
            or self.baseline_days < 2
            or self.min_peers < 2
        ):
            raise InputError(
                f"invalid detector settings {self}",
                hint="k >= 0, h > 0, fleet_z > 0, z_cap > k, baseline_days >= 2, min_peers >= 2",
            )
        return self


@dataclass(frozen=True, slots=True)
class Detection:
    """Alarms, the scored daily series behind them, and what had too little data."""

    anomalies: pl.DataFrame
    scored: (
        pl.DataFrame
    )  # vehicle_id, indicator, day, value, z_fleet, z_own, level_fleet, cusum_own
    insufficient: pl.DataFrame  # vehicle_id, indicator, days: too few for an own baseline
    by_basis: pl.DataFrame  # the alarms of each comparison alone (own, fleet, limit): ablation


def _oriented(expr: pl.Expr) -> pl.Expr:
    """``expr`` with the sign flipped for indicators that go bad downwards."""
    low = [i.name for i in INDICATORS if i.bad == "low"]
    return pl.when(pl.col("indicator").is_in(low)).then(-expr).otherwise(expr)


def _cusum(z: str, k: float) -> pl.Expr:
    step = (pl.col(z) - k).fill_null(0.0)
    total = step.cum_sum().over("vehicle_id", "indicator", order_by="day")
    floor = pl.min_horizontal(total, 0.0).cum_min().over("vehicle_id", "indicator", order_by="day")
    return total - floor


def score_indicators(
    features: pl.DataFrame, models: pl.DataFrame, config: DetectorConfig | None = None
) -> Detection:
    """Score every vehicle-day indicator and raise alarms (see the module docstring).

    ``features``: ``daily_indicators`` output; ``models``: ``(vehicle_id, model_id)``.
    """
    cfg = (config or DetectorConfig()).validate()
    unknown = set(features["indicator"].unique().to_list()) - set(INDICATORS_BY_NAME)
    if unknown:
        raise InputError(f"unknown indicator(s) {', '.join(sorted(unknown))}")
    # wear indicators rise on every vehicle: predictive maintenance reads them, not this
    features = features.filter(pl.col("indicator").is_in(CONDITION_INDICATORS))
    df = features.join(models.select("vehicle_id", "model_id"), on="vehicle_id", how="left")
    if (missing := df.filter(pl.col("model_id").is_null())).height:
        raise InputError(
            f"{missing['vehicle_id'].n_unique()} vehicle(s) have no model, e.g. "
            f"{missing['vehicle_id'][0]}",
            hint="pass the model of every vehicle whose indicators are scored",
        )
    peer = ["model_id", "indicator", "day"]
    df = df.with_columns(
        pl.col("value").median().over(peer).alias("peer_median"),
        pl.len().over(peer).alias("peers"),
    ).with_columns(
        pl.when(pl.col("peers") >= cfg.min_peers)
        .then(pl.col("value") - pl.col("peer_median"))
        .otherwise(None)
        .alias("residual")
    )
    group = ["vehicle_id", "indicator"]
    df = df.sort("vehicle_id", "indicator", "day").with_columns(
        pl.int_range(pl.len()).over(group).alias("day_no"),
        pl.len().over(group).alias("days"),
    )
    floor = pl.col("indicator").replace_strict(SCALE_FLOOR, return_dtype=pl.Float64)
    # A sensor reporting in coarse steps (tyre pressure in whole psi, say) moves a
    # daily value by a whole step at once: one step must not look like a fault.
    change = pl.col("value").diff().abs().over(group, order_by="day")
    step = change.filter(change > 0).median().over("model_id", "indicator")
    spread = (pl.col("residual") - pl.col("residual").median()).abs().median()
    df = df.with_columns(
        (MAD_TO_SIGMA * spread.over("model_id", "indicator")).alias("fleet_scale"),
        step.fill_null(0.0).alias("step"),
    ).with_columns(
        pl.max_horizontal("fleet_scale", floor, pl.col("step") * STEP_SIGMAS).alias("fleet_scale")
    )
    in_base = pl.col("day_no") < cfg.baseline_days
    own = pl.col("residual").fill_null(pl.col("value") - pl.col("value").median().over(group))
    base = own.filter(in_base).median().over(group)
    base_spread = (own - base).filter(in_base).abs().median().over(group) * MAD_TO_SIGMA
    df = df.with_columns(own.alias("own"), base.alias("own_base")).with_columns(
        pl.max_horizontal(
            base_spread, pl.col("fleet_scale") * 0.5, floor, pl.col("step") * STEP_SIGMAS
        ).alias("own_scale")
    )
    limits = pl.col("indicator").replace_strict(
        DOMAIN_LIMITS, default=None, return_dtype=pl.Float64
    )
    df = (
        df.with_columns(
            _oriented(pl.col("residual") / pl.col("fleet_scale")).alias("z_fleet"),
            pl.when(~in_base)
            .then(_oriented((pl.col("own") - pl.col("own_base")) / pl.col("own_scale")))
            .otherwise(0.0)
            .alias("z_raw"),
            _oriented(pl.col("value") - limits).alias("past_limit"),
        )
        .with_columns(
            pl.col("z_raw")
            .clip(-cfg.z_cap, cfg.z_cap)
            .alias("z_own"),  # one wild day: <= z_cap - k
            (
                (pl.col("past_limit") > 0)
                & ((pl.col("z_raw") > cfg.shewhart_z) | (pl.col("days") <= cfg.baseline_days))
                & (pl.col("z_fleet") > cfg.shewhart_z / 2)
            ).alias("limit_alarm"),
        )
        .with_columns(
            pl.col("z_fleet")
            .rolling_median(window_size=cfg.baseline_days, min_samples=1)
            .over(group, order_by="day")
            .alias("level_fleet"),
            _cusum("z_own", cfg.k).alias("cusum_own"),
        )
    )
    insufficient = (
        df.filter(pl.col("days") <= cfg.baseline_days)
        .group_by(group)
        .agg(pl.len().alias("days"))
        .sort(group)
    )
    anomalies, by_basis = _alarms(df, cfg)
    scored = df.select(
        "vehicle_id", "indicator", "day", "value", "z_fleet", "z_own", "level_fleet", "cusum_own"
    )
    return Detection(anomalies, scored, insufficient, by_basis)


def _alarms(df: pl.DataFrame, cfg: DetectorConfig) -> tuple[pl.DataFrame, pl.DataFrame]:
    group = ["vehicle_id", "indicator"]
    parts = []
    has_baseline = pl.col("days") > cfg.baseline_days
    for basis, column, h in (
        ("own", "cusum_own", cfg.h),
        ("fleet", "level_fleet", cfg.fleet_z),
        ("limit", "limit_alarm", 0.5),
    ):
        s = pl.col(column).cast(pl.Float64)
        fired = df.filter(s > h)
        if basis == "own":  # without a baseline there is nothing to drift from
            fired = fired.filter(has_baseline)
        fired = fired.group_by(group).agg(pl.col("day").min().alias("alarm_day"))
        first = df.join(fired, on=group).filter(pl.col("day") <= pl.col("alarm_day"))
        quiet = {"own": "cusum_own", "fleet": "z_fleet", "limit": "past_limit"}[basis]
        onset = (
            first.filter(pl.col(quiet) <= 0).group_by(group).agg(pl.col("day").max().alias("quiet"))
        )
        summary = (
            df.join(fired, on=group)
            .group_by(group)
            .agg(
                (s.max() / h if basis != "limit" else pl.col("z_raw").max() / cfg.h).alias("score"),
                pl.col("alarm_day").first(),
                pl.col("day").min().alias("first_day"),
                pl.col("value")
                .filter(pl.col("day_no") < cfg.baseline_days)
                .median()
                .alias("baseline"),
                pl.col("value").sort_by("day").last().alias("latest"),
            )
        )
        summary = summary.join(onset, on=group, how="left").with_columns(
            pl.coalesce(pl.col("quiet") + pl.duration(days=1), pl.col("first_day")).alias(
                "onset_day"
            ),
            pl.lit(basis).alias("basis"),
        )
        parts.append(summary)
    both = pl.concat(parts, how="diagonal_relaxed")
    # one row per vehicle and indicator: the earlier alarm, and both bases if both fired
    merged = both.group_by(group).agg(
        pl.col("basis").sort().str.join("+"),
        pl.col("score").max(),
        pl.col("onset_day").min(),
        pl.col("alarm_day").min(),
        pl.col("baseline").first(),
        pl.col("latest").first(),
    )
    signals = pl.DataFrame(
        {
            "indicator": [i.name for i in INDICATORS],
            "signals": [list(i.signals) for i in INDICATORS],
        }
    )
    out = merged.join(signals, on="indicator", how="left")
    anomalies = out.select(list(ANOMALY_SCHEMA)).cast(ANOMALY_SCHEMA)  # type: ignore[arg-type]
    by_basis = both.select("vehicle_id", "indicator", "basis", "alarm_day", "onset_day", "score")
    return anomalies.sort("score", descending=True), by_basis
