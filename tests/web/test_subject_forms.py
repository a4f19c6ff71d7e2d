"""The data-subject page's forms: consent given and withdrawn, and erasure, for the officer only.

Each test works on its own copy of the console's demo data, since the forms write.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow.compute as pc
import pytest
from fastapi.testclient import TestClient

from drivetrain.governance.audit import AuditLog
from drivetrain.governance.identity import issue_api_key
from drivetrain.lake import Lake
from drivetrain.state import session_scope
from tests.web.conftest import Console, sign_in
from tests.web.test_more_pages import _well_formed

SUBJECT = "owner-00001"


@pytest.fixture
def own(console: Console, tmp_path: Path) -> Iterator[tuple[Console, TestClient]]:
    """A private copy of the console's data and a client over it."""
    target = tmp_path / "data"
    shutil.copytree(console.settings.data_dir, target)
    copy = Console(console.settings.model_copy(update={"data_dir": target}), console.passwords)
    with copy.client() as client:
        yield copy, client


def _history(client: TestClient, subject: str) -> list[dict[str, object]]:
    answer = client.get(f"/api/v1/governance/subjects/{subject}/consents")
    assert answer.status_code == 200, answer.text
    events = answer.json()
    assert isinstance(events, list)
    return events


def test_the_subject_page_has_labelled_consent_and_erasure_forms(
    own: tuple[Console, TestClient],
) -> None:
    console, client = own
    token = sign_in(client, console, "dpo-eu")
    page = client.get(f"/governance/subjects/{SUBJECT}")
    assert page.status_code == 200, page.text
    _well_formed(page.text)
    title = page.text[page.text.index("<title>") : page.text.index("</title>")]
    assert SUBJECT in title and "<form" not in title and "&lt;" not in title
    assert page.text.count('id="consent-form"') == page.text.count('id="erase-form"') == 1
    for form in ("consent-form", "erase-form"):
        start = page.text.index(f'id="{form}"')
        assert f'name="csrf_token" value="{token}"' in page.text[start : start + 400]
    assert f'action="/governance/subjects/{SUBJECT}/consents"' in page.text
    assert f'action="/governance/subjects/{SUBJECT}/erasure"' in page.text
    assert '<label for="category-location">location</label>' in page.text


