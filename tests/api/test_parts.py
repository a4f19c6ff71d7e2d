"""/api/v1/parts answers what plan_network and forecast_network compute on the same data."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from drivetrain.governance.access import AccessContext
from drivetrain.governance.principals import load_principals
from drivetrain.lake import Lake
from drivetrain.parts.data import PartsData, load_parts_data
from drivetrain.parts.network import forecast_network, plan_network
from tests.api.conftest import DemoServer, bearer, problem


def _data(server: DemoServer) -> PartsData:
    who = load_principals(server.settings.resolved_principals_file)["parts"]
    return load_parts_data(Lake(server.settings.lake_dir), AccessContext(who, "parts_planning"))


def test_the_plan_is_plan_network(analytics_server: DemoServer, analytics: TestClient) -> None:
    expected = plan_network(_data(analytics_server), target=0.9, fleet=True)
    auth = bearer(analytics_server, "parts", "parts:read", "audit:read")
    url = "/api/v1/parts/plan?service_level=0.9&fleet=true&limit=1000"
    body = analytics.get(url, headers=auth).json()
    rows = expected.plan.sort("unique_id")
    assert body["total"] == rows.height > 100 and body["next_offset"] is None
    assert [r["unique_id"] for r in body["items"]] == rows["unique_id"].to_list()
    for column in ("reorder_point", "order_up_to", "safety_stock", "stock_value"):
        assert [r[column] for r in body["items"]] == pytest.approx(rows[column].to_list())
    assert [r["model"] for r in body["items"]] == rows["model"].to_list()
    assert all(r["model"].endswith("+fleet") for r in body["items"])
    assert body["totals"] == pytest.approx(expected.totals())
    assert body["classes"] == expected.forecast.classes and body["kind"] == "cycle_service"
    explained = analytics.get(f"/api/v1/explain/{body['output_id']}", headers=auth).json()
    assert explained["principal"] == "parts" and explained["purpose"] == "parts_planning"
    # paged and filtered from the same computation (one provenance record)
    page = analytics.get(url.replace("limit=1000", "limit=10&offset=10"), headers=auth).json()
    assert page["items"] == body["items"][10:20] and page["output_id"] == body["output_id"]
    one = body["items"][0]
    only = analytics.get(
        f"{url}&part_number={one['part_number']}&location_id={one['location_id']}", headers=auth
    ).json()
    assert only["items"] == [one] and only["totals"] == body["totals"]


def test_the_forecast_is_forecast_network(
    analytics_server: DemoServer, analytics: TestClient
) -> None:
    expected = forecast_network(_data(analytics_server), horizon=3).forecast
    auth = bearer(analytics_server, "parts")
    body = analytics.get(
        "/api/v1/parts/forecast?horizon=3&part_number=TH-1004&limit=1000", headers=auth
    ).json()
    want = expected.filter(expected["unique_id"].str.starts_with("TH-1004@"))
    assert body["total"] == want.height > 0 and body["horizon"] == 3
    assert [r["forecast"] for r in body["items"]] == pytest.approx(want["forecast"].to_list())
    assert [date.fromisoformat(r["ds"]) for r in body["items"]] == want["ds"].to_list()
    assert {r["demand_class"] for r in body["items"]} <= {"smooth", "erratic", "intermittent", "lumpy", "no_demand"}  # fmt: skip


def test_refusals_and_bad_input(
    analytics_server: DemoServer, analytics: TestClient, demo_server: DemoServer, client: TestClient
) -> None:
    quality = bearer(analytics_server, "quality")
    problem(analytics.get("/api/v1/parts/plan", headers=quality), 403, "policy-denied")
    no_scope = bearer(analytics_server, "parts", "warranty:read")
    problem(analytics.get("/api/v1/parts/forecast", headers=no_scope), 403, "insufficient-scope")
    auth = bearer(analytics_server, "parts")
    for path in (
        "/api/v1/parts/plan?service_level=1.5",
        "/api/v1/parts/plan?fill_rate=maybe",
        "/api/v1/parts/forecast?horizon=0",
        "/api/v1/parts/forecast?limit=5000",
    ):
        problem(analytics.get(path, headers=auth), 422, "validation-error")
    empty = client.get("/api/v1/parts/plan", headers=bearer(demo_server, "parts"))
    assert "parts simulate" in problem(empty, 404, "not-found")["hint"]
