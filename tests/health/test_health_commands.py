"""drivetrain health scan / diagnose / evaluate, through the command line."""

from __future__ import annotations

import json

import polars as pl
from typer.testing import CliRunner

from drivetrain.cli.main import app
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import explain
from drivetrain.lake import Lake
from drivetrain.settings import Settings

PRINCIPALS = """
[[principal]]
id = "fleet-health"
roles = ["fleet_analyst"]
brands = ["*"]
regions = ["eu", "us"]
country = "DE"
"""


def run(settings: Settings, *args: str) -> tuple[int, str, str]:
    settings.resolved_principals_file.write_text(PRINCIPALS)
    result = CliRunner().invoke(app, ["--data-dir", str(settings.data_dir), "health", *args])
    return result.exit_code, result.stdout, result.stderr


def test_scan_then_diagnose_the_top_vehicle(fleet: Settings) -> None:
    code, out, err = run(fleet, "scan", "--as", "fleet-health", "--top", "5", "--json")
    assert code == 0, err
    scan = json.loads(out)
    assert scan["vehicles_scanned"] > 0 and len(scan["ranking"]) == 5
    top = scan["ranking"][0]["vehicle_id"]
    faults = pl.from_arrow(Lake(fleet.lake_dir).read("sim_faults"))
    assert isinstance(faults, pl.DataFrame) and top in faults["vehicle_id"].to_list()
    code, out, err = run(fleet, "diagnose", top, "--as", "fleet-health", "--json")
    assert code == 0, err
    diagnosis = json.loads(out)
    assert diagnosis["action"] in ("drive_on", "book_service", "stop_safely")
    assert diagnosis["causes"] and diagnosis["causes"][0]["evidence"]
    kinds = {e.kind for e in AuditLog(fleet.data_dir).entries()}
    assert {"access", "ai_output"} <= kinds
    # every output of the scan and the diagnosis can be explained, with its proof
    for output_id, kind in ((scan["output_id"], "health_scan"),
                            (diagnosis["output_id"], "health_diagnosis")):  # fmt: skip
        explained = explain(AuditLog(fleet.data_dir), output_id)
        assert explained.output_kind == kind and explained.principal == "fleet-health"
    code, out, err = run(fleet, "diagnose", top, "--as", "fleet-health")
    assert code == 0 and "how it was produced: drivetrain explain out-" in out


def test_unknown_vehicle_and_principal_are_named(fleet: Settings) -> None:
    code, _, err = run(fleet, "diagnose", "veh_nope", "--as", "fleet-health")
    assert code == 66 and "veh_nope" in err
    code, _, err = run(fleet, "scan", "--as", "nobody")
    assert code == 66 and "fleet-health" in err


def test_evaluate_prints_both_methods_per_fault(fleet: Settings) -> None:
    code, out, err = run(
        fleet, "evaluate", "--vehicles", "40", "--days", "12", "--seed", "5", "--json"
    )
    assert code == 0, err
    result = json.loads(out)
    metrics = pl.DataFrame(result["metrics"])
    assert [r["after_days"] for r in result["battery_life"]] in ([], [4], [4, 6], [4, 6, 9])
    assert {"thresholds", "full"} <= set(metrics["method"].to_list())
    assert metrics.height == 7 * 6  # six faults and the other indicators × six methods


def test_a_plug_ins_diagnosis_states_its_battery_health(fleet: Settings) -> None:
    from drivetrain.fleet import list_vehicles
    from drivetrain.state import session_scope

    with session_scope(fleet.resolved_state_url) as session:
        # by VIN: the simulation's VINs follow its seed, the pseudonyms follow each run's key
        teslas = [
            v.vehicle_id
            for v in sorted(list_vehicles(session), key=lambda v: v.vin)
            if v.model_id == "tesla-model-3" and v.region in ("eu", "us")
        ]
    truth = pl.from_arrow(Lake(fleet.lake_dir).read("sim_battery"))
    assert isinstance(truth, pl.DataFrame) and teslas
    code, out, err = run(fleet, "diagnose", teslas[0], "--as", "fleet-health", "--json")
    assert code == 0, err
    pack = json.loads(out)["traction_battery"]
    true = truth.filter(pl.col("vehicle_id") == teslas[0])["soh_pct"][0]
    assert pack["status"] == "estimated" and abs(pack["soh_pct"] - true) < 1.5
    code, out, err = run(fleet, "diagnose", teslas[0], "--as", "fleet-health")
    assert code == 0 and "traction battery: state of health" in out
