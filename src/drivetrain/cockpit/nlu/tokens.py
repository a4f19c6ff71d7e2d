"""Tokens that keep their character offsets, and BIO tags to and from slots.

The slot tagger labels tokens with ``B-<slot>`` (first token of a slot),
``I-<slot>`` (a following token of the same slot) or ``O``. Tokens keep their
place in the original text, so tags turn back into character spans of that
text. Which characters make a token is a rule of the language
(:mod:`drivetrain.cockpit.nlu.language`); the functions here take the
compiled pattern.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from drivetrain.cockpit.nlu.models import Slot

OUTSIDE = "O"


@dataclass(frozen=True, slots=True)
class Token:
    """A token and where it is in its text (``text[start:end] == token.text``)."""

    text: str
    start: int
    end: int


def tokenize(text: str, pattern: re.Pattern[str]) -> list[Token]:
    """Every match of ``pattern`` in ``text``, in order, with its offsets."""
    return [Token(m.group(), m.start(), m.end()) for m in pattern.finditer(text)]


def slots_to_bio(tokens: Sequence[Token], slots: Sequence[Slot]) -> list[str]:
    """BIO tags of ``tokens`` for ``slots``: a token is in a slot if they overlap.

    A slot whose edge falls inside a token (``"Jazz"`` in ``"Jazz's"``) takes
    the whole token; a slot that overlaps no token is lost.
    """
    tags = [OUTSIDE] * len(tokens)
    for slot in slots:
        first = True
        for i, token in enumerate(tokens):
            if token.end <= slot.start or token.start >= slot.end:
                continue
            if tags[i] != OUTSIDE:  # two slots in one token: the first keeps it
                continue
            tags[i] = ("B-" if first else "I-") + slot.name
            first = False
    return tags


def bio_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """``(name, first, last)`` token ranges (``last`` inclusive) of a BIO sequence.

    As in CoNLL's ``conlleval``, an ``I-X`` that does not continue an ``X``
    starts a new span, so every tag sequence has one reading.
    """
    spans: list[tuple[str, int, int]] = []
    name: str | None = None
    first = 0
    for i, tag in enumerate(tags):
        prefix, _, label = tag.partition("-")
        continues = prefix == "I" and label == name
        if name is not None and not continues:
            spans.append((name, first, i - 1))
            name = None
        if prefix in ("B", "I") and not continues:
            name, first = label, i
    if name is not None:
        spans.append((name, first, len(tags) - 1))
    return spans


def bio_to_slots(text: str, tokens: Sequence[Token], tags: Sequence[str]) -> tuple[Slot, ...]:
    """The slots a BIO sequence over ``tokens`` of ``text`` marks, as character spans."""
    slots = []
    for name, first, last in bio_spans(tags):
        start, end = tokens[first].start, tokens[last].end
        slots.append(Slot(name, start, end, text[start:end]))
    return tuple(slots)
