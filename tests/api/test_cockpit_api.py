"""``/api/v1/cockpit``: the in-car assistant over HTTP, on the demo fleet, with the real model.

The demo's owners of even-numbered vehicles consented to personalisation
(:mod:`drivetrain.demo.consent_story`), so the assistant may read those cars'
status; the others it answers without, and says so.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from drivetrain.fleet import list_vehicles
from drivetrain.governance.consent import consent_state
from drivetrain.governance.subjects import links_of_vehicles
from drivetrain.state import session_scope
from tests.api.conftest import DemoServer, bearer, problem

SOC = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
SEAT = "Vehicle.Cabin.Seat.Row1.DriverSide.Position"
DRIVER_T = "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature"


def _teslas(server: DemoServer) -> tuple[str, str]:
    """A Tesla whose owner consented to personalisation, and a European car whose owner did not
    (in the EU personalisation needs consent even for technical data; in the US a contract
    covers it: data/policies)."""
    url = server.settings.resolved_state_url
    with session_scope(url) as session:
        fleet = list_vehicles(session)
        ids = [v.vehicle_id for v in fleet]
        owners = {link.vehicle_id: link.subject_id for link in links_of_vehicles(session, ids)}
        consented = {
            v: consent_state(session, owners[v], "personalisation", "technical").active for v in ids
        }
    yes = next(  # cockpit-service reads no vehicle of region cn (PIPL residency)
        v.vehicle_id
        for v in fleet
        if v.model_id == "tesla-model-3" and v.region in ("eu", "us") and consented[v.vehicle_id]
    )
    no = next(v.vehicle_id for v in fleet if v.region == "eu" and not consented[v.vehicle_id])
    return yes, no


def _say(
    client: TestClient, headers: dict[str, str], vehicle: str, text: str, **extra: Any
) -> dict[str, Any]:
    body = {"text": text, **extra}
    answer = client.post(
        f"/api/v1/cockpit/vehicles/{vehicle}/assistant", json=body, headers=headers
    )
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


@pytest.mark.slow
def test_a_conversation_acts_follows_up_and_refuses_while_driving(
    client: TestClient, demo_server: DemoServer
) -> None:
    vehicle, _ = _teslas(demo_server)
    headers = bearer(demo_server, "cockpit-service", "cockpit:write")
    first = _say(client, headers, vehicle, "set the temperature to 23 degrees")
    assert first["reply"]["kind"] == "acted"
    assert first["reply"]["writes"] == [{"path": DRIVER_T, "value": 23.0}]
    assert first["vehicle"]["values"][DRIVER_T] == 23.0
    assert SOC in first["vehicle"]["values"] and first["vehicle"]["status_refused"] is None
    assert first["reply"]["output_id"].startswith("out-")
    cid = first["conversation_id"]
    seat = first["vehicle"]["values"].get(SEAT)
    moving = _say(client, headers, vehicle, "move my seat back", conversation_id=cid, speed_kmh=90)
    assert moving["vehicle"]["moving"] is True
    assert moving["reply"]["kind"] == "refused"
    assert "NO_SAFETY_ACTUATORS" in moving["reply"]["rules"]
    assert moving["vehicle"]["values"].get(SEAT) == seat
    parked = _say(client, headers, vehicle, "move my seat back", conversation_id=cid, speed_kmh=0)
    assert parked["reply"]["kind"] == "acted" and parked["vehicle"]["values"][SEAT] != seat
    view = client.get(f"/api/v1/cockpit/vehicles/{vehicle}/conversations/{cid}", headers=headers)
    assert view.status_code == 200
    assert [t["said"] for t in view.json()["turns"]] == [
        "set the temperature to 23 degrees", "move my seat back", "move my seat back",
    ]  # fmt: skip


@pytest.mark.slow
def test_without_consent_the_assistant_knows_no_status_and_says_so(
    client: TestClient, demo_server: DemoServer
) -> None:
    _, vehicle = _teslas(demo_server)
    headers = bearer(demo_server, "cockpit-service", "cockpit:write")
    result = _say(client, headers, vehicle, "how much range do I have")
    assert result["vehicle"]["status_refused"]
    assert SOC not in result["vehicle"]["values"]
    assert result["reply"]["kind"] == "refused" and "not available" in result["reply"]["text"]


@pytest.mark.slow
def test_a_conversation_belongs_to_whoever_opened_it(
    client: TestClient, demo_server: DemoServer
) -> None:
    vehicle, other = _teslas(demo_server)
    mine = bearer(demo_server, "cockpit-service", "cockpit:write")
    cid = _say(client, mine, vehicle, "turn the volume up")["conversation_id"]
    theirs = bearer(demo_server, "cockpit-engineer", "cockpit:write")
    path = f"/api/v1/cockpit/vehicles/{vehicle}/assistant"
    taken = client.post(path, json={"text": "yes", "conversation_id": cid}, headers=theirs)
    problem(taken, 404, "not-found")
    elsewhere = f"/api/v1/cockpit/vehicles/{other}/assistant"
    wrong_car = client.post(elsewhere, json={"text": "yes", "conversation_id": cid}, headers=mine)
    problem(wrong_car, 409, "conflict")


def test_the_route_needs_its_scope_and_valid_input(
    client: TestClient, demo_server: DemoServer
) -> None:
    path = "/api/v1/cockpit/vehicles/nope/assistant"
    reader = bearer(demo_server, "cockpit-service", "fleet:read")
    problem(client.post(path, json={"text": "hi"}, headers=reader), 403, "insufficient-scope")
    writer = bearer(demo_server, "cockpit-service", "cockpit:write")
    for body in ({"text": ""}, {"text": "x" * 501}, {"text": "hi", "speed_kmh": -1},
                 {"text": "hi", "conversation_id": "../../etc"}):  # fmt: skip
        assert client.post(path, json=body, headers=writer).status_code == 422, body
    problem(client.post(path, json={"text": "hi"}, headers=writer), 404, "not-found")
    analyst = bearer(demo_server, "fleet-health", "cockpit:write")
    with session_scope(demo_server.settings.resolved_state_url) as session:
        some = list_vehicles(session)[0].vehicle_id
    refused = client.post(f"/api/v1/cockpit/vehicles/{some}/assistant", json={"text": "hi"},
                          headers=analyst)  # fmt: skip
    problem(refused, 404, "not-found")  # no grant for personalisation: not even its existence
