"""/api/v1/governance: policies for anyone, subjects for the officer, consent and erasure
audited, and an erasure that needs confirming."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from drivetrain.errors import NotFound
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.consent import consent_history, consent_receipt, consent_state
from drivetrain.governance.keys import Keyring
from drivetrain.governance.policies import region_policy
from drivetrain.governance.subject_rights import subject_data
from drivetrain.governance.subjects import get_subject, links_of_subject, list_subjects
from drivetrain.lake import Lake
from drivetrain.state import dispose_engines, session_scope
from tests.api.conftest import DemoServer, bearer, copy_server, problem

SUBJECT = "owner-00001"
DPO_US = """
[[principal]]
id = "dpo-us"
roles = ["data_protection_officer"]
brands = ["*"]
regions = ["us"]
country = "US"
"""


@pytest.fixture
def private(demo_server: DemoServer, tmp_path: Path) -> Iterator[tuple[DemoServer, TestClient]]:
    """A copy of the demo data that a test may write to (and erase from)."""
    server = copy_server(demo_server, tmp_path)
    with server.settings.resolved_principals_file.open("a", encoding="utf-8") as out:
        out.write(DPO_US)
    with server.client() as client:
        yield server, client
    dispose_engines(server.settings.resolved_state_url)


def test_a_regions_policy_is_for_anyone(demo_server: DemoServer, client: TestClient) -> None:
    policy = region_policy("eu")
    body = client.get(
        "/api/v1/governance/policies/eu", headers=bearer(demo_server, "parts", "governance:read")
    ).json()
    assert body["laws"] == list(policy.laws) and body["default_basis"] == policy.default_basis
    assert {(b["purpose"], b["category"]): b["basis"] for b in body["bases"]} == dict(policy.bases)
    assert [r["name"] for r in body["rights"]] == list(policy.rights)
    auth = bearer(demo_server, "parts")
    unknown = client.get("/api/v1/governance/policies/mars", headers=auth)
    problem(unknown, 422, "validation-error")


def test_subjects_are_the_officers(demo_server: DemoServer, client: TestClient) -> None:
    with session_scope(demo_server.settings.resolved_state_url) as session:
        stored = list_subjects(session)
        subject = get_subject(session, SUBJECT)
        links = links_of_subject(session, SUBJECT)
        history = consent_history(session, SUBJECT)
        pairs = dict.fromkeys((e.purpose, e.data_category) for e in history)
        states = [consent_state(session, SUBJECT, p, c) for p, c in pairs]
        receipt = consent_receipt(session, SUBJECT)
    officer = bearer(demo_server, "dpo-eu", "governance:read")
    listed = client.get("/api/v1/governance/subjects?limit=1000", headers=officer).json()
    assert [s["subject_id"] for s in listed["items"]] == [s.subject_id for s in stored]
    assert listed["items"][1]["display_name"] == stored[1].display_name
    eu = client.get("/api/v1/governance/subjects?region=eu&limit=1000", headers=officer).json()
    assert eu["total"] == sum(1 for s in stored if s.region == "eu")
    one = client.get(f"/api/v1/governance/subjects/{SUBJECT}", headers=officer).json()
    assert one["display_name"] == subject.display_name and one["region"] == subject.region
    assert [v["vehicle_id"] for v in one["vehicles"]] == [k.vehicle_id for k in links]
    assert [(c["purpose"], c["data_category"], c["active"]) for c in one["consents"]] == [
        (s.purpose, s.data_category, s.active) for s in states
    ]
    events = client.get(f"/api/v1/governance/subjects/{SUBJECT}/consents", headers=officer).json()
    assert [e["event_id"] for e in events] == [e.event_id for e in history] and history
    got = client.get(f"/api/v1/governance/subjects/{SUBJECT}/receipt", headers=officer).json()
    assert {k: v for k, v in got.items() if k != "consentReceiptID"} == {
        k: v for k, v in receipt.items() if k != "consentReceiptID"
    }
    problem(client.get("/api/v1/governance/subjects/nobody", headers=officer), 404, "not-found")


def test_nobody_else_sees_a_subject(demo_server: DemoServer, client: TestClient) -> None:
    for principal in ("fleet-health", "warranty", "analyst-peugeot"):
        auth = bearer(demo_server, principal)
        for path in ("", f"/{SUBJECT}", f"/{SUBJECT}/consents", f"/{SUBJECT}/receipt", f"/{SUBJECT}/export"):  # fmt: skip
            response = client.get(f"/api/v1/governance/subjects{path}", headers=auth)
            assert "Owner" not in problem(response, 403, "policy-denied")["detail"]
    no_scope = bearer(demo_server, "dpo-eu", "audit:read")
    problem(client.get("/api/v1/governance/subjects", headers=no_scope), 403, "insufficient-scope")


def test_an_officer_sees_only_the_subjects_of_their_regions(
    private: tuple[DemoServer, TestClient],
) -> None:
    server, client = private
    with session_scope(server.settings.resolved_state_url) as session:
        stored = list_subjects(session)
    us = bearer(server, "dpo-us")
    listed = client.get("/api/v1/governance/subjects?limit=1000", headers=us).json()
    assert {s["region"] for s in listed["items"]} == {"us"}
    assert listed["total"] == sum(1 for s in stored if s.region == "us")
    other = next(s for s in stored if s.region != "us")
    problem(client.get(f"/api/v1/governance/subjects/{other.subject_id}", headers=us), 404, "not-found")  # fmt: skip


def test_consent_given_and_withdrawn_is_audited(private: tuple[DemoServer, TestClient]) -> None:
    server, client = private
    officer = bearer(server, "dpo-eu", "governance:write", "governance:read")
    given = client.post(
        f"/api/v1/governance/subjects/{SUBJECT}/consents",
        json={
            "purpose": "marketing",
            "categories": ["technical", "location"],
            "notice_version": "2026-05",
            "at": "2026-04-20T00:00:00Z",
        },
        headers=officer,
    )
    assert given.status_code == 201, given.text
    assert [e["action"] for e in given.json()] == ["given", "given"]
    withdrawn = client.post(
        f"/api/v1/governance/subjects/{SUBJECT}/consents/withdrawals",
        json={"purpose": "marketing", "categories": ["location"]},
        headers=officer,
    )
    assert withdrawn.status_code == 201 and withdrawn.json()[0]["notice_version"] == "2026-05"
    with session_scope(server.settings.resolved_state_url) as session:
        assert consent_state(session, SUBJECT, "marketing", "technical").active
        assert not consent_state(session, SUBJECT, "marketing", "location").active
    logged = [e for e in AuditLog(server.settings.data_dir).entries("consent") if e.principal == "dpo-eu"]  # fmt: skip
    assert [(e.details["data_category"], e.details["action"]) for e in logged] == [
        ("technical", "given"), ("location", "given"), ("location", "withdrawn"),
    ]  # fmt: skip
    assert {e.purpose for e in logged} == {"marketing"}
    # refusals and bad input change nothing
    analyst = bearer(server, "fleet-health")
    body = {"purpose": "marketing", "categories": ["technical"], "notice_version": "x"}
    problem(client.post(f"/api/v1/governance/subjects/{SUBJECT}/consents", json=body, headers=analyst), 403, "policy-denied")  # fmt: skip
    reader = bearer(server, "dpo-eu", "governance:read")
    problem(client.post(f"/api/v1/governance/subjects/{SUBJECT}/consents", json=body, headers=reader), 403, "insufficient-scope")  # fmt: skip
    for wrong in (
        {**body, "categories": ["dreams"]},
        {**body, "purpose": "legal_obligation"},
        {**body, "at": "2026-04-20T00:00:00"},  # no time zone
        {"purpose": "marketing", "categories": ["technical"]},  # no notice shown
        {**body, "categories": []},
    ):
        sent = client.post(f"/api/v1/governance/subjects/{SUBJECT}/consents", json=wrong, headers=officer)  # fmt: skip
        problem(sent, 422, "validation-error")
    nobody = client.post("/api/v1/governance/subjects/nobody/consents", json=body, headers=officer)
    problem(nobody, 404, "not-found")
    after = [e for e in AuditLog(server.settings.data_dir).entries("consent") if e.principal == "dpo-eu"]  # fmt: skip
    assert len(after) == 3


def test_the_access_export_holds_the_subjects_data(private: tuple[DemoServer, TestClient]) -> None:
    server, client = private
    settings = server.settings
    with session_scope(settings.resolved_state_url) as session:
        expected = subject_data(
            session, Lake(settings.lake_dir), SUBJECT, Keyring.load_or_create(settings.data_dir)
        ).rows
    response = client.get(
        f"/api/v1/governance/subjects/{SUBJECT}/export", headers=bearer(server, "dpo-eu")
    )
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    document = json.loads(archive.read("subject.json"))
    assert document["subject"]["subject_id"] == SUBJECT and document["tables"] == expected
    assert expected["telemetry"] > 0 and "telemetry.parquet" in archive.namelist()
    exports = AuditLog(settings.data_dir).entries("export")
    assert exports[-1].principal == "dpo-eu" and exports[-1].details["rows"] == expected
    assert exports[-1].purpose == "legal_obligation"


def test_erasure_needs_the_officer_and_a_confirmation(
    private: tuple[DemoServer, TestClient],
) -> None:
    server, client = private
    settings = server.settings
    lake = Lake(settings.lake_dir)
    with session_scope(settings.resolved_state_url) as session:
        before = subject_data(session, lake, SUBJECT).rows
    path = f"/api/v1/governance/subjects/{SUBJECT}/erasure"
    officer = bearer(server, "dpo-eu")
    problem(client.post(path, json={"confirm": False}, headers=officer), 400, "confirmation-required")  # fmt: skip
    problem(client.post(path, json={}, headers=officer), 422, "validation-error")
    problem(client.post(path, json={"confirm": True}, headers=bearer(server, "fleet-health")), 403, "policy-denied")  # fmt: skip
    reader = bearer(server, "dpo-eu", "governance:read")
    problem(client.post(path, json={"confirm": True}, headers=reader), 403, "insufficient-scope")
    with session_scope(settings.resolved_state_url) as session:
        assert get_subject(session, SUBJECT)  # still there after every refusal
    erased = client.post(path, json={"confirm": True}, headers=officer)
    assert erased.status_code == 200, erased.text
    report = erased.json()
    assert report["rows_deleted"]["telemetry"] == before["telemetry"] > 0
    assert report["keys_destroyed"] >= 1 and report["files_removed"] > 0
    with session_scope(settings.resolved_state_url) as session, pytest.raises(NotFound):
        get_subject(session, SUBJECT)
    problem(client.get(f"/api/v1/governance/subjects/{SUBJECT}", headers=officer), 404, "not-found")  # fmt: skip
    audit = AuditLog(settings.data_dir)
    assert audit.entries("erasure")[-1].details["subject"] == SUBJECT
    admin = audit.entries("admin")[-1]
    assert admin.principal == "dpo-eu" and admin.details["action"] == "subject_erase"
    # the rest of the fleet is still served
    assert client.get("/api/v1/fleet/vehicles", headers=officer).status_code == 200
