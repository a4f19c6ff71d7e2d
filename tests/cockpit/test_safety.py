"""The driving-state policy: each NHTSA-derived rule on its own, its boundaries, the
voice-only adaptations, and which VSS leaves count as safety-relevant."""

from __future__ import annotations

import pytest

from drivetrain.cockpit.actions import Plan, resolve
from drivetrain.cockpit.cabin import SimulatedVehicle
from drivetrain.cockpit.safety import (
    MAX_LIST_WHILE_MOVING,
    MAX_VISUAL_STEPS_WHILE_MOVING,
    SAFETY_RELEVANT,
    Display,
    Rule,
    Task,
    Verdict,
    check,
    is_safety_relevant,
)
from drivetrain.cockpit.vss import cockpit_signals

#: For each rule, a task that breaks that rule and no other.
BREAKS_ONLY: dict[Rule, Task] = {
    Rule.NO_TEXT_ENTRY: Task(display=Display.SHORT, manual_text_entry=True),
    Rule.NO_VIDEO: Task(display=Display.VIDEO),
    Rule.NO_READING: Task(display=Display.TEXT),
    Rule.NO_LONG_LISTS: Task(display=Display.LIST, list_items=MAX_LIST_WHILE_MOVING + 1),
    Rule.NO_MULTI_STEP_VISUAL: Task(
        display=Display.SHORT, visual_steps=MAX_VISUAL_STEPS_WHILE_MOVING + 1
    ),
    Rule.VOICE_CONFIRMATION: Task(display=Display.SHORT, touch_confirmation=True),
    Rule.NO_SAFETY_ACTUATORS: Task(
        display=Display.SHORT, writes=("Vehicle.Chassis.ParkingBrake.IsEngaged",)
    ),
}
#: Rules whose task has a voice-only form: read aloud, fewer items spoken, a spoken yes/no.
VOICE_FORM = {Rule.NO_READING, Rule.NO_LONG_LISTS, Rule.VOICE_CONFIRMATION}


def test_every_rule_has_its_own_test_case() -> None:
    assert set(BREAKS_ONLY) == set(Rule)


@pytest.mark.parametrize("rule", list(Rule), ids=[r.name for r in Rule])
def test_rule_is_broken_while_moving_and_not_while_parked(rule: Rule) -> None:
    task = BREAKS_ONLY[rule]
    moving = check(task, moving=True)
    assert moving.broken == (rule,)
    assert not moving.allowed
    assert moving.adaptable is (rule in VOICE_FORM)
    parked = check(task, moving=False)
    assert parked.broken == ()
    assert parked.allowed


def test_a_plain_voice_task_is_allowed_while_moving() -> None:
    for task in (Task(), Task(display=Display.SHORT), Task(display=Display.NONE, visual_steps=1)):
        assert check(task, moving=True) == Verdict(())


@pytest.mark.parametrize(
    ("items", "too_long"),
    [
        (0, False),
        (MAX_LIST_WHILE_MOVING - 1, False),
        (MAX_LIST_WHILE_MOVING, False),
        (MAX_LIST_WHILE_MOVING + 1, True),
        (50, True),
    ],
)
def test_list_length_boundary(items: int, too_long: bool) -> None:
    verdict = check(Task(display=Display.LIST, list_items=items), moving=True)
    assert (Rule.NO_LONG_LISTS in verdict.broken) is too_long
    assert verdict.allowed is not too_long


def test_list_items_only_count_when_a_list_is_shown() -> None:
    # a spoken answer that happens to cover ten results shows no list
    assert check(Task(display=Display.SHORT, list_items=10), moving=True).allowed


@pytest.mark.parametrize(
    ("steps", "broken"),
    [
        (0, False),
        (MAX_VISUAL_STEPS_WHILE_MOVING, False),
        (MAX_VISUAL_STEPS_WHILE_MOVING + 1, True),
        (6, True),
    ],
)
def test_visual_steps_boundary(steps: int, broken: bool) -> None:
    verdict = check(Task(display=Display.SHORT, visual_steps=steps), moving=True)
    assert (Rule.NO_MULTI_STEP_VISUAL in verdict.broken) is broken


def test_several_rules_at_once_are_all_reported() -> None:
    task = Task(display=Display.TEXT, manual_text_entry=True, touch_confirmation=True)
    verdict = check(task, moving=True)
    assert set(verdict.broken) == {Rule.NO_TEXT_ENTRY, Rule.NO_READING, Rule.VOICE_CONFIRMATION}
    assert not verdict.adaptable  # text entry has no voice-only form here
    assert check(task, moving=False).allowed


def test_adaptable_only_when_every_broken_rule_has_a_voice_form() -> None:
    reading_and_list = Verdict((Rule.NO_READING, Rule.NO_LONG_LISTS, Rule.VOICE_CONFIRMATION))
    assert reading_and_list.adaptable
    for hard in set(Rule) - VOICE_FORM:
        assert not Verdict((Rule.NO_READING, hard)).adaptable, hard


