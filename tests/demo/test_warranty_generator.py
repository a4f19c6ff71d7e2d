"""The simulator's warranty history: calibrated on reliability's real data, and reproducing it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from reliability.Datasets import automotive, defective_sample
from scipy import stats

from drivetrain.demo.fleet_builder import build_fleet, select_models
from drivetrain.demo.warranty_generator import SupplierDefect, WarrantyConfig, generate_warranty
from drivetrain.demo.warranty_parts import (
    AUTOMOTIVE_BETA,
    COMPONENTS_BY_NAME,
    DAYS_PER_MONTH,
    DEFECTIVE_SAMPLE_ALPHA,
    DEFECTIVE_SAMPLE_BETA,
    DEFECTIVE_SAMPLE_DS,
)
from drivetrain.errors import InputError
from drivetrain.warranty import fit_life


def test_the_calibration_constants_are_the_fits_of_the_shipped_data() -> None:
    sample = defective_sample()
    ds = fit_life(sample.failures, sample.right_censored, distribution="weibull_ds")
    assert ds.parameters["DS"] == pytest.approx(DEFECTIVE_SAMPLE_DS, rel=2e-3)
    assert ds.parameters["alpha"] == pytest.approx(DEFECTIVE_SAMPLE_ALPHA, rel=2e-3)
    assert ds.parameters["beta"] == pytest.approx(DEFECTIVE_SAMPLE_BETA, rel=2e-3)
    car = automotive()
    weibull = fit_life(car.failures, car.right_censored)
    assert weibull.parameters["beta"] == pytest.approx(AUTOMOTIVE_BETA, rel=1e-3)


def test_a_components_scale_gives_its_warranty_failure_share() -> None:
    for component in COMPONENTS_BY_NAME.values():
        horizon = 36 * DAYS_PER_MONTH
        p = stats.weibull_min.cdf(horizon, AUTOMOTIVE_BETA, scale=component.alpha_days)
        assert p == pytest.approx(component.p_warranty, rel=1e-9)


@pytest.fixture(scope="module")
def mature():  # type: ignore[no-untyped-def]
    """Every vehicle past its warranty: the whole story of each is told."""
    return generate_warranty(
        WarrantyConfig(
            seed=11,
            per_model_month=200,
            models=("fiat-tipo", "hyundai-i30", "tesla-model-3"),
            as_of=date(2029, 12, 31),
        )
    )


def test_background_claims_come_at_the_calibrated_rate(mature) -> None:  # type: ignore[no-untyped-def]
    sold = mature.production.filter(pl.col("sale_date").is_not_null())
    for name in ("head_unit", "window_regulator", "lv_battery"):
        component = COMPONENTS_BY_NAME[name]
        claimed = (
            mature.claims.filter((pl.col("causal_part") == name) & (pl.col("cause") != "repeat"))
            .select("vehicle_id")
            .n_unique()
        )
        n = sold.height
        share = claimed / n
        # the mileage limit ends a few high-mileage warranties early: slightly below
        sd = np.sqrt(component.p_warranty * (1 - component.p_warranty) / n)
        assert component.p_warranty - 0.15 * component.p_warranty - 4 * sd < share
        assert share < component.p_warranty + 4 * sd


def test_the_defect_is_in_its_window_only_and_a_weibull_ds_fit_recovers_it(mature) -> None:  # type: ignore[no-untyped-def]
    d = SupplierDefect()
    prod = mature.production
    in_window = (pl.col("model_id") == d.model_id) & pl.col("build_date").is_between(
        d.build_from, d.build_to
    )
    assert prod.filter(~in_window)["defective"].sum() == 0
    window = prod.filter(in_window)
    share = window["defective"].mean()
    sd = np.sqrt(d.defective_share * (1 - d.defective_share) / window.height)
    assert share == pytest.approx(d.defective_share, abs=4 * sd)
    # round trip: fit the window's first thermostat claims, the others censored at warranty end
    first = (
        mature.claims.filter(pl.col("causal_part") == "thermostat")
        .group_by("vehicle_id")
        .agg(pl.col("repair_date").min())
    )
    ages = window.join(first, on="vehicle_id", how="left").with_columns(
        (pl.col("repair_date") - pl.col("sale_date")).dt.total_days().alias("age")
    )
    failed = ages["age"].drop_nulls().clip(lower_bound=1).to_numpy()
    running = np.full(ages["age"].null_count(), 36 * DAYS_PER_MONTH)
    fit = fit_life(failed, running, distribution="weibull_ds")
    low, high = fit.bounds["DS"]
    # the defect plus the part's own background failures (0.6 % in warranty)
    assert low < d.defective_share + COMPONENTS_BY_NAME["thermostat"].p_warranty < high + 0.01
    assert fit.parameters["alpha"] == pytest.approx(d.alpha_days, rel=0.3)


def test_claims_are_consistent_with_their_vehicles(mature) -> None:  # type: ignore[no-untyped-def]
    joined = mature.claims.join(mature.production, on="vehicle_id")
    assert joined.height == mature.claims.height
    assert (joined["repair_date"] >= joined["sale_date"]).all()
    assert (joined["claim_date"] >= joined["repair_date"]).all()
    assert (joined["mileage_km"] >= 0).all()
    assert mature.claims["claim_id"].n_unique() == mature.claims.height
    days = (joined["repair_date"] - joined["sale_date"]).dt.total_days()
    assert days.max() < 36 * DAYS_PER_MONTH + 130  # a repeat may follow a last-month repair


def test_same_seed_same_history_and_bad_configs_refused() -> None:
    config = WarrantyConfig(seed=3, per_model_month=30, models=("fiat-tipo",))
    a, b = generate_warranty(config), generate_warranty(config)
    assert a.production.equals(b.production) and a.claims.equals(b.claims)
    other = generate_warranty(WarrantyConfig(seed=4, per_model_month=30, models=("fiat-tipo",)))
    assert not other.claims.equals(a.claims)
    with pytest.raises(InputError, match="before"):
        generate_warranty(WarrantyConfig(build_from=date(2024, 5, 1), build_to=date(2024, 1, 1)))
    with pytest.raises(InputError, match="unknown component"):
        generate_warranty(WarrantyConfig(defect=SupplierDefect(component="flux_capacitor")))


def test_the_connected_fleet_is_produced_and_its_faults_are_claimed() -> None:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    fleet = build_fleet(np.random.default_rng(2), 40, select_models(), start)
    recent = [r for r in fleet.records if r.model_year >= 2024]
    faults = pl.DataFrame(
        {
            "vehicle_id": [r.vehicle_id for r in recent],
            "fault": ["lv_battery_degradation"] * len(recent),
            "onset_ts": [start + timedelta(days=3)] * len(recent),
        }
    )
    history = generate_warranty(
        WarrantyConfig(seed=1, per_model_month=10, models=("fiat-tipo",), as_of=date(2026, 12, 31)),
        connected=fleet.records,
        faults=faults,
    )
    connected = history.production.filter(pl.col("connected"))
    assert sorted(connected["vin"].to_list()) == sorted(r.vin for r in fleet.records)
    assert set(connected["vehicle_id"]) == {r.vehicle_id for r in fleet.records}
    for record in fleet.records:
        row = connected.filter(pl.col("vin") == record.vin).row(0, named=True)
        assert row["model_id"] == record.model_id and row["market"] == record.market
        assert (
            date(record.model_year - 1, 7, 1) <= row["build_date"] <= date(record.model_year, 6, 30)
        )
    in_warranty = 0
    for record in recent:
        claimed = history.claims.filter(
            (pl.col("vehicle_id") == record.vehicle_id) & (pl.col("cause") == "fault")
        )
        sale = connected.filter(pl.col("vin") == record.vin)["sale_date"][0]
        covered = (date(2026, 10, 4) - sale).days < 36 * DAYS_PER_MONTH
        assert claimed.height == int(covered)
        if covered:
            in_warranty += 1
            assert claimed["causal_part"][0] == "lv_battery"
            assert claimed["repair_date"][0] > date(2026, 10, 4)
    assert in_warranty > 0, "no fault vehicle under warranty: the test shows nothing"
