"""lake query --as PRINCIPAL --purpose P: access control from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drivetrain.cli.main import app

runner = CliRunner()
PRINCIPALS = """
[[principal]]
id = "analyst-tesla"
roles = ["fleet_analyst"]
brands = ["Tesla"]
regions = ["eu", "us", "cn"]
country = "DE"

[[principal]]
id = "analyst-tesla-cn"
roles = ["fleet_analyst"]
brands = ["Tesla"]
regions = ["cn"]
country = "CN"
"""
SQL = "SELECT DISTINCT vehicle_id FROM telemetry ORDER BY 1"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gov")
    result = runner.invoke(
        app,
        [
            "--data-dir",
            str(path),
            "fleet",
            "simulate",
            "--vehicles",
            "40",
            "--days",
            "1",
            "--model",
            "tesla-model-3",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    (path / "principals.toml").write_text(PRINCIPALS)
    return path


def vehicles(data: Path) -> dict[str, str]:
    listed = runner.invoke(
        app, ["--data-dir", str(data), "fleet", "list", "--json", "--limit", "100"]
    )
    return {v["vehicle_id"]: v["region"] for v in json.loads(listed.stdout)}


def ask(data: Path, principal: str, purpose: str) -> tuple[int, str, str]:
    result = runner.invoke(
        app,
        [
            "--data-dir",
            str(data),
            "lake",
            "query",
            SQL,
            "--as",
            principal,
            "--purpose",
            purpose,
            "--json",
        ],
    )
    return result.exit_code, result.stdout, result.stderr


def test_a_non_cn_principal_never_sees_cn_vehicles(data: Path) -> None:
    regions = vehicles(data)
    assert "cn" in regions.values() and {"eu", "us"} & set(regions.values())
    code, out, err = ask(data, "analyst-tesla", "vehicle_health")
    assert code == 0, err
    seen = {r["vehicle_id"] for r in json.loads(out)}
    assert seen and all(regions[v] != "cn" for v in seen)
    code, out, _ = ask(data, "analyst-tesla-cn", "vehicle_health")
    assert {regions[r["vehicle_id"]] for r in json.loads(out)} == {"cn"}


def test_purpose_and_unknown_principal(data: Path) -> None:
    code, _, err = ask(data, "analyst-tesla", "marketing")
    assert code == 77 and "no rule grants" in err
    code, _, err = ask(data, "mallory", "vehicle_health")
    assert code == 66 and "analyst-tesla" in err
