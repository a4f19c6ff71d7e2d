"""The fleet simulator: reproducible, physically plausible, faults visible, DBC-bound."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from drivetrain.catalog import carrier_limits, load_vehicle_models
from drivetrain.demo import FAULT_TYPES, SimulationConfig, SimulationReport, simulate_fleet
from drivetrain.demo.faults import eligible_faults
from drivetrain.errors import InputError
from drivetrain.fleet import is_valid_vin
from drivetrain.lake import Lake

SMALL = SimulationConfig(vehicles=40, days=3, seed=11, start=date(2026, 1, 12))
FAULTY = SimulationConfig(vehicles=120, days=24, seed=5, fault_rate=1.0, start=date(2026, 2, 2))


def frame(lake: Lake, table: str) -> pl.DataFrame:
    return pl.from_arrow(lake.read(table))  # type: ignore[return-value]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationReport, Lake]:
    lake = Lake(tmp_path_factory.mktemp("small") / "lake")
    return simulate_fleet(SMALL, lake), lake


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationReport, pl.DataFrame, Lake]:
    lake = Lake(tmp_path_factory.mktemp("faulty") / "lake")
    report = simulate_fleet(FAULTY, lake)
    return report, frame(lake, "telemetry"), lake


def test_same_seed_same_data(small: tuple[SimulationReport, Lake], tmp_path: Path) -> None:
    report, lake = small
    again = Lake(tmp_path / "again")
    report2 = simulate_fleet(SMALL, again)
    assert [v.vin for v in report.vehicles] == [v.vin for v in report2.vehicles]
    cols = ["vehicle_id", "ts", "signal", "value"]
    a = frame(lake, "telemetry").select(cols).sort(cols)
    b = frame(again, "telemetry").select(cols).sort(cols)
    assert a.equals(b)
    other = simulate_fleet(SimulationConfig(vehicles=40, days=3, seed=12), Lake(tmp_path / "o"))
    assert [v.vin for v in other.vehicles] != [v.vin for v in report.vehicles]


def test_fleet_spans_brands_markets_and_powertrains(small: tuple[SimulationReport, Lake]) -> None:
    report, _ = small
    models = load_vehicle_models()
    assert len({v.brand for v in report.vehicles}) >= 4
    for v in report.vehicles:
        assert v.market in models[v.model_id].markets
        assert is_valid_vin(v.vin)
        assert v.vin[:3] == models[v.model_id].wmi
    assert len({v.vehicle_id for v in report.vehicles}) == len(report.vehicles)


def test_models_only_emit_what_their_carriers_can_carry(
    faulty: tuple[SimulationReport, pl.DataFrame, Lake],
) -> None:
    report, tel, _ = faulty
    models = load_vehicle_models()
    model_of = pl.DataFrame(
        {
            "vehicle_id": [v.vehicle_id for v in report.vehicles],
            "model_id": [v.model_id for v in report.vehicles],
        }
    )
    grouped = (
        tel.join(model_of, on="vehicle_id")
        .group_by("model_id", "signal")
        .agg(
            pl.col("value").min().alias("lo"),
            pl.col("value").max().alias("hi"),
            pl.col("value").sample(200, with_replacement=True, seed=1).alias("some"),
        )
    )
    seen_models = set()
    for row in grouped.iter_rows(named=True):
        model = models[row["model_id"]]
        binding = model.binding(row["signal"])
        assert binding is not None, f"{model.id} emitted unbound {row['signal']}"
        seen_models.add(model.id)
        limits = carrier_limits(binding)
        if limits.minimum is not None:
            assert row["lo"] >= limits.minimum - 1e-9
        if limits.maximum is not None:
            assert row["hi"] <= limits.maximum + 1e-9
        if limits.resolution:
            steps = (np.array(row["some"]) - (limits.minimum or 0.0)) / limits.resolution
            np.testing.assert_allclose(steps, np.round(steps), atol=1e-6)
    obd_only = [m for m in models.values() if all(b.source == "obd" for b in m.bindings)]
    assert obd_only and {m.id for m in obd_only} <= seen_models


def test_signals_are_physically_plausible(
    faulty: tuple[SimulationReport, pl.DataFrame, Lake],
) -> None:
    _, tel, lake = faulty
    speed = tel.filter(pl.col("signal") == "Vehicle.Speed")["value"]
    assert speed.min() >= 0 and 10 < speed.mean() < 90 and speed.max() < 200
    odo = tel.filter(pl.col("signal") == "Vehicle.TraveledDistance").sort("vehicle_id", "ts")
    steps = odo.with_columns(pl.col("value").diff().over("vehicle_id").alias("d"))["d"].drop_nulls()
    assert steps.min() >= -1.0  # odometers never run backwards (DBC rounding aside)
    trips = frame(lake, "trips")
    assert (trips["end_ts"] > trips["start_ts"]).all()
    per_day_km = trips["distance_m"].sum() / 1000 / (FAULTY.vehicles * FAULTY.days)
    assert 10 < per_day_km < 120  # typical private-car daily distance
    coolant = tel.filter(
        pl.col("signal") == "Vehicle.Powertrain.CombustionEngine.EngineCoolant.Temperature"
    )["value"]
    assert coolant.max() < 110
    brake = tel.filter(pl.col("signal") == "Vehicle.Chassis.Brake.PedalPosition")["value"]
    assert 0.05 < (brake > 0).mean() < 0.5  # braking for part of the driving time
    assert set(brake.unique()) == {0.0, 100.0}  # every DBC carries a brake switch, no travel


def _before_after(
    tel: pl.DataFrame, truth: dict[str, object], signal: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = tel.filter(
        (pl.col("vehicle_id") == truth["vehicle_id"]) & (pl.col("signal") == signal)
    ).sort("ts")
    return rows.filter(pl.col("ts") < truth["onset_ts"]), rows.filter(
        pl.col("ts") >= truth["onset_ts"]
    )


def test_every_injected_fault_is_visible_in_its_signals(
    faulty: tuple[SimulationReport, pl.DataFrame, Lake],
) -> None:
    _report, tel, lake = faulty
    truth = frame(lake, "sim_faults")
    assert set(truth["fault"]) == {f.name for f in FAULT_TYPES}
    dtcs = frame(lake, "dtc_events")
    checked: Counter[str] = Counter()
    for t in truth.iter_rows(named=True):
        fault = t["fault"]
        signal = t["affected_signals"][0]
        before, after = _before_after(tel, t, signal)
        if before.height < 30 or after.height < 30:
            continue  # a vehicle that hardly drove on one side of the onset
        b, a = before["value"], after["value"]
        if fault == "thermostat_stuck_open":
            if b.max() < 80:
                continue  # never drove long enough before the onset to warm up
            assert a.quantile(0.95) < 75, t  # never again reaches regulating temperature
            assert "P0128" in set(dtcs.filter(pl.col("vehicle_id") == t["vehicle_id"])["dtc"])
        elif fault == "misfire":
            # idle: engine running while the vehicle stands still
            stopped = tel.filter(
                (pl.col("vehicle_id") == t["vehicle_id"])
                & (pl.col("signal") == "Vehicle.Speed")
                & (pl.col("value") < 0.5)
            ).select("ts")
            idle_before = before.join(stopped, on="ts").filter(pl.col("value") > 0)["value"]
            idle_after = after.join(stopped, on="ts").filter(pl.col("value") > 0)["value"]
            if min(len(idle_before), len(idle_after)) < 30:
                continue  # a plug-in hybrid that ran on electricity throughout
            assert idle_after.std() > 2 * idle_before.std(), t
            codes = set(dtcs.filter(pl.col("vehicle_id") == t["vehicle_id"])["dtc"])
            assert set(t["expected_dtcs"]) <= codes
        elif fault == "lv_battery_degradation":
            late = after.filter(pl.col("ts") > after["ts"].max() - pl.duration(days=3))
            assert late["value"].min() < b.min() - 0.1, t
        elif fault == "slow_tyre_leak":
            assert a.tail(20).mean() < b.mean() - 8, t
        elif fault == "cell_imbalance":
            _, lo_after = _before_after(tel, t, t["affected_signals"][0])
            _, hi_after = _before_after(tel, t, t["affected_signals"][1])
            lo_before, _ = _before_after(tel, t, t["affected_signals"][0])
            hi_before, _ = _before_after(tel, t, t["affected_signals"][1])
            spread_before = (hi_before["value"] - lo_before["value"]).mean()
            spread_late = (hi_after["value"].tail(20) - lo_after["value"].tail(20)).mean()
            assert spread_late > 1.8 * spread_before, t
        elif fault == "brake_wear":
            right = signal.replace("Left", "Right")
            _fr_before, fr_after = _before_after(tel, t, right)
            left_rate = a.max() - a.min()
            right_rate = fr_after["value"].max() - fr_after["value"].min()
            assert left_rate > 2.5 * max(right_rate, 1e-6), t
        checked[fault] += 1
    assert set(checked) == {f.name for f in FAULT_TYPES}


def test_faults_only_go_to_models_that_can_show_them(
    faulty: tuple[SimulationReport, pl.DataFrame, Lake],
) -> None:
    report, _, lake = faulty
    model = {v.vehicle_id: load_vehicle_models()[v.model_id] for v in report.vehicles}
    for t in frame(lake, "sim_faults").iter_rows(named=True):
        assert t["fault"] in {f.name for f in eligible_faults(model[t["vehicle_id"]])}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (SimulationConfig(vehicles=-5), "positive"),
        (SimulationConfig(days=0), "positive"),
        (SimulationConfig(brands=("Trabant",)), "unknown brand"),
        (SimulationConfig(models=("delorean-dmc12",)), "unknown vehicle model"),
        (SimulationConfig(period_s=0), "period"),
    ],
)
def test_bad_configuration(config: SimulationConfig, message: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=message):
        simulate_fleet(config, Lake(tmp_path / "lake"))
    assert not (tmp_path / "lake").exists() or not any((tmp_path / "lake").iterdir())


def test_a_failing_run_leaves_the_lake_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake(tmp_path / "lake")
    simulate_fleet(SimulationConfig(vehicles=10, days=1), lake)
    versions = lake.versions()
    import drivetrain.demo.simulator as sim

    calls = {"n": 0}
    real = sim._snapshot_table

    def flaky(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sim, "_snapshot_table", flaky)
    with pytest.raises(RuntimeError, match="disk on fire"):
        simulate_fleet(SimulationConfig(vehicles=10, days=3, seed=99), lake)
    assert lake.versions() == versions


def test_a_failure_after_telemetry_is_committed_is_rolled_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = Lake(tmp_path / "lake")
    simulate_fleet(SimulationConfig(vehicles=10, days=1), lake)
    rows = {i.name: i.rows for i in lake.tables()}
    real_append = Lake.append

    def append(self: Lake, name: str, data: object, **kw: object) -> int:
        if name == "sim_faults":
            raise OSError("disk full")
        return real_append(self, name, data, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Lake, "append", append)
    with pytest.raises(OSError, match="disk full"):
        simulate_fleet(SimulationConfig(vehicles=10, days=2, seed=3), lake)
    assert {i.name: i.rows for i in lake.tables()} == rows
