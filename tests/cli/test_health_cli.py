"""``drivetrain health dtc`` through Typer's CliRunner."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from drivetrain.cli.main import app

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_health_is_a_registered_noun() -> None:
    code, out, _ = invoke("--help")
    assert code == 0 and "health" in out
    code, out, _ = invoke("health", "--help")
    assert code == 0 and "Vehicle health" in out and "dtc" in out


def test_dtc_help_has_an_example() -> None:
    code, out, _ = invoke("health", "dtc", "--help")
    assert code == 0 and "Example" in out and "drivetrain health dtc P0301" in out


def test_dtc_json_interprets_each_code_in_order() -> None:
    code, out, err = invoke("health", "dtc", "p0301", "P0442", "P1234", "B0001", "--json")
    assert code == 0, err
    records = json.loads(out)
    assert [r["code"] for r in records] == ["P0301", "P0442", "P1234", "B0001"]
    misfire, evap, manufacturer, body = records
    assert misfire["description"] == "Cylinder 1 misfire detected"
    assert misfire["severity"] == "stop_safely" and misfire["generic"] is True
    assert misfire["subsystem"] == "ignition system or misfire" and misfire["causes"]
    assert evap["severity"] == "monitor"
    assert manufacturer["coverage"] == "manufacturer_specific" and not manufacturer["generic"]
    assert manufacturer["description"] is None and manufacturer["severity"] == "unknown"
    assert body["coverage"] == "generic_not_described" and body["system"] == "body"


def test_dtc_table_for_people() -> None:
    code, out, err = invoke("health", "dtc", "P0A7F", "U0100", "P1234")
    assert code == 0, err
    assert "Hybrid battery pack deterioration" in out
    assert "manufacturer-specific" in out
    assert "typical causes" in out and "service_soon" in out


def test_malformed_code_is_an_input_error_without_traceback() -> None:
    code, out, err = invoke("health", "dtc", "P0301", "P03G1")
    assert code == 65
    assert "'G' is not a hexadecimal digit" in err and "Traceback" not in err + out
    assert "hint:" in err
