"""What the slot tagger sees of each token: the word, its shape, its neighbours, gazetteers.

Every token becomes a list of ``name=value`` strings for the linear-chain CRF:
the lower-cased word, its prefixes and suffixes, its shape (``Xx``, ``d``),
whether it is a digit or a number word, the words and bigrams around it, the
utterance's intent (alone and joined with the word, so the same word can be a
``level`` in one intent and a ``fan_level`` in another) and the gazetteer
matches it is part of.

A :class:`Gazetteer` holds known slot values as token sequences with counts.
The language pack's lexicon counts as always known. Values taken from the
training utterances are counted, and when features are made for a training
utterance its own values are left out (leave-one-out), so that during
training a gazetteer match fires as it will on new text, where a value fires
only if some *other* utterance taught it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from drivetrain.cockpit.nlu.tokens import Token

_ALWAYS = 1_000_000  # the count of a lexicon entry: never left out
_MAX_LENGTH = 6  # longest gazetteer entry matched, in tokens

GazetteerKey = tuple[str, tuple[str, ...]]
"""(slot name, lower-cased words) of one known value."""


@dataclass
class Gazetteer:
    """Known slot values: token sequence (lower-cased) → slot name → count."""

    entries: dict[tuple[str, ...], dict[str, int]] = field(default_factory=dict)

    def add(self, name: str, words: Sequence[str], count: int = 1) -> None:
        """Count ``count`` more occurrences of ``words`` as a value of slot ``name``."""
        key = tuple(w.lower() for w in words)
        if not key or len(key) > _MAX_LENGTH:
            return
        names = self.entries.setdefault(key, {})
        names[name] = min(names.get(name, 0) + count, _ALWAYS)

    def add_lexicon(self, lexicon: Mapping[str, Iterable[Sequence[str]]]) -> None:
        """Add a language pack's closed vocabularies (already tokenized), never left out."""
        for name, values in lexicon.items():
            for words in values:
                self.add(name, words, _ALWAYS)

    def matches(
        self, words: Sequence[str], leave_out: frozenset[GazetteerKey] = frozenset()
    ) -> list[list[str]]:
        """Per token, the ``gaz:<slot>:B|I`` features of every entry covering it."""
        lowered = [w.lower() for w in words]
        found: list[list[str]] = [[] for _ in words]
        for i in range(len(words)):
            for length in range(1, min(_MAX_LENGTH, len(words) - i) + 1):
                key = tuple(lowered[i : i + length])
                for name, count in self.entries.get(key, {}).items():
                    if count - ((name, key) in leave_out) <= 0:
                        continue
                    found[i].append(f"gaz:{name}:B")
                    for j in range(i + 1, i + length):
                        found[j].append(f"gaz:{name}:I")
        return found


def shape(word: str) -> str:
    """``"Munich"`` → ``"Xx"``, ``"A7"`` → ``"Xd"``, ``"21.5"`` → ``"d.d"`` (runs collapsed)."""
    mapped = re.sub(r"[A-ZÀ-Þ]", "X", word)
    mapped = re.sub(r"[a-zß-ÿ]", "x", mapped)
    mapped = re.sub(r"\d", "d", mapped)
    return re.sub(r"(.)\1+", r"\1", mapped)


def token_features(
    tokens: Sequence[Token],
    intent: str,
    gazetteer: Gazetteer,
    number_words: frozenset[str],
    leave_out: frozenset[GazetteerKey] = frozenset(),
) -> list[list[str]]:
    """The CRF features of every token of one utterance."""
    words = [t.text for t in tokens]
    lower = [w.lower() for w in words]
    gaz = gazetteer.matches(words, leave_out)
    padded = ["<s2>", "<s>", *lower, "</s>", "</s2>"]
    features = []
    for i, word in enumerate(words):
        w = lower[i]
        p = i + 2  # index of the token in ``padded``
        form = shape(word)
        row = [
            "bias",
            f"w={w}",
            f"p3={w[:3]}",
            f"s3={w[-3:]}",
            f"shape={form}",
            f"intent={intent}",
            f"intent|w={intent}|{w}",
            f"w-1={padded[p - 1]}",
            f"w+1={padded[p + 1]}",
            f"w-2={padded[p - 2]}",
            f"w+2={padded[p + 2]}",
            f"w-1|w={padded[p - 1]}|{w}",
            f"w|w+1={w}|{padded[p + 1]}",
        ]
        if word[:1].isupper():
            row.append("title")
        if form in ("d", "d.d", "d,d"):
            row.append("number")
        if w in number_words:
            row.append("number_word")
        row.extend(gaz[i])
        if i > 0:
            row.extend("prev_" + f for f in gaz[i - 1])
        if i + 1 < len(words):
            row.extend("next_" + f for f in gaz[i + 1])
        features.append(row)
    return features
