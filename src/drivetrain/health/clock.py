"""Vehicle-days whose timestamps cannot be trusted: clock jumps.

A logger or gateway whose real-time clock jumps (a reset to a default date, a
wrong time zone applied for a while, a GPS time fix arriving mid-trip) stamps
samples with the wrong time. They land on the wrong day and in the wrong
order, and every indicator of that day would be computed from a mixture of
two moments: a fabricated number. Ingestion refuses timestamps that cannot be
right at all (before 1996 or in the future, :mod:`drivetrain.ingest.sink`);
the jumps that stay within a plausible range are found here, from the data's
own physics, and the vehicle-days they touch are withheld from scoring
("insufficient data"), never scored.

Two checks, both per vehicle:

* ``odometer_backwards`` — the odometer (``Vehicle.TraveledDistance``) never
  runs backwards in true time. In timestamp order it does when samples carry
  the wrong time: a reading more than :data:`ODOMETER_TOLERANCE_M` below one
  stamped earlier (on the same day, or on an earlier day of the scan) marks the
  day holding it. Only models that report an odometer can be checked this way.
* ``conflicting_samples`` — one signal with two different values at the same
  instant: two moments folded onto one time axis. :data:`MIN_CONFLICTS`
  such instants of a signal in :data:`CONFLICT_SIGNALS` on a day mark it.

:func:`clock_faults` checks a table (a day, or any span); :func:`odometer_days`
and :func:`odometer_backwards_across_days` let a day-by-day scan carry the
check across day boundaries with a per-day summary instead of keeping the raw
rows.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from drivetrain.health.features import long_frame as _long

ODOMETER = "Vehicle.TraveledDistance"
ODOMETER_TOLERANCE_M = 50.0  # odometers count in steps of 1-100 m; they never step back
# two moments folded onto one time axis fold every signal; the ones every vehicle reports
# often are enough to see it, at a fraction of the cost of checking all of them
CONFLICT_SIGNALS = ("Vehicle.Speed", "Vehicle.LowVoltageBattery.CurrentVoltage", ODOMETER)
MIN_CONFLICTS = 3  # instants with two values of one signal that make a day untrustworthy
CLOCK_SCHEMA: dict[str, pl.DataType] = {
    "vehicle_id": pl.String(),
    "day": pl.Date(),
    "check": pl.String(),
    "detail": pl.String(),
}
ODOMETER_DAY_SCHEMA: dict[str, pl.DataType] = {
    "vehicle_id": pl.String(),
    "day": pl.Date(),
    "low_m": pl.Float64(),
    "high_m": pl.Float64(),
}


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=CLOCK_SCHEMA)


def odometer_days(telemetry: pa.Table | pl.DataFrame) -> pl.DataFrame:
    """Lowest and highest odometer reading per vehicle and day (for the cross-day check)."""
    df = _long(telemetry)
    return (
        df.filter(pl.col("signal") == ODOMETER)
        .group_by("vehicle_id", "day")
        .agg(pl.col("value").min().alias("low_m"), pl.col("value").max().alias("high_m"))
        .cast(ODOMETER_DAY_SCHEMA)  # type: ignore[arg-type]
    )


def odometer_backwards_across_days(days: pl.DataFrame) -> pl.DataFrame:
    """Days whose lowest odometer reading is below the highest of an earlier day.

    ``days`` is :func:`odometer_days` of several days (one vehicle-day per row).
    """
    if days.is_empty():
        return _empty()
    earlier = pl.col("high_m").cum_max().shift(1).over("vehicle_id", order_by="day")
    return (
        days.sort("vehicle_id", "day")
        .with_columns(earlier.alias("earlier_high"))
        .filter(pl.col("low_m") < pl.col("earlier_high") - ODOMETER_TOLERANCE_M)
        .select(
            "vehicle_id",
            "day",
            pl.lit("odometer_backwards").alias("check"),
            pl.format(
                "odometer reads {} m, below the {} m of an earlier day",
                pl.col("low_m").round(0),
                pl.col("earlier_high").round(0),
            ).alias("detail"),
        )
        .cast(CLOCK_SCHEMA)  # type: ignore[arg-type]
    )


def clock_faults(telemetry: pa.Table | pl.DataFrame) -> pl.DataFrame:
    """Vehicle-days of ``telemetry`` whose timestamps are inconsistent.

    ``(vehicle_id, day, check, detail)``, one row per vehicle-day and check; see
    the module's documentation for the checks.
    """
    df = _long(telemetry)
    odo = df.filter(pl.col("signal") == ODOMETER).sort("vehicle_id", "ts")
    before = pl.col("value").cum_max().shift(1).over("vehicle_id")
    backwards = (
        odo.with_columns(before.alias("before"))
        .filter(pl.col("value") < pl.col("before") - ODOMETER_TOLERANCE_M)
        .group_by("vehicle_id", "day")
        .agg(pl.len().alias("n"), (pl.col("before") - pl.col("value")).max().alias("drop"))
        .select(
            "vehicle_id",
            "day",
            pl.lit("odometer_backwards").alias("check"),
            pl.format(
                "{} odometer reading(s) up to {} m below an earlier one",
                pl.col("n"),
                pl.col("drop").round(0),
            ).alias("detail"),
        )
    )
    conflicts = (
        df.filter(pl.col("signal").is_in(list(CONFLICT_SIGNALS)))
        # only instants logged twice can conflict: find them with one hash pass first
        .filter(pl.struct("vehicle_id", "signal", "ts").is_duplicated())
        .group_by("vehicle_id", "signal", "ts")
        .agg(pl.col("value").n_unique().alias("values"), pl.col("day").first())
        .filter(pl.col("values") > 1)
        .group_by("vehicle_id", "day")
        .agg(pl.len().alias("n"))
        .filter(pl.col("n") >= MIN_CONFLICTS)
        .select(
            "vehicle_id",
            "day",
            pl.lit("conflicting_samples").alias("check"),
            pl.format("{} instants with two different values of one signal", pl.col("n")).alias(
                "detail"
            ),
        )
    )
    out = pl.concat([backwards.cast(CLOCK_SCHEMA), conflicts.cast(CLOCK_SCHEMA)])  # type: ignore[arg-type]
    return out.sort("vehicle_id", "day", "check")
