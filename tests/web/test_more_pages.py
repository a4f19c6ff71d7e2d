"""The campaigns, reports and data-subject pages: the API's answers, to whom the API allows."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from drivetrain.governance.identity import issue_api_key
from drivetrain.reports import REPORTS
from drivetrain.state import session_scope
from tests.web.conftest import Console, sign_in
from tests.web.test_pages import INLINE_CODE

PAGES = ("/campaigns", "/reports", "/governance/subjects", "/governance/subjects/owner-00000")


def _api(client: TestClient, console: Console, principal: str, path: str) -> object:
    answer = client.get(path, headers={"Authorization": f"Bearer {console.key(principal)}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _key_with(console: Console, principal: str, scope: str) -> dict[str, str]:
    """Bearer headers of a key that has only ``scope``."""
    with session_scope(console.settings.resolved_state_url) as session:
        _, token = issue_api_key(session, principal, [scope], label="web test, one scope")
    return {"Authorization": f"Bearer {token}"}


def _well_formed(text: str) -> None:
    assert INLINE_CODE.search(text) is None, "inline style or script (the CSP forbids it)"
    fields = re.findall(r'<(?:input|select)(?![^>]*type="hidden")[^>]*\sid="([^"]+)"', text)
    assert all(f'<label for="{f}">' in text for f in fields), fields
    assert text.count("<table") == text.count("<caption>")


def test_campaigns_page_lists_the_demos_campaigns(client: TestClient, console: Console) -> None:
    sign_in(client, console, "analyst-peugeot")
    page = client.get("/campaigns")
    assert page.status_code == 200, page.text
    _well_formed(page.text)
    api = _api(client, console, "analyst-peugeot", "/api/v1/campaigns")
    assert isinstance(api, dict)
    shown = re.findall(r'<th scope="row"><code>([^<]+)</code>', page.text)
    assert shown == [c["campaign_id"] for c in api["items"]]
    assert {"fleet-health", "charging-spots"} <= set(shown)
    assert "Vehicle.Powertrain.*" in page.text and "365 days" in page.text
    assert "brands Tesla" in page.text and "location_services" in page.text
    assert 'href="/campaigns" aria-current="page"' in page.text
    active = client.get("/campaigns?active=true")
    assert active.status_code == 200 and '<option value="true" selected>' in active.text


def test_reports_page_links_every_report_in_both_formats(
    client: TestClient, console: Console
) -> None:
    sign_in(client, console, "fleet-health")
    page = client.get("/reports")
    assert page.status_code == 200, page.text
    _well_formed(page.text)
    for name, definition in REPORTS.items():
        assert f"<code>{name}</code>" in page.text and definition.title in page.text
        for fmt in ("html", "pdf"):
            assert f'href="/api/v1/reports/{name}?format={fmt}"' in page.text
    built = client.get("/api/v1/reports/fleet-health-weekly?format=html")
    assert built.status_code == 200 and built.headers["x-drivetrain-output-id"]


def test_subjects_pages_show_consent_and_link_the_export(
    client: TestClient, console: Console
) -> None:
    sign_in(client, console, "dpo-eu")
    page = client.get("/governance/subjects")
    assert page.status_code == 200, page.text
    _well_formed(page.text)
    api = _api(client, console, "dpo-eu", "/api/v1/governance/subjects?limit=50")
    assert isinstance(api, dict) and api["items"]
    shown = re.findall(r'<th scope="row"><a href="/governance/subjects/([^"]+)">', page.text)
    assert shown == [s["subject_id"] for s in api["items"]] and "owner-00000" in shown
    assert "vehicle_health · technical:" in page.text
    details = [
        _api(client, console, "dpo-eu", f"/api/v1/governance/subjects/{subject}")
        for subject in shown
    ]
    withdrawn = next(
        d["subject_id"]
        for d in details
        if isinstance(d, dict) and any(not c["active"] for c in d["consents"])
    )
    assert "<strong>withdrawn</strong>" in page.text
    region = api["items"][0]["region"]
    only = client.get(f"/governance/subjects?region={region}")
    assert only.status_code == 200 and f'<option value="{region}" selected>' in only.text
    assert client.get("/governance/subjects?region=").status_code == 200
    assert client.get("/governance/subjects?region=mars").status_code == 400

    one = client.get(f"/governance/subjects/{withdrawn}")
    assert one.status_code == 200, one.text
    _well_formed(one.text)
    history = _api(client, console, "dpo-eu", f"/api/v1/governance/subjects/{withdrawn}/consents")
    assert isinstance(history, list)
    rows = one.text[one.text.index('id="consent-history"') :].count('<tr><td class="num">')
    assert rows == len(history) and any(e["action"] == "withdrawn" for e in history)
    export = f"/api/v1/governance/subjects/{withdrawn}/export"
    assert f'href="{export}"' in one.text
    assert 'href="/governance/subjects" aria-current="page"' in one.text
    download = client.get(export)
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    missing = client.get("/governance/subjects/no-such-subject")
    assert missing.status_code == 404


@pytest.mark.parametrize("principal", ["fleet-health", "warranty"])
def test_subjects_pages_refuse_anyone_but_the_officer(
    client: TestClient, console: Console, principal: str
) -> None:
    sign_in(client, console, principal)
    for path in ("/governance/subjects", "/governance/subjects/owner-00000"):
        page = client.get(path)
        assert page.status_code == 403, path
        assert '<h1 id="problem-title">Not allowed</h1>' in page.text
        assert "policy-denied" in page.text and "data protection officer" in page.text
        assert "owner-00000</a>" not in page.text and "Owner 0" not in page.text


@pytest.mark.parametrize(
    ("path", "scope"), [("/campaigns", "campaigns:read"), ("/reports", "reports:read")]
)
def test_campaigns_and_reports_refuse_a_key_without_their_scope(
    client: TestClient, console: Console, path: str, scope: str
) -> None:
    page = client.get(path, headers=_key_with(console, "dpo-eu", "audit:read"))
    assert page.status_code == 403
    assert '<h1 id="problem-title">Not allowed</h1>' in page.text
    assert "insufficient-scope" in page.text and scope in page.text
    allowed = client.get(path, headers=_key_with(console, "dpo-eu", scope))
    assert allowed.status_code == 200


@pytest.mark.parametrize("path", PAGES)
def test_the_pages_send_one_signed_out_to_sign_in(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 303
    assert page.headers["location"] == f"/login?next={path}"
