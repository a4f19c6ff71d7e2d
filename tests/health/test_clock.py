"""Clock jumps: vehicle-days with inconsistent timestamps are found and never scored."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from drivetrain.fleet import list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.health.clock import (
    ODOMETER,
    clock_faults,
    odometer_backwards_across_days,
    odometer_days,
)
from drivetrain.health.scan import fleet_scan
from drivetrain.lake import Lake
from drivetrain.settings import Settings
from drivetrain.state import session_scope

from .conftest import EVERYWHERE


def _telemetry(fleet: Settings) -> pl.DataFrame:
    df = pl.from_arrow(
        Lake(fleet.lake_dir).read("telemetry", columns=["vehicle_id", "ts", "signal", "value"])
    )
    assert isinstance(df, pl.DataFrame)
    return df


def _odometer_vehicle(df: pl.DataFrame, among: set[str] | None = None) -> str:
    """A vehicle (of ``among``) that reports its odometer and drove on at least four days."""
    if among is not None:
        df = df.filter(pl.col("vehicle_id").is_in(sorted(among)))
    odo = df.filter(pl.col("signal") == ODOMETER).with_columns(pl.col("ts").dt.date().alias("day"))
    busy = odo.group_by("vehicle_id").agg(pl.col("day").n_unique().alias("days"))
    return str(busy.filter(pl.col("days") >= 4).sort("vehicle_id")["vehicle_id"][0])


def _jumped(
    df: pl.DataFrame, vehicle: str, shift: timedelta | None = None
) -> tuple[pl.DataFrame, date]:
    """``df`` with the second driving day of ``vehicle`` stamped late (its clock jumped), and
    the day the late samples start on. By default they start in the middle of the vehicle's
    next driving day, among that day's own samples; or ``shift`` late."""
    own = df.filter(pl.col("vehicle_id") == vehicle).with_columns(pl.col("ts").dt.date().alias("d"))
    days = sorted(own["d"].unique().to_list())
    moved = own.filter(pl.col("d") == days[1])
    if shift is None:
        following = own.filter(pl.col("d") == days[2])["ts"]
        middle = following.min() + (following.max() - following.min()) / 2  # type: ignore[operator]
        shift = middle - moved["ts"].min()  # type: ignore[operator]
    assert shift is not None
    start = moved["ts"].min() + shift  # type: ignore[operator]
    late = pl.col("vehicle_id").eq(vehicle) & pl.col("ts").dt.date().eq(days[1])
    out = df.with_columns(
        pl.when(late).then(pl.col("ts") + shift).otherwise(pl.col("ts")).alias("ts")
    )
    return out, start.date()


def test_the_simulated_fleet_has_no_clock_faults(fleet: Settings) -> None:
    df = _telemetry(fleet)
    assert df.filter(pl.col("signal") == ODOMETER).height > 1000  # the check has data to judge
    assert clock_faults(df).is_empty()
    assert odometer_backwards_across_days(odometer_days(df)).is_empty()


def test_a_day_stamped_a_day_late_is_found(fleet: Settings) -> None:
    df = _telemetry(fleet)
    vehicle = _odometer_vehicle(df)
    jumped, landed = _jumped(df, vehicle)
    found = clock_faults(jumped)
    assert found["vehicle_id"].unique().to_list() == [vehicle]
    # the late samples sit among the next day's own: the odometer runs backwards there
    assert "odometer_backwards" in found.filter(pl.col("day") == landed)["check"].to_list()


def test_a_day_stamped_a_week_late_is_found_across_days(fleet: Settings) -> None:
    df = _telemetry(fleet)
    vehicle = _odometer_vehicle(df)
    jumped, _ = _jumped(df, vehicle, timedelta(days=40))  # after everything else: a day alone
    per_day = odometer_days(jumped)
    across = odometer_backwards_across_days(per_day)
    assert across["vehicle_id"].unique().to_list() == [vehicle]
    assert "below the" in across["detail"][0]


def test_two_values_at_one_instant_mark_the_day() -> None:
    t0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
    ts = [t0 + timedelta(seconds=i) for i in range(10)]
    one = pl.DataFrame({"vehicle_id": "v", "ts": ts, "signal": "Vehicle.Speed", "value": 50.0})
    other = one.with_columns(pl.col("value") + 20)  # a second moment folded onto the same times
    assert clock_faults(one).is_empty()
    assert clock_faults(pl.concat([one, one])).is_empty()  # a duplicate is not a conflict
    found = clock_faults(pl.concat([one, other]))
    assert found.select("vehicle_id", "check").rows() == [("v", "conflicting_samples")]
    assert found["detail"][0].startswith("10 instants")


def test_the_scan_withholds_the_jumped_days(fleet: Settings, tmp_path: Path) -> None:
    with session_scope(fleet.resolved_state_url) as session:
        vehicles = list_vehicles(session)
    df = _telemetry(fleet)
    readable = {v.vehicle_id for v in vehicles if v.region in ("eu", "us")}
    vehicle = _odometer_vehicle(df, readable)
    few = {vehicle, *sorted(readable - {vehicle})[:7]}
    subset = df.filter(pl.col("vehicle_id").is_in(list(few)))
    jumped, landed = _jumped(subset, vehicle)
    lake = Lake(tmp_path / "lake")
    lake.append("telemetry", jumped.to_arrow())
    chosen = [v for v in vehicles if v.vehicle_id in few]
    context = AccessContext(EVERYWHERE, "vehicle_health")
    report = fleet_scan(lake, context, chosen)
    flagged = report.clock.filter(pl.col("vehicle_id") == vehicle)
    assert landed in flagged["day"].to_list()
    assert report.clock["vehicle_id"].unique().to_list() == [vehicle]
    scored = report.features.filter(pl.col("vehicle_id") == vehicle)["day"].unique().to_list()
    assert landed not in scored and len(scored) >= 2  # its other days are still scored
    clean = Lake(tmp_path / "clean")
    clean.append("telemetry", subset.to_arrow())
    before = fleet_scan(clean, context, chosen).features
    assert landed in before.filter(pl.col("vehicle_id") == vehicle)["day"].to_list()
