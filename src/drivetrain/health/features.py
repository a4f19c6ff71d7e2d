"""Daily condition indicators per vehicle, computed from long-format telemetry.

A fleet produces billions of raw samples; diagnosis needs a handful of numbers
per vehicle and day that move when a component degrades — the *condition
indicators* of condition monitoring (ISO 13374). Each :class:`Indicator` says
which signals it reads, how it is computed and in which direction it goes bad,
so that detection, evaluation and explanations all speak of the same thing:

* ``coolant_warm_c`` — 95th percentile of coolant temperature once a trip has
  run :data:`WARM_AFTER_S` (a healthy engine is warm by then, whatever the
  weather): a thermostat stuck open keeps the engine cold;
* ``rpm_jitter`` — median change of engine speed between consecutive samples
  while vehicle speed and engine load hold steady: a misfire makes the engine
  run rough, at idle and at cruise alike;
* ``lv_min_v`` — lowest 12 V battery voltage of the day, i.e. the sag at
  cranking (the resting voltage for cars without a starter): a weak battery
  sags deeper;
* ``tyre_<wheel>_delta_kpa`` — median pressure of a tyre minus the median of the
  other three: ambient temperature moves all four, a leak moves one;
* ``cell_spread_v`` — 95th percentile of max - min cell voltage of the traction
  battery: imbalance grows it;
* ``pad_wear_ratio_fl`` — front-left pad wear of the day over front-right: a
  sticking caliper wears one side several times faster;
* ``pad_wear_pct`` — the more worn front pad's wear at the end of the day: a
  *wear* indicator, rising on every car, that predictive maintenance
  extrapolates (:mod:`drivetrain.health.wear`) and anomaly detection ignores.

Everything is a polars expression over one Arrow table (typically one day of
the lake's ``telemetry`` partition), so a fleet is processed day by day in
bounded memory, and the same function can run on a distributed engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl
import pyarrow as pa

from drivetrain.errors import SchemaMismatch

ENGINE_SPEED = "Vehicle.Powertrain.CombustionEngine.Speed"
COOLANT = "Vehicle.Powertrain.CombustionEngine.EngineCoolant.Temperature"
SPEED = "Vehicle.Speed"
LV_VOLTAGE = "Vehicle.LowVoltageBattery.CurrentVoltage"
CELL_MAX = "Vehicle.Powertrain.TractionBattery.CellVoltage.Max"
CELL_MIN = "Vehicle.Powertrain.TractionBattery.CellVoltage.Min"
WHEELS = ("Row1.Wheel.Left", "Row1.Wheel.Right", "Row2.Wheel.Left", "Row2.Wheel.Right")
TYRES = {w: f"Vehicle.Chassis.Axle.{w}.Tire.Pressure" for w in WHEELS}
PAD_FL = "Vehicle.Chassis.Axle.Row1.Wheel.Left.Brake.PadWear"
PAD_FR = "Vehicle.Chassis.Axle.Row1.Wheel.Right.Brake.PadWear"
_SHORT = {"Row1.Wheel.Left": "fl", "Row1.Wheel.Right": "fr", "Row2.Wheel.Left": "rl",
          "Row2.Wheel.Right": "rr"}  # fmt: skip

ENGINE_LOAD = "Vehicle.OBD.EngineLoad"
WARM_AFTER_S = 900  # a trip's first 15 minutes are warm-up
TRIP_GAP_S = 300  # samples further apart than 5 minutes belong to different trips
STEADY_SPEED_KMH = 0.5  # consecutive samples this close in speed…
STEADY_LOAD_PCT = 3.0  # …and in engine load are "steady"
STEADY_GAP_S = 15  # …if at most this far apart
# signals that move whenever a car is used; one value all day is a stuck sensor
MUST_MOVE = (COOLANT, ENGINE_SPEED, LV_VOLTAGE, CELL_MAX, CELL_MIN)
MIN_SAMPLES = 20  # fewer samples of a day make no indicator: "insufficient data", not a number
MIN_PAD_WEAR = 0.005  # % of pad: below, a day's wear is too small to compare sides
MAX_CLOCK_SKEW_US = 2_000_000  # signals of one moment may be logged up to 2 s apart

Direction = Literal["low", "high"]
Kind = Literal["condition", "wear"]


@dataclass(frozen=True, slots=True)
class Indicator:
    """A daily condition indicator: what it reads and which way it goes bad."""

    name: str
    signals: tuple[str, ...]
    bad: Direction
    unit: str
    description: str
    kind: Kind = "condition"


INDICATORS: tuple[Indicator, ...] = (
    Indicator("coolant_warm_c", (COOLANT,), "low", "°C",
              "95th percentile of coolant temperature after 15 minutes of a trip"),
    Indicator("rpm_jitter", (ENGINE_SPEED, SPEED, ENGINE_LOAD), "high", "rpm",
              "median engine-speed change between steady consecutive samples"),
    Indicator("lv_min_v", (LV_VOLTAGE,), "low", "V",
              "lowest 12 V battery voltage of the day (the sag at cranking)"),
    *(
        Indicator(f"tyre_{_SHORT[w]}_delta_kpa", tuple(TYRES.values()), "low", "kPa",
                  f"median {w} tyre pressure minus the median of the other three")
        for w in WHEELS
    ),
    Indicator("cell_spread_v", (CELL_MAX, CELL_MIN), "high", "V",
              "95th percentile of the traction battery's max - min cell voltage"),
    Indicator("pad_wear_ratio_fl", (PAD_FL, PAD_FR), "high", "×",
              "front-left brake pad wear of the day over front-right"),
    Indicator("pad_wear_pct", (PAD_FL, PAD_FR), "high", "%",
              "wear of the more worn front brake pad at the end of the day", "wear"),
)  # fmt: skip
INDICATORS_BY_NAME = {i.name: i for i in INDICATORS}
FEATURE_SCHEMA = {
    "vehicle_id": pl.String,
    "day": pl.Date,
    "indicator": pl.String,
    "value": pl.Float64,
    "samples": pl.UInt32,
}


_PREPARED = {
    "vehicle_id": pl.String(),
    "ts": pl.Datetime("us", "UTC"),
    "signal": pl.String(),
    "value": pl.Float64(),
    "day": pl.Date(),
}


def long_frame(telemetry: pa.Table | pl.DataFrame) -> pl.DataFrame:
    """Telemetry as the polars frame every health function works on (with its ``day``).

    Converting a day's Arrow table once and passing the frame on saves each
    function its own conversion; a frame that is already prepared is returned as is.
    """
    if isinstance(telemetry, pl.DataFrame) and dict(telemetry.schema) == _PREPARED:
        return telemetry
    df = telemetry if isinstance(telemetry, pl.DataFrame) else pl.from_arrow(telemetry)
    assert isinstance(df, pl.DataFrame)
    missing = {"vehicle_id", "ts", "signal", "value"} - set(df.columns)
    if missing:
        raise SchemaMismatch(
            f"telemetry lacks column(s) {', '.join(sorted(missing))}",
            hint="pass rows of the lake's telemetry table (vehicle_id, ts, signal, value)",
        )
    return df.select(
        pl.col("vehicle_id").cast(pl.String),
        pl.col("ts").cast(pl.Datetime("us", "UTC")),
        pl.col("signal").cast(pl.String),
        pl.col("value").cast(pl.Float64),
    ).with_columns(pl.col("ts").dt.date().alias("day"))


_long = long_frame  # the name the health modules used first


def _signal(df: pl.DataFrame, path: str, name: str) -> pl.DataFrame:
    return (
        df.filter(pl.col("signal") == path)
        .select("vehicle_id", "day", "ts", pl.col("value").alias(name))
        .sort("vehicle_id", "ts")
    )


def _rows(frame: pl.DataFrame, indicator: str) -> pl.DataFrame:
    return frame.select(
        "vehicle_id",
        "day",
        pl.lit(indicator).alias("indicator"),
        pl.col("value").cast(pl.Float64),
        pl.col("samples").cast(pl.UInt32),
    )


def _per_day(df: pl.DataFrame, path: str, indicator: str, stat: pl.Expr) -> pl.DataFrame:
    return _rows(
        _signal(df, path, "x")
        .group_by("vehicle_id", "day")
        .agg(stat.alias("value"), pl.len().alias("samples")),
        indicator,
    )


def _nearest(left: pl.DataFrame, df: pl.DataFrame, path: str, name: str) -> pl.DataFrame:
    """``left`` with signal ``path`` (as ``name``) logged nearest to each of its rows (<= 2 s)."""
    return left.join_asof(
        _signal(df, path, name).drop("day"),
        on="ts",
        by="vehicle_id",
        strategy="nearest",
        tolerance=MAX_CLOCK_SKEW_US,
        check_sortedness=False,
    )


def _with_speed(df: pl.DataFrame, path: str, name: str) -> pl.DataFrame:
    """Samples of ``path`` with the vehicle speed logged nearest to them (within 2 s)."""
    return _nearest(_signal(df, path, name), df, SPEED, "speed")


def _coolant_warm(df: pl.DataFrame) -> pl.DataFrame:
    samples = _signal(df, COOLANT, "coolant")
    gap = pl.col("ts").diff().over("vehicle_id").dt.total_seconds()
    trip = (gap.is_null() | (gap > TRIP_GAP_S)).cum_sum().over("vehicle_id")
    warm = samples.with_columns(trip.alias("trip")).filter(
        (pl.col("ts") - pl.col("ts").min().over("vehicle_id", "trip")).dt.total_seconds()
        >= WARM_AFTER_S
    )
    return _rows(
        warm.group_by("vehicle_id", "day").agg(
            pl.col("coolant").quantile(0.95).alias("value"), pl.len().alias("samples")
        ),
        "coolant_warm_c",
    )


def _rpm_jitter(df: pl.DataFrame) -> pl.DataFrame:
    rpm = _with_speed(df, ENGINE_SPEED, "rpm")
    if df.filter(pl.col("signal") == ENGINE_LOAD).height:
        rpm = _nearest(rpm, df, ENGINE_LOAD, "load")
    else:  # a model without an engine-load signal: steady speed alone
        rpm = rpm.with_columns(pl.lit(0.0).alias("load"))
    step = {c: pl.col(c).diff().over("vehicle_id") for c in ("rpm", "speed", "load", "ts")}
    steady = rpm.with_columns(
        step["rpm"].abs().alias("jump"),
        pl.col("rpm").shift().over("vehicle_id").alias("before"),
        (step["speed"].abs() < STEADY_SPEED_KMH).alias("same_speed"),
        (step["load"].abs().fill_null(0.0) < STEADY_LOAD_PCT).alias("same_load"),
        (step["ts"].dt.total_seconds() <= STEADY_GAP_S).alias("close"),
    ).filter(
        pl.col("same_speed")
        & pl.col("same_load")
        & pl.col("close")
        & (pl.col("rpm") > 0)
        & (pl.col("before") > 0)
    )
    return _rows(
        steady.group_by("vehicle_id", "day").agg(
            pl.col("jump").median().alias("value"), pl.len().alias("samples")
        ),
        "rpm_jitter",
    )


def _tyre_deltas(df: pl.DataFrame) -> pl.DataFrame:
    medians = (
        df.filter(pl.col("signal").is_in(list(TYRES.values())))
        .group_by("vehicle_id", "day", "signal")
        .agg(pl.col("value").median().alias("p"), pl.len().alias("n"))
        .pivot(on="signal", index=["vehicle_id", "day"], values=["p", "n"])
    )
    if medians.is_empty() or not all(f"p_{p}" in medians.columns for p in TYRES.values()):
        return pl.DataFrame(schema=FEATURE_SCHEMA)
    parts = []
    for wheel, path in TYRES.items():
        others = [pl.col(f"p_{p}") for w, p in TYRES.items() if w != wheel]
        parts.append(
            medians.select(
                "vehicle_id",
                "day",
                pl.lit(f"tyre_{_SHORT[wheel]}_delta_kpa").alias("indicator"),
                (pl.col(f"p_{path}") - pl.concat_list(others).list.median()).alias("value"),
                pl.col(f"n_{path}").cast(pl.UInt32).alias("samples"),
            )
        )
    return pl.concat(parts)


def _cell_spread(df: pl.DataFrame) -> pl.DataFrame:
    both = _nearest(_signal(df, CELL_MAX, "high"), df, CELL_MIN, "low").drop_nulls("low")
    return _rows(
        both.group_by("vehicle_id", "day").agg(
            (pl.col("high") - pl.col("low")).quantile(0.95).alias("value"),
            pl.len().alias("samples"),
        ),
        "cell_spread_v",
    )


def _pad_ratio(df: pl.DataFrame) -> pl.DataFrame:
    wear = [
        _signal(df, path, "x")
        .group_by("vehicle_id", "day")
        .agg((pl.col("x").max() - pl.col("x").min()).alias(side), pl.len().alias(f"n_{side}"))
        for path, side in ((PAD_FL, "fl"), (PAD_FR, "fr"))
    ]
    both = wear[0].join(wear[1], on=["vehicle_id", "day"])
    return _rows(
        both.filter(pl.col("fr") >= MIN_PAD_WEAR).select(
            "vehicle_id",
            "day",
            (pl.col("fl") / pl.col("fr")).alias("value"),
            pl.min_horizontal("n_fl", "n_fr").alias("samples"),
        ),
        "pad_wear_ratio_fl",
    )


def _pad_level(df: pl.DataFrame) -> pl.DataFrame:
    pads = df.filter(pl.col("signal").is_in([PAD_FL, PAD_FR]))
    return _rows(
        pads.group_by("vehicle_id", "day").agg(
            pl.col("value").max().alias("value"), pl.len().alias("samples")
        ),
        "pad_wear_pct",
    )


def _detached(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its own string buffers.

    Polars string columns are views: a few thousand indicator rows computed from
    a day of telemetry would otherwise keep that whole day's strings alive (about
    0.27 GB per day on a 10,000-vehicle fleet, measured), and a month's scan grew
    to 10 GB. A round trip through Arrow's plain strings copies just the values.
    """
    copied = pl.from_arrow(frame.to_arrow(compat_level=pl.CompatLevel.oldest()))
    assert isinstance(copied, pl.DataFrame)
    return copied


