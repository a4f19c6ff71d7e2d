"""Traction battery state of health, from the BMS's own counters, and years left to 70 %.

No shipped vehicle reports a state of health, and a BMS's own figure is a
black box anyway. What every plug-in reports is its state of charge and its
lifetime energy counters (VSS ``AccumulatedConsumedEnergy`` and
``AccumulatedChargedEnergy``). While the car drives, the state of charge falls
by 100 % for every *usable capacity* worth of net energy out of the pack, so
within each trip

    SoC = a_trip - (100 / C) · E_net,    E_net = consumed - charged,

and the slope over all of a vehicle's trips (each trip with its own intercept:
the pooled *within-trip* least-squares slope) gives its capacity C — the
coulomb-counting capacity estimate of battery management, done from the cloud.
State of health = C / capacity when new (the model's ``battery_net_kwh``).
The interval is the slope's trip-clustered standard error carried through to C
(delta method).

**Per day, then per vehicle**: :func:`capacity_sums` reduces a day of
telemetry to a few additive sums per vehicle-day (the within-trip centred
cross-products), so the scan keeps no raw rows, and :func:`estimate_soh` adds
them up.

**Fleet-wide ageing**: :func:`fade_model` fits the capacity lost by every
vehicle as ``a·age^p + b·cycles`` (calendar ageing as a power of time, p chosen
by the data between 0.5 and 1; cycle ageing with equivalent full cycles =
lifetime energy out / capacity when new), robustly (weak packs trimmed), so that each vehicle is judged against what its age
and use predict (``residual_z``: a weak pack sits far below), and projected
forward at its own usage rate to the 70 % that battery warranties guarantee
(``years_to_70``), with an interval from refitting the fleet model on bootstrap
samples of vehicles and drawing the vehicle's own state of health within its
interval. Too little driving (less than :data:`MIN_SWING_PCT` of charge used
in trips long enough to read, over at least :data:`MIN_TRIPS` trips) gives
``insufficient_data``, never a number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa
from scipy.stats import norm

from drivetrain.errors import InputError
from drivetrain.health.features import TRIP_GAP_S
from drivetrain.health.features import long_frame as _long

SOC = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
CONSUMED = "Vehicle.Powertrain.TractionBattery.AccumulatedConsumedEnergy"
CHARGED = "Vehicle.Powertrain.TractionBattery.AccumulatedChargedEnergy"
SIGNALS = (SOC, CONSUMED, CHARGED)
COUNTER_STEP_KWH = 0.1  # resolution of the BMS energy counters (VSS leaves it to the maker)
# Each counter reads up to one step low (it truncates), so the net energy x carries a
# reading error of variance 2 · step² / 12. Left in, it flattens the fitted slope and
# overstates the capacity (by ~0.2 % on a 57.5 kWh pack, measured): the classical
# errors-in-variables attenuation, removed by subtracting the known error variance.
X_ERROR_VAR = 2 * COUNTER_STEP_KWH**2 / 12
SOC_FLOOR_PCT = 1.0
MIN_TRIP_SWING_PCT = 2.0  # a trip that used less charge says little about the slope
MIN_TRIPS = 3
MIN_SWING_PCT = 20.0  # total charge used in usable trips before a capacity is estimated
WARRANTY_SOH_PCT = 70.0  # the state of health battery warranties guarantee (8 years, typically)
HORIZON_YEARS = 40.0
SUMS_SCHEMA: dict[str, pl.DataType] = {
    "vehicle_id": pl.String(),
    "day": pl.Date(),
    "trips": pl.UInt32(),
    "n": pl.UInt32(),
    "sxx": pl.Float64(),
    "sxy": pl.Float64(),
    "syy": pl.Float64(),
    "q_yy": pl.Float64(),
    "q_xy": pl.Float64(),
    "q_xx": pl.Float64(),
    "swing_pct": pl.Float64(),
    "consumed_kwh": pl.Float64(),
}


def capacity_sums(telemetry: pa.Table | pl.DataFrame) -> pl.DataFrame:
    """Per vehicle-day: within-trip centred sums of net energy (x) and state of charge (y).

    Trips are runs of samples no more than ``TRIP_GAP_S`` apart; only trips whose
    state of charge fell by :data:`MIN_TRIP_SWING_PCT` or more count.
    """
    df = _long(telemetry).filter(pl.col("signal").is_in(list(SIGNALS)))
    if df.is_empty():
        return pl.DataFrame(schema=SUMS_SCHEMA)
    wide = df.pivot(
        on="signal", index=["vehicle_id", "day", "ts"], values="value", aggregate_function="first"
    ).drop_nulls([c for c in SIGNALS if c in df["signal"].unique().to_list()])
    if not all(c in wide.columns for c in SIGNALS) or wide.is_empty():
        return pl.DataFrame(schema=SUMS_SCHEMA)
    wide = wide.sort("vehicle_id", "ts")
    gap = pl.col("ts").diff().over("vehicle_id").dt.total_seconds()
    trip = (gap.is_null() | (gap > TRIP_GAP_S)).cum_sum().over("vehicle_id")
    samples = wide.select(
        "vehicle_id",
        "day",
        trip.alias("trip"),
        (pl.col(CONSUMED) - pl.col(CHARGED)).alias("x"),
        pl.col(SOC).alias("y"),
        pl.col(CONSUMED).alias("out"),
    )
    by_trip = ["vehicle_id", "trip"]
    # a state of charge pinned at an end of its range no longer follows the energy
    samples = samples.filter(pl.col("y").is_between(SOC_FLOOR_PCT, 100.0 - SOC_FLOOR_PCT))
    centred = samples.with_columns(
        (pl.col("x") - pl.col("x").mean().over(by_trip)).alias("dx"),
        (pl.col("y") - pl.col("y").mean().over(by_trip)).alias("dy"),
        (pl.col("y").max() - pl.col("y").min()).over(by_trip).alias("swing"),
    ).filter(pl.col("swing") >= MIN_TRIP_SWING_PCT)
    trips = centred.group_by("vehicle_id", "day", "trip").agg(
        pl.len().alias("n"),
        ((pl.col("dx") * pl.col("dx")).sum() - (pl.len() - 1) * X_ERROR_VAR).alias("sxx"),
        (pl.col("dx") * pl.col("dy")).sum().alias("sxy"),
        (pl.col("dy") * pl.col("dy")).sum().alias("syy"),
        pl.col("swing").first(),
        pl.col("out").max(),
    )
    return (
        trips.group_by("vehicle_id", "day")
        .agg(
            pl.len().alias("trips"),
            pl.col("n").sum(),
            pl.col("sxx").sum(),
            pl.col("sxy").sum(),
            pl.col("syy").sum(),
            (pl.col("sxy") ** 2).sum().alias("q_yy"),
            (pl.col("sxy") * pl.col("sxx")).sum().alias("q_xy"),
            (pl.col("sxx") ** 2).sum().alias("q_xx"),
            pl.col("swing").sum().alias("swing_pct"),
            pl.col("out").max().alias("consumed_kwh"),
        )
        .cast(SUMS_SCHEMA)  # type: ignore[arg-type]
        .sort("vehicle_id", "day")
    )


def estimate_soh(
    sums: pl.DataFrame, nominal_kwh: Mapping[str, float], *, confidence: float = 0.90
) -> pl.DataFrame:
    """Capacity and state of health per vehicle from its :func:`capacity_sums`.

    ``nominal_kwh`` maps vehicle id → usable capacity when new; vehicles missing
    from it are reported ``unknown_nominal`` (their model has no ``battery_net_kwh``).
    """
    if not 0 < confidence < 1:
        raise InputError(f"confidence {confidence} is not between 0 and 1")
    z = float(norm.ppf(0.5 + confidence / 2))
    span = sums.group_by("vehicle_id").agg(
        pl.col("trips").sum(),
        pl.col("n").sum(),
        pl.col("sxx").sum(),
        pl.col("sxy").sum(),
        pl.col("syy").sum(),
        pl.col("q_yy").sum(),
        pl.col("q_xy").sum(),
        pl.col("q_xx").sum(),
        pl.col("swing_pct").sum(),
        pl.col("consumed_kwh").max(),
        pl.col("day").min().alias("first_day"),
        pl.col("day").max().alias("last_day"),
        # the counter's growth per day over the days seen, for the usage rate
        ((pl.col("consumed_kwh").max() - pl.col("consumed_kwh").min())
         / ((pl.col("day").max() - pl.col("day").min()).dt.total_days().clip(lower_bound=1))
         ).alias("kwh_per_day"),
    )  # fmt: skip
    nominal = pl.DataFrame(
        {"vehicle_id": list(nominal_kwh), "nominal_kwh": list(nominal_kwh.values())},
        schema={"vehicle_id": pl.String, "nominal_kwh": pl.Float64},
    )
    slope = pl.col("sxy") / pl.col("sxx")
    # cluster-robust (by trip) variance of the slope: a trip's readings share their errors
    # (a counter's truncation, the BMS's drift), so they are not independent samples
    scores = pl.col("q_yy") - 2 * slope * pl.col("q_xy") + slope**2 * pl.col("q_xx")
    small = pl.col("trips") / (pl.col("trips") - 1).clip(lower_bound=1)
    se_slope = (small * scores.clip(lower_bound=0)).sqrt() / pl.col("sxx")
    enough = (pl.col("trips") >= MIN_TRIPS) & (pl.col("swing_pct") >= MIN_SWING_PCT)
    out = (
        span.join(nominal, on="vehicle_id", how="left")
        .with_columns(slope.alias("slope"), se_slope.alias("se_slope"))
        .with_columns(
            (-100.0 / pl.col("slope")).alias("capacity_kwh"),
            (100.0 / pl.col("slope") ** 2 * pl.col("se_slope")).alias("se_kwh"),
        )
        .with_columns(
            pl.when(pl.col("nominal_kwh").is_null())
            .then(pl.lit("unknown_nominal"))
            .when(~enough | (pl.col("slope") >= 0))
            .then(pl.lit("insufficient_data"))
            .otherwise(pl.lit("estimated"))
            .alias("status")
        )
    )
    ok = pl.col("status") == "estimated"
    pct = 100.0 / pl.col("nominal_kwh")
    return out.select(
        "vehicle_id",
        "status",
        "nominal_kwh",
        pl.when(ok).then(pl.col("capacity_kwh")).alias("capacity_kwh"),
        pl.when(ok).then(pl.col("capacity_kwh") * pct).alias("soh_pct"),
        pl.when(ok).then((pl.col("capacity_kwh") - z * pl.col("se_kwh")) * pct).alias("soh_low"),
        pl.when(ok).then((pl.col("capacity_kwh") + z * pl.col("se_kwh")) * pct).alias("soh_high"),
        pl.when(ok).then(pl.col("se_kwh") * pct).alias("soh_se"),
        "trips",
        pl.col("swing_pct").round(1),
        "consumed_kwh",
        "kwh_per_day",
        "first_day",
        "last_day",
    ).sort("vehicle_id")


@dataclass(frozen=True, slots=True)
class FadeModel:
    """Capacity lost (points) = ``calendar`` · years^``exponent`` + ``cycle`` · cycles / 100."""

    calendar: float
    cycle: float
    exponent: float
    scatter: float  # robust standard deviation of vehicles around the model, points
    vehicles: int
    boot: np.ndarray  # (B, 3) bootstrap refits of (calendar, cycle, exponent)

    def loss(self, years: np.ndarray, cycles: np.ndarray) -> np.ndarray:
        return np.asarray(self.calendar * years**self.exponent + self.cycle * cycles / 100.0)


EXPONENTS = np.round(np.arange(0.5, 1.0001, 0.05), 2)  # calendar ageing: √t … linear in t
TRIM_Z = 3.5  # vehicles this far off the law (weak packs) do not shape it


def _fit_law(age: np.ndarray, cycles: np.ndarray, lost: np.ndarray) -> tuple[np.ndarray, float]:
    """(calendar, cycle, exponent) and the robust scatter, for the best exponent of the grid.

    For each exponent: least squares through the origin, then again without the
    vehicles more than :data:`TRIM_Z` robust deviations off (weak packs); the
    exponent whose fit leaves the smallest median absolute residual wins.
    """
    best: tuple[float, np.ndarray, float] | None = None
    for p in EXPONENTS:
        x = np.column_stack([age**p, cycles / 100.0])
        coef = np.linalg.lstsq(x, lost, rcond=None)[0]
        residual = lost - x @ coef
        scale = 1.4826 * float(np.median(np.abs(residual))) or 1e-9
        keep = np.abs(residual) <= TRIM_Z * scale
        coef = np.linalg.lstsq(x[keep], lost[keep], rcond=None)[0]
        residual = lost - x @ coef
        score = float(np.median(np.abs(residual)))
        if best is None or score < best[0]:
            best = (score, np.append(coef, p), 1.4826 * score)
    assert best is not None
    return best[1], best[2]


def fade_model(
    soh: pl.DataFrame, age_years: Mapping[str, float], *, boot: int = 200, seed: int = 0
) -> FadeModel:
    """Fit the fleet's ageing law on the vehicles with an estimated state of health.

    The calendar exponent is chosen from :data:`EXPONENTS` by the data (the
    literature has from 0.5 to about 1 depending on chemistry and temperature),
    and chosen again in every bootstrap refit, so the interval of a projection
    carries the uncertainty of the law's form as well as of its coefficients.
    """
    data = _fit_rows(soh, age_years)
    if data.height < 10:
        raise InputError(
            f"only {data.height} vehicles have an estimated state of health and a known age",
            hint="a fleet ageing law needs at least 10; scan more plug-in vehicles or more days",
        )
    age, cycles = data["age"].to_numpy(), data["cycles"].to_numpy()
    lost = 100.0 - data["soh_pct"].to_numpy()
    coef, scatter = _fit_law(age, cycles, lost)
    rng = np.random.default_rng(seed)
    refits = []
    for _ in range(boot):
        rows = rng.integers(0, len(lost), len(lost))
        refits.append(_fit_law(age[rows], cycles[rows], lost[rows])[0])
    calendar, cycle, exponent = (float(c) for c in coef)
    return FadeModel(calendar, cycle, exponent, scatter, len(lost), np.array(refits))


def _fit_rows(soh: pl.DataFrame, age_years: Mapping[str, float]) -> pl.DataFrame:
    ages = pl.DataFrame(
        {"vehicle_id": list(age_years), "age": list(age_years.values())},
        schema={"vehicle_id": pl.String, "age": pl.Float64},
    )
    return (
        soh.filter(pl.col("status") == "estimated")
        .join(ages, on="vehicle_id")
        .with_columns((pl.col("consumed_kwh") / pl.col("nominal_kwh")).alias("cycles"))
        .sort("vehicle_id")  # a fixed order: the bootstrap's draws must not depend on a join's
    )


def project(
    soh: pl.DataFrame,
    model: FadeModel,
    age_years: Mapping[str, float],
    *,
    confidence: float = 0.90,
    seed: int = 0,
) -> pl.DataFrame:
    """Each estimated vehicle against the fleet law, and its years left to 70 %.

    Adds ``expected_soh_pct`` (what its age and use predict), ``residual_z``
    (how far below or above, in standard deviations of its own estimate and the
    fleet's scatter), and ``years_to_70`` with a ``confidence`` interval
    (``inf`` beyond :data:`HORIZON_YEARS`).
    """
    data = _fit_rows(soh, age_years)
    if data.is_empty():
        return data
    age = data["age"].to_numpy()
    cycles = data["cycles"].to_numpy()
    now = data["soh_pct"].to_numpy()
    se = data["soh_se"].to_numpy()
    rate = data["kwh_per_day"].to_numpy() * 365.25 / data["nominal_kwh"].to_numpy()  # cycles/yr
    expected = 100.0 - model.loss(age, cycles)
    z = (now - expected) / np.sqrt(se**2 + model.scatter**2)
    central = _years_to(now, age, rate, model.calendar, model.cycle, model.exponent)
    rng = np.random.default_rng(seed)
    draws = np.array(
        [
            _years_to(now + rng.normal(0, 1, len(now)) * se, age, rate, cal, cyc, exp)
            for cal, cyc, exp in model.boot
        ]
    )
    tail = (1 - confidence) / 2
    low = np.quantile(draws, tail, axis=0, method="lower")  # no interpolation: draws may be inf
    high = np.quantile(draws, 1 - tail, axis=0, method="higher")
    return data.select("vehicle_id").with_columns(
        pl.Series("expected_soh_pct", expected),
        pl.Series("residual_z", z),
        pl.Series("years_to_70", central),
        pl.Series("years_low", low),
        pl.Series("years_high", high),
    )


def _years_to(
    now: np.ndarray,
    age: np.ndarray,
    rate: np.ndarray,
    calendar: float,
    cycle: float,
    exponent: float = 0.5,
) -> np.ndarray:
    """Years until ``now`` falls to the warranty level along the fade law (bisection)."""

    def lost_by(t: np.ndarray | float) -> np.ndarray:
        calendar_loss = calendar * ((age + t) ** exponent - age**exponent)
        return np.asarray(calendar_loss + cycle * rate * t / 100.0)

    room = now - WARRANTY_SOH_PCT
    lo, hi = np.zeros(len(now)), np.full(len(now), HORIZON_YEARS)
    for _ in range(40):
        mid = (lo + hi) / 2
        past = lost_by(mid) >= room
        hi, lo = np.where(past, mid, hi), np.where(past, lo, mid)
    years = (lo + hi) / 2
    return np.where(room <= 0, 0.0, np.where(lost_by(HORIZON_YEARS) < room, np.inf, years))


def battery_health(
    sums: pl.DataFrame,
    nominal_kwh: Mapping[str, float],
    age_years: Mapping[str, float],
    *,
    min_fleet: int = 10,
) -> pl.DataFrame:
    """State of health of every plug-in of ``sums``, judged against the fleet's ageing law.

    :func:`estimate_soh`, plus :func:`project`'s columns where at least ``min_fleet``
    vehicles with a known age have an estimate (otherwise those columns are null:
    too few vehicles to learn how the fleet ages).
    """
    soh = estimate_soh(sums, nominal_kwh)
    columns = {
        "expected_soh_pct": pl.Float64,
        "residual_z": pl.Float64,
        "years_to_70": pl.Float64,
        "years_low": pl.Float64,
        "years_high": pl.Float64,
    }
    if _fit_rows(soh, age_years).height < max(min_fleet, 10):
        return soh.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in columns.items())
    projected = project(soh, fade_model(soh, age_years), age_years)
    return soh.join(projected, on="vehicle_id", how="left")
