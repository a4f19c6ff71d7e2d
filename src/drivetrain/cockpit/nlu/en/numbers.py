"""English number words for the generated training text: ``21`` → ``"twenty one"``.

The generator speaks a sampled number as words some of the time, as a driver
would ("set it to twenty one and a half"). Reading words back into numbers is
not done here: the resolver does that with :func:`drivetrain.cockpit.slots.number`.
"""

from __future__ import annotations

_UNITS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
]  # fmt: skip
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]

NUMBER_WORDS = frozenset(_UNITS) | frozenset(_TENS[2:]) | {"hundred", "point", "half"}
"""Words that can be part of a spelled-out number (a feature of the slot tagger)."""


def number_to_words(value: float, *, hyphen: bool = False, and_a_half: bool = False) -> str:
    """``21`` → ``"twenty one"`` (``"twenty-one"`` with ``hyphen``); ``21.5`` → ``"… point five"``.

    With ``and_a_half`` a fraction of .5 is said ``"twenty one and a half"``.
    Integers 0–999 with at most one decimal digit.
    """
    whole = int(value)
    if not 0 <= whole <= 999:
        raise ValueError(f"{value} is outside the 0–999 that English number words cover here")
    words = _integer_words(whole, "-" if hyphen else " ")
    tenth = round((value - whole) * 10)
    if not tenth:
        return words
    if tenth == 5 and and_a_half:
        return f"{words} and a half"
    return f"{words} point {_UNITS[tenth]}"


def _integer_words(value: int, joiner: str) -> str:
    if value < 20:
        return _UNITS[value]
    if value < 100:
        tens, units = divmod(value, 10)
        return _TENS[tens] + (joiner + _UNITS[units] if units else "")
    hundreds, rest = divmod(value, 100)
    head = f"{_UNITS[hundreds]} hundred"
    return head if rest == 0 else f"{head} and {_integer_words(rest, joiner)}"
