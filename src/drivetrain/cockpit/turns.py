"""The assistant's words and what a turn returns: responses, kinds, refusal texts, cues.

Kept apart from the dialogue (:mod:`drivetrain.cockpit.assistant`) so the
language-specific tables (cue patterns, how rules and intents are said) sit in
one place, keyed by language where they are words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from drivetrain.cockpit.cabin import Value
from drivetrain.cockpit.nlu.models import Parse
from drivetrain.cockpit.safety import Display, Rule

#: Words that make an utterance a correction or a follow-up of the last action, per language.
CORRECTION_CUES = {
    "en": r"^((no|nope|i meant|actually|sorry|make (it|that)|change (it|that) to)\b[\s,.!]*)+"
    r"|\binstead\b"
}
#: The slot a bare correction ("no, make it 20") changes, per intent of the last action.
MAIN_SLOT: dict[str, str] = {
    "set_temperature": "temperature", "set_fan": "level", "set_seat_heating": "level",
    "set_seat_massage": "level", "set_volume": "volume", "open_window": "level",
    "set_ambient_light": "light_color", "navigate_to": "destination",
}  # fmt: skip
#: The slot that says where, per intent of the last action ("… the passenger side too").
WHERE_SLOT: dict[str, str] = {
    "set_temperature": "zone", "set_fan": "zone", "set_seat_heating": "seat",
    "set_seat_massage": "seat", "open_window": "window", "close_window": "window",
}  # fmt: skip
FOLLOW_UP_CUES = {"en": r"\b(too|also|as well|same for|what about|how about)\b|^and\b"}

ADAPTABLE = (Rule.NO_READING, Rule.NO_LONG_LISTS, Rule.VOICE_CONFIRMATION)

#: How a refusal says why, per broken rule (the rule's value is the reference).
RULE_WORDS: dict[Rule, str] = {
    Rule.NO_SAFETY_ACTUATORS: "I won't change that while the car is moving; it affects "
    "how you drive. Stop in a safe place and ask again.",
    Rule.NO_TEXT_ENTRY: "Typing is locked while driving; say it instead.",
    Rule.NO_VIDEO: "Video plays only when the car is parked.",
    Rule.NO_MULTI_STEP_VISUAL: "That takes too many steps on the screen while driving; "
    "try it when parked.",
    Rule.NO_READING: "I can't show text to read while driving.",
    Rule.NO_LONG_LISTS: "I can't show a long list while driving.",
    Rule.VOICE_CONFIRMATION: "Please confirm by voice.",
}

#: How a clarifying question names an intent.
INTENT_WORDS: dict[str, str] = {
    "navigate_to": "start navigation", "find_poi": "find a place nearby",
    "find_charging": "find a charger", "route_options": "change the route",
    "cancel_navigation": "stop the guidance", "play_media": "play something",
    "pause_media": "pause the music", "next_track": "skip the track",
    "set_volume": "change the volume", "set_temperature": "change the temperature",
    "set_fan": "change the fan", "set_seat_heating": "heat a seat",
    "set_seat_massage": "start the seat massage", "set_seat_position": "move a seat",
    "open_window": "open a window", "close_window": "close a window",
    "set_ambient_light": "change the ambient light", "query_range": "know your range",
    "query_charge": "know the battery charge", "query_tyre_pressure": "check the tyres",
    "query_warning_light": "know about a warning light", "query_service": "know about service",
    "call_contact": "make a call", "send_message": "send a message",
    "read_messages": "hear your messages",
}  # fmt: skip


def loggable(path: str, value: Value) -> Value | None:
    """A written value as the audit log keeps it: destinations are location data, left out."""
    return None if ".Navigation." in path else value


class Understander(Protocol):
    """What the assistant needs of an understanding engine."""

    def parse(self, text: str) -> Parse: ...


class Kind(StrEnum):
    """What a response did."""

    ACTED = "acted"  # wrote actuator targets
    ANSWERED = "answered"  # read or told something, wrote nothing
    CONFIRM = "confirm"  # asks yes or no before acting
    CLARIFY = "clarify"  # asks for what is missing or unclear
    REFUSED = "refused"  # will not or cannot; nothing written
    CANCELLED = "cancelled"
    NOT_UNDERSTOOD = "not_understood"


@dataclass(frozen=True, slots=True)
class Response:
    """One turn's answer: the words, what it did and why."""

    text: str
    kind: Kind
    intent: str
    confidence: float
    slots: dict[str, list[str]] = field(default_factory=dict)
    writes: tuple[tuple[str, Value], ...] = ()
    reads: dict[str, Value | None] = field(default_factory=dict)
    display: Display = Display.NONE
    rules: tuple[Rule, ...] = ()
    output_id: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "kind": self.kind.value,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "slots": self.slots,
            "writes": [{"path": p, "value": v} for p, v in self.writes],
            "reads": self.reads,
            "display": self.display.value,
            "rules": [r.name for r in self.rules],
            "output_id": self.output_id,
        }
