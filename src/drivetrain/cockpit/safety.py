"""The driving-state safety policy, derived from NHTSA's visual-manual distraction guidelines.

NHTSA's *Visual-Manual Driver Distraction Guidelines for In-Vehicle Electronic
Devices* (docket NHTSA-2010-0053, 2013) recommend that while the vehicle is not
in Park a device lock out tasks that take the driver's eyes or hands off the
driving task: manual text entry, video, text meant for reading, and tasks that
cannot be done in short glances (2 s each, 12 s in all), and that it prefer
voice. Each rule below is one of those lock-outs, as the assistant meets it,
plus the platform's own: the assistant never commands a safety-relevant
actuator while the vehicle moves.

:func:`check` takes what a response would do (:class:`Task`) and the driving
state, and returns the rules it breaks; the assistant then refuses the task
or turns it into its voice-only form (messages read aloud, a list cut to the
first items spoken). Every rule is tested on its own (tests/cockpit/test_safety.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

MAX_LIST_WHILE_MOVING = 3  # items spoken or shown; NHTSA: no long lists, glances ≤ 2 s
MAX_VISUAL_STEPS_WHILE_MOVING = 1  # a voice task with at most one glance to confirm

#: Leaves whose change while moving can hurt someone: the assistant never writes them then.
SAFETY_RELEVANT: tuple[str, ...] = (
    "Vehicle.ADAS.",
    "Vehicle.Chassis.ParkingBrake.",
    "Vehicle.Powertrain.Transmission.",
    "Vehicle.Body.Trunk.",
    "Vehicle.Body.Lights.Beam.",
    "Vehicle.Body.Windshield.",
    "Vehicle.Cabin.Door.Row1.DriverSide.IsOpen",
    "Vehicle.Cabin.Door.Row1.PassengerSide.IsOpen",
    "Vehicle.Cabin.Door.Row2.DriverSide.IsOpen",
    "Vehicle.Cabin.Door.Row2.PassengerSide.IsOpen",
    "Vehicle.Cabin.Door.Row1.DriverSide.IsLocked",
    "Vehicle.Cabin.Door.Row1.PassengerSide.IsLocked",
    "Vehicle.Cabin.Door.Row2.DriverSide.IsLocked",
    "Vehicle.Cabin.Door.Row2.PassengerSide.IsLocked",
    "Vehicle.Cabin.Seat.Row1.DriverSide.Position",
    "Vehicle.Cabin.Seat.Row1.DriverSide.Height",
    "Vehicle.Cabin.Seat.Row1.DriverSide.Backrest.",
)


class Display(StrEnum):
    """What a response puts on the screen."""

    NONE = "none"
    SHORT = "short"  # a status line, a confirmation card
    LIST = "list"  # results to pick from
    TEXT = "text"  # text meant to be read (a message, an article)
    VIDEO = "video"


class Rule(StrEnum):
    """The policy's rules; the value is the reference a refusal quotes."""

    NO_TEXT_ENTRY = "NHTSA visual-manual guidelines, per se lock-out: manual text entry"
    NO_VIDEO = "NHTSA visual-manual guidelines, per se lock-out: video not related to driving"
    NO_READING = "NHTSA visual-manual guidelines, per se lock-out: text displayed for reading"
    NO_LONG_LISTS = "NHTSA visual-manual guidelines: glances of 2 s at most, no long lists"
    NO_MULTI_STEP_VISUAL = "NHTSA visual-manual guidelines: 12 s of glances per task at most"
    VOICE_CONFIRMATION = "NHTSA visual-manual guidelines: prefer voice to visual-manual input"
    NO_SAFETY_ACTUATORS = "drivetrain: no safety-relevant actuator is commanded while moving"


@dataclass(frozen=True, slots=True)
class Task:
    """What a response would do: its screen, its inputs and the actuators it writes."""

    display: Display = Display.NONE
    list_items: int = 0
    manual_text_entry: bool = False
    visual_steps: int = 0
    touch_confirmation: bool = False
    writes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The rules a task breaks in the current driving state (empty: allowed as it is)."""

    broken: tuple[Rule, ...]

    @property
    def allowed(self) -> bool:
        return not self.broken

    @property
    def adaptable(self) -> bool:
        """Broken only by rules with a voice-only form (read aloud, fewer items, voice yes/no)."""
        return all(r in _ADAPTABLE for r in self.broken)


_ADAPTABLE = frozenset({Rule.NO_READING, Rule.NO_LONG_LISTS, Rule.VOICE_CONFIRMATION})


def is_safety_relevant(path: str) -> bool:
    return any(path == p or (p.endswith(".") and path.startswith(p)) for p in SAFETY_RELEVANT)


def check(task: Task, *, moving: bool) -> Verdict:
    """The rules ``task`` breaks; nothing is broken while the vehicle stands in Park."""
    if not moving:
        return Verdict(())
    broken: list[Rule] = []
    if task.manual_text_entry:
        broken.append(Rule.NO_TEXT_ENTRY)
    if task.display is Display.VIDEO:
        broken.append(Rule.NO_VIDEO)
    if task.display is Display.TEXT:
        broken.append(Rule.NO_READING)
    if task.display is Display.LIST and task.list_items > MAX_LIST_WHILE_MOVING:
        broken.append(Rule.NO_LONG_LISTS)
    if task.visual_steps > MAX_VISUAL_STEPS_WHILE_MOVING:
        broken.append(Rule.NO_MULTI_STEP_VISUAL)
    if task.touch_confirmation:
        broken.append(Rule.VOICE_CONFIRMATION)
    if any(is_safety_relevant(p) for p in task.writes):
        broken.append(Rule.NO_SAFETY_ACTUATORS)
    return Verdict(tuple(broken))
