"""Cabin intents resolved to a Plan the vehicle accepts, a Clarify question, or a Refusal
that names the limit: never a clamped or half-applied value."""

from __future__ import annotations

import pytest

from drivetrain.cockpit.actions import Clarify, Outcome, Plan, Refusal, resolve
from drivetrain.cockpit.cabin import SimulatedVehicle
from drivetrain.cockpit.vss import cockpit_signal

HVAC = "Vehicle.Cabin.HVAC.Station"
SEAT = "Vehicle.Cabin.Seat.Row1"
DOOR = "Vehicle.Cabin.Door"
MEDIA = "Vehicle.Cabin.Infotainment.Media"
DRIVER_TEMP = f"{HVAC}.Row1.Driver.Temperature"


def car(model: str = "peugeot-308", **status: float | bool | str) -> SimulatedVehicle:
    return SimulatedVehicle.parked("v1", model, **status)


def plan(outcome: Outcome | None) -> Plan:
    assert isinstance(outcome, Plan), outcome
    return outcome


def applied(vehicle: SimulatedVehicle, outcome: Outcome | None) -> SimulatedVehicle:
    """Apply a plan's writes; each must be one the vehicle accepts."""
    for path, value in plan(outcome).writes:
        vehicle.apply(path, value)
    return vehicle


# -- temperature ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slots", "expected"),
    [
        ({"temperature": ["22"]}, 22.0),
        ({"temperature": ["22.5"]}, 22.5),
        ({"temperature": ["twenty one"]}, 21.0),
        ({"temperature": ["twenty one and a half"]}, 21.5),
        ({"temperature": ["twenty three point five"]}, 23.5),
        ({"temperature": ["72"]}, 22.0),  # °F by its size
        ({"temperature": ["72"], "temperature_unit": ["degrees"]}, 22.0),
        ({"temperature": ["seventy"], "temperature_unit": ["fahrenheit"]}, 21.0),
        ({"temperature": ["68"], "temperature_unit": ["°F"]}, 20.0),
        ({"temperature": ["20"], "temperature_unit": ["°C"]}, 20.0),
    ],
)
def test_temperature_words_to_celsius(slots: dict[str, list[str]], expected: float) -> None:
    vehicle = car()
    got = plan(resolve("set_temperature", slots, vehicle))
    assert got.writes == ((DRIVER_TEMP, expected),)
    assert f"{expected:g} °C" in got.say
    assert applied(vehicle, got).values[DRIVER_TEMP] == expected


@pytest.mark.parametrize(
    ("temperature", "unit"),
    [("95", None), ("40", None), ("10", None), ("29", None), ("15.5", None),
     ("95", "celsius"), ("60", "°C"), ("45", "fahrenheit"), ("90", "°F")],
)  # fmt: skip
def test_out_of_range_temperature_is_refused_naming_the_range(
    temperature: str, unit: str | None
) -> None:
    vehicle = car()
    slots = {"temperature": [temperature]} | ({"temperature_unit": [unit]} if unit else {})
    before = dict(vehicle.values)
    outcome = resolve("set_temperature", slots, vehicle)
    assert outcome == Refusal("set_temperature", "the climate control takes 16 to 28 °C")
    assert vehicle.values == before


def test_the_models_own_range_is_the_one_refused_and_accepted() -> None:
    assert isinstance(
        plan(resolve("set_temperature", {"temperature": ["15"]}, car("tesla-model-3"))), Plan
    )
    refused = resolve("set_temperature", {"temperature": ["14"]}, car("tesla-model-3"))
    assert refused == Refusal("set_temperature", "the climate control takes 15 to 28 °C")


