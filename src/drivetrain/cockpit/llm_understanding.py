"""Understanding through an LLM's function calling, checked against the trained model.

The in-car assistant understands offline with :class:`~drivetrain.cockpit.nlu.NluModel`.
When an LLM endpoint is configured, :class:`LlmUnderstander` also asks it to
*call one function*: every intent is a function whose arguments are its slot
names, listed OpenAI-style (name, one-line description, a JSON schema of the
arguments) in the system message, since the provider protocol is text-only.
The reply must hold one JSON object ``{"intent": ..., "slots": {name: value}}``.

It is checked strictly: the first JSON object of the reply (code fences and
chatter around it are tolerated), a known intent, only that intent's slot
names, and every value a verbatim (case-insensitive, whole-word) span of the
utterance, which becomes a :class:`Slot` at that position. Anything else — no
JSON, an unknown intent or slot, a value not said, a provider error, the time
limit — gives the trained model's parse unchanged, and the reason (never the
utterance, never the reply) is kept in :attr:`LlmUnderstander.last_degraded`.

A valid reading is combined with the trained model's: when both name the same
intent the confidence is the higher of the two; when they differ the LLM's
intent is returned with ``needs_clarification=True`` and both intents as the
first two alternatives, so the assistant asks instead of acting.

    understander = LlmUnderstander(provider_from_settings(settings), default_model(models_dir))
    understander.parse("make it warmer on the passenger side")
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

from drivetrain.cockpit.nlu import NONE_INTENT, IntentScore, NluModel, Parse, Slot
from drivetrain.cockpit.nlu.generator import template_texts
from drivetrain.cockpit.turns import INTENT_WORDS
from drivetrain.errors import DrivetrainError

_log = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(r"\{(\w+)(?::\w+)?\}")  # the template grammar of nlu/generator.py
_EXTRA_WORDS = {
    "confirm": "say yes to what the assistant just asked",
    "deny": "say no to what the assistant just asked",
    "cancel": "cancel the request in progress",
    NONE_INTENT: "anything else: not a request the car can act on",
}
_EXAMPLE = (
    'Example: for "set the passenger side to 21 degrees" answer\n'
    '{"intent": "set_temperature", "slots": {"zone": "passenger side", "temperature": "21"}}'
)


class Message(TypedDict):
    """One chat message, as the copilot's provider protocol takes it."""

    role: str  # "system" | "user" | "assistant"
    content: str


class ChatProvider(Protocol):
    """The part of the copilot's ``LLMProvider`` this needs (``OpenAICompatibleProvider`` fits)."""

    def complete(self, messages: Sequence[Message], *, stream: bool = False) -> Iterator[str]:
        """The reply, as one piece or as it is generated; raises a ``DrivetrainError``."""
        ...


@dataclass(frozen=True, slots=True)
class Understanding:
    """A parse and, when the LLM's reading was not used, why (``None``: it was used)."""

    parse: Parse
    degraded: str | None


class _Rejected(Exception):
    """The LLM's reply cannot be used; the message says why (no user text in it)."""


def intent_functions(language: str = "en") -> list[dict[str, Any]]:
    """Every intent as an OpenAI-style function: name, description, argument schema."""
    functions = []
    for intent, templates in sorted(template_texts(language).items()):
        names = sorted(
            {n for t in templates["train"] + templates["eval"] for n in _PLACEHOLDER.findall(t)}
            - {"_"}
        )
        words = INTENT_WORDS.get(intent) or _EXTRA_WORDS.get(intent, intent.replace("_", " "))
        functions.append(
            {
                "name": intent,
                "description": words[0].upper() + words[1:],
                "parameters": {
                    "type": "object",
                    "properties": {n: {"type": "string"} for n in names},
                },
            }
        )
    return functions


def system_message(functions: Sequence[Mapping[str, Any]]) -> str:
    """The instructions and the function list, one compact JSON line per function."""
    listed = "\n".join(json.dumps(f, separators=(",", ":")) for f in functions)
    return (
        "You understand a driver's request to the car's assistant by calling exactly one "
        "of these functions. Each slot value must be words copied exactly from the "
        "request; leave out slots that were not said.\n"
        f"Functions:\n{listed}\n"
        'Answer with one JSON object only: {"intent": "<function name>", '
        '"slots": {"<slot name>": "<words from the request>"}}\n' + _EXAMPLE
    )


