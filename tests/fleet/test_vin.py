"""VIN check digit, model-year codes and building VINs."""

from __future__ import annotations

import pytest

from drivetrain.errors import InputError
from drivetrain.fleet import (
    is_valid_vin,
    make_vin,
    model_year_code,
    model_years_of_code,
    validate_vin,
    vin_check_digit,
)

# The worked example of 49 CFR 565 / ISO 3779 (check digit X), and VINs widely
# used as decoder examples (Honda Accord 2003, Acura Legend 1993, Saturn VUE 2003).
KNOWN_VALID = (
    "1M8GDM9AXKP042788",
    "1HGCM82633A004352",
    "JH4KA7561PC008269",
    "5GZCZ43D13S812715",
)


def test_published_worked_example_has_check_digit_x() -> None:
    assert vin_check_digit("1M8GDM9AXKP042788") == "X"
    assert vin_check_digit("1M8GDM9A0KP042788") == "X"  # position 9 itself has weight 0


@pytest.mark.parametrize("vin", KNOWN_VALID)
def test_real_vins_are_valid(vin: str) -> None:
    assert is_valid_vin(vin)
    assert validate_vin(vin) == vin
    assert vin_check_digit(vin) == vin[8]


@pytest.mark.parametrize(("position", "replacement"), [(0, "2"), (5, "N"), (10, "R"), (16, "9")])
def test_a_mistyped_character_is_caught(position: int, replacement: str) -> None:
    vin = "1M8GDM9AXKP042788"
    typo = vin[:position] + replacement + vin[position + 1 :]
    assert not is_valid_vin(typo)
    with pytest.raises(InputError, match=r"expected 'X'|expected '\d'"):
        validate_vin(typo)


def test_wrong_check_digit_error_names_vin_and_expected_digit() -> None:
    with pytest.raises(InputError) as caught:
        validate_vin("1HGCM82613A004352")
    assert "1HGCM82613A004352" in caught.value.message
    assert "expected '3'" in caught.value.message


@pytest.mark.parametrize("letter", ["I", "O", "Q"])
def test_letters_i_o_q_are_rejected(letter: str) -> None:
    vin = "1M8GDM9AXKP04278" + letter
    assert not is_valid_vin(vin)
    with pytest.raises(InputError, match="never use I, O or Q"):
        vin_check_digit(vin)


@pytest.mark.parametrize("vin", ["", "1M8GDM9AXKP04278", "1M8GDM9AXKP0427888", "1m8gdm9axkp042788"])
def test_wrong_length_or_case_is_invalid(vin: str) -> None:
    assert not is_valid_vin(vin)
    with pytest.raises(InputError):
        validate_vin(vin)


@pytest.mark.parametrize(
    ("year", "code"),
    [(1980, "A"), (1988, "J"), (2000, "Y"), (2001, "1"), (2009, "9"), (2010, "A"),
     (2019, "K"), (2023, "P"), (2024, "R"), (2025, "S"), (2027, "V"), (2030, "Y"),
     (2031, "1")],
)  # fmt: skip
def test_model_year_codes(year: int, code: str) -> None:
    assert model_year_code(year) == code
    assert year in model_years_of_code(code)


def test_model_year_codes_skip_the_confusable_characters() -> None:
    codes = {model_year_code(y) for y in range(1980, 2010)}
    assert len(codes) == 30
    assert not codes & set("IOQUZ0")
    assert model_years_of_code("R") == (1994, 2024)
    with pytest.raises(InputError):
        model_years_of_code("U")
    with pytest.raises(InputError):
        model_year_code(1979)


def test_make_vin_fills_in_check_digit_and_model_year() -> None:
    assert make_vin("1M8", "GDM9A", 2019, "P", "042788") == "1M8GDM9AXKP042788"
    assert make_vin("1HG", "CM826", 2003, "A", "004352") == "1HGCM82633A004352"


@pytest.mark.parametrize("year", range(1980, 2040))
def test_make_vin_round_trips_through_the_validator(year: int) -> None:
    for serial in ("000001", "123456", "999999"):
        vin = make_vin("WVW", "ZZZ1K", year, "W", serial)
        assert is_valid_vin(vin), vin
        assert vin[9] == model_year_code(year)
        assert vin[10:] == "W" + serial


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        (("WV", "ZZZ1K", 2020, "W", "000001"), "wmi"),
        (("WVW", "ZZZ1", 2020, "W", "000001"), "vds5"),
        (("WVW", "ZZZ1K", 2020, "WW", "000001"), "plant"),
        (("WVW", "ZZZ1K", 2020, "W", "1"), "serial"),
        (("WVW", "ZZZIK", 2020, "W", "000001"), "I, O or Q"),
    ],
)
def test_make_vin_rejects_bad_parts(parts: tuple[str, str, int, str, str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        make_vin(*parts)
