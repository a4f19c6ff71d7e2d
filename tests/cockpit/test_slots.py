"""Slot words to the values VSS actuators take: numbers, °C, levels, directions and sides."""

from __future__ import annotations

import importlib.util
import tomllib
from importlib import resources

import pytest

from drivetrain.cockpit import slots
from drivetrain.cockpit.slots import celsius, direction, fore_aft, level, number, side


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("22", 22.0),
        ("22.5", 22.5),
        ("22,5", 22.5),  # the decimal comma many drivers write
        ("-5", -5.0),
        ("set it to 30 degrees", 30.0),
        ("zero", 0.0),
        ("seventeen", 17.0),
        ("twenty", 20.0),
        ("twenty two", 22.0),
        ("Twenty-Two", 22.0),
        ("twenty two and a half", 22.5),
        ("twenty-one and a half", 21.5),
        ("twenty one point five", 21.5),
        ("nineteen point two", 19.2),
        ("point five", 0.5),
        ("ninety nine", 99.0),
        ("a hundred", 100.0),
        ("one hundred", 100.0),
        ("one hundred and five", 105.0),
        ("two hundred fifty", 250.0),
        ("nothing to see", None),
        ("half", None),  # "half" alone is a level, not a number
        ("the point", None),
        ("", None),
    ],
)
def test_number_from_digits_and_words(text: str, expected: float | None) -> None:
    assert number(text) == expected


def test_number_words_only_in_english() -> None:
    assert number("zweiundzwanzig", "de") is None
    assert number("22", "de") == 22.0


def test_number_reads_back_what_the_nlu_generator_says() -> None:
    # the training text speaks numbers with this function; the resolver must read them back
    spoken = pytest.importorskip("drivetrain.cockpit.nlu.en.numbers")
    for value in [*range(131), 150, 199, 200, 999]:
        assert number(spoken.number_to_words(value)) == value, value
        assert number(spoken.number_to_words(value, hyphen=True)) == value, value
    for value in (16.5, 21.5, 22.5, 27.5):
        assert number(spoken.number_to_words(value, and_a_half=True)) == value
    for value in (18.2, 21.5, 24.8):
        assert number(spoken.number_to_words(value)) == value


@pytest.mark.skipif(
    importlib.util.find_spec("num2words") is None, reason="num2words is not installed"
)
def test_number_against_num2words() -> None:
    from num2words import num2words

    for value in range(1000):
        said = num2words(value)  # "one hundred and twenty-three"
        assert number(said) == value, said


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (22.0, None, 22.0),
        (22.0, "celsius", 22.0),
        (22.0, "degrees", 22.0),
        (72.0, None, 22.0),  # no room is 72 °C: the number says Fahrenheit
        (72.0, "degrees", 22.0),
        (72.0, "fahrenheit", 22.0),
        (72.0, "degrees fahrenheit", 22.0),
        (72.0, "°F", 22.0),
        (72.0, "F", 22.0),
        (68.0, "°F", 20.0),
        (45.0, "°F", 7.0),  # said in °F even though under 50
        (45.0, "degrees fahrenheit", 7.0),
        (95.0, None, 35.0),
        (50.0, None, 10.0),
        (49.0, None, 49.0),
        (60.0, "celsius", 60.0),  # said in °C: kept, the cabin refuses it
        (60.0, "°C", 60.0),
        (60.0, "degrees celsius", 60.0),
    ],
)
def test_celsius(value: float, unit: str | None, expected: float) -> None:
    assert celsius(value, unit) == expected


@pytest.mark.parametrize("fahrenheit", [59, 60, 61, 64, 65, 69.5, 70, 71, 75, 77, 80, 82, 84])
def test_fahrenheit_lands_on_the_nearest_half_degree(fahrenheit: float) -> None:
    exact = (fahrenheit - 32) / 1.8
    got = celsius(fahrenheit, "fahrenheit")
    assert (got * 2).is_integer()
    assert abs(got - exact) <= 0.25


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("off", 0),
        ("zero", 0),
        ("minimum", 10),
        ("lowest", 10),
        ("low", 33),
        ("gentle", 33),
        ("medium", 66),
        ("normal", 50),
        ("half", 50),
        ("halfway", 50),
        ("high", 100),
        ("max", 100),
        ("full blast", 100),
        ("strong", 100),
        ("level one", 33),
        ("level two", 67),  # of three steps
        ("three", 100),
        ("seven", 70),  # of ten
        ("10", 100),
        ("50 percent", 50),
        ("75%", 75),
        ("40", 40),
        ("150 percent", 150),  # out of range stays out of range: the vehicle refuses it
        ("mellow", None),
    ],
)
def test_level(text: str, expected: int | None) -> None:
    assert level(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("warmer", 1),
        ("a bit hotter", 1),
        ("turn it up", 1),
        ("louder", 1),
        ("increase", 1),
        ("cooler", -1),
        ("colder please", -1),
        ("down", -1),
        ("quieter", -1),
        ("softer", -1),  # a volume word the NLU knows
        ("reduce", -1),
        ("to 22", 0),
        ("", 0),
    ],
)
def test_direction(text: str, expected: int) -> None:
    assert direction(text) == expected


def test_every_volume_word_of_the_nlu_has_a_direction() -> None:
    # the tagger fills {volume_direction} from this closed list; each must move the volume
    lexicon = resources.files("drivetrain.cockpit").joinpath("nlu/en/values.toml")
    if not lexicon.is_file():
        pytest.skip("the NLU lexicon is not there")
    words = tomllib.loads(lexicon.read_text("utf-8"))["sources"]["volume_direction"]["all"]
    for word in words:
        assert direction(word) != 0, word


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("back", 1),
        ("further back", 1),
        ("backwards", 1),
        ("forward", -1),
        ("a bit forwards", -1),
        ("closer", -1),
        ("up", 0),
        ("", 0),
    ],
)
def test_fore_aft(text: str, expected: int) -> None:
    assert fore_aft(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("driver", "Driver"),
        ("driver's side", "Driver"),
        ("my side", "Driver"),
        ("left side", "Driver"),
        ("passenger side", "Passenger"),
        ("front passenger seat", "Passenger"),
        ("co-driver", "Passenger"),
        ("codriver window", "Passenger"),
        ("right side", "Passenger"),
        ("rear", "Rear"),
        ("back row", "Rear"),
        ("rear left window", "Rear"),
        ("everyone", "All"),
        ("both sides", "All"),
        ("front", None),
        ("", None),
        (None, None),
    ],
)
def test_side(text: str | None, expected: str | None) -> None:
    assert side(text) == expected


def test_up_and_down_words_do_not_overlap() -> None:
    for language, up in slots.UP_WORDS.items():
        assert not set(up) & set(slots.DOWN_WORDS[language])
        assert not set(slots.FORWARD_WORDS[language]) & set(slots.BACK_WORDS[language])
