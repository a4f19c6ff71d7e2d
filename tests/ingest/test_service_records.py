"""Workshop records: VINs become pseudonyms, bad rows are quarantined, a re-import adds nothing."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from drivetrain.cli.main import app
from drivetrain.demo import SimulationConfig
from drivetrain.demo.run import run_simulation
from drivetrain.lake import Lake
from drivetrain.settings import load_settings


def test_import_pseudonymises_checks_and_is_idempotent(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    report = run_simulation(settings, SimulationConfig(vehicles=3, days=1, seed=4))
    first, second = report.vehicles[0], report.vehicles[1]
    records = tmp_path / "dealer.csv"
    records.write_text(
        "vin,date,odometer_km,operation,description,workshop\n"
        f"{first.vin},2026-10-14,48210,battery_replaced,12 V AGM,Garage Martin\n"
        f"{second.vin.lower()},2026-10-15T09:30:00Z,,tyre_repaired,,\n"
        "WVWZZZ1JZXW000001,2026-10-15,10,inspection,,\n"  # check digit wrong
        f"{first.vin},yesterday,10,inspection,,\n"
        f"{first.vin},2026-10-16,10,oil_change_and_a_hug,,\n"
        "1HGCM82633A004352,2026-10-16,10,inspection,,\n",  # valid VIN, not in this fleet
        encoding="utf-8",
    )
    runner = CliRunner()
    args = ["--data-dir", str(tmp_path), "ingest", "service", str(records), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) | {"run_id": ""} == {
        "run_id": "", "records_stored": 2, "records_quarantined": 4
    }  # fmt: skip
    lake = Lake(settings.lake_dir)
    stored = pl.from_arrow(lake.read("service_events"))
    assert isinstance(stored, pl.DataFrame)
    assert sorted(stored["vehicle_id"].to_list()) == sorted([first.vehicle_id, second.vehicle_id])
    assert first.vin.encode() not in b"".join(
        p.read_bytes() for p in (lake.path("service_events")).rglob("*.parquet")
    )
    reasons = pl.from_arrow(lake.read("quarantine"))
    assert isinstance(reasons, pl.DataFrame)
    assert sorted(reasons["reason"].to_list()) == sorted(
        [
            "not a valid VIN (17 characters, ISO 3779 check digit)",
            "date 'yesterday' is not ISO 8601",
            "unknown operation 'oil_change_and_a_hug'",
            "vehicle is not registered",
        ]
    )
    # refused rows hold the pseudonym, never the VIN, so an erasure of the vehicle finds them
    assert not any(first.vin in r for r in reasons["record"].to_list())
    assert reasons["vehicle_id"].to_list().count(first.vehicle_id) == 2
    assert first.vin.encode() not in b"".join(
        p.read_bytes() for p in (lake.path("quarantine")).rglob("*.parquet")
    )
    again = runner.invoke(app, args)
    assert again.exit_code == 0
    assert lake.read("service_events").num_rows == 2  # merged, not appended


def test_a_file_without_the_columns_is_refused(tmp_path: Path) -> None:
    records = tmp_path / "bad.csv"
    records.write_text("vehicle,when\nx,y\n")
    result = CliRunner().invoke(
        app, ["--data-dir", str(tmp_path), "ingest", "service", str(records)]
    )
    assert result.exit_code == 65 and "vin" in result.stderr