def stuck_signals(telemetry: pa.Table | pl.DataFrame) -> pl.DataFrame:
    """Vehicle-days on which a signal that must move while a car is used did not move.

    A coolant temperature, engine speed, 12 V voltage or cell voltage that reads
    the same value all day long over at least :data:`MIN_SAMPLES` samples is a
    stuck sensor (or a frozen gateway value), not a healthy car:
    ``(vehicle_id, day, signal, value, samples)``.
    """
    df = _long(telemetry)
    return (
        df.filter(pl.col("signal").is_in(list(MUST_MOVE)))
        .group_by("vehicle_id", "day", "signal")
        .agg(
            pl.col("value").first(),
            pl.col("value").n_unique().alias("distinct"),
            pl.len().alias("samples"),
        )
        # an engine that read 0 all day was off all day (a hybrid driving on electricity)
        .filter(
            (pl.col("distinct") == 1)
            & (pl.col("samples") >= MIN_SAMPLES)
            & ~((pl.col("signal") == ENGINE_SPEED) & (pl.col("value") == 0))
        )
        .drop("distinct")
        .sort("vehicle_id", "day", "signal")
        .pipe(_detached)
    )


def daily_indicators(telemetry: pa.Table | pl.DataFrame) -> pl.DataFrame:
    """The condition indicators of every vehicle and day in ``telemetry``.

    Long format ``(vehicle_id, day, indicator, value, samples)``. A vehicle-day
    gets an indicator only if its model reports the signals, the day has at
    least :data:`MIN_SAMPLES` of them, and none of them is stuck
    (:func:`stuck_signals`): a missing row means "insufficient data", never a
    guess.
    """
    df = _long(telemetry)
    parts = [
        _coolant_warm(df),
        _rpm_jitter(df),
        _per_day(df, LV_VOLTAGE, "lv_min_v", pl.col("x").min()),
        _tyre_deltas(df),
        _cell_spread(df),
        _pad_ratio(df),
        _pad_level(df),
    ]
    out = pl.concat([p.cast(FEATURE_SCHEMA) for p in parts])  # type: ignore[arg-type]
    out = out.filter(pl.col("samples") >= MIN_SAMPLES)
    stuck = stuck_signals(df)
    if stuck.height:
        uses = pl.DataFrame(
            [(i.name, s) for i in INDICATORS for s in i.signals],
            schema={"indicator": pl.String, "signal": pl.String},
            orient="row",
        )
        spoiled = stuck.join(uses, on="signal").select("vehicle_id", "day", "indicator").unique()
        out = out.join(spoiled, on=["vehicle_id", "day", "indicator"], how="anti")
    return _detached(out.sort("vehicle_id", "indicator", "day"))
