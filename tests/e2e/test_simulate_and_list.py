"""From the command line to the lake and the registry, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drivetrain.cli.main import app
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.lake import Lake


@pytest.mark.slow
def test_simulate_then_list_and_query(
    state_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIVETRAIN_STATE_URL", state_url)
    runner = CliRunner()
    base = ["--data-dir", str(tmp_path)]
    result = runner.invoke(
        app, [*base, "fleet", "simulate", "--vehicles", "15", "--days", "2", "--json"]
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)

    listed = runner.invoke(app, [*base, "fleet", "list", "--json", "--limit", "100"])
    vehicles = json.loads(listed.stdout)
    assert len(vehicles) == 15
    assert all(v["software"] for v in vehicles)

    # the registry and the lake know the same vehicles, and the lake holds no VIN
    lake_ids = set(Lake(tmp_path / "lake").read("telemetry")["vehicle_id"].to_pylist())
    assert lake_ids <= {v["vehicle_id"] for v in vehicles}
    vins = {v["vin"] for v in vehicles}
    for table in ("telemetry", "trips", "dtc_events", "vehicles_snapshot"):
        text = str(Lake(tmp_path / "lake").read(table).to_pylist())
        assert not any(vin in text for vin in vins), table
    assert report["rows"]["telemetry"] > 0
    # the lake key is the keyed hash of the VIN, computable only with this data dir's key
    key = PseudonymKey.load_or_create(tmp_path)
    assert all(v["vehicle_id"] == key.vehicle_id(v["vin"]) for v in vehicles)
