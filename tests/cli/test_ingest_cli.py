"""fleet export-log → ingest can / ingest obd from the command line, idempotent."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drivetrain.cli.main import app
from drivetrain.governance.pseudonyms import KEY_FILE
from drivetrain.lake import Lake

runner = CliRunner()


def run(*args: str, as_json: bool = True) -> dict[str, object]:
    result = runner.invoke(app, [*args, "--json"] if as_json else list(args))
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout) if as_json else {}


def share_key(source: Path, target: Path) -> None:
    (target / "keys").mkdir(parents=True)
    shutil.copy2(source / KEY_FILE, target / KEY_FILE)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    data = tmp_path_factory.mktemp("src")
    run("--data-dir", str(data), "fleet", "simulate", "--vehicles", "30", "--days", "1")
    vehicles = runner.invoke(app, ["--data-dir", str(data), "fleet", "list", "--json"]).stdout
    rows = Counter(Lake(data / "lake").read("telemetry")["vehicle_id"].to_pylist())
    busiest: dict[str, str] = {}  # per model, the vehicle that drove most that day
    for v in json.loads(vehicles):
        best = busiest.get(v["model_id"])
        if best is None or rows[v["vehicle_id"]] > rows[best]:
            busiest[v["model_id"]] = v["vehicle_id"]
    return data, busiest


@pytest.mark.parametrize(
    ("model_id", "name", "kind"),
    [
        ("hyundai-i30", "drive.blf", "can"),
        ("ram-1500", "drive.log", "can"),
        ("fiat-tipo", "obd.log", "obd"),
    ],
)
def test_export_then_ingest_twice(
    source: tuple[Path, dict[str, str]], tmp_path: Path, model_id: str, name: str, kind: str
) -> None:
    data, first = source
    vehicle = first[model_id]
    log = tmp_path / name
    exported = runner.invoke(
        app, ["--data-dir", str(data), "fleet", "export-log", vehicle, str(log)]
    )
    assert exported.exit_code == 0, exported.stderr
    # a second data directory with the same registry entry and a campaign for everything
    target = tmp_path / "target"
    share_key(data, target)  # same deployment key: the same VINs get the same pseudonyms
    runner.invoke(
        app,
        [
            "--data-dir",
            str(target),
            "fleet",
            "simulate",
            "--vehicles",
            "30",
            "--days",
            "1",
            "--json",
        ],
    )
    lake = Lake(target / "lake")
    before = lake.read("telemetry").num_rows
    run(
        "--data-dir",
        str(target),
        "campaign",
        "create",
        "all",
        "--purpose",
        "vehicle_health",
        "--signal",
        "Vehicle.*",
    )
    summary = run("--data-dir", str(target), "ingest", kind, str(log), "--vehicle", vehicle)
    # the target already holds the same simulated fleet: every decoded value is a duplicate
    assert summary["signals_already_stored"] > 0
    assert lake.read("telemetry").num_rows == before
    assert summary.get("frames_rejected", {}) == {} and summary.get("lines_rejected", 0) == 0


def test_ingest_into_an_empty_lake_then_again(
    source: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    data, first = source
    vehicle = first["peugeot-308"]
    log = tmp_path / "drive.log"
    runner.invoke(app, ["--data-dir", str(data), "fleet", "export-log", vehicle, str(log)])
    source_rows = Lake(data / "lake").read("telemetry")
    expected = sum(1 for v in source_rows["vehicle_id"].to_pylist() if v == vehicle)
    target = tmp_path / "empty"
    share_key(data, target)
    # register the same fleet without its telemetry: simulate with a campaign that keeps nothing
    run(
        "--data-dir",
        str(target),
        "campaign",
        "create",
        "nothing",
        "--purpose",
        "warranty",
        "--signal",
        "Vehicle.Speed",
        "--brand",
        "Trabant",
    )
    run("--data-dir", str(target), "fleet", "simulate", "--vehicles", "30", "--days", "1")
    assert Lake(target / "lake").read("telemetry").num_rows == 0
    run("--data-dir", str(target), "campaign", "stop", "nothing", as_json=False)
    run(
        "--data-dir",
        str(target),
        "campaign",
        "create",
        "all",
        "--purpose",
        "vehicle_health",
        "--signal",
        "Vehicle.*",
    )
    first_run = run("--data-dir", str(target), "ingest", "can", str(log), "--vehicle", vehicle)
    # the car has no registered owner: only technical data has a legal basis (docs/governance.md)
    refused = first_run["signals_dropped"]
    assert isinstance(refused, dict) and set(refused) == {
        "vehicle has no registered subject at this time"
    }
    stored = first_run["signals_stored"]
    assert isinstance(stored, int) and stored + sum(refused.values()) == expected
    again = run("--data-dir", str(target), "ingest", "can", str(log), "--vehicle", vehicle)
    assert again["signals_stored"] == 0 and again["signals_already_stored"] == stored


def test_model_option_is_checked_against_the_registry(
    source: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    data, first = source
    log = tmp_path / "drive.log"
    runner.invoke(
        app, ["--data-dir", str(data), "fleet", "export-log", first["ram-1500"], str(log)]
    )
    wrong = runner.invoke(
        app,
        [
            "--data-dir",
            str(data),
            "ingest",
            "can",
            str(log),
            "--vehicle",
            first["ram-1500"],
            "--model",
            "peugeot-308",
        ],
    )
    assert wrong.exit_code == 65 and "registered as a ram-1500" in wrong.stderr
    right = runner.invoke(
        app,
        [
            "--data-dir",
            str(data),
            "ingest",
            "can",
            str(log),
            "--vehicle",
            first["ram-1500"],
            "--model",
            "ram-1500",
            "--json",
        ],
    )
    assert right.exit_code == 0, right.stderr
