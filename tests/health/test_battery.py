"""Traction battery state of health: against the simulator's truth and an independent fit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from drivetrain.demo.simulator import SimulationConfig, simulate_fleet
from drivetrain.fleet import list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.health.battery import (
    CHARGED,
    CONSUMED,
    SIGNALS,
    SOC,
    WARRANTY_SOH_PCT,
    X_ERROR_VAR,
    FadeModel,
    _years_to,
    battery_health,
    capacity_sums,
    estimate_soh,
)
from drivetrain.health.scan import fleet_scan
from drivetrain.lake import Lake
from drivetrain.settings import Settings
from drivetrain.state import session_scope

from .conftest import EVERYWHERE

PLUG_INS = SimulationConfig(
    vehicles=120, days=14, seed=11, start=date(2026, 5, 4),
    models=("tesla-model-3", "chrysler-pacifica-hybrid"),
)  # fmt: skip


@pytest.fixture(scope="module")
def plug_ins(tmp_path_factory: pytest.TempPathFactory) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The plug-in fleet's battery telemetry and the simulator's truth."""
    lake = Lake(tmp_path_factory.mktemp("plug-ins") / "lake")
    simulate_fleet(PLUG_INS, lake)
    wanted = pc.field("signal").isin(pa.array(list(SIGNALS)))
    telemetry = pl.from_arrow(lake.read("telemetry", filter=wanted))
    truth = pl.from_arrow(lake.read("sim_battery"))
    assert isinstance(telemetry, pl.DataFrame) and isinstance(truth, pl.DataFrame)
    return telemetry, truth


def _facts(truth: pl.DataFrame) -> tuple[dict[str, float], dict[str, float]]:
    ids = truth["vehicle_id"].to_list()
    return (
        dict(zip(ids, truth["nominal_kwh"].to_list(), strict=True)),
        dict(zip(ids, truth["age_years"].to_list(), strict=True)),
    )


