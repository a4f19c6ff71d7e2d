"""``/api/v1/reports``: the caller's principal, the report's purpose, the right media type."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pypdf import PdfReader

from drivetrain.api import create_api
from drivetrain.api.routers import reports
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.identity import issue_api_key
from drivetrain.governance.provenance import explain
from drivetrain.reports import REPORTS
from drivetrain.state import session_scope
from tests.reports.conftest import DemoData

pytestmark = pytest.mark.slow


def with_reports(app: FastAPI) -> FastAPI:
    """The app with the reports router (once: the lead may have added it to ROUTERS)."""
    if not any(getattr(r, "path", "").startswith(reports.router.prefix) for r in app.routes):
        app.include_router(reports.router)
    return app


@pytest.fixture(scope="module")
def client(demo: DemoData) -> Iterator[TestClient]:
    with TestClient(with_reports(create_api(demo.settings)), raise_server_exceptions=False) as c:
        yield c


def auth(demo: DemoData, principal: str, *scopes: str) -> dict[str, str]:
    with session_scope(demo.settings.resolved_state_url) as session:
        _, token = issue_api_key(session, principal, scopes or ("*",), label="reports test")
    return {"Authorization": f"Bearer {token}"}


def test_list(demo: DemoData, client: TestClient) -> None:
    response = client.get("/api/v1/reports", headers=auth(demo, "engineer", "reports:read"))
    assert response.status_code == 200, response.text
    assert [r["name"] for r in response.json()] == list(REPORTS)
    assert client.get("/api/v1/reports").status_code == 401


def test_html_as_the_callers_principal(demo: DemoData, client: TestClient) -> None:
    response = client.get(
        "/api/v1/reports/fleet-health-weekly", headers=auth(demo, "analyst-peugeot")
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-disposition"].startswith("inline; filename=")
    output_id = response.headers[reports.OUTPUT_HEADER]
    assert output_id in response.text
    record = explain(AuditLog(demo.settings.data_dir), output_id)
    assert (record.principal, record.purpose, record.output_kind) == (
        "analyst-peugeot",
        "vehicle_health",
        "report",
    )
    # the caller's scope, not the report's default principal: Peugeots only
    assert "Read as</dt><dd>analyst-peugeot" in response.text.replace("\n", "")
    assert ">Ram<" not in response.text and ">Tesla<" not in response.text


def test_pdf_download(demo: DemoData, client: TestClient) -> None:
    response = client.get(
        "/api/v1/reports/quality-summary?format=pdf", headers=auth(demo, "quality", "reports:read")
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="quality-summary-'
    )
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert response.headers[reports.OUTPUT_HEADER] in text and "TH-OPEN" in text


def test_refusals_are_problems(demo: DemoData, client: TestClient) -> None:
    denied = client.get("/api/v1/reports/warranty-alerts", headers=auth(demo, "quality"))
    assert denied.status_code == 403 and denied.json()["code"] == "policy-denied"
    scoped = client.get(
        "/api/v1/reports/warranty-alerts", headers=auth(demo, "warranty", "health:read")
    )
    assert scoped.status_code == 403 and scoped.json()["code"] == "insufficient-scope"
    unknown = client.get("/api/v1/reports/monthly", headers=auth(demo, "warranty"))
    assert unknown.status_code == 404 and "fleet-health-weekly" in unknown.json()["hint"]
    bad = client.get("/api/v1/reports/warranty-alerts?format=docx", headers=auth(demo, "warranty"))
    assert bad.status_code == 422
    since = client.get(
        "/api/v1/reports/warranty-alerts?since=2024-01-01", headers=auth(demo, "warranty")
    )
    assert since.status_code == 400 and since.json()["code"] == "input-error"
