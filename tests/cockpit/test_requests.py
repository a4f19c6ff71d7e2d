"""Status questions, navigation, searches and phone: reads, destination writes, lists
with a voice form, and messages confirmed and read aloud."""

from __future__ import annotations

import pytest

from drivetrain.cockpit.actions import Clarify, Outcome, Plan, Refusal, Slots
from drivetrain.cockpit.cabin import SimulatedVehicle
from drivetrain.cockpit.requests import (
    NAV,
    PLACES,
    RANGE,
    SERVICE,
    SOC,
    TYRES,
    resolve_request,
)
from drivetrain.cockpit.safety import MAX_LIST_WHILE_MOVING, Display, Rule, check


def car(**status: float | bool | str) -> SimulatedVehicle:
    return SimulatedVehicle.parked("v1", "tesla-model-3", **status)


def key(path: str) -> str:
    return path.replace(".", "__")


def plan(outcome: Outcome | None) -> Plan:
    assert isinstance(outcome, Plan), outcome
    return outcome


# -- status ---------------------------------------------------------------------------------


def test_range_in_km_from_vss_metres() -> None:
    got = plan(resolve_request("query_range", {}, car(**{key(RANGE): 312_400})))
    assert got.say == "You have about 312 km of range."
    assert got.reads == (RANGE,)
    assert resolve_request("query_range", {}, car()) == Refusal(
        "query_range", "the range is not available right now"
    )


def test_charge() -> None:
    got = plan(resolve_request("query_charge", {}, car(**{key(SOC): 81.6})))
    assert got.say == "The battery is at 82 %."
    assert got.reads == (SOC,)
    assert isinstance(resolve_request("query_charge", {}, car()), Refusal)


@pytest.mark.parametrize(
    ("kpa", "low"),
    [((250, 250, 240, 240), False), ((250, 190, 240, 240), True), ((200, 200, 200, 200), False)],
)
def test_tyre_pressures_in_bar_and_a_low_one_flagged(kpa: tuple[int, ...], low: bool) -> None:
    vehicle = car(**{key(p): v for p, v in zip(TYRES, kpa, strict=True)})
    got = plan(resolve_request("query_tyre_pressure", {}, vehicle))
    bars = ", ".join(f"{v / 100:.1f}" for v in kpa)
    assert got.say.startswith(f"Tyre pressures are {bars} bar.")
    assert ("low" in got.say) is low
    assert got.reads == TYRES
    assert isinstance(resolve_request("query_tyre_pressure", {}, car()), Refusal)


def test_warning_light_names_the_stored_codes() -> None:
    quiet = plan(resolve_request("query_warning_light", {}, car()))
    assert "No warning" in quiet.say
    codes = ["P0301", "P0420", "P0171", "U0100"]
    got = plan(resolve_request("query_warning_light", {}, car(), dtcs=codes))
    assert "P0301, P0420, P0171" in got.say
    assert "U0100" not in got.say  # the first three, spoken


def test_service_distance() -> None:
    assert plan(resolve_request("query_service", {}, car(**{key(SERVICE): 1250.0}))).say == (
        "Service is due in 1250 km."
    )
    assert "No service distance" in plan(resolve_request("query_service", {}, car())).say


# -- navigation -----------------------------------------------------------------------------


@pytest.mark.parametrize("said", ["Munich", "munich ", "the airport", "Home"])
def test_navigation_to_a_known_place_sets_the_destination(said: str) -> None:
    vehicle = car()
    got = plan(resolve_request("navigate_to", {"destination": [said]}, vehicle))
    lat, lon = PLACES[said.strip().lower()]
    assert got.writes == ((f"{NAV}.Latitude", lat), (f"{NAV}.Longitude", lon))
    assert got.say == f"Starting guidance to {said.strip().title()}."
    for path, value in got.writes:
        vehicle.apply(path, value)
    assert vehicle.values[f"{NAV}.Latitude"] == lat


def test_every_known_place_is_a_valid_vss_position() -> None:
    vehicle = car()
    for name, (lat, lon) in PLACES.items():
        assert vehicle.refusal(f"{NAV}.Latitude", lat) is None, name
        assert vehicle.refusal(f"{NAV}.Longitude", lon) is None, name


