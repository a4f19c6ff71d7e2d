"""/api/v1/quality answers what the quality capability computes on the same plant data."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from fastapi.testclient import TestClient

from drivetrain.demo.quality_tour import phase1_capability
from drivetrain.governance.access import AccessContext
from drivetrain.governance.principals import load_principals
from drivetrain.lake import Lake
from drivetrain.quality.charts import control_chart
from drivetrain.quality.data import PlantData, load_plant_data, measurement_subgroups
from drivetrain.quality.defects import lot_trend, pareto, supplier_ppm
from drivetrain.quality.studies import capability_study, chart_study
from tests.api.conftest import DemoServer, bearer, problem

CUTOFF = datetime(2024, 2, 1, tzinfo=UTC)
CHART = "/api/v1/quality/characteristics/TH-OPEN/chart"


def _data(server: DemoServer) -> PlantData:
    who = load_principals(server.settings.resolved_principals_file)["quality"]
    context = AccessContext(who, "manufacturing_quality")
    return load_plant_data(Lake(server.settings.lake_dir), context)


def test_characteristics_and_chart(analytics_server: DemoServer, analytics: TestClient) -> None:
    data = _data(analytics_server)
    auth = bearer(analytics_server, "quality", "quality:read", "audit:read")
    listed = analytics.get("/api/v1/quality/characteristics", headers=auth).json()
    assert [c["characteristic_id"] for c in listed] == data.characteristics["characteristic_id"].to_list()  # fmt: skip
    assert [c["usl"] for c in listed] == data.characteristics["usl"].to_list()
    body = analytics.get(f"{CHART}?phase1_until=2024-02-01T00:00:00Z&rules=limits", headers=auth).json()  # fmt: skip
    study = chart_study(data, "TH-OPEN", phase1_until=CUTOFF, rules="limits")
    assert body["chart"] == "xbar_r" and body["rules"] == ["nelson1"]
    assert len(body["points"]) == study.points.height
    assert [(s["phase"], s["subgroup"], s["statistic"]) for s in body["signals"]] == list(
        study.signals.select("phase", "subgroup", "statistic").iter_rows()
    )
    assert any(s["phase"] == "II" for s in body["signals"])  # the bad lot, after Phase I
    # independently: the X-bar limits of the Phase I subgroups, from control_chart itself
    grouped = measurement_subgroups(data.measurements.filter(pl.col("characteristic_id") == "TH-OPEN"), data.characteristics)  # fmt: skip
    reference = control_chart(grouped.filter(pl.col("ts") < CUTOFF), "xbar_r", by="characteristic_id", rules="limits")  # fmt: skip
    xbar = next(limit for limit in body["limits"] if limit["statistic"] == "xbar")
    ref = reference.points.filter(pl.col("statistic") == "xbar").row(0, named=True)
    assert (xbar["lcl"], xbar["center"], xbar["ucl"]) == pytest.approx((ref["lcl"], ref["center"], ref["ucl"]))  # fmt: skip
    assert body["parameters"]["sigma"] == pytest.approx(reference.parameters["sigma"][0])
    explained = analytics.get(f"/api/v1/explain/{body['output_id']}", headers=auth).json()
    assert explained["principal"] == "quality" and explained["kind"] == "quality_chart"
    ewma = analytics.get("/api/v1/quality/characteristics/LEAK/chart", headers=auth).json()
    assert ewma["chart"] == "ewma" and {p["phase"] for p in ewma["points"]} == {"I"}


def test_capability_pareto_and_suppliers(
    analytics_server: DemoServer, analytics: TestClient
) -> None:
    data = _data(analytics_server)
    auth = bearer(analytics_server, "quality")
    body = analytics.get("/api/v1/quality/capability?until=2024-02-01T00:00:00Z", headers=auth).json()  # fmt: skip
    expected = phase1_capability(data, CUTOFF)
    assert capability_study(data, CUTOFF).equals(expected)
    got = {r["characteristic"]: r for r in body["characteristics"]}
    for row in expected.iter_rows(named=True):
        for key in ("n", "method", "cp", "cpk", "ppk", "ppm_total"):
            assert got[row["characteristic"]][key] == pytest.approx(row[key]), key
    failed = data.inspections.filter(pl.col("result") == "fail") if data.inspections is not None else None  # fmt: skip
    assert failed is not None
    ranked = pareto(failed, "defect_code", weight="defects", missing="label")
    bars = analytics.get("/api/v1/quality/pareto", headers=auth).json()
    assert bars["findings"] == failed.height
    assert [(b["category"], b["count"], b["vital"]) for b in bars["bars"]] == list(ranked.select("defect_code", "count", "vital").iter_rows())  # fmt: skip
    late = analytics.get("/api/v1/quality/pareto?by=shift&since=2024-02-01T00:00:00Z", headers=auth).json()  # fmt: skip
    assert late["findings"] == failed.filter(pl.col("ts") >= CUTOFF).height
    assert data.lots is not None
    ppm = supplier_ppm(data.lots, by=("supplier", "part_number"), lot="lot_id")
    flagged = lot_trend(data.lots, lot="lot_id").flagged()
    suppliers = analytics.get("/api/v1/quality/suppliers", headers=auth).json()
    assert [(s["supplier"], s["defective"]) for s in suppliers["ppm"]] == list(ppm.select("supplier", "defective").iter_rows())  # fmt: skip
    assert [s["ppm"] for s in suppliers["ppm"]] == pytest.approx(ppm["ppm"].to_list())
    assert [lot["lot_id"] for lot in suppliers["flagged"]] == flagged["lot_id"].to_list()
    assert suppliers["lots"] == data.lots.height


def test_refusals_and_bad_input(
    analytics_server: DemoServer, analytics: TestClient, demo_server: DemoServer, client: TestClient
) -> None:
    for principal in ("warranty", "fleet-health"):
        refused = analytics.get(CHART, headers=bearer(analytics_server, principal))
        problem(refused, 403, "policy-denied")
    no_scope = bearer(analytics_server, "quality", "parts:read")
    problem(analytics.get("/api/v1/quality/capability", headers=no_scope), 403, "insufficient-scope")  # fmt: skip
    auth = bearer(analytics_server, "quality")
    for path in (
        f"{CHART}?chart=pie",
        f"{CHART}?phase1_until=2024-02-01T00:00:00",  # no time zone
        f"{CHART}?rules=nelson1;drop",
        "/api/v1/quality/pareto?by=colour",
        "/api/v1/quality/capability?until=soon",
    ):
        problem(analytics.get(path, headers=auth), 422, "validation-error")
    unknown = analytics.get("/api/v1/quality/characteristics/NOPE/chart", headers=auth)
    assert "TH-OPEN" in problem(unknown, 404, "not-found")["hint"]
    early = analytics.get(f"{CHART}?phase1_until=2000-01-01T00:00:00Z", headers=auth)
    problem(early, 400, "input-error")
    problem(analytics.get(f"{CHART}?chart=imr", headers=auth), 400, "input-error")
    problem(analytics.get(f"{CHART}?rules=nelson99", headers=auth), 400, "input-error")
    nothing = analytics.get("/api/v1/quality/pareto?since=2030-01-01T00:00:00Z", headers=auth)
    problem(nothing, 400, "input-error")
    empty = client.get("/api/v1/quality/characteristics", headers=bearer(demo_server, "quality"))
    assert "quality simulate" in problem(empty, 404, "not-found")["hint"]
