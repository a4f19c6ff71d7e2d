"""/api/v1/campaigns lists what the state store holds; starting and stopping are checked and
audited."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from drivetrain.governance.audit import AuditLog
from drivetrain.ingest import get_campaign, list_campaigns
from drivetrain.state import dispose_engines, session_scope
from tests.api.conftest import DemoServer, bearer, copy_server, problem

OVERHEAT = {
    "campaign_id": "overheat",
    "purpose": "vehicle_health",
    "signals": ["Vehicle.Powertrain.CombustionEngine.*"],
    "condition": "Vehicle.Powertrain.CombustionEngine.EngineCoolant.Temperature > 110",
    "pre_trigger_s": 30,
    "post_trigger_s": 60,
    "target_markets": ["US"],
}


@pytest.fixture
def private(demo_server: DemoServer, tmp_path: Path) -> Iterator[tuple[DemoServer, TestClient]]:
    """A copy of the demo data that a test may write to."""
    server = copy_server(demo_server, tmp_path)
    with server.client() as client:
        yield server, client
    dispose_engines(server.settings.resolved_state_url)


def test_the_list_is_the_state_store(demo_server: DemoServer, client: TestClient) -> None:
    with session_scope(demo_server.settings.resolved_state_url) as session:
        stored = list_campaigns(session)
        active = list_campaigns(session, active_only=True)
    auth = bearer(demo_server, "parts", "campaigns:read")
    body = client.get("/api/v1/campaigns", headers=auth).json()
    assert body["total"] == len(stored) >= 2
    assert [c["campaign_id"] for c in body["items"]] == [c.campaign_id for c in stored]
    assert [c["signals"] for c in body["items"]] == [list(c.signals) for c in stored]
    only = client.get("/api/v1/campaigns?active=true", headers=auth).json()
    assert only["total"] == len(active)
    one = client.get(f"/api/v1/campaigns/{stored[0].campaign_id}", headers=auth).json()
    assert one["purpose"] == stored[0].purpose
    assert one["retention_days"] == stored[0].retention_days
    assert one["location_precision"] == stored[0].location_precision


def test_unknown_and_malformed_ids(demo_server: DemoServer, client: TestClient) -> None:
    auth = bearer(demo_server, "parts", "campaigns:read")
    problem(client.get("/api/v1/campaigns/no-such", headers=auth), 404, "not-found")
    problem(client.get("/api/v1/campaigns/Bad%20Id", headers=auth), 422, "validation-error")


def test_create_and_stop_are_audited(private: tuple[DemoServer, TestClient]) -> None:
    server, client = private
    auth = bearer(server, "fleet-health", "campaigns:write", "campaigns:read")
    created = client.post("/api/v1/campaigns", json=OVERHEAT, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "active" and created.json()["pre_trigger_s"] == 30
    with session_scope(server.settings.resolved_state_url) as session:
        stored = get_campaign(session, "overheat")
    assert stored.condition == OVERHEAT["condition"] and stored.target_markets == ("US",)
    problem(client.post("/api/v1/campaigns", json=OVERHEAT, headers=auth), 400, "input-error")
    stopped = client.post("/api/v1/campaigns/overheat/stop", headers=auth)
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    assert stopped.json()["stopped_at"] is not None
    again = client.post("/api/v1/campaigns/overheat/stop", headers=auth)
    assert "already stopped" in problem(again, 400, "input-error")["detail"]
    admin = AuditLog(server.settings.data_dir).entries("admin")
    mine = [
        e
        for e in admin
        if e.principal == "fleet-health" and e.details["action"].startswith("campaign_")
    ]
    assert [e.details["action"] for e in mine] == ["campaign_create", "campaign_stop"]
    assert (
        mine[0].details["campaign_id"] == "overheat" and mine[1].details["campaign"] == "overheat"
    )


def test_refusals(private: tuple[DemoServer, TestClient]) -> None:
    server, client = private
    reader = bearer(server, "fleet-health", "campaigns:read")
    problem(client.post("/api/v1/campaigns", json=OVERHEAT, headers=reader), 403, "insufficient-scope")  # fmt: skip
    # a parts planner may not read telemetry for vehicle health: no collection either
    planner = bearer(server, "parts")
    refused = problem(client.post("/api/v1/campaigns", json=OVERHEAT, headers=planner), 403, "policy-denied")  # fmt: skip
    assert "telemetry" in refused["detail"]
    problem(client.post("/api/v1/campaigns/fleet-health/stop", headers=planner), 403, "policy-denied")  # fmt: skip
    # a brand-scoped analyst collects from its own brand only
    analyst = bearer(server, "analyst-peugeot")
    problem(client.post("/api/v1/campaigns", json=OVERHEAT, headers=analyst), 403, "policy-denied")  # fmt: skip
    tesla = {**OVERHEAT, "target_brands": ["Tesla"]}
    problem(client.post("/api/v1/campaigns", json=tesla, headers=analyst), 403, "policy-denied")
    own = {**OVERHEAT, "target_brands": ["Peugeot"]}
    assert client.post("/api/v1/campaigns", json=own, headers=analyst).status_code == 201
    with session_scope(server.settings.resolved_state_url) as session:
        assert get_campaign(session, "fleet-health").status == "active"  # never stopped
    # refusals change nothing and record no change: only the analyst's own campaign
    admin = AuditLog(server.settings.data_dir).entries("admin")
    callers = {"fleet-health", "parts", "analyst-peugeot"}
    made = [
        (e.principal, e.details["action"])
        for e in admin
        if e.principal in callers and e.details["action"].startswith("campaign_")
    ]
    assert made == [("analyst-peugeot", "campaign_create")]


def test_bad_input_is_a_problem(private: tuple[DemoServer, TestClient]) -> None:
    server, client = private
    auth = bearer(server, "fleet-health")
    unknown = {**OVERHEAT, "signals": ["Vehicle.NoSuchThing"]}
    body = problem(client.post("/api/v1/campaigns", json=unknown, headers=auth), 400, "input-error")
    assert "matches no signal" in body["detail"]
    bad_condition = {**OVERHEAT, "condition": "Vehicle.Speed >>> 3"}
    problem(client.post("/api/v1/campaigns", json=bad_condition, headers=auth), 400, "input-error")
    for wrong in (
        {**OVERHEAT, "purpose": "curiosity"},
        {**OVERHEAT, "signals": []},
        {**OVERHEAT, "retention_days": 0},
        {**OVERHEAT, "target_markets": ["usa"]},
    ):
        problem(client.post("/api/v1/campaigns", json=wrong, headers=auth), 422, "validation-error")
    with session_scope(server.settings.resolved_state_url) as session:
        assert "overheat" not in {c.campaign_id for c in list_campaigns(session)}
