"""/api/v1/warranty answers what the warranty capability computes on the same data."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from fastapi.testclient import TestClient

from drivetrain.fleet import list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.governance.principals import load_principals
from drivetrain.lake import Lake
from drivetrain.state import session_scope
from drivetrain.warranty import (
    WarrantyData,
    claims_per_thousand,
    fit_component,
    latest_claim_date,
    life_sample,
    load_warranty_data,
    warranty_alerts,
    with_build_month,
)
from tests.api.conftest import DemoServer, bearer, problem


def _data(server: DemoServer, principal: str) -> tuple[WarrantyData, AccessContext]:
    settings = server.settings
    who = load_principals(settings.resolved_principals_file)[principal]
    context = AccessContext(who, "warranty")
    with session_scope(settings.resolved_state_url) as session:
        fleet = list_vehicles(session)
    return load_warranty_data(Lake(settings.lake_dir), context, fleet=fleet), context


def test_alerts_are_the_early_warnings(analytics_server: DemoServer, analytics: TestClient) -> None:
    data, context = _data(analytics_server, "warranty")
    when = latest_claim_date(data)
    expected = warranty_alerts(data, context, when, currency="EUR")
    auth = bearer(analytics_server, "warranty", "warranty:read", "audit:read")
    body = analytics.get("/api/v1/warranty/alerts", headers=auth).json()
    assert body["as_of"] == when.isoformat() and body["claims"] == data.claims.height
    assert body["vehicles"] == data.production.height
    assert [(a["component"], a["model_id"]) for a in body["alerts"]] == [
        (a.issue.causal_part, a.issue.model_id) for a in expected
    ]
    assert ("thermostat", "fiat-tipo") in {(a["component"], a["model_id"]) for a in body["alerts"]}
    for got, want in zip(body["alerts"], expected, strict=True):
        reference = want.to_dict()
        for key in ("claims", "vehicles_at_risk", "claims_per_thousand", "statistic", "alarm_mis"):
            assert got[key] == reference[key], key
        assert got["build_window"] == reference["build_window"]
        explained = analytics.get(f"/api/v1/explain/{got['output_id']}", headers=auth).json()
        assert explained["principal"] == "warranty" and explained["purpose"] == "warranty"
    # the same question again is answered from memory: no second provenance record
    again = analytics.get("/api/v1/warranty/alerts", headers=auth).json()
    assert [a["output_id"] for a in again["alerts"]] == [a["output_id"] for a in body["alerts"]]
    cusum = analytics.get("/api/v1/warranty/alerts?method=cusum&h=4", headers=auth)
    assert cusum.status_code == 200


def test_a_scoped_analyst_sees_its_own_vehicles_and_others_none(
    analytics_server: DemoServer, analytics: TestClient
) -> None:
    data, _ = _data(analytics_server, "analyst-peugeot")
    everything, _ = _data(analytics_server, "warranty")
    # the analyst's brand: a few connected vehicles among the production records
    assert set(data.production["brand"]) == {"Peugeot"}
    assert 0 < data.production.height < everything.production.height
    assert data.claims.height < everything.claims.height
    analyst = bearer(analytics_server, "analyst-peugeot")
    when = date(2026, 4, 1)
    expected = claims_per_thousand(data.claims, with_build_month(data.production), when)
    dated = analytics.get("/api/v1/warranty/claims-per-thousand?as_of=2026-04-01", headers=analyst)
    rows = dated.json()["rows"]
    assert len(rows) == expected.height > 0
    assert [r["claims"] for r in rows] == expected["claims"].to_list()
    assert max(r["at_risk"] for r in rows) <= data.production.height
    undated = analytics.get("/api/v1/warranty/claims-per-thousand", headers=analyst)
    if data.claims.height == 0:  # the lake holds claims, none of the analyst's vehicles
        assert "brands and regions" in problem(undated, 404, "not-found")["hint"]
    else:
        assert undated.json()["as_of"] == latest_claim_date(data).isoformat()
    alerts = analytics.get("/api/v1/warranty/alerts?as_of=2026-04-01", headers=analyst).json()
    assert alerts["vehicles"] == data.production.height
    assert alerts["claims"] == data.claims.height
    assert all(a["model_id"].startswith("peugeot") for a in alerts["alerts"])
    planner = bearer(analytics_server, "parts")
    problem(analytics.get("/api/v1/warranty/alerts", headers=planner), 403, "policy-denied")
    fleet_only = bearer(analytics_server, "warranty", "fleet:read")
    problem(analytics.get("/api/v1/warranty/alerts", headers=fleet_only), 403, "insufficient-scope")  # fmt: skip


def test_reliability_is_the_life_fit(analytics_server: DemoServer, analytics: TestClient) -> None:
    data, context = _data(analytics_server, "warranty")
    when = latest_claim_date(data)
    sample = life_sample(data, "thermostat", when, model_id="fiat-tipo", build_from="2024-02")
    fits, _ = fit_component(sample, context, data=data)
    auth = bearer(analytics_server, "warranty")
    body = analytics.get(
        "/api/v1/warranty/reliability/thermostat?model=fiat-tipo&build_from=2024-02", headers=auth
    ).json()
    assert body["failures"] == len(sample.failures) > 0
    assert body["running"] == len(sample.running) and body["vehicles"] == sample.vehicles
    assert [f["distribution"] for f in body["fits"]] == [f.distribution for f in fits]
    for got, want in zip(body["fits"], fits, strict=True):
        assert got["parameters"] == pytest.approx(want.parameters)
        b10 = None if want.b10 == float("inf") else want.b10
        assert got["b10_days"] == pytest.approx(b10)
    assert body["output_id"].startswith("out-")


def test_claims_per_thousand_is_the_table(
    analytics_server: DemoServer, analytics: TestClient
) -> None:
    data, _ = _data(analytics_server, "warranty")
    when = date(2026, 3, 31)
    vehicles = with_build_month(data.production).filter(pl.col("model_id") == "fiat-tipo")
    claims = data.claims.filter(pl.col("causal_part") == "thermostat")
    expected = claims_per_thousand(claims, vehicles, when, cohort="build_month")
    body = analytics.get(
        "/api/v1/warranty/claims-per-thousand?component=thermostat&model=fiat-tipo&as_of=2026-03-31",
        headers=bearer(analytics_server, "warranty"),
    ).json()
    assert body["as_of"] == "2026-03-31" and len(body["rows"]) == expected.height > 0
    assert [r["cumulative_per_thousand"] for r in body["rows"]] == pytest.approx(
        expected["cumulative_per_thousand"].to_list()
    )
    assert [r["at_risk"] for r in body["rows"]] == expected["at_risk"].to_list()
    plants = analytics.get(
        "/api/v1/warranty/claims-per-thousand?cohort=plant", headers=bearer(analytics_server, "warranty")
    ).json()  # fmt: skip
    assert {r["cohort"] for r in plants["rows"]} <= set(data.production["plant"].drop_nulls())


def test_bad_input_is_a_problem(
    analytics_server: DemoServer, analytics: TestClient, demo_server: DemoServer, client: TestClient
) -> None:
    auth = bearer(analytics_server, "warranty")
    for path in (
        "/api/v1/warranty/alerts?as_of=yesterday",
        "/api/v1/warranty/alerts?method=magic",
        "/api/v1/warranty/alerts?h=-1",
        "/api/v1/warranty/reliability/thermostat?build_from=2024-13",
        "/api/v1/warranty/reliability/Thermo%20stat",
        "/api/v1/warranty/claims-per-thousand?cohort=colour",
    ):
        problem(analytics.get(path, headers=auth), 422, "validation-error")
    unknown = analytics.get("/api/v1/warranty/reliability/flux-capacitor", headers=auth)
    assert "causal parts with claims" in problem(unknown, 404, "not-found")["hint"]
    nothing = analytics.get("/api/v1/warranty/reliability/thermostat?model=no-such", headers=auth)
    problem(nothing, 400, "input-error")
    # a lake without production records: not found, with what to import
    empty = client.get("/api/v1/warranty/alerts", headers=bearer(demo_server, "warranty"))
    assert "warranty import" in problem(empty, 404, "not-found")["hint"]
