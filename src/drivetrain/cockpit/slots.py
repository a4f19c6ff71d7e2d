"""Slot values as the vehicle needs them: numbers from words, units, zones, seats, levels.

The understanding engine returns slots as the driver said them ("twenty two",
"seventy two degrees fahrenheit", "the passenger side", "max"). The helpers
here turn them into what a VSS actuator takes, or ``None`` when the words do
not say (then the assistant asks). English only for now: each table is keyed
by language so another can be added beside it.
"""

from __future__ import annotations

import re

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}  # fmt: skip
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")

#: Words for levels on a 0–100 % actuator (seat heating, fan, massage, volume).
LEVELS: dict[str, dict[str, int]] = {
    "en": {
        "off": 0, "zero": 0, "minimum": 10, "min": 10, "lowest": 10, "low": 33, "gentle": 33,
        "medium": 66, "mid": 66, "middle": 66, "normal": 50, "half": 50, "halfway": 50, "high": 100,
        "max": 100, "maximum": 100, "full": 100, "highest": 100, "strong": 100,
    }
}  # fmt: skip
#: Words that move a setting relative to where it is.
UP_WORDS = {"en": ("up", "warmer", "hotter", "louder", "more", "higher", "increase", "raise")}
DOWN_WORDS = {
    "en": ("down", "cooler", "colder", "quieter", "softer", "less", "lower", "decrease", "reduce")
}

#: Words that move a seat along the car (VSS Seat.Position: 0 is the frontmost point).
FORWARD_WORDS = {"en": ("forward", "forwards", "front", "ahead", "closer")}
BACK_WORDS = {"en": ("back", "backward", "backwards", "rearward", "further")}


def number(text: str, language: str = "en") -> float | None:
    """The number in ``text`` ("22", "22.5", "twenty two", "twenty-two and a half")."""
    found = _NUMBER.search(text)
    if found:
        return float(found.group().replace(",", "."))
    if language != "en":
        return None
    words = re.findall(r"[a-z]+", text.lower())
    total, seen, point = 0.0, False, False
    for word in words:
        if point:  # "twenty one point five": one digit after the point
            if _UNITS.get(word, 10) < 10:
                total, seen = total + _UNITS[word] / 10, True
            break
        if word in _TENS:
            total += _TENS[word]
            seen = True
        elif word in _UNITS:
            total += _UNITS[word]
            seen = True
        elif word == "hundred":  # "one hundred and five", "a hundred"
            total, seen = (total if seen else 1) * 100, True
        elif word == "point":
            point = True
        elif word == "half" and seen:
            total += 0.5
    return total if seen else None


def celsius(value: float, unit: str | None) -> float:
    """``value`` in °C; Fahrenheit when the unit says so or the number only makes sense so."""
    said = re.sub(r"degrees?|deg|°|\s", "", (unit or "").lower())  # "°F", "degrees fahrenheit"
    if said.startswith("f") or (not said and value >= 50):
        return round((value - 32) * 5 / 9 * 2) / 2  # to the half degree a dial shows
    return value


def level(text: str, language: str = "en", *, steps: int = 3) -> int | None:
    """A 0–100 % level from words ("low", "max") or a number: a percentage, or one of
    ``steps`` steps (seat heating has 3; a fan 7), or ten steps above that."""
    words = text.lower()
    for word, value in LEVELS[language].items():
        if re.search(rf"\b{word}\b", words):
            return value
    found = number(words, language)
    if found is None:
        return None
    if "%" in words or "percent" in words or found > 10:
        return round(found)
    if found <= steps:  # "level two" of three
        return round(found / steps * 100)
    return round(found * 10)  # "seven" of ten


def direction(text: str, language: str = "en") -> int:
    """+1 for "warmer"/"louder"…, -1 for "cooler"/"quieter"…, 0 otherwise."""
    words = set(re.findall(r"[a-z]+", text.lower()))
    if words & set(UP_WORDS[language]):
        return 1
    if words & set(DOWN_WORDS[language]):
        return -1
    return 0


def fore_aft(text: str, language: str = "en") -> int:
    """+1 for "back"/"backward" (away from the wheel), -1 for "forward", 0 otherwise."""
    words = set(re.findall(r"[a-z]+", text.lower()))
    if words & set(BACK_WORDS[language]):
        return 1
    if words & set(FORWARD_WORDS[language]):
        return -1
    return 0


def side(text: str | None) -> str | None:
    """``Driver``, ``Passenger``, ``Rear`` or ``All`` from words; None if not said."""
    if not text:
        return None
    words = text.lower()
    if re.search(r"\b(all|every|both|everyone|everywhere)\b", words):
        return "All"
    if re.search(r"\b(rear|back)\b", words):
        return "Rear"
    if re.search(r"\b(passenger|right|co-?driver|front passenger)\b", words):
        return "Passenger"
    if re.search(r"\b(driver|my|mine|left)\b", words):
        return "Driver"
    return None
