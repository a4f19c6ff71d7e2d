"""catalog manifest check: ranges, unmapped DBC signals, coverage gaps."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from drivetrain.catalog import get_vehicle_model, parse_manifest
from drivetrain.catalog.manifest_check import check_manifest
from drivetrain.cli.main import app

MISBOUND = """
id = "test-car"
brand = "Test"
oem_group = "Test"
name = "Test car"
platform = "T"
powertrain = "bev"
model_years = [2020, 2024]
markets = ["DE"]
wmi = "WVW"

[[bindings]]
vss = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
source = "obd"
pid = 0x05
note = "deliberately wrong: coolant temperature PID"
"""


def test_a_carrier_wider_than_the_vss_range_is_reported() -> None:
    report = check_manifest(parse_manifest(MISBOUND, "test-car.toml"))
    problems = sorted(r.problem for r in report.ranges)
    # PID 05 spans -40..215 °C (A - 40); SoC is 0..100 %
    assert problems == [
        "carrier reaches -40, below the VSS minimum 0",
        "carrier reaches 215, above the VSS maximum 100",
    ]
    assert report.unmapped_dbc_signals == []
    assert "Vehicle.Speed" in report.unreported_catalog_signals


def test_real_manifest_findings() -> None:
    report = check_manifest(get_vehicle_model("hyundai-i30"))
    pedal = [r for r in report.ranges if r.vss == "Vehicle.Chassis.Accelerator.PedalPosition"]
    assert pedal and pedal[0].carrier_max < 100  # an 8-bit pedal that tops out below 100 %
    assert "hyundai_kia_generic:BAT11.BAT_SOC" in report.unmapped_dbc_signals
    assert not any("Counter" in s or "Checksum" in s for s in report.unmapped_dbc_signals)
    assert "Vehicle.CurrentLocation.Latitude" in report.unreported_catalog_signals
    assert "Vehicle.Speed" not in report.unreported_catalog_signals


def test_cli() -> None:
    result = CliRunner().invoke(app, ["catalog", "manifest", "check", "fiat-tipo", "--json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["model_id"] == "fiat-tipo" and report["bindings"] == 10
    missing = CliRunner().invoke(app, ["catalog", "manifest", "check", "trabant-601"])
    assert missing.exit_code == 66 and "trabant-601" in missing.stderr
    models = json.loads(CliRunner().invoke(app, ["catalog", "models", "--json"]).stdout)
    assert {m["id"] for m in models} >= {"fiat-tipo", "tesla-model-3"}


def test_cli_dbc_lists_what_was_tolerated() -> None:
    result = CliRunner().invoke(app, ["catalog", "dbc", "psa_aee2010_r3", "--json"])
    assert result.exit_code == 0
    shown = json.loads(result.stdout)
    assert shown["messages"] > 100 and shown["signals"]["counter"] > 0
    assert any("0_COUNTER" in w and w.startswith("165:") for w in shown["warnings"])
