"""The cockpit sandbox page: the API's assistant, as a console user talks to it."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import Console, sign_in
from tests.web.test_more_pages import _well_formed

DRIVER_T = "Driver temperature"


def _vehicles(page: str) -> list[str]:
    return re.findall(r'<option value="([^"]+)"', page)


def _turns(page: str) -> list[tuple[str, str]]:
    """(kind, reply) of each turn in the transcript."""
    found = re.findall(
        r'data-kind="([a-z_]+)">.*?<span class="reply">(.*?)</span>', page, re.DOTALL
    )
    return [(k, unescape(t)) for k, t in found]


def _conversation(page: str) -> str:
    found = re.search(r'name="conversation_id" value="(cv-[0-9a-f]{24})"', page)
    assert found, "the form does not carry the conversation on"
    return found.group(1)


def _cabin(page: str, label: str) -> str:
    row = re.search(rf'<th scope="row">{label}</th><td class="num">([^<]*)</td>', page)
    assert row, label
    return row.group(1)


def _api_vehicles(client: TestClient, console: Console, principal: str) -> list[str]:
    headers = {"Authorization": f"Bearer {console.key(principal)}"}
    answer = client.get(
        "/api/v1/fleet/vehicles?purpose=personalisation&limit=1000", headers=headers
    )
    assert answer.status_code == 200, answer.text
    return [v["vehicle_id"] for v in answer.json()["items"]]


@pytest.mark.slow
def test_a_conversation_in_the_sandbox(client: TestClient, console: Console) -> None:
    token = sign_in(client, console, "cockpit-engineer")
    picker = client.get("/cockpit")
    assert picker.status_code == 200, picker.text
    _well_formed(picker.text)
    vehicles = _vehicles(picker.text)
    assert vehicles == _api_vehicles(client, console, "cockpit-engineer")[:200] and vehicles
    vehicle = vehicles[0]
    opened = client.get(f"/cockpit?vehicle={vehicle}")
    assert 'id="say-form"' in opened.text and 'id="transcript"' not in opened.text
    form = {"csrf_token": token, "vehicle": vehicle, "driving": "parked"}
    first = client.post("/cockpit", data={**form, "text": "set the temperature to 24 degrees"})
    assert first.status_code == 200, first.text
    _well_formed(first.text)
    assert _turns(first.text) == [("acted", "Setting the driver side to 24 °C.")]
    assert _cabin(first.text, DRIVER_T) == "24.0"
    conversation = _conversation(first.text)
    moving = client.post("/cockpit", data={
        **form, "conversation_id": conversation, "driving": "driving", "speed_kmh": "100",
        "text": "move my seat back",
    })  # fmt: skip
    turns = _turns(moving.text)
    assert [k for k, _ in turns] == ["acted", "refused"]
    assert "while the car is moving" in turns[1][1]
    assert "NO_SAFETY_ACTUATORS" in moving.text and "Driving at 100 km/h" in moving.text
    again = client.get(f"/cockpit?vehicle={vehicle}&conversation={conversation}")
    assert [k for k, _ in _turns(again.text)] == ["acted", "refused"]


def test_the_sandbox_refuses_bad_posts(client: TestClient, console: Console) -> None:
    token = sign_in(client, console, "cockpit-engineer")
    vehicle = _vehicles(client.get("/cockpit").text)[0]
    no_token = client.post("/cockpit", data={"vehicle": vehicle, "text": "hello"})
    assert no_token.status_code == 403 and "csrf-failed" in no_token.text
    empty = client.post("/cockpit", data={"csrf_token": token, "vehicle": vehicle, "text": "  "})
    assert empty.status_code == 400 and "Type what you would say" in empty.text
    assert 'aria-invalid="true"' in empty.text and 'id="transcript"' not in empty.text
    bad = client.post("/cockpit", data={"csrf_token": token, "vehicle": vehicle, "text": "hi",
                                         "driving": "flying"})  # fmt: skip
    assert bad.status_code == 422
    unknown = client.get("/cockpit?vehicle=VH-NOPE")
    assert unknown.status_code == 404 and "No vehicle" in unknown.text


def test_a_user_without_the_grant_sees_no_vehicle(client: TestClient, console: Console) -> None:
    sign_in(client, console, "fleet-health")
    page = client.get("/cockpit")
    assert page.status_code == 200
    assert _vehicles(page.text) == []  # no personalisation grant: no car to talk to