def test_recording_consent_through_the_form_is_what_the_api_records(
    own: tuple[Console, TestClient],
) -> None:
    console, client = own
    token = sign_in(client, console, "dpo-eu")
    before = _history(client, SUBJECT)
    answer = client.post(
        f"/governance/subjects/{SUBJECT}/consents",
        data={
            "csrf_token": token,
            "action": "withdrawn",
            "purpose": "product_improvement",
            "categories": ["technical", "location"],
        },
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/governance/subjects/{SUBJECT}?recorded=withdrawn%3A2"
    after = _history(client, SUBJECT)
    new = after[len(before) :]
    assert [(e["action"], e["purpose"], e["data_category"]) for e in new] == [
        ("withdrawn", "product_improvement", "technical"),
        ("withdrawn", "product_improvement", "location"),
    ]
    shown = client.get(answer.headers["location"])
    assert "Recorded 2 consent events (withdrawn)" in shown.text
    audit = AuditLog(console.settings.data_dir)
    consent_entries = audit.entries("consent")
    assert consent_entries[-1].principal == "dpo-eu"

    given = client.post(
        f"/governance/subjects/{SUBJECT}/consents",
        data={
            "csrf_token": token,
            "action": "given",
            "purpose": "product_improvement",
            "categories": "technical",
            "notice_version": "2026-11",
        },
    )
    assert given.status_code == 303, given.text
    last = _history(client, SUBJECT)[-1]
    assert (last["action"], last["notice_version"], last["legal_basis"]) == (
        "given",
        "2026-11",
        "consent",
    )
    now = client.get(f"/api/v1/governance/subjects/{SUBJECT}").json()["consents"]
    state = {(c["purpose"], c["data_category"]): c["active"] for c in now}
    assert state[("product_improvement", "technical")] is True
    assert state[("product_improvement", "location")] is False


@pytest.mark.parametrize(
    ("fields", "status", "says"),
    [
        ({"action": "given", "purpose": "warranty", "categories": "technical"}, 400, "notice"),
        ({"action": "maybe", "purpose": "warranty", "categories": "technical"}, 400, "action"),
        ({"action": "given", "purpose": "espionage", "categories": "technical"}, 422, "purpose"),
        ({"action": "withdrawn", "purpose": "warranty"}, 422, "categories"),
    ],
)
def test_a_bad_consent_form_records_nothing(
    own: tuple[Console, TestClient], fields: dict[str, str], status: int, says: str
) -> None:
    console, client = own
    token = sign_in(client, console, "dpo-eu")
    before = _history(client, SUBJECT)
    answer = client.post(
        f"/governance/subjects/{SUBJECT}/consents", data={"csrf_token": token, **fields}
    )
    assert answer.status_code == status, answer.text
    assert says in answer.text.lower()
    assert _history(client, SUBJECT) == before


def test_the_forms_refuse_a_post_without_the_sessions_token_or_scope(
    own: tuple[Console, TestClient],
) -> None:
    console, client = own
    sign_in(client, console, "dpo-eu")
    before = _history(client, SUBJECT)
    form = {"action": "withdrawn", "purpose": "warranty", "categories": "technical"}
    forged = client.post(f"/governance/subjects/{SUBJECT}/consents", data=form)
    assert forged.status_code == 403 and "csrf-failed" in forged.text
    erase = client.post(f"/governance/subjects/{SUBJECT}/erasure", data={"confirm_id": SUBJECT})
    assert erase.status_code == 403 and "csrf-failed" in erase.text

    client.cookies.clear()
    with session_scope(console.settings.resolved_state_url) as session:
        _, read_only = issue_api_key(session, "dpo-eu", ["governance:read"], label="read only")
    keyed = client.post(
        f"/governance/subjects/{SUBJECT}/consents",
        data=form,
        headers={"Authorization": f"Bearer {read_only}"},
    )
    assert keyed.status_code == 403 and "governance:write" in keyed.text
    events = client.get(
        f"/api/v1/governance/subjects/{SUBJECT}/consents",
        headers={"Authorization": f"Bearer {read_only}"},
    ).json()
    assert events == before


@pytest.mark.parametrize("principal", ["fleet-health", "warranty"])
def test_only_the_officer_may_post_the_forms(
    own: tuple[Console, TestClient], principal: str
) -> None:
    console, client = own
    token = sign_in(client, console, principal)
    answer = client.post(
        f"/governance/subjects/{SUBJECT}/erasure", data={"csrf_token": token, "confirm_id": SUBJECT}
    )
    assert answer.status_code == 403 and "policy-denied" in answer.text
    client.cookies.clear()
    sign_in(client, console, "dpo-eu")
    assert client.get(f"/governance/subjects/{SUBJECT}").status_code == 200


def test_erasure_wants_the_id_typed_and_then_erases_the_subject(
    own: tuple[Console, TestClient],
) -> None:
    console, client = own
    token = sign_in(client, console, "dpo-eu")
    vehicles = [
        v["vehicle_id"]
        for v in client.get(f"/api/v1/governance/subjects/{SUBJECT}").json()["vehicles"]
    ]
    assert vehicles
    wrong = client.post(
        f"/governance/subjects/{SUBJECT}/erasure",
        data={"csrf_token": token, "confirm_id": "owner-00002"},
    )
    assert wrong.status_code == 400 and "nothing was erased" in wrong.text
    assert client.get(f"/governance/subjects/{SUBJECT}").status_code == 200

    done = client.post(
        f"/governance/subjects/{SUBJECT}/erasure", data={"csrf_token": token, "confirm_id": SUBJECT}
    )
    assert done.status_code == 200, done.text
    _well_formed(done.text)
    assert f"Data subject <code>{SUBJECT}</code> erased" in done.text
    shown = dict(re.findall(r'<th scope="row">([^<]+)</th><td class="num">(\d+)</td>', done.text))
    assert shown and sum(int(n) for n in shown.values()) > 0
    assert client.get(f"/governance/subjects/{SUBJECT}").status_code == 404
    lake = Lake(console.settings.lake_dir)
    left = lake.read(
        "telemetry", columns=["vehicle_id"], filter=pc.field("vehicle_id").isin(vehicles)
    )
    assert left.num_rows == 0
    erasures = [e for e in AuditLog(console.settings.data_dir).entries("admin")]
    assert erasures and erasures[-1].principal == "dpo-eu"