# -- safety-relevant leaves ----------------------------------------------------------------


def _is_prefix(entry: str) -> bool:
    return entry.endswith(".")


def test_exact_entries_are_shipped_actuator_leaves() -> None:
    signals = cockpit_signals()
    exact = [e for e in SAFETY_RELEVANT if not _is_prefix(e)]
    assert exact, "SAFETY_RELEVANT lists no exact leaf"
    for entry in exact:
        assert entry in signals, f"{entry} is not a shipped cockpit VSS leaf (typo or renamed?)"
        assert signals[entry].is_actuator, f"{entry} is a sensor: nothing writes it"


def test_prefix_entries_each_cover_a_shipped_actuator() -> None:
    # a prefix that covers nothing the assistant can write protects nothing (a renamed branch)
    actuators = [p for p, s in cockpit_signals().items() if s.is_actuator]
    for entry in filter(_is_prefix, SAFETY_RELEVANT):
        assert any(p.startswith(entry) for p in actuators), entry


@pytest.mark.parametrize(
    ("path", "relevant"),
    [
        ("Vehicle.ADAS.ABS.IsEnabled", True),  # under a prefix
        ("Vehicle.ADAS.CruiseControl.IsEnabled", True),
        ("Vehicle.Powertrain.Transmission.SelectedGear", True),
        ("Vehicle.Body.Windshield.Front.Wiping.Mode", True),
        ("Vehicle.Cabin.Seat.Row1.DriverSide.Backrest.Recline", True),
        ("Vehicle.Cabin.Seat.Row1.DriverSide.Position", True),  # an exact entry
        ("Vehicle.Cabin.Door.Row2.PassengerSide.IsOpen", True),
        ("Vehicle.ADAS", False),  # the branch itself is not a leaf under it
        ("Vehicle.ADASExtra.IsEnabled", False),  # shares letters, not the branch
        ("Vehicle.Cabin.Seat.Row1.DriverSide.PositionX", False),  # exact means exact
        ("Vehicle.Cabin.Seat.Row1.DriverSide", False),
        ("Vehicle.Cabin.Seat.Row1.PassengerSide.Position", False),  # not the driver's seat
        ("Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling", False),
        ("Vehicle.Cabin.Door.Row1.DriverSide.Window.Position", False),
        ("Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature", False),
        ("Vehicle.Cabin.Infotainment.Media.Volume", False),
    ],
)
def test_is_safety_relevant_prefix_and_exact(path: str, relevant: bool) -> None:
    assert is_safety_relevant(path) is relevant


def test_every_shipped_leaf_under_a_protected_branch_is_relevant() -> None:
    for path in cockpit_signals():
        under = any(path.startswith(p) for p in SAFETY_RELEVANT if _is_prefix(p))
        if under:
            assert is_safety_relevant(path), path


# -- the policy applied to resolved actions ------------------------------------------------


@pytest.fixture
def car() -> SimulatedVehicle:
    return SimulatedVehicle.parked("v1", "peugeot-308")


def test_moving_the_drivers_seat_is_refused_while_moving(car: SimulatedVehicle) -> None:
    plan = resolve("set_seat_position", {"direction": ["back"]}, car)
    assert isinstance(plan, Plan)
    assert plan.writes[0][0] == "Vehicle.Cabin.Seat.Row1.DriverSide.Position"
    assert check(plan.task, moving=car.is_moving).allowed  # parked: fine
    car.drive(80)
    verdict = check(plan.task, moving=car.is_moving)
    assert verdict.broken == (Rule.NO_SAFETY_ACTUATORS,)
    assert not verdict.adaptable


def test_the_passengers_seat_may_move_while_driving(car: SimulatedVehicle) -> None:
    plan = resolve("set_seat_position", {"seat": ["passenger seat"], "direction": ["back"]}, car)
    assert isinstance(plan, Plan)
    assert plan.writes[0][0] == "Vehicle.Cabin.Seat.Row1.PassengerSide.Position"
    car.drive(80)
    assert check(plan.task, moving=car.is_moving).allowed


@pytest.mark.parametrize(
    ("intent", "slots"),
    [
        ("set_temperature", {"temperature": ["22"]}),
        ("set_fan", {"fan_level": ["high"]}),
        ("set_seat_heating", {"level": ["low"]}),
        ("set_seat_massage", {"level": ["gentle"]}),
        ("open_window", {"window": ["passenger window"]}),
        ("set_ambient_light", {"light_color": ["blue"]}),
        ("set_volume", {"volume": ["louder"]}),
        ("play_media", {"artist": ["Queen"]}),
    ],
)
def test_comfort_settings_stay_allowed_while_driving(
    car: SimulatedVehicle, intent: str, slots: dict[str, list[str]]
) -> None:
    plan = resolve(intent, slots, car)
    assert isinstance(plan, Plan), plan
    car.drive(100)
    assert check(plan.task, moving=car.is_moving).allowed
    assert not any(is_safety_relevant(p) for p, _ in plan.writes)