@pytest.mark.parametrize(
    ("words", "now", "expected"),
    [
        ({"direction": ["warmer"]}, 21.0, 22.0),
        ({"direction": ["a bit cooler"]}, 21.0, 20.0),
        ({"temperature": ["warmer"]}, 23.5, 24.5),  # the tagger may put it in the value
        ({"direction": ["colder"]}, 16.5, None),  # 15.5 °C: refused, not held at 16
        ({"direction": ["hotter"]}, 28.0, None),
    ],
)
def test_relative_temperature(
    words: dict[str, list[str]], now: float, expected: float | None
) -> None:
    vehicle = car(**{DRIVER_TEMP.replace(".", "__"): now})
    outcome = resolve("set_temperature", words, vehicle)
    if expected is None:
        assert isinstance(outcome, Refusal)
        assert "16 to 28 °C" in outcome.reason
    else:
        assert plan(outcome).writes == ((DRIVER_TEMP, expected),)


@pytest.mark.parametrize(
    ("zone", "paths"),
    [
        (None, [DRIVER_TEMP]),
        ("passenger side", [f"{HVAC}.Row1.Passenger.Temperature"]),
        ("co-driver", [f"{HVAC}.Row1.Passenger.Temperature"]),
        ("everyone", [DRIVER_TEMP, f"{HVAC}.Row1.Passenger.Temperature"]),
    ],
)
def test_temperature_zones(zone: str | None, paths: list[str]) -> None:
    slots = {"temperature": ["22"]} | ({"zone": [zone]} if zone else {})
    got = plan(resolve("set_temperature", slots, car()))
    assert [p for p, _ in got.writes] == paths


def test_rear_climate_on_a_two_zone_car_is_refused_and_on_a_four_zone_car_set() -> None:
    slots = {"temperature": ["20"], "zone": ["rear"]}
    refused = resolve("set_temperature", slots, car("peugeot-308"))
    assert refused == Refusal(
        "set_temperature", "this car has no climate zone for the rear driver side"
    )
    got = plan(resolve("set_temperature", slots, car("ram-1500")))
    assert [p for p, _ in got.writes] == [
        f"{HVAC}.Row2.Driver.Temperature",
        f"{HVAC}.Row2.Passenger.Temperature",
    ]


# -- missing slots -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "slots"),
    [
        ("set_temperature", {}),
        ("set_temperature", {"temperature": ["nice and cosy"]}),
        ("set_fan", {}),
        ("set_fan", {"fan_level": ["automatic"]}),
        ("set_seat_heating", {"level": ["toasty"]}),
        ("set_seat_massage", {"level": ["tingly"]}),
        ("set_seat_position", {}),
        ("set_ambient_light", {}),
        ("set_volume", {}),
        ("set_volume", {"volume": ["different"]}),
    ],
)
def test_a_missing_or_unreadable_slot_asks(intent: str, slots: dict[str, list[str]]) -> None:
    vehicle = car()
    before = dict(vehicle.values)
    outcome = resolve(intent, slots, vehicle)
    assert isinstance(outcome, Clarify), outcome
    assert outcome.intent == intent
    assert outcome.question.endswith("?")
    assert vehicle.values == before


def test_an_intent_that_is_not_a_setting_is_none() -> None:
    assert resolve("navigate_to", {"destination": ["Munich"]}, car()) is None


# -- fan, seats ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "percent"),
    [("low", 33), ("medium", 66), ("max", 100), ("off", 0),
     ("3", 43), ("5", 71), ("7", 100), ("60 %", 60)],  # a bare number: one of seven fan steps
)  # fmt: skip
def test_fan_levels_on_every_zone(said: str, percent: int) -> None:
    got = plan(resolve("set_fan", {"fan_level": [said]}, car("ram-1500")))
    assert len(got.writes) == 4  # four climate zones, all of them
    assert {v for _, v in got.writes} == {percent}
    assert all(p.endswith(".FanSpeed") for p, _ in got.writes)


def test_seat_heating() -> None:
    default = plan(resolve("set_seat_heating", {}, car()))
    assert default.writes == ((f"{SEAT}.DriverSide.HeatingCooling", 66),)
    off = plan(resolve("set_seat_heating", {"level": ["off"], "seat": ["passenger seat"]}, car()))
    assert off.writes == ((f"{SEAT}.PassengerSide.HeatingCooling", 0),)
    assert "off" in off.say
    refused = resolve("set_seat_heating", {"level": ["high"]}, car("fiat-tipo"))
    assert refused == Refusal("set_seat_heating", "this car has no seat heating")


