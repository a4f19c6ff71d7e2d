"""Identifying the vehicle model of an unknown CAN log."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from typer.testing import CliRunner

from drivetrain.catalog import load_dbc, load_vehicle_models
from drivetrain.cli.main import app
from drivetrain.demo import SimulationConfig, SimulationReport, simulate_fleet
from drivetrain.demo.can_export import can_frames, write_vehicle_can_log
from drivetrain.ingest.can_encode import encode_frames
from drivetrain.ingest.fingerprint import identify
from drivetrain.lake import Lake

CAN_MODELS = sorted(m.id for m in load_vehicle_models().values() if m.dbc_files)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulationReport, Lake]:
    lake = Lake(tmp_path_factory.mktemp("fp") / "lake")
    config = SimulationConfig(vehicles=25, days=1, seed=21, start=date(2026, 6, 1))
    return simulate_fleet(config, lake), lake


@pytest.mark.parametrize("model_id", CAN_MODELS)
def test_each_model_is_recognised_from_its_own_frames(
    fleet: tuple[SimulationReport, Lake], model_id: str
) -> None:
    report, lake = fleet
    vehicle = next(v.vehicle_id for v in report.vehicles if v.model_id == model_id)
    model = load_vehicle_models()[model_id]
    tel = lake.read("telemetry", filter=pc.field("vehicle_id") == vehicle)
    best = identify(can_frames(tel, model))[0]
    assert best.candidate == model_id and best.score == 1.0


def test_a_foreign_car_is_not_mistaken_and_its_dbc_is_found(tmp_path: Path) -> None:
    db = load_dbc("vw_mqb")
    tables = [
        encode_frames(db, m.name, {}, np.arange(5) * 10_000)
        for m in list(db.messages.values())[:40]
        if m.length <= 8 and not m.is_extended
    ]
    frames = pa.concat_tables(tables)
    assert frames.num_rows > 0
    ranked = identify(frames, all_dbcs=True, top=10)
    assert ranked[0].candidate in ("vw_mqb", "vw_mqbevo") and ranked[0].kind == "dbc"
    models = [m for m in ranked if m.kind == "model"]
    assert all(m.score < 0.5 for m in models)


def test_cli(fleet: tuple[SimulationReport, Lake], tmp_path: Path) -> None:
    report, lake = fleet
    vehicle = next(v for v in report.vehicles if v.model_id == "ram-1500")
    tel = lake.read("telemetry", filter=pc.field("vehicle_id") == vehicle.vehicle_id)
    log = tmp_path / "mystery.blf"
    write_vehicle_can_log(tel, load_vehicle_models()["ram-1500"], log)
    result = CliRunner().invoke(app, ["ingest", "identify", str(log), "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["candidate"] == "ram-1500"
