"""The command line, through Typer's CliRunner."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from drivetrain.cli.main import app
from drivetrain.governance.identity import check_password
from drivetrain.settings import load_settings
from drivetrain.state import session_scope

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "data"
    code, out, err = invoke(
        "--data-dir", str(path), "fleet", "simulate", "--vehicles", "12", "--days", "2", "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["vehicles"] == 12 and report["rows"]["telemetry"] > 0
    return path


def test_help_lists_the_nouns() -> None:
    code, out, _ = invoke("--help")
    assert code == 0
    for noun in ("fleet", "lake", "demo"):
        assert noun in out


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group (typer vendors its own click)
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


def test_every_command_has_an_example_in_its_help() -> None:
    commands = _commands(typer.main.get_command(app))
    assert len(commands) >= 20
    for command in commands:
        code, out, _ = invoke(*command, "--help")
        assert code == 0 and "Example" in out, command


def test_fleet_list_json(data_dir: Path) -> None:
    code, out, _ = invoke("--data-dir", str(data_dir), "fleet", "list", "--json")
    assert code == 0
    vehicles = json.loads(out)
    assert len(vehicles) == 12 and all(len(v["vin"]) == 17 for v in vehicles)
    brand = vehicles[0]["brand"]
    code, out, _ = invoke("--data-dir", str(data_dir), "fleet", "list", "--brand", brand, "--json")
    assert {v["brand"] for v in json.loads(out)} == {brand}


def test_lake_tables_and_query(data_dir: Path) -> None:
    code, out, _ = invoke("--data-dir", str(data_dir), "lake", "tables", "--json")
    assert code == 0
    tables = {t["name"]: t for t in json.loads(out)}
    assert tables["telemetry"]["rows"] > 0 and tables["telemetry"]["version"] == 0
    code, out, _ = invoke(
        "--data-dir",
        str(data_dir),
        "lake",
        "query",
        "--json",
        "SELECT count(DISTINCT vehicle_id) AS n FROM telemetry",
    )
    assert code == 0 and json.loads(out) == [{"n": 12}]
    code, out, _ = invoke("--data-dir", str(data_dir), "lake", "query", "SELECT 42 AS answer")
    assert code == 0 and "42" in out


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["fleet", "simulate", "--vehicles", "-3"], 65, "positive"),
        (["fleet", "simulate", "--brand", "Trabant"], 65, "unknown brand"),
        (["fleet", "simulate", "--start", "yesterday"], 65, "--start"),
        (["lake", "query", "DROP TABLE telemetry"], 65, "read-only"),
        (["lake", "query", "SELECT 1", "--version", "telemetry"], 65, "TABLE=N"),
        (["lake", "query", "SELECT 1", "--version", "telemetry=7"], 66, "no version 7"),
    ],
)
def test_errors_are_one_line_without_traceback(
    data_dir: Path, args: list[str], code: int, message: str
) -> None:
    got, _, err = invoke("--data-dir", str(data_dir), *args)
    assert got == code
    assert "error:" in err and message in err
    assert "Traceback" not in err


def test_bad_config_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("lake_engine = 'hadoop'\n")
    code, _, err = invoke("--config", str(bad), "lake", "tables")
    assert code == 78 and "lake_engine" in err


def test_unwritable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = invoke(
        "--data-dir", str(blocker / "x"), "fleet", "simulate", "--vehicles", "2", "--days", "1"
    )
    assert code == 74 and "not writable" in err


def test_demo_runs_in_a_fresh_directory_and_refuses_foreign_ones(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    code, out, err = invoke(
        "--data-dir", str(target), "demo", "--vehicles", "10", "--days", "1", "--no-docs"
    )
    assert code == 0, err
    assert "knowledge copilot" in out and "skipped (--no-docs)" in out
    assert "Vehicles by brand and market" in out and "Faults injected" in out
    assert "minimisation" in out  # the demo campaign does not collect location
    assert "raw path:" in out and "CAN logs" in out and " 0 rejected" in out
    assert "inclusion proof verified" in out and "refused:" in out
    assert "denied by rule" in out or "no rule grants" in out
    assert "erasure (GDPR Art. 17)" in out
    assert "vehicle health" in out and "drivetrain health scan --as fleet-health" in out
    assert "ALERT thermostat on fiat-tipo" in out and "6 claim rows quarantined" in out
    assert "detector first raised it on 2024-" in out
    assert "parts planning" in out and "auto+fleet" in out and "history alone" in out
    assert "superseded series were" in out
    assert "manufacturing quality" in out and "ALERT" in out and "TH-OPEN at ST130" in out
    assert "LOT-TH-2402-B" in out and "CH-TORQUE at ST110" in out
    # the console's users get new passwords, printed once, and they work
    unwrapped = re.sub(r"\s+", "", out)  # rich wraps long paths at the terminal width
    assert "web console" in out and f"drivetrain--data-dir{target}serve" in unwrapped
    printed = re.search(r"fleet-health\W.*?([a-z]+(?:-[a-z]+){3}-\d\d)", out)
    assert printed is not None, out[-2000:]
    with session_scope(load_settings(data_dir=target).resolved_state_url) as session:
        assert check_password(session, "fleet-health", printed.group(1))
        assert not check_password(session, "fleet-health", printed.group(1) + "x")
    verified = runner.invoke(app, ["--data-dir", str(target), "audit", "verify", "--json"])
    assert verified.exit_code == 0, verified.stderr
    code, _, err = invoke(
        "--data-dir", str(target), "demo", "--vehicles", "10", "--days", "1", "--no-docs"
    )
    assert code == 0, err  # its own earlier demo is replaced
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("precious")
    code, _, err = invoke("--data-dir", str(foreign), "demo")
    assert code == 65 and "not empty" in err
    assert (foreign / "thesis.tex").read_text() == "precious"


def test_simulating_the_same_fleet_twice_is_refused_and_rolled_back(tmp_path: Path) -> None:
    args = ("--data-dir", str(tmp_path), "fleet", "simulate", "--vehicles", "5", "--days", "1")
    assert invoke(*args, "--json")[0] == 0
    _, before, _ = invoke("--data-dir", str(tmp_path), "lake", "tables", "--json")
    code, _, err = invoke(*args)
    assert code == 65 and "--seed" in err and "nothing was written" in err
    _, after, _ = invoke("--data-dir", str(tmp_path), "lake", "tables", "--json")
    assert _rows(after) == _rows(before)
    code, out, _ = invoke(*args, "--seed", "8", "--json")
    assert code == 0 and json.loads(out)["vehicles"] == 5


def _rows(tables_json: str) -> dict[str, int]:
    return {t["name"]: t["rows"] for t in json.loads(tables_json)}


def test_campaign_lifecycle_and_minimisation(tmp_path: Path) -> None:
    base = ("--data-dir", str(tmp_path))
    code, out, err = invoke(
        *base,
        "campaign",
        "create",
        "tyres",
        "--purpose",
        "vehicle_health",
        "--signal",
        "Vehicle.Chassis.Axle.*",
        "--period",
        "60",
        "--location-precision",
        "6",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["signals"] == ["Vehicle.Chassis.Axle.*"]
    assert json.loads(out)["location_precision"] == 6
    code, out, _ = invoke(*base, "fleet", "simulate", "--vehicles", "6", "--days", "1", "--json")
    report = json.loads(out)
    assert code == 0 and sum(report["dropped_by_campaigns"].values()) > 0
    code, out, _ = invoke(
        *base, "lake", "query", "--json", "SELECT DISTINCT signal FROM telemetry ORDER BY 1"
    )
    assert all(r["signal"].startswith("Vehicle.Chassis.Axle.") for r in json.loads(out))
    code, out, _ = invoke(
        *base,
        "lake",
        "query",
        "--json",
        "SELECT max(n) AS most FROM (SELECT count(*) n FROM telemetry "
        "GROUP BY vehicle_id, signal, time_bucket(INTERVAL '60 seconds', ts))",
    )
    assert json.loads(out) == [{"most": 1}]  # at most one value per minute
    assert invoke(*base, "campaign", "stop", "tyres")[0] == 0
    code, out, _ = invoke(*base, "campaign", "list", "--json")
    assert [c["status"] for c in json.loads(out)] == ["stopped"]
    code, _, err = invoke(
        *base,
        "campaign",
        "create",
        "x",
        "--purpose",
        "vehicle_health",
        "--signal",
        "Vehicle.Speed",
        "--condition",
        "import os",
    )
    assert code == 65 and "does not parse" in err


def test_catalog_search() -> None:
    code, out, _ = invoke("catalog", "search", "coolant", "--json")
    assert code == 0
    (hit,) = json.loads(out)
    assert hit["path"] == "Vehicle.Powertrain.CombustionEngine.EngineCoolant.Temperature"
    assert hit["unit"] == "Celsius" and "fiat-tipo" in hit["models"]