@pytest.mark.parametrize(
    ("direction", "path", "expected"),
    [
        ("back", "Position", 230),  # VSS Position: 0 is the frontmost point
        ("further back", "Position", 230),
        ("forward", "Position", 170),
        ("up", "Height", 230),  # VSS Height: 0 is the lowest
        ("down", "Height", 170),
    ],
)
def test_seat_moves_the_way_the_driver_said(direction: str, path: str, expected: int) -> None:
    vehicle = car(**{f"{SEAT}.DriverSide.{path}".replace(".", "__"): 200})
    got = plan(resolve("set_seat_position", {"direction": [direction]}, vehicle))
    assert got.writes == ((f"{SEAT}.DriverSide.{path}", expected),)


def test_a_seat_at_its_front_stop_is_not_moved_further() -> None:
    vehicle = car(**{f"{SEAT}.DriverSide.Position".replace(".", "__"): 0})
    outcome = resolve("set_seat_position", {"direction": ["forward"]}, vehicle)
    assert outcome == Refusal("set_seat_position", "the seat is already all the way forward")


# -- windows, sunroof, ambient light -------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "slots", "expected"),
    [
        ("open_window", {"window": ["driver window"]}, {"Row1.DriverSide": 100}),
        ("open_window", {}, {"Row1.DriverSide": 100}),
        ("open_window", {"window": ["passenger window"], "level": ["halfway"]}, {"Row1.PassengerSide": 50}),
        ("open_window", {"window": ["rear windows"]}, {"Row2.DriverSide": 100, "Row2.PassengerSide": 100}),
        ("close_window", {"window": ["co-driver window"]}, {"Row1.PassengerSide": 0}),
        ("close_window", {"window": ["all windows"]},
         {"Row1.DriverSide": 0, "Row1.PassengerSide": 0, "Row2.DriverSide": 0, "Row2.PassengerSide": 0}),
    ],
)  # fmt: skip
def test_windows(intent: str, slots: dict[str, list[str]], expected: dict[str, int]) -> None:
    vehicle = car(**{f"{DOOR}.Row1.PassengerSide.Window.Position".replace(".", "__"): 100})
    got = plan(resolve(intent, slots, vehicle))
    assert dict(got.writes) == {f"{DOOR}.{d}.Window.Position": v for d, v in expected.items()}
    applied(vehicle, got)


@pytest.mark.parametrize(("intent", "switch"), [("open_window", "OPEN"), ("close_window", "CLOSE")])
def test_the_sunroof_is_not_a_side_window(intent: str, switch: str) -> None:
    got = plan(resolve(intent, {"window": ["sunroof"]}, car("alfa-romeo-giulia")))
    assert got.writes == (("Vehicle.Cabin.Sunroof.Switch", switch),)
    assert switch in cockpit_signal("Vehicle.Cabin.Sunroof.Switch").allowed
    refused = resolve(intent, {"window": ["moonroof"]}, car("peugeot-308"))
    assert refused == Refusal(intent, "this car has no sunroof")


def test_ambient_light_colours_the_model_has() -> None:
    got = plan(resolve("set_ambient_light", {"light_color": ["Purple"]}, car("peugeot-308")))
    assert got.say == "Ambient light purple."
    assert sum(1 for p, v in got.writes if p.endswith(".IsLightOn") and v is True) == 2
    tesla = resolve("set_ambient_light", {"light_color": ["purple"]}, car("tesla-model-3"))
    assert tesla == Refusal("set_ambient_light", "the ambient light comes in white")
    unknown = resolve("set_ambient_light", {"light_color": ["teal"]}, car("alfa-romeo-giulia"))
    assert unknown == Refusal("set_ambient_light", "the ambient light comes in white, red, blue")
    none = resolve("set_ambient_light", {"light_color": ["white"]}, car("hyundai-i30"))
    assert none == Refusal("set_ambient_light", "this car has no ambient lighting")


