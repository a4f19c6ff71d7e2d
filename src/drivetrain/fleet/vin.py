"""Vehicle identification numbers (ISO 3779, 49 CFR 565): check digit, model year, building.

A VIN has 17 characters from the digits and capital letters except I, O and Q.
Position 9 is a check digit: each character is transliterated to a number
(letters A-Z skipping I, O, Q map to 1-9 in runs, digits to themselves),
multiplied by its position weight, and the sum taken modulo 11; a remainder of
10 is written ``X``. Position 10 codes the model year in a 30-year cycle of
letters (no I, O, Q, U, Z) and the digits 1-9.
"""

from __future__ import annotations

from drivetrain.errors import InputError

VIN_LENGTH = 17
VIN_CHARACTERS = frozenset("ABCDEFGHJKLMNPRSTUVWXYZ0123456789")
CHECK_DIGIT_POSITION = 9  # 1-based, as in the standards

_TRANSLITERATION: dict[str, int] = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_MODEL_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"
_FIRST_MODEL_YEAR = 1980


def _problem(vin: str) -> str | None:
    """What is wrong with the characters of ``vin`` (ignoring the check digit), if anything."""
    if len(vin) != VIN_LENGTH:
        return f"has {len(vin)} characters, a VIN has {VIN_LENGTH}"
    bad = sorted({c for c in vin if c not in VIN_CHARACTERS})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        if any(c in "IOQ" for c in bad):
            return f"contains {shown}; VINs never use I, O or Q (read them as 1, 0, 0)"
        return f"contains {shown}; a VIN has only digits and capital letters"
    return None


def vin_check_digit(vin: str) -> str:
    """The check digit ('0'-'9' or 'X') that position 9 of ``vin`` must hold.

    The character currently at position 9 does not matter (its weight is 0).
    Raises ``InputError`` if ``vin`` is not 17 valid VIN characters.
    """
    problem = _problem(vin)
    if problem is not None:
        raise InputError(f"VIN {vin!r} {problem}")
    total = sum(_TRANSLITERATION[c] * w for c, w in zip(vin, _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def validate_vin(vin: str) -> str:
    """Return ``vin`` if it is a well-formed VIN with the right check digit, else raise.

    The ``InputError`` names the VIN and, for a wrong check digit, the expected one.
    """
    expected = vin_check_digit(vin)
    actual = vin[CHECK_DIGIT_POSITION - 1]
    if actual != expected:
        raise InputError(
            f"VIN {vin!r} has check digit {actual!r} at position {CHECK_DIGIT_POSITION}, "
            f"expected {expected!r}",
            hint="check the VIN for a mistyped character; the check digit guards all 17",
        )
    return vin


def is_valid_vin(vin: str) -> bool:
    """Whether ``vin`` has 17 valid characters and a correct check digit."""
    return _problem(vin) is None and vin[CHECK_DIGIT_POSITION - 1] == vin_check_digit(vin)


def model_year_code(model_year: int) -> str:
    """The position-10 code of ``model_year`` (2019 → 'K', 2024 → 'R', 2031 → '1')."""
    if model_year < _FIRST_MODEL_YEAR:
        raise InputError(
            f"model year {model_year} predates the 17-character VIN ({_FIRST_MODEL_YEAR})"
        )
    return _MODEL_YEAR_CODES[(model_year - _FIRST_MODEL_YEAR) % len(_MODEL_YEAR_CODES)]


def model_years_of_code(code: str, *, latest: int = 2039) -> tuple[int, ...]:
    """The model years up to ``latest`` that position-10 ``code`` can stand for, oldest first."""
    index = _MODEL_YEAR_CODES.find(code)
    if len(code) != 1 or index < 0:
        raise InputError(
            f"{code!r} is not a model-year code; codes are {_MODEL_YEAR_CODES}",
        )
    return tuple(range(_FIRST_MODEL_YEAR + index, latest + 1, len(_MODEL_YEAR_CODES)))


def make_vin(wmi: str, vds5: str, model_year: int, plant: str, serial: str) -> str:
    """Build a valid VIN from its parts, filling in the check digit and model-year code.

    Args:
        wmi: world manufacturer identifier, positions 1-3.
        vds5: vehicle descriptor, positions 4-8.
        model_year: coded at position 10.
        plant: assembly plant code, position 11.
        serial: production sequence number, positions 12-17.
    """
    for name, part, length in (("wmi", wmi, 3), ("vds5", vds5, 5), ("plant", plant, 1)):
        if len(part) != length:
            raise InputError(f"VIN part {name}={part!r} must have {length} character(s)")
    if len(serial) != 6:
        raise InputError(f"VIN part serial={serial!r} must have 6 characters (zero-pad it)")
    draft = f"{wmi}{vds5}0{model_year_code(model_year)}{plant}{serial}"
    problem = _problem(draft)
    if problem is not None:
        raise InputError(
            f"VIN parts wmi={wmi!r} vds5={vds5!r} plant={plant!r} serial={serial!r}: "
            f"the VIN {problem}"
        )
    digit = vin_check_digit(draft)
    return f"{draft[:8]}{digit}{draft[9:]}"