class LlmUnderstander:
    """:meth:`parse` through the LLM when it answers validly, else the trained model's."""

    def __init__(
        self,
        provider: ChatProvider,
        fallback: NluModel,
        *,
        language: str = "en",
        timeout_s: float = 10.0,
        llm_confidence: float = 0.9,
    ) -> None:
        self.provider = provider
        self.fallback = fallback
        self.language = language
        self.timeout_s = timeout_s
        self.llm_confidence = llm_confidence  # the protocol gives no probabilities
        functions = intent_functions(language)
        self.allowed: dict[str, frozenset[str]] = {
            f["name"]: frozenset(f["parameters"]["properties"]) for f in functions
        }
        self.system = system_message(functions)
        self.last_degraded: str | None = None

    def parse(self, text: str) -> Parse:
        """The combined reading (see the module docstring); sets :attr:`last_degraded`."""
        understood = self.understand(text)
        self.last_degraded = understood.degraded
        return understood.parse

    def understand(self, text: str) -> Understanding:
        """The parse with its degraded reason, without touching shared state."""
        model = self.fallback.parse(text)
        try:
            intent, slots = self._validated(self._ask(text), text)
        except _Rejected as why:
            reason = f"{why}; used the trained model"
            _log.info("LLM understanding degraded: %s", reason)
            return Understanding(model, reason)
        return Understanding(self._combined(text, intent, slots, model), None)

    # -- asking --------------------------------------------------------------------

    def _ask(self, text: str) -> dict[str, Any]:
        messages: list[Message] = [
            {"role": "system", "content": self.system},
            {"role": "user", "content": text},
        ]
        deadline = time.monotonic() + self.timeout_s
        reply, pieces = "", None
        try:
            pieces = self.provider.complete(messages, stream=True)  # may raise here too
            for piece in pieces:
                reply += piece
                if "}" in piece and (found := _object_at(reply, reply.find("{"))) is not None:
                    return found  # the first object is complete: the rest is not read
                if time.monotonic() > deadline:
                    raise _Rejected(f"the LLM took longer than {self.timeout_s:g} s")
        except DrivetrainError as exc:  # the copilot's ProviderError is one
            raise _Rejected(f"the LLM failed: {exc.message}") from exc
        except (OSError, TimeoutError) as exc:
            raise _Rejected(f"the LLM could not be reached ({type(exc).__name__})") from exc
        finally:
            close = getattr(pieces, "close", None)
            if callable(close):
                close()
        found = first_json_object(reply)
        if found is None:
            raise _Rejected("the LLM's reply holds no JSON object")
        return found

    # -- checking ------------------------------------------------------------------

    def _validated(self, reply: Mapping[str, Any], text: str) -> tuple[str, tuple[Slot, ...]]:
        intent = reply.get("intent")
        if not isinstance(intent, str) or intent not in self.allowed:
            raise _Rejected("the LLM named no known intent")
        raw = reply.get("slots") or {}
        if not isinstance(raw, Mapping):
            raise _Rejected("the LLM's slots are not an object")
        slots: list[Slot] = []
        for name, value in raw.items():
            if name not in self.allowed[intent]:
                known = any(name in names for names in self.allowed.values())
                named = repr(name) if known else "with a name no intent has"  # no user text
                raise _Rejected(f"the LLM gave a slot {named}, which {intent} does not take")
            for said in _values(name, value):
                slot = _span(text, name, said, slots)
                if slot is None:
                    raise _Rejected(f"the LLM's {name!r} value is not in the request")
                slots.append(slot)
        return intent, tuple(sorted(slots, key=lambda s: s.start))

    # -- combining -----------------------------------------------------------------

    def _combined(self, text: str, intent: str, slots: tuple[Slot, ...], model: Parse) -> Parse:
        merged = list(slots)
        named = {s.name for s in slots}
        for slot in model.slots:  # the model's slots the LLM did not give, where they fit
            if slot.name not in named and not any(_overlap(slot, s) for s in merged):
                merged.append(slot)
        ordered = tuple(sorted(merged, key=lambda s: s.start))
        if intent == model.intent:
            confidence = max(self.llm_confidence, model.confidence)
            rest = tuple(a for a in model.alternatives if a.intent != intent)
            margin = confidence - (rest[0].probability if rest else 0.0)
            options = self.fallback.options
            unclear = confidence < options.confidence_threshold or margin < options.margin_threshold
            ranked = (IntentScore(intent, confidence), *rest)
            return Parse(text, intent, confidence, ordered, ranked, margin, unclear)
        both = (
            IntentScore(intent, self.llm_confidence),
            IntentScore(model.intent, model.confidence),
        )
        rest = tuple(a for a in model.alternatives if a.intent not in (intent, model.intent))
        return Parse(text, intent, self.llm_confidence, ordered, (*both, *rest), 0.0, True)


def first_json_object(reply: str) -> dict[str, Any] | None:
    """The first ``{...}`` of ``reply`` that parses as a JSON object, or ``None``."""
    for match in re.finditer(r"\{", reply):
        if (found := _object_at(reply, match.start())) is not None:
            return found
    return None


def _object_at(reply: str, start: int) -> dict[str, Any] | None:
    """The JSON object that begins at ``reply[start]``, or ``None``."""
    if start < 0:
        return None
    try:
        found, _ = json.JSONDecoder().raw_decode(reply, start)
    except json.JSONDecodeError:
        return None
    return found if isinstance(found, dict) else None


def _values(name: str, value: object) -> list[str]:
    """A slot's value(s) as text: a string, a whole number, or a list of them; null is none."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [v for item in value for v in _values(name, item)]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Rejected(f"the LLM's {name!r} value is not text")
    return [str(value).strip()] if str(value).strip() else []


def _span(text: str, name: str, value: str, taken: Sequence[Slot]) -> Slot | None:
    """The first whole-word, case-insensitive occurrence of ``value`` clear of ``taken``."""
    pattern = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)", re.IGNORECASE)
    for match in pattern.finditer(text):
        slot = Slot(name, match.start(), match.end(), text[match.start() : match.end()])
        if not any(_overlap(slot, other) for other in taken):
            return slot
    return None


def _overlap(a: Slot, b: Slot) -> bool:
    return a.start < b.end and b.start < a.end
