"""Bad input gets a 4xx problem+json, never a 500, and never another principal's data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from drivetrain.fleet import list_vehicles
from drivetrain.lake import Lake
from drivetrain.state import session_scope
from tests.api.conftest import DemoServer

PROBLEM = "application/problem+json"


@pytest.fixture
def as_fleet(demo_server: DemoServer) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with demo_server.client() as client:
        yield client, {"Authorization": f"Bearer {demo_server.key('fleet-health', '*')}"}


def _problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    if code is not None:
        assert body["code"] == code, body
    return dict(body)


def test_malformed_json_is_a_422_problem(as_fleet: tuple[TestClient, dict[str, str]]) -> None:
    client, auth = as_fleet
    response = client.post(
        "/api/v1/lake/query",
        content=b'{"sql": "SELECT 1", "purpose": ',
        headers={**auth, "Content-Type": "application/json"},
    )
    body = _problem(response, 422, "validation-error")
    assert body["errors"] and body["errors"][0]["type"] == "json_invalid"


def test_wrong_types_name_the_field(as_fleet: tuple[TestClient, dict[str, str]]) -> None:
    client, auth = as_fleet
    response = client.post(
        "/api/v1/lake/query",
        json={"sql": "SELECT 1", "purpose": "vehicle_health", "max_rows": "many"},
        headers=auth,
    )
    body = _problem(response, 422, "validation-error")
    assert ["body", "max_rows"] in [e["loc"] for e in body["errors"]]
    assert "many" not in response.text  # the input is not echoed back
    unknown = client.get("/api/v1/fleet/vehicles?purpose=curiosity", headers=auth)
    assert ["query", "purpose"] in [e["loc"] for e in _problem(unknown, 422)["errors"]]
    paged = client.get("/api/v1/fleet/vehicles?limit=100000", headers=auth)
    _problem(paged, 422, "validation-error")


def test_oversized_bodies_are_refused_before_they_are_read(
    as_fleet: tuple[TestClient, dict[str, str]], demo_server: DemoServer
) -> None:
    client, auth = as_fleet
    big = b'{"sql": "' + b"x" * (demo_server.settings.max_body_bytes + 1) + b'"}'
    declared = client.post(
        "/api/v1/lake/query", content=big, headers={**auth, "Content-Type": "application/json"}
    )
    _problem(declared, 413, "payload-too-large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    streamed = client.post(
        "/api/v1/lake/query", content=chunks(), headers={**auth, "Content-Type": "application/json"}
    )
    _problem(streamed, 413, "payload-too-large")


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM telemetry",
        "CREATE TABLE x AS SELECT 1",
        "COPY telemetry TO '/tmp/leak.csv'",
        "ATTACH '/tmp/other.db' AS other",
        "INSTALL httpfs",
        "SELECT 1; SELECT 2",
        "PRAGMA database_list",
        "SET enable_external_access = true",
    ],
)
def test_lake_query_is_read_only(as_fleet: tuple[TestClient, dict[str, str]], sql: str) -> None:
    client, auth = as_fleet
    response = client.post(
        "/api/v1/lake/query", json={"sql": sql, "purpose": "vehicle_health"}, headers=auth
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith(PROBLEM)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM 'pyproject.toml'",
    ],
)
def test_lake_query_cannot_read_files(
    as_fleet: tuple[TestClient, dict[str, str]], sql: str
) -> None:
    client, auth = as_fleet
    response = client.post(
        "/api/v1/lake/query", json={"sql": sql, "purpose": "vehicle_health"}, headers=auth
    )
    assert 400 <= response.status_code < 500, response.text
    assert "root:" not in response.text


def test_queries_see_only_the_callers_vehicles(demo_server: DemoServer, client: TestClient) -> None:
    with session_scope(demo_server.settings.resolved_state_url) as session:
        fleet = list_vehicles(session)
    peugeots = {v.vehicle_id for v in fleet if v.brand == "Peugeot" and v.region == "eu"}
    others = [v for v in fleet if v.brand != "Peugeot"]
    auth = {"Authorization": f"Bearer {demo_server.key('analyst-peugeot', '*')}"}
    seen = client.post(
        "/api/v1/lake/query",
        json={"sql": "SELECT DISTINCT vehicle_id FROM telemetry", "purpose": "vehicle_health"},
        headers=auth,
    ).json()
    stored = set(Lake(demo_server.settings.lake_dir).read("telemetry", columns=["vehicle_id"])
                 ["vehicle_id"].to_pylist())  # fmt: skip
    assert {row[0] for row in seen["rows"]} == peugeots & stored
    listed = client.get("/api/v1/fleet/vehicles?limit=1000", headers=auth).json()
    assert {v["vehicle_id"] for v in listed["items"]} == peugeots
    assert all("vin" not in v for v in listed["items"])
    # another brand's vehicle is "not found" for this principal, on every route
    other = others[0].vehicle_id
    for path in (
        f"/api/v1/fleet/vehicles/{other}",
        f"/api/v1/health/vehicles/{other}/signals",
        f"/api/v1/health/vehicles/{other}/dtcs",
    ):
        body = _problem(client.get(path, headers=auth), 404, "not-found")
        assert other in body["detail"]
    _problem(client.post(f"/api/v1/health/vehicles/{other}/diagnosis", headers=auth), 404)


def test_a_purpose_nobody_granted_is_refused_with_the_rule(
    demo_server: DemoServer, client: TestClient
) -> None:
    auth = {"Authorization": f"Bearer {demo_server.key('analyst-peugeot', '*')}"}
    response = client.post(
        "/api/v1/lake/query",
        json={"sql": "SELECT count(*) FROM telemetry", "purpose": "marketing"},
        headers=auth,
    )
    body = _problem(response, 403, "policy-denied")
    assert "analyst-peugeot" in body["detail"] and "marketing" in body["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/fleet/vehicles/..%2F..%2Fstate.db",
        "/api/v1/fleet/vehicles/%2e%2e%2fkeys",
        "/api/v1/health/vehicles/..%2F..%2F..%2Fetc%2Fpasswd/signals",
        "/api/v1/explain/..%2F..%2Faudit%2Flog.jsonl",
    ],
)
def test_path_traversal_finds_nothing(
    as_fleet: tuple[TestClient, dict[str, str]], path: str
) -> None:
    client, auth = as_fleet
    response = client.get(path, headers=auth)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert "root:" not in response.text and "BEGIN" not in response.text


def test_errors_carry_the_request_id_and_security_headers(
    as_fleet: tuple[TestClient, dict[str, str]],
) -> None:
    client, auth = as_fleet
    response = client.get("/api/v1/fleet/vehicles/nope", headers=auth)
    body = _problem(response, 404, "not-found")
    assert body["request_id"] == response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    unknown_route = client.get("/api/v1/no-such-thing", headers=auth)
    _problem(unknown_route, 404, "not-found")
    wrong_method = client.put("/api/v1/fleet/vehicles", headers=auth)
    _problem(wrong_method, 405, "method-not-allowed")
