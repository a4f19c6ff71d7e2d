"""Simulator → CAN log (every format) → ingest → lake reproduces the simulated values."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from drivetrain.catalog import load_vehicle_models
from drivetrain.demo import SimulationConfig, SimulationReport, simulate_fleet
from drivetrain.demo.can_export import obd_lines, write_vehicle_can_log
from drivetrain.ingest import CollectionContext
from drivetrain.ingest.can_ingest import ingest_can_log
from drivetrain.ingest.obd_log import ingest_obd_log
from drivetrain.lake import Lake

CAN_MODELS = (
    "alfa-romeo-giulia",
    "chrysler-pacifica-hybrid",
    "hyundai-i30",
    "peugeot-308",
    "ram-1500",
    "tesla-model-3",
)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationReport, Lake]:
    lake = Lake(tmp_path_factory.mktemp("sim") / "lake")
    config = SimulationConfig(vehicles=21, days=1, seed=3, start=date(2026, 3, 2))
    return simulate_fleet(config, lake), lake


def vehicle_of(report: SimulationReport, model_id: str) -> str:
    return next(v.vehicle_id for v in report.vehicles if v.model_id == model_id)


def compare(original: pl.DataFrame, back: pl.DataFrame) -> None:
    joined = original.join(back, on=["ts", "signal"], how="full", suffix="_back")
    assert joined["value"].null_count() == 0 and joined["value_back"].null_count() == 0
    diff = (joined["value"] - joined["value_back"]).abs()
    tolerance = 1e-9 * np.maximum(1.0, joined["value"].abs().to_numpy())
    assert (diff.to_numpy() <= tolerance).all()


# every model through candump; the python-can formats (slower writers) on two models
CASES = [(m, ".log") for m in CAN_MODELS] + [
    (m, s) for m in ("hyundai-i30", "tesla-model-3") for s in (".asc", ".blf", ".mf4")
]


@pytest.mark.slow
@pytest.mark.parametrize(("model_id", "suffix"), CASES)
def test_can_round_trip(
    simulated: tuple[SimulationReport, Lake], tmp_path: Path, model_id: str, suffix: str
) -> None:
    report, lake = simulated
    model = load_vehicle_models()[model_id]
    vid = vehicle_of(report, model_id)
    can_bound = [b.vss for b in model.bindings if b.source == "can"]
    tel = lake.read("telemetry", filter=(pc.field("vehicle_id") == vid))
    tel = tel.filter(pc.is_in(tel["signal"], value_set=pa.array(can_bound)))
    log = tmp_path / f"{vid}{suffix}"
    write_vehicle_can_log(tel, model, log)
    target = Lake(tmp_path / "back")
    result = ingest_can_log(
        target,
        log,
        vehicle_id=vid,
        model=model,
        context=CollectionContext("test", "vehicle_health"),
    )
    assert not result.rejected, result.rejected
    assert result.telemetry is not None and result.telemetry.rows_quarantined == 0
    cols = ["ts", "signal", "value"]
    original = pl.from_arrow(tel.select(cols))
    back = pl.from_arrow(target.read("telemetry").select(cols))
    assert isinstance(original, pl.DataFrame) and isinstance(back, pl.DataFrame)
    compare(original, back)


def test_obd_round_trip(simulated: tuple[SimulationReport, Lake], tmp_path: Path) -> None:
    report, lake = simulated
    model = load_vehicle_models()["fiat-tipo"]
    vid = vehicle_of(report, "fiat-tipo")
    tel = lake.read("telemetry", filter=(pc.field("vehicle_id") == vid))
    log = tmp_path / "fiat.log"
    log.write_text("\n".join(obd_lines(tel, model)) + "\n")
    target = Lake(tmp_path / "back")
    result = ingest_obd_log(
        target,
        log,
        vehicle_id=vid,
        model=model,
        context=CollectionContext("test", "vehicle_health"),
    )
    assert result.rejected_lines == 0
    cols = ["ts", "signal", "value"]
    original = pl.from_arrow(tel.select(cols))
    back = pl.from_arrow(target.read("telemetry").select(cols))
    assert isinstance(original, pl.DataFrame) and isinstance(back, pl.DataFrame)
    compare(original, back)
