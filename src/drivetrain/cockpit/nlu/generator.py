"""The generated training and evaluation sets of the in-car assistant's own intents.

drivetrain has no recorded in-car requests to learn from, so the engine learns
from utterances generated from a language pack's ``templates.toml`` (request
phrasings per intent, written by hand) and ``values.toml`` (slot values,
numbers and fillers). Generation is seeded and uses only :class:`random.Random`
seeded with a string, so the same seed, counts and pack give identical sets
on every machine and Python version.

How the two splits are kept honest:

- **Templates**: every intent has ``train`` and ``eval`` templates, written as
  different phrasings ("take me to X" for training, "show me the way to X"
  for evaluation); no template is in both lists.
- **Values**: open classes (places, contacts, artists, tracks, message text)
  and most closed classes (POI categories, charger networks, genres, colours,
  warning lights, seats, windows…) have separate ``train`` and ``eval`` value
  lists, so an evaluation utterance fills its slots with values no training
  utterance contains. A few tiny closed sets (temperature units,
  directions such as "up" or "warmer", charger kinds) are shared, and
  numbers (temperatures, levels, volume, kW) come from the same ranges in
  both splits, spoken as digits or words at random.
- **Made-up values**: a third of the training values of open classes are
  pseudo-words ("Vokaren") or random words of a word pool, so the tagger must
  find such slots from their context instead of memorising the real names;
  and pseudo-words alone are training examples of ``none``, so that made-up
  words do not by themselves suggest a name to call.
- **Fillers**: politeness, wake words and hesitations around a request come
  from split lists too (``prefix_train`` / ``prefix_eval``…).
- **Texts**: an evaluation utterance whose normalised text (case,
  punctuation and spacing aside) equals a training one is dropped, which
  matters for one-word intents such as ``confirm``.

Closed vocabularies marked ``lexicon = true`` are what the product knows (the
names of charger networks, warning lights…): all their values, train and eval,
form the tagger's gazetteer (:func:`lexicon`). So the evaluation checks that
the tagger generalises from lexicon membership rather than memorising words;
open-class slots get no such help.

Each sample picks a template, expands its alternatives and optional parts,
fills its slots, then may add a prefix, a suffix, a hesitation ("uh") or a
repeated word, lower-cases the whole text (as speech recognisers often do),
capitalises its first letter or ends it with punctuation.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any, Literal

from drivetrain.cockpit.nlu.language import LanguagePack, language_pack
from drivetrain.cockpit.nlu.models import Slot, Utterance
from drivetrain.errors import InputError

Split = Literal["train", "eval"]

GENERATOR_VERSION = 3
"""Bumped whenever the same seed would give different utterances (it keys the model cache)."""

DEFAULT_SEED = 11
TRAIN_PER_INTENT = 300
EVAL_PER_INTENT = 80

_PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")
_UNLABELLED = "_"
_WORD_CHARS = re.compile(r"^\w+")
_SYNTHETIC_SHARE = 0.35
_CONSONANTS = "bcdfghjklmnprstvwz"
_VOWELS = "aeiou"


@dataclass(frozen=True, slots=True)
class GeneratedSets:
    """The two splits of one generation."""

    train: list[Utterance]
    eval: list[Utterance]


def generate_sets(
    *,
    language: str = "en",
    seed: int = DEFAULT_SEED,
    train_per_intent: int = TRAIN_PER_INTENT,
    eval_per_intent: int = EVAL_PER_INTENT,
) -> GeneratedSets:
    """Both splits: up to ``*_per_intent`` distinct utterances of every intent.

    An intent with few phrasings (``confirm``) can have fewer: the generator
    stops after many draws that only repeat texts it already has.
    """
    pack = language_pack(language)
    templates = pack.read_toml("templates.toml")
    values = pack.read_toml("values.toml")
    train = _generate(pack, templates, values, "train", seed, train_per_intent, set())
    seen = {_normalised(u.text) for u in train}
    evaluation = _generate(pack, templates, values, "eval", seed, eval_per_intent, seen)
    return GeneratedSets(train, evaluation)


def generate_utterances(
    split: Split, *, language: str = "en", seed: int = DEFAULT_SEED
) -> list[Utterance]:
    """One split with the default counts (``generate_sets`` for other counts)."""
    sets = generate_sets(language=language, seed=seed)
    return sets.train if split == "train" else sets.eval


def intents(language: str = "en") -> list[str]:
    """The intents the language pack has templates for."""
    return sorted(language_pack(language).read_toml("templates.toml"))


def lexicon(language: str = "en") -> dict[str, list[str]]:
    """Slot name to the known values of its closed vocabulary (the tagger's gazetteer)."""
    pack = language_pack(language)
    sources = pack.read_toml("values.toml")["sources"]
    found: dict[str, set[str]] = {}
    for entry in pack.read_toml("templates.toml").values():
        for template in entry["train"] + entry["eval"]:
            for name, source in _PLACEHOLDER.findall(template):
                spec = sources.get(source or name)
                if name == _UNLABELLED or spec is None or not spec.get("lexicon", False):
                    continue
                words = spec.get("train", []) + spec.get("eval", []) + spec.get("all", [])
                found.setdefault(name, set()).update(words)
    return {name: sorted(words) for name, words in sorted(found.items())}


def template_texts(language: str = "en") -> dict[str, dict[Split, list[str]]]:
    """Intent to its ``train`` and ``eval`` templates, as written in the pack."""
    templates = language_pack(language).read_toml("templates.toml")
    return {i: {"train": list(t["train"]), "eval": list(t["eval"])} for i, t in templates.items()}


def _generate(
    pack: LanguagePack,
    templates: dict[str, Any],
    values: dict[str, Any],
    split: Split,
    seed: int,
    per_intent: int,
    exclude: set[str],
) -> list[Utterance]:
    utterances: list[Utterance] = []
    for intent in sorted(templates):
        rng = random.Random(f"{seed}:{split}:{intent}:{GENERATOR_VERSION}")
        texts: set[str] = set()
        misses = 0
        while len(texts) < per_intent and misses < 40 * per_intent:
            template = rng.choice(templates[intent][split])
            utterance = _sample(pack, values, split, intent, template, rng)
            key = _normalised(utterance.text)
            if key in texts or key in exclude:
                misses += 1
                continue
            texts.add(key)
            utterances.append(utterance)
    return utterances


def _sample(
    pack: LanguagePack,
    values: dict[str, Any],
    split: Split,
    intent: str,
    template: str,
    rng: random.Random,
) -> Utterance:
    pattern = " ".join(_expand(template, rng).split())
    segments: list[list[Any]] = []  # [text, slot name or None]
    cursor = 0
    for match in _PLACEHOLDER.finditer(pattern):
        segments.append([pattern[cursor : match.start()], None])
        name, source = match.group(1), match.group(2) or match.group(1)
        value = _value(pack, values, split, source, rng, where=f"{intent}: {template!r}")
        segments.append([value, None if name == _UNLABELLED else name])
        cursor = match.end()
    segments.append([pattern[cursor:], None])
    _extend_to_word_ends(segments)
    _augment(segments, values["fillers"], split, rng)
    text, slots = "", []
    for piece, name in segments:
        if name is not None and piece:
            slots.append(Slot(name, len(text), len(text) + len(piece), piece))
        text += piece
    return Utterance(text, intent, tuple(slots))


def _expand(template: str, rng: random.Random) -> str:
    """Resolve ``(a|b)`` and ``[optional]`` (they may nest) into one phrasing."""
    out, i = [], 0
    while i < len(template):
        char = template[i]
        if char in "([":
            close = _matching(template, i)
            inner = template[i + 1 : close]
            if char == "(":
                out.append(_expand(rng.choice(_split_top(inner)), rng))
            elif rng.random() < 0.5:
                out.append(_expand(inner, rng))
            i = close + 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _matching(template: str, start: int) -> int:
    depth = 0
    for i in range(start, len(template)):
        if template[i] in "([":
            depth += 1
        elif template[i] in ")]":
            depth -= 1
            if depth == 0:
                return i
    raise InputError(f"unbalanced brackets in the template {template!r}")


def _split_top(inner: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in inner:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        if char == "|" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _value(
    pack: LanguagePack,
    values: dict[str, Any],
    split: Split,
    source: str,
    rng: random.Random,
    *,
    where: str,
) -> str:
    if source in values["sources"]:
        spec = values["sources"][source]
        share = spec.get("synthetic_share", _SYNTHETIC_SHARE)
        if split == "train" and "synthetic" in spec and rng.random() < share:
            held_out = {v.lower() for v in spec.get("eval", [])}
            while True:  # a made-up value must not be an evaluation value ("Hugo")
                made = _synthetic(spec["synthetic"], values["fillers"]["word_pool"], rng)
                if made.lower() not in held_out:
                    return made
        choices = spec.get(split) or spec.get("all")
        if not choices:
            raise InputError(f"the value source {source!r} has no {split} values ({where})")
        return str(rng.choice(choices))
    if source in values["numbers"]:
        spec = values["numbers"][source]
        steps = round((spec["max"] - spec["min"]) / spec["step"])
        number = spec["min"] + spec["step"] * rng.randint(0, steps)
        if number != int(number) and rng.random() < 0.7:
            number = int(number)  # whole degrees are what people mostly say
        if rng.random() < 0.35:
            hyphen, half = rng.random() < 0.3, rng.random() < 0.5
            return pack.number_to_words(number, hyphen=hyphen, and_a_half=half)
        return f"{number:g}"
    raise InputError(f"no value source {source!r} in values.toml ({where})")


def _synthetic(kind: str, pool: list[str], rng: random.Random) -> str:
    """A made-up value: pseudo-word names, places, or words of the pack's word pool."""
    if kind == "name":
        return " ".join(_pseudo_word(rng) for _ in range(rng.randint(1, 2)))
    if kind == "place":
        return _pseudo_word(rng) + rng.choice(["", "", "burg", "ville", " Street", " Road"])
    if kind == "words":
        words = [rng.choice(pool) for _ in range(rng.randint(1, 4))]
        return " ".join(w.title() if rng.random() < 0.5 else w for w in words)
    if kind == "phrase":
        return " ".join(rng.choice(pool) for _ in range(rng.randint(2, 6)))
    if kind == "noise":
        return " ".join(_pseudo_word(rng).lower() for _ in range(rng.randint(1, 3)))
    raise InputError(f"unknown kind of synthetic value {kind!r} in values.toml")


def _pseudo_word(rng: random.Random) -> str:
    syllables = rng.randint(2, 3)
    word = "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(syllables))
    return (word + rng.choice(["", "n", "r", "s", "k"])).title()


def _extend_to_word_ends(segments: list[list[Any]]) -> None:
    """A slot followed by letters ("{poi_category}s") takes them: spans end at word ends."""
    for i in range(len(segments) - 1):
        if segments[i][1] is not None and segments[i + 1][1] is None:
            tail = _WORD_CHARS.match(segments[i + 1][0])
            if tail:
                segments[i][0] += tail.group()
                segments[i + 1][0] = segments[i + 1][0][tail.end() :]


def _augment(
    segments: list[list[Any]], fillers: dict[str, list[str]], split: Split, rng: random.Random
) -> None:
    if rng.random() < 0.15:
        joiner = rng.choice([" ", ", "])
        segments.insert(0, [rng.choice(fillers[f"prefix_{split}"]) + joiner, None])
    if rng.random() < 0.12:
        segments.append([" " + rng.choice(fillers[f"suffix_{split}"]), None])
    literal = [s for s in segments if s[1] is None and " " in s[0].strip()]
    if literal and rng.random() < 0.1:
        segment = rng.choice(literal)
        words = segment[0].split(" ")
        at = rng.randint(1, len(words) - 1)
        if rng.random() < 0.6:
            words.insert(at, rng.choice(fillers["hesitation"]))
        elif words[at - 1]:
            words.insert(at, words[at - 1])  # "to to"
        segment[0] = " ".join(words)
    roll = rng.random()
    if roll < 0.55:
        for segment in segments:
            segment[0] = segment[0].lower()
    elif roll < 0.9:
        first = next(s for s in segments if s[0])
        first[0] = first[0][0].upper() + first[0][1:]
    if rng.random() < 0.2:
        segments.append([rng.choice(["?", ".", "!"]), None])


def _normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())