# -- volume, media -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("slots", "now", "expected"),
    [
        ({"volume": ["louder"]}, 30, 40),
        ({"volume": ["up"]}, 30, 40),
        ({"direction": ["quieter"]}, 30, 20),
        ({"volume": ["softer"]}, 30, 20),
        ({"volume": ["max"]}, 30, 100),
        ({"volume": ["twenty five percent"]}, 30, 25),
        ({"volume": ["louder"]}, 100, None),  # 110 %: refused, not held at 100
        ({"volume": ["quieter"]}, 0, None),
        ({"volume": ["150 percent"]}, 30, None),
    ],
)
def test_volume(slots: dict[str, list[str]], now: int, expected: int | None) -> None:
    vehicle = car(**{f"{MEDIA}.Volume".replace(".", "__"): now})
    outcome = resolve("set_volume", slots, vehicle)
    if expected is None:
        assert isinstance(outcome, Refusal), outcome
        assert "0–100 percent" in outcome.reason
        assert vehicle.values[f"{MEDIA}.Volume"] == now
    else:
        assert plan(outcome).writes == ((f"{MEDIA}.Volume", expected),)


@pytest.mark.parametrize(
    ("intent", "slots", "writes", "say"),
    [
        ("play_media", {}, {"Action": "PLAY"}, "Playing."),
        ("play_media", {"artist": ["Queen"]}, {"Action": "PLAY", "SelectedURI": "search:artist=Queen"}, "Playing Queen."),
        ("play_media", {"track": ["Hey Jude"], "artist": ["the Beatles"]},
         {"Action": "PLAY", "SelectedURI": "search:artist=the Beatles&track=Hey Jude"}, "Playing Hey Jude, the Beatles."),
        ("play_media", {"genre": ["jazz"], "media_type": ["radio"]},
         {"Action": "PLAY", "SelectedURI": "search:genre=jazz&media_type=radio"}, "Playing jazz."),
        ("pause_media", {}, {"Action": "STOP"}, "Paused."),
        ("next_track", {}, {"Action": "SKIP_FORWARD"}, "Next track."),
    ],
)  # fmt: skip
def test_media(intent: str, slots: dict[str, list[str]], writes: dict[str, str], say: str) -> None:
    vehicle = car()
    got = plan(resolve(intent, slots, vehicle))
    assert dict(got.writes) == {f"{MEDIA}.{k}": v for k, v in writes.items()}
    assert got.say == say
    assert got.writes[0][1] in cockpit_signal(f"{MEDIA}.Action").allowed
    assert applied(vehicle, got).values[f"{MEDIA}.Action"] == writes["Action"]


# -- every plan is one the vehicle accepts as a whole --------------------------------------


@pytest.mark.parametrize(
    ("intent", "slots"),
    [
        ("set_temperature", {"temperature": ["21"], "zone": ["everyone"]}),
        ("set_fan", {"fan_level": ["high"]}),
        ("set_seat_heating", {"level": ["low"]}),
        ("set_seat_massage", {"level": ["gentle"]}),
        ("set_seat_position", {"direction": ["back"]}),
        ("open_window", {"window": ["rear windows"]}),
        ("set_ambient_light", {"light_color": ["red"]}),
        ("set_volume", {"volume": ["louder"]}),
        ("play_media", {"artist": ["Adele"]}),
    ],
)
def test_a_plan_is_checked_writes_and_a_short_card(
    intent: str, slots: dict[str, list[str]]
) -> None:
    vehicle = car("ram-1500")
    got = plan(resolve(intent, slots, vehicle))
    assert got.writes
    assert got.task.writes == tuple(p for p, _ in got.writes)
    assert all(vehicle.refusal(p, v) is None for p, v in got.writes)
    applied(vehicle, got)
    assert all(vehicle.values[p] == v for p, v in got.writes)


def test_one_refused_write_refuses_the_whole_plan() -> None:
    # the 308 has no rear climate zone: the whole request is refused, nothing half-applied
    vehicle = car("peugeot-308")
    outcome = resolve("set_fan", {"fan_level": ["high"], "zone": ["rear"]}, vehicle)
    assert isinstance(outcome, Refusal)
    assert "rear" in outcome.reason
