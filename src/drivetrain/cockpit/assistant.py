"""The in-car assistant's dialogue: one utterance in, one safe response out.

:class:`Assistant` holds one conversation with one vehicle. Each turn it

1. understands the utterance (any :class:`Understander`, normally the trained
   :class:`~drivetrain.cockpit.nlu.NluModel`);
2. fits it into the conversation: a yes/no to a pending confirmation, the
   missing value after a clarifying question, a follow-up ("and the passenger
   side too") or a correction ("no, 22") of the last action;
3. resolves it into a plan (:mod:`.actions`, :mod:`.requests`), which the
   vehicle has already accepted write by write, or a question, or a refusal;
4. checks the plan against the driving-state policy (:mod:`.safety`): refuses
   what may not be done while moving, turns lists and text into their spoken
   form, asks consequential questions by voice;
5. acts — writes the VSS targets (all or none), reads what was asked — and
   records the turn's provenance when given an audit log.

An utterance the engine is unsure of gets a question, never a guess: nothing is
written unless the intent was understood with confidence and every value passed
the vehicle's checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from drivetrain.cockpit import slots as words
from drivetrain.cockpit.actions import Clarify, Outcome, Plan, Refusal, Slots, resolve
from drivetrain.cockpit.cabin import SimulatedVehicle, Value
from drivetrain.cockpit.nlu.models import NONE_INTENT, Parse
from drivetrain.cockpit.requests import resolve_request
from drivetrain.cockpit.safety import Display, Rule, check
from drivetrain.cockpit.turns import (
    ADAPTABLE,
    CORRECTION_CUES,
    FOLLOW_UP_CUES,
    INTENT_WORDS,
    MAIN_SLOT,
    RULE_WORDS,
    WHERE_SLOT,
    Kind,
    Response,
    Understander,
    loggable,
)
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import record_output

OUTPUT_KIND = "assistant_turn"
PURPOSE = "personalisation"
MODEL = "drivetrain.cockpit.assistant"
VERSION = "1"


@dataclass(slots=True)
class _Turn:
    """The last action, for follow-ups and corrections."""

    intent: str
    slots: dict[str, list[str]]
    before: dict[str, Value | None]


#: Called after an action was applied: (intent, slots, writes) — e.g. to learn preferences.
OnApplied = Callable[[str, Mapping[str, list[str]], tuple[tuple[str, Value], ...]], None]


class Assistant:
    """One conversation with one vehicle (see the module docstring)."""

    def __init__(
        self,
        understander: Understander,
        vehicle: SimulatedVehicle,
        *,
        language: str = "en",
        dtcs: Sequence[str] = (),
        search: Callable[[str, Slots], list[str]] | None = None,
        on_applied: OnApplied | None = None,
        service_advice: Callable[[], str | None] | None = None,
        audit: AuditLog | None = None,
        principal: str = "driver",
        model_version: str = "unversioned",
    ) -> None:
        self.understander = understander
        self.vehicle = vehicle
        self.language = language
        self.dtcs = tuple(dtcs)
        self.search = search
        self.on_applied = on_applied
        self.service_advice = service_advice
        self.audit = audit
        self.principal = principal
        self.model_version = model_version
        self._pending: tuple[Plan, dict[str, list[str]]] | None = None
        self._asking: tuple[str, dict[str, list[str]], str | None] | None = None
        self._choices: tuple[str, ...] = ()
        self._last: _Turn | None = None

    # -- the turn ---------------------------------------------------------------

    def handle(self, text: str) -> Response:
        """Answer one utterance (see the module docstring for the order of things)."""
        said = " ".join(text.split())
        if not said:
            return Response("I didn't catch that.", Kind.NOT_UNDERSTOOD, NONE_INTENT, 0.0)
        parse = self.understander.parse(said)
        response = self._turn(said, parse)
        return self._recorded(said, parse, response)

    def _turn(self, said: str, parse: Parse) -> Response:
        intent, slots = parse.intent, parse.slot_values()
        if self._pending is not None:
            plan, plan_slots = self._pending
            self._pending = None
            if intent == "confirm" and not parse.needs_clarification:
                return self._act(plan, plan_slots, parse)
            if intent in ("deny", "cancel"):
                return self._reply("OK, I won't.", Kind.CANCELLED, parse)
        if intent == "cancel" and not parse.needs_clarification:
            self._asking, self._choices = None, ()
            return self._reply("Cancelled.", Kind.CANCELLED, parse)
        if self._choices and (picked := self._pick(said, parse)) is not None:
            self._choices = ()
            return self._resolve(picked, slots, parse)
        self._choices = ()
        if self._asking is not None:
            asked, asked_slots, wanted = self._asking
            self._asking = None
            answer = self._answer(said, parse, asked, wanted)
            if answer:
                return self._resolve(asked, {**asked_slots, **answer}, parse)
        if self._last is not None:
            if slots and self._continues(intent, parse):
                return self._again(said, slots, parse)
            if (bare := self._bare_correction(said) or self._bare_follow_up(said)) is not None:
                return self._again(said, bare, parse)
        if intent in ("confirm", "deny") and not parse.needs_clarification:
            return self._reply("There is nothing to confirm right now.", Kind.ANSWERED, parse)
        if parse.needs_clarification:
            return self._ask_which(parse)
        if intent == NONE_INTENT:
            return self._reply(
                "Sorry, I can't help with that. You can ask me about navigation, media, "
                "climate and seats, the car's status, calls and messages.",
                Kind.NOT_UNDERSTOOD,
                parse,
            )
        return self._resolve(intent, slots, parse)

    def _answer(
        self, said: str, parse: Parse, asked: str, wanted: str | None
    ) -> dict[str, list[str]]:
        """The slots a reply to a clarifying question gives (empty: it is a new request).

        The understood slots when the reply is a fragment or the same request again;
        else, for a reply that is not a request of its own ("21", "Berlin"), its
        words as the value the question asked for.
        """
        slots = parse.slot_values()
        fragment = parse.intent in (asked, NONE_INTENT) or parse.needs_clarification
        if slots and fragment:
            return slots
        if wanted is not None and fragment:
            return {wanted: [said]}
        return {}

    def _continues(self, intent: str, parse: Parse) -> bool:
        """A fragment that only makes sense against the last action."""
        assert self._last is not None
        # "no, 22" carries a value: a correction, not a denial
        return intent in (self._last.intent, NONE_INTENT, "deny") or parse.needs_clarification

    def _bare_correction(self, said: str) -> dict[str, list[str]] | None:
        """ "no, make it 20" after "set the temperature to 23": the new value of the last
        action's main slot (None when the words are not such a correction)."""
        assert self._last is not None
        cue = re.search(CORRECTION_CUES[self.language], said.lower())
        main = MAIN_SLOT.get(self._last.intent)
        if cue is None or main is None:
            return None
        rest = re.sub(CORRECTION_CUES[self.language], " ", said.lower())
        rest = " ".join(re.sub(r"[^\w%.-]+", " ", rest).split())
        return {main: [rest]} if rest else None

    def _bare_follow_up(self, said: str) -> dict[str, list[str]] | None:
        """ "and the passenger side too" after a setting: the same action where the words
        point (None when they are not such a follow-up or name no side)."""
        assert self._last is not None
        if re.search(FOLLOW_UP_CUES[self.language], said.lower()) is None:
            return None
        where = WHERE_SLOT.get(self._last.intent)
        if where is None or words.side(said) is None:
            return None
        return {where: [said]}

    def _again(self, said: str, slots: dict[str, list[str]], parse: Parse) -> Response:
        """A follow-up (the last action once more, changed) or a correction (instead of it)."""
        last = self._last
        assert last is not None
        merged = {**last.slots, **slots}
        correcting = re.search(CORRECTION_CUES[self.language], said.lower()) is not None
        if correcting:
            outcome = self._outcome(last.intent, merged)
            if isinstance(outcome, Plan):
                self._restore(last.before)
            return self._respond(last.intent, merged, outcome, parse)
        return self._resolve(last.intent, merged, parse)

    def _restore(self, before: Mapping[str, Value | None]) -> None:
        for path, value in before.items():
            if value is None:
                self.vehicle.values.pop(path, None)
            else:
                self.vehicle.values[path] = value

    def _ask_which(self, parse: Parse) -> Response:
        options = [
            a.intent
            for a in parse.alternatives
            if a.intent in INTENT_WORDS and a.intent != NONE_INTENT
        ][:2]
        if len(options) < 2:
            return self._reply("Sorry, could you say that again?", Kind.CLARIFY, parse)
        self._choices = tuple(options)
        first, second = (INTENT_WORDS[o] for o in options)
        return self._reply(f"Did you want to {first}, or {second}?", Kind.CLARIFY, parse)

    def _pick(self, said: str, parse: Parse) -> str | None:
        """The option a reply to "did you want to A, or B?" chose (None: a new request)."""
        words = said.lower()
        if re.search(r"\b(first|former|the one)\b", words) or parse.intent == "confirm":
            return self._choices[0]
        if re.search(r"\b(second|latter|other)\b", words):
            return self._choices[1]
        if parse.intent in self._choices and not parse.needs_clarification:
            return parse.intent
        return None

    # -- from an intent to a response ---------------------------------------------

    def _outcome(self, intent: str, slots: Slots) -> Outcome | None:
        found = resolve(intent, slots, self.vehicle)
        if found is None:
            found = resolve_request(intent, slots, self.vehicle, dtcs=self.dtcs, search=self.search)
        return found

    def _resolve(self, intent: str, slots: dict[str, list[str]], parse: Parse) -> Response:
        return self._respond(intent, slots, self._outcome(intent, slots), parse)

    def _respond(
        self, intent: str, slots: dict[str, list[str]], outcome: Outcome | None, parse: Parse
    ) -> Response:
        if outcome is None:
            words = INTENT_WORDS.get(intent, "do that")
            text = f"Sorry, I can't {words} yet."
            return self._reply(text, Kind.NOT_UNDERSTOOD, parse, intent, slots)
        if isinstance(outcome, Clarify):
            self._asking = (intent, slots, outcome.slot)
            return self._reply(outcome.question, Kind.CLARIFY, parse, intent, slots)
        if isinstance(outcome, Refusal):
            text = f"Sorry, I can't: {outcome.reason}."
            return self._reply(text, Kind.REFUSED, parse, intent, slots)
        return self._checked(outcome, slots, parse)

    def _checked(self, plan: Plan, slots: dict[str, list[str]], parse: Parse) -> Response:
        """The plan as the driving state allows it: refused, spoken instead of shown, or as is."""
        advice = self.service_advice if plan.intent == "query_service" else None
        if advice is not None and (extra := advice()):
            plan = replace(plan, say=f"{plan.say} {extra}")
        verdict = check(plan.task, moving=self.vehicle.is_moving)
        spoken_only: list[Rule] = [
            r for r in verdict.broken if r in (Rule.NO_READING, Rule.NO_LONG_LISTS)
        ]
        refusing = [r for r in verdict.broken if r not in ADAPTABLE]
        if not refusing and spoken_only and plan.voice_form is None:
            refusing = spoken_only
        if refusing:
            text = " ".join(RULE_WORDS[r] for r in refusing)
            return self._reply(text, Kind.REFUSED, parse, plan.intent, slots, rules=verdict.broken)
        if spoken_only and plan.voice_form is not None:
            plan = Plan(
                plan.intent, plan.voice_form, plan.writes, plan.reads,
                plan.task, plan.confirm, None,
            )  # fmt: skip
            spoken = Display.NONE
        else:
            spoken = plan.task.display
        if plan.confirm is not None:
            self._pending = (plan, slots)
            question = plan.confirm + (" Say yes or no." if self.vehicle.is_moving else "")
            return self._reply(
                question, Kind.CONFIRM, parse, plan.intent, slots, rules=verdict.broken
            )
        return self._act(plan, slots, parse, display=spoken, rules=verdict.broken)

    def _act(
        self,
        plan: Plan,
        slots: dict[str, list[str]],
        parse: Parse,
        *,
        display: Display | None = None,
        rules: tuple[Rule, ...] = (),
    ) -> Response:
        """Write every target or none (each is checked again now), read what was asked."""
        for path, value in plan.writes:
            if (why := self.vehicle.refusal(path, value)) is not None:
                return self._reply(f"Sorry, I can't: {why}.", Kind.REFUSED, parse, plan.intent)
        before = {path: self.vehicle.values.get(path) for path, _ in plan.writes}
        for path, value in plan.writes:
            self.vehicle.apply(path, value)
        reads = {path: self.vehicle.values.get(path) for path in plan.reads}
        if plan.writes:
            self._last = _Turn(plan.intent, slots, before)
            if self.on_applied is not None:
                self.on_applied(plan.intent, slots, plan.writes)
        return Response(
            plan.say,
            Kind.ACTED if plan.writes else Kind.ANSWERED,
            plan.intent,
            parse.confidence,
            slots,
            plan.writes,
            reads,
            plan.task.display if display is None else display,
            rules,
        )

    def _reply(
        self,
        text: str,
        kind: Kind,
        parse: Parse,
        intent: str | None = None,
        slots: dict[str, list[str]] | None = None,
        *,
        rules: tuple[Rule, ...] = (),
    ) -> Response:
        return Response(
            text,
            kind,
            parse.intent if intent is None else intent,
            parse.confidence,
            parse.slot_values() if slots is None else slots,
            rules=rules,
        )

    # -- provenance ----------------------------------------------------------------

    def _recorded(self, said: str, parse: Parse, response: Response) -> Response:
        """Record a turn that acted, refused or confirmed: what was understood and done, and why."""
        if self.audit is None or response.kind not in (Kind.ACTED, Kind.REFUSED, Kind.CONFIRM):
            return response
        output_id = record_output(
            self.audit,
            kind=OUTPUT_KIND,
            model=MODEL,
            version=VERSION,
            params={
                "understanding": {"model_version": self.model_version},
                "vehicle": self.vehicle.vehicle_id,
                "vehicle_model": self.vehicle.features.model_id,
                "moving": self.vehicle.is_moving,
                "utterance_chars": len(said),
                "parsed_intent": parse.intent,
                "confidence": round(parse.confidence, 4),
                "intent": response.intent,
                "slots": sorted(response.slots),  # names only: values may be personal
                "kind": response.kind.value,
                "writes": [[p, loggable(p, v)] for p, v in response.writes],
                "rules": [r.name for r in response.rules],
            },
            inputs={},
            sources=[f"vss:{p}" for p, _ in response.writes],
            principal=self.principal,
            purpose=PURPOSE,
        )
        return Response(
            response.text, response.kind, response.intent, response.confidence,
            response.slots, response.writes, response.reads, response.display,
            response.rules, output_id,
        )  # fmt: skip
