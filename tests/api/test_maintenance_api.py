"""``/api/v1/health/vehicles/{id}/maintenance`` and ``…/bookings``: the suggestions the library
makes on the same data, scopes, bookings that persist, and a full slot as a 409 problem."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from drivetrain.fleet import VehicleRecord, list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import load_principals
from drivetrain.governance.provenance import explain
from drivetrain.health.booking_file import JsonFileBookingStore, bookings_path
from drivetrain.health.scan import diagnose_vehicle, fleet_scan
from drivetrain.health.service_booking import MaintenancePlan, VehicleHealth, suggest_maintenance
from drivetrain.health.workshop_calendar import InMemoryBookingStore
from drivetrain.health.workshops import generate_workshop_network
from drivetrain.lake import Lake
from drivetrain.state import session_scope
from tests.api.conftest import DemoServer, bearer, copy_server, problem

NETWORK = generate_workshop_network(0)


def url(vehicle_id: str, what: str = "maintenance") -> str:
    return f"/api/v1/health/vehicles/{vehicle_id}/{what}"


@dataclass(frozen=True)
class Vehicles:
    due: VehicleRecord  # has a suggestion with slots
    plan: MaintenancePlan  # what the library suggests for it, nothing booked
    quiet: VehicleRecord  # nothing due
    china: VehicleRecord  # fleet-health may not read it


@pytest.fixture(scope="module")
def server(demo_server: DemoServer, tmp_path_factory: pytest.TempPathFactory) -> DemoServer:
    """A private copy: these tests write bookings and provenance records."""
    return copy_server(demo_server, tmp_path_factory.mktemp("api-maintenance"))


@pytest.fixture(scope="module")
def vehicles(server: DemoServer) -> Vehicles:
    settings = server.settings
    principal = load_principals(settings.resolved_principals_file)["fleet-health"]
    with session_scope(settings.resolved_state_url) as session:
        fleet = list_vehicles(session)
    allowed = [v for v in fleet if v.region != "cn"]  # as the API scans: what it may read
    context, lake = AccessContext(principal, "vehicle_health"), Lake(settings.lake_dir)
    scan = fleet_scan(lake, context, allowed)
    plans = [
        (v, suggest_maintenance(
            v, VehicleHealth.from_health(scan, diagnose_vehicle(lake, context, v, scan)),
            network=NETWORK, store=InMemoryBookingStore(),
        ))
        for v in allowed
    ]  # fmt: skip
    due = [(v, p) for v, p in plans if p.suggestions and p.suggestions[0].slots]
    quiet = [v for v, p in plans if p.nothing_due]
    china = [v for v in fleet if v.region == "cn"]
    assert due and quiet and china
    return Vehicles(due[0][0], due[0][1], quiet[0], china[0])


@pytest.fixture
def api(server: DemoServer) -> Iterator[TestClient]:
    with server.client() as c:
        yield c


def test_suggestions_are_the_librarys_and_are_recorded(
    api: TestClient, server: DemoServer, vehicles: Vehicles
) -> None:
    response = api.get(url(vehicles.due.vehicle_id), headers=bearer(server, "fleet-health"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["vehicle_id"] == vehicles.due.vehicle_id and body["nothing_due"] is False
    assert body["network"] == NETWORK.name
    fields = ("job_id", "job", "capability", "urgency", "latest_date", "evidence", "findings")
    expected = [s.to_dict() for s in vehicles.plan.suggestions]
    assert [{k: s[k] for k in fields} for s in body["suggestions"]] == [
        {k: s[k] for k in fields} for s in expected
    ]
    audit = AuditLog(server.settings.data_dir)
    for s in body["suggestions"]:
        assert 1 <= len(s["slots"]) <= 3 and s["summary"]
        for slot in s["slots"]:
            workshop = NETWORK.get(slot["workshop_id"])
            assert workshop.market == vehicles.due.market and workshop.can(s["capability"])
            start = datetime.fromisoformat(slot["start"])
            assert start.utcoffset() == timedelta(0)
            assert datetime.fromisoformat(slot["local_start"]) == start
        e = explain(audit, s["output_id"])
        assert (e.output_kind, e.purpose, e.principal) == (
            "maintenance_suggestion", "vehicle_health", "fleet-health"
        )  # fmt: skip
        recorded = [tuple(x.split(" ")) for x in e.params["slots"]]
        assert [(w, datetime.fromisoformat(t)) for w, t in recorded] == [
            (x["workshop_id"], datetime.fromisoformat(x["start"])) for x in s["slots"]
        ]


def test_query_parameters_bound_the_answer(
    api: TestClient, server: DemoServer, vehicles: Vehicles
) -> None:
    auth = bearer(server, "fleet-health", "health:read")
    one = api.get(url(vehicles.due.vehicle_id), params={"slots": 1}, headers=auth).json()
    assert all(len(s["slots"]) == 1 for s in one["suggestions"])
    for bad in ({"slots": 0}, {"slots": 21}, {"horizon_days": -1}):
        problem(api.get(url(vehicles.due.vehicle_id), params=bad, headers=auth), 422,
                "validation-error")  # fmt: skip


def test_nothing_due_is_an_answer_with_its_own_record(
    api: TestClient, server: DemoServer, vehicles: Vehicles
) -> None:
    body = api.get(url(vehicles.quiet.vehicle_id), headers=bearer(server, "fleet-health")).json()
    assert body["nothing_due"] is True and body["suggestions"] == []
    assert "Nothing needs a workshop" in body["summary"]
    e = explain(AuditLog(server.settings.data_dir), body["output_id"])
    assert e.output_kind == "maintenance_suggestion" and e.params["nothing_due"] is True


def test_scopes_and_unreadable_vehicles(
    api: TestClient, server: DemoServer, vehicles: Vehicles
) -> None:
    vid = vehicles.due.vehicle_id
    fleet_only = bearer(server, "fleet-health", "fleet:read")
    assert "health:read" in problem(api.get(url(vid), headers=fleet_only), 403,
                                    "insufficient-scope")["detail"]  # fmt: skip
    slot = vehicles.plan.suggestions[0].slots[0]
    body = {"workshop_id": slot.workshop_id, "start": slot.start.isoformat(),
            "job_id": vehicles.plan.suggestions[0].job_id}  # fmt: skip
    read_only = bearer(server, "fleet-health", "health:read")
    refused = problem(api.post(url(vid, "bookings"), json=body, headers=read_only), 403,
                      "insufficient-scope")  # fmt: skip
    assert "health:write" in refused["detail"]
    problem(api.post(url(vid, "bookings"), json=body), 401, "unauthenticated")
    china = vehicles.china.vehicle_id
    for response in (
        api.get(url(china), headers=bearer(server, "fleet-health")),
        api.post(url(china, "bookings"), json=body, headers=bearer(server, "fleet-health")),
    ):
        problem(response, 404, "not-found")
    assert not any(b.vehicle_id == vid for b in JsonFileBookingStore(
        bookings_path(server.settings.data_dir)))  # fmt: skip


def _book(api: TestClient, auth: dict[str, str], vid: str, **body: Any) -> Any:
    return api.post(url(vid, "bookings"), json=body, headers=auth)


def test_booking_persists_and_a_full_slot_is_a_409(
    api: TestClient, server: DemoServer, vehicles: Vehicles
) -> None:
    vid, auth = vehicles.due.vehicle_id, bearer(server, "fleet-health", "health:write")
    first = api.get(url(vid), headers=auth).json()["suggestions"][0]
    slot = first["slots"][0]
    workshop = NETWORK.get(slot["workshop_id"])
    made = []
    for _ in range(workshop.bays):
        response = _book(api, auth, vid, workshop_id=slot["workshop_id"], start=slot["start"],
                         job_id=first["job_id"], suggestion_id=first["output_id"])  # fmt: skip
        assert response.status_code == 201, response.text
        made.append(response.json())
    assert {(b["workshop_id"], b["start"], b["vehicle_id"], b["job_id"]) for b in made} == {
        (slot["workshop_id"], slot["start"], vid, first["job_id"])
    }
    assert all(b["suggestion_id"] == first["output_id"] for b in made)
    assert len({b["booking_id"] for b in made}) == workshop.bays
    on_file = {b.booking_id for b in JsonFileBookingStore(bookings_path(server.settings.data_dir))}
    assert {b["booking_id"] for b in made} <= on_file
    full = _book(api, auth, vid, workshop_id=slot["workshop_id"], start=slot["start"],
                 job_id=first["job_id"])  # fmt: skip
    body = problem(full, 409, "slot-taken")
    assert f"all {workshop.bays} bays are taken" in body["detail"] and body["hint"]
    # the next suggestions no longer offer the full slot
    again = api.get(url(vid), headers=auth).json()["suggestions"][0]["slots"]
    assert (slot["workshop_id"], slot["start"]) not in {
        (s["workshop_id"], s["start"]) for s in again
    }


def test_two_requests_for_the_last_bay_get_one_booking(
    api: TestClient, server: DemoServer, vehicles: Vehicles
) -> None:
    vid, auth = vehicles.due.vehicle_id, bearer(server, "fleet-health", "health:write")
    first = api.get(url(vid), headers=auth).json()["suggestions"][0]
    slot = first["slots"][-1]
    bays = NETWORK.get(slot["workshop_id"]).bays
    taken = JsonFileBookingStore(bookings_path(server.settings.data_dir)).overlapping(
        slot["workshop_id"], datetime.fromisoformat(slot["start"]),
        datetime.fromisoformat(slot["end"]),
    )  # fmt: skip
    for _ in range(bays - 1 - len(taken)):
        assert _book(api, auth, vid, workshop_id=slot["workshop_id"], start=slot["start"],
                     job_id=first["job_id"]).status_code == 201  # fmt: skip
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def attempt() -> None:
        barrier.wait()
        response = _book(api, auth, vid, workshop_id=slot["workshop_id"], start=slot["start"],
                         job_id=first["job_id"])  # fmt: skip
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(statuses) == [201, 409]


def test_bad_bookings_are_problems_a_client_can_act_on(
    api: TestClient, server: DemoServer, vehicles: Vehicles
) -> None:
    vid, auth = vehicles.due.vehicle_id, bearer(server, "fleet-health", "health:write")
    s = vehicles.plan.suggestions[0]
    slot = s.slots[0]
    good = {"workshop_id": slot.workshop_id, "start": slot.start.isoformat(), "job_id": s.job_id}
    naive = {**good, "start": slot.start.replace(tzinfo=None).isoformat()}
    problem(api.post(url(vid, "bookings"), json=naive, headers=auth), 422, "validation-error")
    off_grid = {**good, "start": (slot.start + timedelta(minutes=30)).isoformat()}
    body = problem(api.post(url(vid, "bookings"), json=off_grid, headers=auth), 400,
                   "slot-unavailable")  # fmt: skip
    assert slot.workshop_id in body["detail"] and body["hint"]  # off the grid, or past closing
    past = {**good, "start": (slot.start - timedelta(days=400)).isoformat()}
    assert "in the past" in problem(api.post(url(vid, "bookings"), json=past, headers=auth),
                                    400, "slot-unavailable")["detail"]  # fmt: skip
    for edge in ("9999-12-31T23:00:00+00:00", "0001-01-01T00:30:00+01:00"):
        out_of_range = {**good, "start": edge}
        problem(api.post(url(vid, "bookings"), json=out_of_range, headers=auth), 400,
                "slot-unavailable")  # fmt: skip
    problem(api.post(url(vid, "bookings"), json={**good, "workshop_id": "xx-nowhere-1"},
                     headers=auth), 404, "not-found")  # fmt: skip
    problem(api.post(url(vid, "bookings"), json={**good, "job_id": "wash_the_car"},
                     headers=auth), 400, "input-error")  # fmt: skip
    incapable = next(w for w in NETWORK.in_market(vehicles.due.market) if not w.can(s.capability))
    body = problem(api.post(url(vid, "bookings"), json={**good, "workshop_id": incapable.workshop_id},
                            headers=auth), 400, "input-error")  # fmt: skip
    assert f"no {s.capability} capability" in body["detail"]


def test_the_routes_are_in_the_openapi_document(api: TestClient) -> None:
    paths = api.get("/api/openapi.json").json()["paths"]
    get = paths["/api/v1/health/vehicles/{vehicle_id}/maintenance"]["get"]
    post = paths["/api/v1/health/vehicles/{vehicle_id}/bookings"]["post"]
    assert get["tags"] == ["health"] and post["tags"] == ["health"]
    assert "201" in post["responses"] and "requestBody" in post
