"""Fleet, health and audit routes answer what the capabilities compute on the same data."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pyarrow.compute as pc
from fastapi.testclient import TestClient

from drivetrain.fleet import list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.governance.principals import load_principals
from drivetrain.health.scan import fleet_scan
from drivetrain.lake import Lake
from drivetrain.state import session_scope
from tests.api.conftest import DemoServer


def _auth(server: DemoServer, principal: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.key(principal, '*')}"}


def test_overview_ranks_as_the_fleet_scan_does(demo_server: DemoServer, client: TestClient) -> None:
    settings = demo_server.settings
    principal = load_principals(settings.resolved_principals_file)["fleet-health"]
    with session_scope(settings.resolved_state_url) as session:
        fleet = list_vehicles(session)
    allowed = [v for v in fleet if v.region != "cn"]  # fleet-health is not scoped to cn
    reference = fleet_scan(
        Lake(settings.lake_dir), AccessContext(principal, "vehicle_health"), allowed
    ).ranking
    body = client.get(
        "/api/v1/health/overview?top=1000", headers=_auth(demo_server, "fleet-health")
    )
    assert body.status_code == 200, body.text
    overview = body.json()
    assert overview["vehicles"] == len(allowed)
    assert overview["needing_attention"] == reference.height > 0
    flagged = [r for r in overview["ranking"] if r["findings"]]
    assert [r["vehicle_id"] for r in flagged] == reference["vehicle_id"].to_list()
    assert [r["health"] for r in flagged] == reference["health"].to_list()
    assert sum(m["vehicles"] for m in overview["markets"]) == len(allowed)
    assert {m["market"] for m in overview["markets"]} == {v.market for v in allowed}
    assert overview["output_id"].startswith("out-")


def test_signals_are_the_means_of_the_stored_values(
    demo_server: DemoServer, client: TestClient
) -> None:
    auth = _auth(demo_server, "fleet-health")
    top = client.get("/api/v1/health/overview", headers=auth).json()["ranking"][0]["vehicle_id"]
    signal = "Vehicle.Speed"
    body = client.get(
        f"/api/v1/health/vehicles/{top}/signals?signal={signal}&points=50", headers=auth
    ).json()
    assert signal in body["available"] and len(body["series"]) == 1
    series = body["series"][0]
    stored = pl.from_arrow(
        Lake(demo_server.settings.lake_dir).read(
            "telemetry",
            filter=(pc.field("vehicle_id") == top) & (pc.field("signal") == signal),
        )
    )
    assert isinstance(stored, pl.DataFrame)
    assert series["min"] == stored["value"].min() and series["max"] == stored["value"].max()
    every = f"{body['every_s']}s"
    reference = stored.sort("ts").group_by_dynamic("ts", every=every).agg(pl.col("value").mean())
    assert len(series["points"]) == reference.height <= 51
    assert [round(p["value"], 9) for p in series["points"]] == [
        round(v, 9) for v in reference["value"].to_list()
    ]


def test_dtcs_and_diagnosis_of_a_flagged_vehicle(
    demo_server: DemoServer, client: TestClient
) -> None:
    auth = _auth(demo_server, "fleet-health")
    top = client.get("/api/v1/health/overview", headers=auth).json()["ranking"][0]["vehicle_id"]
    dtcs = client.get(f"/api/v1/health/vehicles/{top}/dtcs", headers=auth).json()
    stored = Lake(demo_server.settings.lake_dir).read(
        "dtc_events", filter=pc.field("vehicle_id") == top
    )
    assert len(dtcs) == min(stored.num_rows, 500)
    diagnosis = client.post(f"/api/v1/health/vehicles/{top}/diagnosis", headers=auth).json()
    assert diagnosis["action"] in {"stop_safely", "book_service", "drive_on"}
    assert diagnosis["causes"] and diagnosis["output_id"].startswith("out-")
    explained = client.get(f"/api/v1/explain/{diagnosis['output_id']}", headers=auth).json()
    assert explained["principal"] == "fleet-health" and explained["verified"] is True
    assert explained["purpose"] == "vehicle_health" and "telemetry" in explained["inputs"]
    # another principal may not see how someone else's output was made; the officer may
    other = client.get(
        f"/api/v1/explain/{diagnosis['output_id']}", headers=_auth(demo_server, "parts")
    )
    assert other.status_code == 404
    officer = client.get(
        f"/api/v1/explain/{diagnosis['output_id']}", headers=_auth(demo_server, "dpo-eu")
    )
    assert officer.status_code == 200 and officer.json()["audit_seq"] == explained["audit_seq"]


def test_audit_entries_are_ones_own_unless_officer(
    demo_server: DemoServer, client: TestClient
) -> None:
    analyst = _auth(demo_server, "analyst-peugeot")
    query = {"sql": "SELECT count(*) FROM telemetry", "purpose": "vehicle_health"}
    assert client.post("/api/v1/lake/query", json=query, headers=analyst).status_code == 200
    mine = client.get("/api/v1/audit/entries?limit=1000", headers=analyst).json()
    assert mine["items"] and {e["principal"] for e in mine["items"]} == {"analyst-peugeot"}
    refused = client.get(
        "/api/v1/audit/entries?principal=fleet-health",
        headers=_auth(demo_server, "analyst-peugeot"),
    )
    assert refused.status_code == 403
    everyone = client.get(
        "/api/v1/audit/entries?limit=1000", headers=_auth(demo_server, "dpo-eu")
    ).json()
    assert len({e["principal"] for e in everyone["items"]}) > 1
    assert everyone["total"] >= everyone["limit"] or everyone["next_offset"] is None
    seqs = [e["seq"] for e in everyone["items"]]
    assert seqs == sorted(seqs, reverse=True)  # newest first


def test_verify_reports_a_tampered_log(demo_server: DemoServer, tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(demo_server.settings.data_dir, copy)
    with demo_server.client(data_dir=copy) as client:
        auth = _auth_for(demo_server, copy)
        good = client.get("/api/v1/audit/verify", headers=auth).json()
        assert good["verified"] is True and good["entries"] == good["tree_size"]
    log = copy / "audit" / "log.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"purpose":"', b'"purpose":"x', 1)
    log.write_bytes(b"".join(lines))
    with demo_server.client(data_dir=copy) as client:
        bad = client.get("/api/v1/audit/verify", headers=auth).json()
    assert bad["verified"] is False and bad["problem"]


def _auth_for(server: DemoServer, data_dir: Path) -> dict[str, str]:
    from drivetrain.governance.identity import issue_api_key
    from drivetrain.settings import load_settings

    with session_scope(load_settings(data_dir=data_dir).resolved_state_url) as session:
        _, token = issue_api_key(session, "dpo-eu", ["*"])
    return {"Authorization": f"Bearer {token}"}
