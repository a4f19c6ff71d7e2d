"""The language packs: what the engine needs to know about one language.

A pack names its tokenizer rule, its number words and the package folder that
holds its ``templates.toml`` (request templates per intent) and
``values.toml`` (slot values, the lexicon and fillers). English is the only
pack today; another language is a new folder beside ``en/`` with the same two
files and a number-words module, registered in ``_PACKS``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Protocol

from drivetrain.cockpit.nlu.en import numbers as en_numbers
from drivetrain.errors import InputError


class NumberSpeller(Protocol):
    """Says a number in words (``21.5`` → ``"twenty one point five"``)."""

    def __call__(self, value: float, *, hyphen: bool = ..., and_a_half: bool = ...) -> str: ...


@dataclass(frozen=True, slots=True)
class LanguagePack:
    """The language-specific pieces of the engine."""

    code: str
    token_pattern: re.Pattern[str]
    number_words: frozenset[str]
    number_to_words: NumberSpeller
    resource_package: str

    def read_toml(self, name: str) -> dict[str, Any]:
        """One of the pack's data files (``templates.toml``, ``values.toml``), parsed."""
        return _read_toml(self.resource_package, name)


@cache
def _read_toml(package: str, name: str) -> dict[str, Any]:
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    return tomllib.loads(text)


# Numbers with a decimal part, words with inner apostrophes or hyphens ("driver's",
# "co-driver", "lo-fi"), then any other single non-space character.
_EN_TOKENS = re.compile(r"\d+(?:[.,]\d+)*|\w+(?:['’\-]\w+)*|[^\w\s]")

_PACKS = {
    "en": LanguagePack(
        code="en",
        token_pattern=_EN_TOKENS,
        number_words=en_numbers.NUMBER_WORDS,
        number_to_words=en_numbers.number_to_words,
        resource_package="drivetrain.cockpit.nlu.en",
    )
}


def language_pack(code: str) -> LanguagePack:
    """The pack of ``code`` (``"en"``)."""
    try:
        return _PACKS[code]
    except KeyError:
        raise InputError(
            f"no language pack {code!r} for the in-car assistant",
            hint=f"use one of {sorted(_PACKS)}",
        ) from None


def language_codes() -> list[str]:
    """The languages the engine has packs for."""
    return sorted(_PACKS)
