"""The in-car assistant's dialogue, with the real default understanding model.

Each conversation is what a driver would say; the assertions are on what the
simulated vehicle ends up with (its VSS values), not only on the words, so a
wrong actuation fails the test even when the reply reads well.
"""

from __future__ import annotations

import random

import pytest

from drivetrain.cockpit.assistant import OUTPUT_KIND, Assistant
from drivetrain.cockpit.cabin import SimulatedVehicle
from drivetrain.cockpit.nlu import NluModel, generate_sets
from drivetrain.cockpit.safety import Rule, is_safety_relevant
from drivetrain.cockpit.turns import Kind
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import explain

DRIVER_T = "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature"
PASSENGER_T = "Vehicle.Cabin.HVAC.Station.Row1.Passenger.Temperature"
SEAT = "Vehicle.Cabin.Seat.Row1.DriverSide.Position"
CHARGERS = [f"Charger {c}" for c in "ABCDEF"]


def _assistant(model: NluModel, model_id: str = "peugeot-308", **kw: object) -> Assistant:
    vehicle = SimulatedVehicle.parked("VH-T", model_id)
    return Assistant(model, vehicle, search=lambda intent, slots: list(CHARGERS), **kw)  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_setting_then_a_follow_up_then_a_correction(nlu_model: NluModel) -> None:
    bot = _assistant(nlu_model)
    first = bot.handle("set the temperature to 23 degrees")
    assert first.kind is Kind.ACTED
    assert bot.vehicle.values[DRIVER_T] == 23.0
    assert bot.vehicle.values[PASSENGER_T] == 21.0  # untouched
    bot.handle("and the passenger side too")
    assert bot.vehicle.values[PASSENGER_T] == 23.0
    fixed = bot.handle("no, make it 20")
    assert fixed.kind is Kind.ACTED
    assert bot.vehicle.values[PASSENGER_T] == 20.0
    assert bot.vehicle.values[DRIVER_T] == 23.0  # the correction replaced the last action only


@pytest.mark.slow
def test_a_missing_value_is_asked_for_and_the_bare_answer_fills_it(nlu_model: NluModel) -> None:
    bot = _assistant(nlu_model)
    asked = bot.handle("change the temperature")
    assert asked.kind is Kind.CLARIFY and "temperature" in asked.text.lower()
    assert bot.vehicle.values[DRIVER_T] == 21.0
    done = bot.handle("22")
    assert done.kind is Kind.ACTED
    assert bot.vehicle.values[DRIVER_T] == 22.0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("said", "reason"),
    [
        ("set the temperature to 95", "16 to 28"),
        ("set the driver side to 10 degrees", "16 to 28"),
    ],
)
def test_out_of_range_values_are_refused_and_nothing_changes(
    nlu_model: NluModel, said: str, reason: str
) -> None:
    bot = _assistant(nlu_model)
    before = dict(bot.vehicle.values)
    response = bot.handle(said)
    assert response.kind is Kind.REFUSED
    assert reason in response.text
    assert response.writes == ()
    assert bot.vehicle.values == before


@pytest.mark.slow
def test_a_feature_the_car_lacks_is_refused(nlu_model: NluModel) -> None:
    bot = _assistant(nlu_model, "fiat-tipo")
    response = bot.handle("turn on the seat massage")
    assert response.kind is Kind.REFUSED
    assert "no seat massage" in response.text
    assert not any(".Massage." in p for p in bot.vehicle.values)
    offered = _assistant(nlu_model, "peugeot-308").handle("turn on the seat massage")
    assert offered.kind is Kind.ACTED  # the same words on a car that has it


@pytest.mark.slow
def test_moving_the_seat_is_refused_while_driving_and_done_when_parked(
    nlu_model: NluModel,
) -> None:
    bot = _assistant(nlu_model)
    bot.vehicle.drive(90)
    start = bot.vehicle.values.get(SEAT)
    refused = bot.handle("move my seat back")
    assert refused.kind is Kind.REFUSED
    assert Rule.NO_SAFETY_ACTUATORS in refused.rules
    assert bot.vehicle.values.get(SEAT) == start
    bot.vehicle.park()
    done = bot.handle("move my seat back")
    assert done.kind is Kind.ACTED
    assert bot.vehicle.values[SEAT] != start


