"""What the understanding engine reads and returns: utterances, slots, parses, reports.

An :class:`Utterance` is a text with its intent and its slots; a
:class:`Slot` is a character span of that text (``start`` inclusive, ``end``
exclusive, ``value == text[start:end]``). The same classes carry training
examples, evaluation examples and (through :class:`Parse`) the engine's
answers, so an answer can be scored against a labelled example directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivetrain.errors import InputError

NONE_INTENT = "none"
"""The out-of-domain intent: the assistant did not understand a request it can act on."""


@dataclass(frozen=True, slots=True)
class Slot:
    """A named piece of an utterance: ``text[start:end] == value`` (0-based characters)."""

    name: str
    start: int
    end: int
    value: str


@dataclass(frozen=True, slots=True)
class Utterance:
    """A text with its intent and its slots (in text order, not overlapping)."""

    text: str
    intent: str
    slots: tuple[Slot, ...] = ()

    def __post_init__(self) -> None:
        previous_end = 0
        for slot in self.slots:
            if not 0 <= slot.start < slot.end <= len(self.text):
                raise InputError(
                    f"slot {slot.name!r} [{slot.start}, {slot.end}) lies outside "
                    f"the utterance {self.text!r}"
                )
            if self.text[slot.start : slot.end] != slot.value:
                raise InputError(
                    f"slot {slot.name!r} says {slot.value!r} but the text there is "
                    f"{self.text[slot.start : slot.end]!r} in {self.text!r}"
                )
            if slot.start < previous_end:
                raise InputError(f"slots overlap or are out of order in {self.text!r}")
            previous_end = slot.end


@dataclass(frozen=True, slots=True)
class IntentScore:
    """One candidate intent and the classifier's probability for it (0–1)."""

    intent: str
    probability: float


@dataclass(frozen=True, slots=True)
class Parse:
    """The engine's reading of one text.

    ``confidence`` is the top intent's probability; ``margin`` the gap to the
    runner-up. ``needs_clarification`` is true when the confidence is under the
    model's threshold or the margin is too small to choose, so the caller
    should ask a clarifying question (for example between ``alternatives[0]``
    and ``alternatives[1]``) instead of acting.
    """

    text: str
    intent: str
    confidence: float
    slots: tuple[Slot, ...]
    alternatives: tuple[IntentScore, ...]
    margin: float
    needs_clarification: bool

    def as_utterance(self) -> Utterance:
        """The parse as a labelled utterance (to score it or to log it as an example)."""
        return Utterance(self.text, self.intent, self.slots)

    def slot_values(self) -> dict[str, list[str]]:
        """Slot name to the values found for it, in text order."""
        values: dict[str, list[str]] = {}
        for slot in self.slots:
            values.setdefault(slot.name, []).append(slot.value)
        return values


@dataclass(frozen=True, slots=True)
class SlotScore:
    """Exact-span counts and scores of one slot name (or of all slots together)."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 0.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True, slots=True)
class NluReport:
    """How a model did on a labelled set.

    Slots are scored CoNLL style: a predicted span counts only if its name and
    its first and last token equal a gold span's. ``confusion`` maps a gold
    intent to the predicted intents and their counts; ``latency_ms_p50`` and
    ``latency_ms_p95`` are wall-clock milliseconds of one ``parse`` call.
    """

    utterances: int
    intent_accuracy: float
    slots: SlotScore
    slots_by_name: dict[str, SlotScore]
    confusion: dict[str, dict[str, int]]
    exact_match: float
    latency_ms_p50: float
    latency_ms_p95: float
    errors: list[tuple[Utterance, Parse]] = field(default_factory=list)

    @property
    def slot_precision(self) -> float:
        return self.slots.precision

    @property
    def slot_recall(self) -> float:
        return self.slots.recall

    @property
    def slot_f1(self) -> float:
        return self.slots.f1

    def intent_errors(self) -> list[tuple[str, str, int]]:
        """(gold, predicted, count) of the misclassified intents, most frequent first."""
        rows = [
            (gold, predicted, count)
            for gold, row in self.confusion.items()
            for predicted, count in row.items()
            if predicted != gold
        ]
        return sorted(rows, key=lambda r: (-r[2], r[0], r[1]))