def test_state_of_health_matches_the_truth_within_its_interval(
    plug_ins: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    telemetry, truth = plug_ins
    nominal, _ = _facts(truth)
    soh = estimate_soh(capacity_sums(telemetry), nominal)
    assert set(soh["vehicle_id"]) <= set(truth["vehicle_id"])  # plug-ins only
    estimated = soh.filter(pl.col("status") == "estimated").join(
        truth.select("vehicle_id", pl.col("soh_pct").alias("true")), on="vehicle_id"
    )
    assert estimated.height >= 0.9 * truth.height
    error = estimated["soh_pct"] - estimated["true"]
    assert float(error.abs().mean()) < 0.4  # percentage points; measured 0.15
    assert abs(float(error.mean())) < 0.15  # no bias left from the counters' truncation
    inside = estimated.filter(pl.col("true").is_between(pl.col("soh_low"), pl.col("soh_high")))
    assert inside.height >= 0.7 * estimated.height  # nominal 90 %; measured about 80 %


def test_the_day_sums_give_the_slope_of_a_regression_with_a_constant_per_trip(
    plug_ins: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """An independent reference: numpy's least squares with one dummy column per trip."""
    telemetry, truth = plug_ins
    vehicle = truth.sort("vehicle_id")["vehicle_id"][0]
    own = telemetry.filter(pl.col("vehicle_id") == vehicle)
    wide = own.pivot(on="signal", index="ts", values="value").drop_nulls().sort("ts")
    gaps = wide["ts"].diff().dt.total_seconds().fill_null(10**9).to_numpy()
    trip = np.cumsum(gaps > 300)
    x = (wide[CONSUMED] - wide[CHARGED]).to_numpy()
    y = wide[SOC].to_numpy()
    keep = (y >= 1) & (y <= 99)
    x, y, trip = x[keep], y[keep], trip[keep]
    swing = {t: np.ptp(y[trip == t]) for t in np.unique(trip)}
    used = np.array([swing[t] >= 2.0 for t in trip])
    x, y, trip = x[used], y[used], trip[used]
    trips = np.unique(trip)
    dummies = (trip[:, None] == trips[None, :]).astype(float)
    coef, *_ = np.linalg.lstsq(np.column_stack([x, dummies]), y, rcond=None)
    sums = capacity_sums(own).select(pl.col("sxx").sum(), pl.col("sxy").sum())
    # our sxx has the counters' known error variance taken out; put it back to compare
    sxx = sums["sxx"][0] + (len(x) - len(trips)) * X_ERROR_VAR
    assert sums["sxy"][0] / sxx == pytest.approx(coef[0], rel=1e-9)


def test_too_little_driving_is_insufficient_data() -> None:
    t0 = datetime(2026, 3, 1, 8, tzinfo=UTC)
    rows = []
    for i in range(30):  # one 5-minute trip that uses 1.5 % of the charge
        ts = t0 + timedelta(seconds=10 * i)
        rows += [
            ("v", ts, SOC, 80.0 - 0.05 * i),
            ("v", ts, CONSUMED, 1000.0 + 0.03 * i),
            ("v", ts, CHARGED, 900.0),
        ]
    df = pl.DataFrame(rows, schema=["vehicle_id", "ts", "signal", "value"], orient="row")
    out = estimate_soh(capacity_sums(df), {"v": 57.5})
    # a trip under the minimum swing is not used at all: no row, no number
    assert out.is_empty() or out["status"].to_list() == ["insufficient_data"]
    assert estimate_soh(capacity_sums(df), {}).filter(pl.col("soh_pct").is_not_null()).is_empty()


def test_years_to_the_warranty_level_follow_the_law() -> None:
    now, age, rate = np.array([90.0, 75.0, 69.0]), np.array([2.0, 2.0, 2.0]), np.full(3, 40.0)
    # cycle ageing alone: a straight line, years = room / (cycle · rate / 100)
    years = _years_to(now, age, rate, calendar=0.0, cycle=2.0)
    assert years == pytest.approx([(90 - WARRANTY_SOH_PCT) / 0.8, (75 - 70) / 0.8, 0.0], rel=1e-6)
    # calendar ageing alone: √(age + t) - √age = room / calendar
    years = _years_to(now[:1], age[:1], np.zeros(1), calendar=6.0, cycle=0.0)
    assert years[0] == pytest.approx((np.sqrt(2.0) + 20.0 / 6.0) ** 2 - 2.0, rel=1e-6)
    assert np.isinf(_years_to(now[:1], age[:1], np.zeros(1), calendar=0.01, cycle=0.0))[0]
    assert FadeModel(1.0, 2.0, 0.5, 0.5, 10, np.zeros((1, 3))).loss(
        np.array([4.0]), np.array([50.0])
    )[0] == pytest.approx(3.0)


def test_weak_packs_stand_out_from_the_fleet_law(
    plug_ins: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    telemetry, truth = plug_ins
    nominal, age = _facts(truth)
    health = battery_health(capacity_sums(telemetry), nominal, age).join(
        truth.select("vehicle_id", "weak_pack"), on="vehicle_id"
    )
    judged = health.filter(pl.col("residual_z").is_not_null())
    assert judged.height >= 100
    weak = judged.filter(pl.col("weak_pack"))
    assert weak.height >= 2  # the seed gives the fleet some weak packs to find
    assert (weak["residual_z"] < -4).all()
    assert judged.filter(~pl.col("weak_pack") & (pl.col("residual_z") < -4)).height <= 1
    years = judged["years_to_70"]
    assert (years > 0).all()
    bounded = judged.filter(pl.col("years_high").is_finite())
    assert (bounded["years_low"] <= bounded["years_to_70"]).all()
    assert (bounded["years_to_70"] <= bounded["years_high"]).all()


def test_the_scan_reports_the_plug_ins_battery_health(fleet: Settings, tmp_path: Path) -> None:
    with session_scope(fleet.resolved_state_url) as session:
        vehicles = list_vehicles(session)
    report = fleet_scan(Lake(fleet.lake_dir), AccessContext(EVERYWHERE, "vehicle_health"), vehicles)
    teslas = {v.vehicle_id for v in vehicles if v.model_id == "tesla-model-3"}
    scanned = set(report.features["vehicle_id"].to_list())
    assert set(report.battery["vehicle_id"].to_list()) == teslas & scanned
    truth = pl.from_arrow(Lake(fleet.lake_dir).read("sim_battery"))
    assert isinstance(truth, pl.DataFrame)
    both = report.battery.filter(pl.col("status") == "estimated").join(
        truth.select("vehicle_id", pl.col("soh_pct").alias("true")), on="vehicle_id"
    )
    assert both.height >= 3
    assert float((both["soh_pct"] - both["true"]).abs().max()) < 1.5