@pytest.mark.parametrize(("slots", "question"), [
    ({"destination": ["Atlantis"]}, "I don't know 'atlantis'. Which city or address?"),
    ({}, "Where to?"),
    ({"destination": ["  "]}, "Where to?"),
])  # fmt: skip
def test_navigation_to_an_unknown_place_asks(slots: Slots, question: str) -> None:
    vehicle = car()
    before = dict(vehicle.values)
    assert resolve_request("navigate_to", slots, vehicle) == Clarify(
        "navigate_to", question, "destination"
    )  # it names the slot, so a bare answer ("Berlin") fills it
    assert vehicle.values == before


def test_route_options_and_cancel() -> None:
    assert isinstance(resolve_request("route_options", {}, car()), Clarify)
    got = plan(resolve_request("route_options", {"route_preference": ["avoid tolls"]}, car()))
    assert got.say == "Route updated: avoid tolls."
    assert plan(resolve_request("cancel_navigation", {}, car())).writes == ()


# -- searches -------------------------------------------------------------------------------


def test_search_list_has_a_voice_form_with_the_first_items() -> None:
    found = ["Ionity A9", "EnBW Garching", "Tesla Freising", "Fastned Moosburg", "Allego Erding"]
    seen: list[tuple[str, Slots]] = []

    def search(intent: str, slots: Slots) -> list[str]:
        seen.append((intent, slots))
        return found

    slots = {"charger_network": ["Ionity"]}
    got = plan(resolve_request("find_charging", slots, car(), search=search))
    assert seen == [("find_charging", slots)]
    assert got.task.display is Display.LIST
    assert got.task.list_items == len(found)
    assert all(name in got.say for name in found)  # parked: the whole list
    assert got.voice_form is not None
    spoken = found[:MAX_LIST_WHILE_MOVING]
    assert all(name in got.voice_form for name in spoken)
    assert not any(name in got.voice_form for name in found[MAX_LIST_WHILE_MOVING:])
    moving = check(got.task, moving=True)
    assert moving.broken == (Rule.NO_LONG_LISTS,)
    assert moving.adaptable
    assert check(got.task, moving=False).allowed


@pytest.mark.parametrize(
    ("intent", "slots", "reason"),
    [
        ("find_charging", {}, "no chargers found nearby"),
        ("find_charging", {"charger_network": ["Ionity"]}, "no Ionity found nearby"),
        ("find_poi", {"poi_category": ["pharmacy"]}, "no pharmacy found nearby"),
        ("find_poi", {}, "no places found nearby"),  # not "chargers"
    ],
)
def test_an_empty_search_is_refused_with_what_was_looked_for(
    intent: str, slots: Slots, reason: str
) -> None:
    assert resolve_request(intent, slots, car(), search=lambda i, s: []) == Refusal(intent, reason)
    assert resolve_request(intent, slots, car()) == Refusal(intent, reason)  # no search service


# -- phone and messages ---------------------------------------------------------------------


def test_call_contact() -> None:
    assert resolve_request("call_contact", {}, car()) == Clarify(
        "call_contact", "Whom should I call?", "contact"
    )
    got = plan(resolve_request("call_contact", {"contact": ["Alex"]}, car()))
    assert got.say == "Calling Alex."
    assert check(got.task, moving=True).allowed  # hands-free


def test_send_message_is_dictated_and_confirmed_by_voice() -> None:
    assert resolve_request("send_message", {}, car()) == Clarify(
        "send_message", "To whom?", "contact"
    )
    asked = resolve_request("send_message", {"contact": ["Sam"]}, car())
    assert asked == Clarify("send_message", "What should the message to Sam say?", "message_text")
    slots = {"contact": ["Sam"], "message_text": ["running late"]}
    got = plan(resolve_request("send_message", slots, car()))
    assert got.confirm is not None
    assert "Sam" in got.confirm and "running late" in got.confirm
    assert got.confirm.endswith("?")
    assert not got.task.manual_text_entry
    assert check(got.task, moving=True).allowed


def test_read_messages_shows_text_parked_and_has_a_voice_form() -> None:
    got = plan(resolve_request("read_messages", {}, car()))
    assert got.task.display is Display.TEXT
    assert got.voice_form
    assert got.voice_form != got.say
    moving = check(got.task, moving=True)
    assert moving.broken == (Rule.NO_READING,)
    assert moving.adaptable  # read aloud instead
    assert check(got.task, moving=False).allowed


def test_a_cabin_setting_is_not_a_request() -> None:
    assert resolve_request("set_temperature", {"temperature": ["21"]}, car()) is None
