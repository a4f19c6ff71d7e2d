"""/api/v1/ingest: the runs of the audit log, the lake's versions, quarantine counts by policy."""

from __future__ import annotations

from collections import Counter

from fastapi.testclient import TestClient

from drivetrain.fleet import list_vehicles
from drivetrain.governance.audit import AuditLog
from drivetrain.ingest.warranty_records import vehicles_of
from drivetrain.lake import Lake
from drivetrain.state import session_scope
from tests.api.conftest import DemoServer, bearer, problem


def test_runs_are_the_audit_logs_ingest_entries(
    analytics_server: DemoServer, analytics: TestClient
) -> None:
    entries = AuditLog(analytics_server.settings.data_dir).entries("ingest")
    auth = bearer(analytics_server, "parts", "ingest:read")
    body = analytics.get("/api/v1/ingest/runs?limit=1000", headers=auth).json()
    assert body["total"] == len(entries) >= 5
    assert [r["seq"] for r in body["items"]] == [e.seq for e in reversed(entries)]
    claims = next(r for r in body["items"] if r["source"] == "warranty-claims:claims.csv")
    stored = next(e for e in entries if e.principal == "warranty-claims:claims.csv")
    assert claims["run_id"] == stored.details["run_id"] and claims["purpose"] == "warranty"
    assert claims["rows"] == stored.details["rows"] > 0
    assert claims["rejected"] == stored.details["rejected"] > 0
    assert claims["tables"]["warranty_claims"] == stored.details["tables"]["warranty_claims"]
    parts = next(r for r in body["items"] if r["purpose"] == "parts_planning")
    assert parts["rows"] == sum(next(e for e in entries if e.purpose == "parts_planning").details["rows"].values())  # fmt: skip
    simulator = next(r for r in body["items"] if r["details"].get("rows_written"))
    assert simulator["rows"] == simulator["details"]["rows_written"]
    one = analytics.get("/api/v1/ingest/runs?source=simulator", headers=auth).json()
    assert one["total"] == sum(1 for e in entries if e.principal == "simulator") >= 2


def test_tables_and_their_versions_are_the_lakes(
    analytics_server: DemoServer, analytics: TestClient
) -> None:
    lake = Lake(analytics_server.settings.lake_dir)
    auth = bearer(analytics_server, "parts", "ingest:read")
    tables = analytics.get("/api/v1/ingest/tables", headers=auth).json()
    assert {t["name"]: t["version"] for t in tables} == lake.versions()
    history = lake.history("warranty_claims")
    claims = next(t for t in tables if t["name"] == "warranty_claims")
    assert claims["run_id"] == history[0]["drivetrain.run_id"]
    versions = analytics.get("/api/v1/ingest/tables/telemetry/versions", headers=auth).json()
    assert [v["version"] for v in versions["items"]] == [h["version"] for h in lake.history("telemetry")]  # fmt: skip
    assert versions["items"][0]["rows_added"] == lake.history("telemetry")[0]["operationMetrics"]["num_added_rows"]  # fmt: skip


def test_quarantine_counts_follow_the_policy(
    analytics_server: DemoServer, analytics: TestClient
) -> None:
    settings = analytics_server.settings
    lake = Lake(settings.lake_dir)
    with session_scope(settings.resolved_state_url) as session:
        known = {v.vehicle_id for v in list_vehicles(session)}
    known |= set(vehicles_of(lake)["vehicle_id"].to_pylist())
    raw = lake.read("quarantine").to_pylist()
    readable = [r for r in raw if r["vehicle_id"] is None or r["vehicle_id"] in known]
    expected = Counter((r["target_table"], r["reason"]) for r in readable)
    response = analytics.get(
        "/api/v1/ingest/quarantine?purpose=product_improvement",
        headers=bearer(analytics_server, "data-engineer", "ingest:read"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(readable) >= 4
    assert {(c["target_table"], c["reason"]): c["rows"] for c in body["reasons"]} == expected
    assert body["by_table"] == {"warranty_claims": len(readable)}
    assert any("not a valid VIN" in c["reason"] for c in body["reasons"])
    for row in raw:  # counts only: no refused record (a raw VIN, a dealer's line) goes out
        assert row["record"] not in response.text and row["location"] not in response.text
    officer = bearer(analytics_server, "dpo-eu", "ingest:read")
    oversight = analytics.get("/api/v1/ingest/quarantine?purpose=legal_obligation", headers=officer)  # fmt: skip
    assert oversight.status_code == 200
    # the officer reads for legal duties only; analysts and planners not at all
    problem(analytics.get("/api/v1/ingest/quarantine?purpose=warranty", headers=officer), 403, "policy-denied")  # fmt: skip
    analyst = bearer(analytics_server, "fleet-health")
    denied = analytics.get("/api/v1/ingest/quarantine?purpose=vehicle_health", headers=analyst)
    assert "quarantine" in problem(denied, 403, "policy-denied")["detail"]
    denials = AuditLog(settings.data_dir).entries("denial")
    assert any(e.principal == "fleet-health" and e.details.get("table") == "quarantine" for e in denials)  # fmt: skip


def test_empty_quarantine_still_follows_the_policy(
    demo_server: DemoServer, client: TestClient
) -> None:
    assert not Lake(demo_server.settings.lake_dir).exists("quarantine")
    officer = bearer(demo_server, "dpo-eu")
    empty = client.get("/api/v1/ingest/quarantine?purpose=legal_obligation", headers=officer)
    assert empty.json() == {"total": 0, "version": None, "by_table": {}, "reasons": []}
    analyst = bearer(demo_server, "fleet-health")
    refused = client.get("/api/v1/ingest/quarantine?purpose=vehicle_health", headers=analyst)
    problem(refused, 403, "policy-denied")


def test_scope_and_bad_input(demo_server: DemoServer, client: TestClient) -> None:
    fleet_only = bearer(demo_server, "fleet-health", "fleet:read")
    for path in ("/api/v1/ingest/runs", "/api/v1/ingest/tables"):
        problem(client.get(path, headers=fleet_only), 403, "insufficient-scope")
    auth = bearer(demo_server, "fleet-health", "ingest:read")
    problem(client.get("/api/v1/ingest/quarantine", headers=auth), 422, "validation-error")
    bogus = client.get("/api/v1/ingest/quarantine?purpose=curiosity", headers=auth)
    problem(bogus, 422, "validation-error")
    problem(client.get("/api/v1/ingest/tables/nope/versions", headers=auth), 422, "validation-error")  # fmt: skip
    missing = client.get("/api/v1/ingest/tables/service_events/versions", headers=auth)
    problem(missing, 404, "not-found")
    problem(client.get("/api/v1/ingest/runs?limit=0", headers=auth), 422, "validation-error")