@pytest.mark.slow
def test_a_long_list_is_spoken_short_while_driving(nlu_model: NluModel) -> None:
    bot = _assistant(nlu_model)
    parked = bot.handle("find a charger nearby")
    assert all(c in parked.text for c in CHARGERS)
    bot.vehicle.drive(50)
    moving = bot.handle("find a charger nearby")
    assert moving.kind is Kind.ANSWERED
    assert Rule.NO_LONG_LISTS in moving.rules
    assert moving.display.value == "none"
    assert "Charger C" in moving.text and "Charger D" not in moving.text


@pytest.mark.slow
def test_a_message_is_sent_only_after_a_yes(nlu_model: NluModel) -> None:
    bot = _assistant(nlu_model)
    bot.vehicle.drive(70)
    asked = bot.handle("send a message to Alex saying I am running late")
    assert asked.kind is Kind.CONFIRM
    assert "Say yes or no" in asked.text  # a voice confirmation while moving
    sent = bot.handle("yes")
    assert sent.intent == "send_message" and "Sent" in sent.text
    again = bot.handle("send a message to Alex saying see you soon")
    assert again.kind is Kind.CONFIRM
    dropped = bot.handle("no")
    assert dropped.kind is Kind.CANCELLED
    assert bot.handle("yes").kind is not Kind.ACTED  # nothing is pending any more


@pytest.mark.slow
def test_messages_are_read_aloud_while_driving(nlu_model: NluModel) -> None:
    bot = _assistant(nlu_model)
    bot.vehicle.drive(100)
    response = bot.handle("read my messages")
    assert Rule.NO_READING in response.rules
    assert response.display.value == "none"
    assert "first, from" in response.text


@pytest.mark.slow
def test_gibberish_gets_a_question_or_an_apology_and_no_action(nlu_model: NluModel) -> None:
    bot = _assistant(nlu_model)
    before = dict(bot.vehicle.values)
    for said in ("blorp fizzle wug", "the the the", "purple monkey dishwasher"):
        response = bot.handle(said)
        assert response.kind in (Kind.CLARIFY, Kind.NOT_UNDERSTOOD), (said, response)
    assert bot.vehicle.values == before
    assert bot.handle("   ").kind is Kind.NOT_UNDERSTOOD


@pytest.mark.slow
def test_turns_that_act_or_refuse_are_recorded_without_personal_values(
    nlu_model: NluModel, tmp_path: object
) -> None:
    from pathlib import Path

    audit = AuditLog(Path(str(tmp_path)))
    bot = _assistant(nlu_model, audit=audit, principal="cockpit-service")
    acted = bot.handle("set the temperature to 22")
    asked = bot.handle("send a message to Alex saying the code is 4711")
    assert acted.output_id and asked.output_id
    record = explain(audit, acted.output_id)
    assert record.output_kind == OUTPUT_KIND
    assert record.params["writes"] == [[DRIVER_T, 22.0]]
    message = explain(audit, asked.output_id).to_dict()
    assert "4711" not in str(message)  # slot names only: the message text stays out
    assert "message_text" in message["params"]["slots"]


@pytest.mark.slow
def test_no_utterance_of_the_held_out_split_makes_a_wrong_actuation(nlu_model: NluModel) -> None:
    """Every write is one the vehicle accepts; none is safety-relevant while moving."""
    rng = random.Random(7)
    held_out = rng.sample(generate_sets().eval, 300)
    for moving in (False, True):
        bot = _assistant(nlu_model, "fiat-tipo")
        if moving:
            bot.vehicle.drive(80)
        for utterance in held_out:
            before = dict(bot.vehicle.values)
            response = bot.handle(utterance.text)
            for path, value in response.writes:
                assert bot.vehicle.refusal(path, value) is None
                assert not (moving and is_safety_relevant(path)), (utterance.text, path)
            if response.kind is not Kind.ACTED:
                assert bot.vehicle.values == before, utterance.text
