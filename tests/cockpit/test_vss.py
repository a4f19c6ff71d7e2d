"""The shipped cockpit VSS leaves: every leaf the patterns name exists, every leaf the
assistant's code uses is shipped, and lookups fail with a reason."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from drivetrain.cockpit import requests
from drivetrain.cockpit.vss import (
    _MATCH,
    COCKPIT_PATTERNS,
    DATA_FILE,
    CockpitSignal,
    cockpit_signal,
    cockpit_signals,
    extract,
)
from drivetrain.errors import InputError, NotFound


def expand(pattern: str) -> list[str]:
    """Every path a pattern of literals, ``\\.``, ``[12]`` and ``(a|b)`` groups matches."""

    def sequence(i: int) -> tuple[list[str], int]:
        options: list[list[str]] = [[""]]
        while i < len(pattern):
            c = pattern[i]
            if c == "\\":
                options[-1] = [o + pattern[i + 1] for o in options[-1]]
                i += 2
            elif c == "[":
                end = pattern.index("]", i)
                options[-1] = [o + ch for o in options[-1] for ch in pattern[i + 1 : end]]
                i = end + 1
            elif c == "(":
                inner, i = sequence(i + 1)
                options[-1] = [o + x for o in options[-1] for x in inner]
            elif c == "|":
                options.append([""])
                i += 1
            elif c == ")":
                return [x for o in options for x in o], i + 1
            else:
                assert c.isalnum() or c == "_", f"expand() does not read {c!r} in {pattern}"
                options[-1] = [o + c for o in options[-1]]
                i += 1
        return [x for o in options for x in o], i

    return sequence(0)[0]


def test_expand_reads_the_pattern_syntax() -> None:
    assert expand(r"A\.Row[12]\.(B|C\.(D|E))") == [
        "A.Row1.B", "A.Row1.C.D", "A.Row1.C.E", "A.Row2.B", "A.Row2.C.D", "A.Row2.C.E",
    ]  # fmt: skip


@pytest.mark.parametrize("pattern", COCKPIT_PATTERNS)
def test_every_leaf_a_pattern_names_is_shipped(pattern: str) -> None:
    # a leaf VSS renamed or moved to an overlay would otherwise vanish without a word
    missing = [p for p in expand(pattern) if p not in cockpit_signals()]
    assert not missing, f"not in the spec (renamed? an overlay?): {missing}"


def test_every_shipped_leaf_matches_a_pattern() -> None:
    for path in cockpit_signals():
        assert _MATCH.fullmatch(path), path
    assert len(cockpit_signals()) == sum(len(expand(p)) for p in COCKPIT_PATTERNS)


def test_the_shipped_file_lists_the_current_patterns() -> None:
    text = resources.files("drivetrain.cockpit").joinpath("data", DATA_FILE).read_text("utf-8")
    body = json.loads(text)
    assert tuple(body["patterns"]) == COCKPIT_PATTERNS
    paths = [s["path"] for s in body["signals"]]
    assert paths == sorted(paths)
    assert len(set(paths)) == len(paths)


def test_every_leaf_has_a_kind_a_datatype_and_consistent_limits() -> None:
    for signal in cockpit_signals().values():
        assert signal.type in {"sensor", "actuator"}, signal.path
        assert signal.datatype, signal.path
        if signal.min is not None and signal.max is not None:
            assert signal.min < signal.max, signal.path
        if signal.allowed:
            assert signal.datatype == "string", signal.path


LEAVES_THE_CODE_READS = (
    requests.RANGE,
    requests.SOC,
    *requests.TYRES,
    requests.SERVICE,
    f"{requests.NAV}.Latitude",
    f"{requests.NAV}.Longitude",
    "Vehicle.Speed",
    "Vehicle.Powertrain.Transmission.SelectedGear",
    "Vehicle.Chassis.ParkingBrake.IsEngaged",
    "Vehicle.OBD.Status.IsMILOn",  # VSS 6: from the OBD overlay
    "Vehicle.Powertrain.FuelSystem.RelativeLevel",  # VSS 4 renamed FuelSystem.Level
)


@pytest.mark.parametrize("path", LEAVES_THE_CODE_READS)
def test_the_leaves_the_assistant_uses_are_shipped(path: str) -> None:
    assert isinstance(cockpit_signal(path), CockpitSignal)


def test_an_unknown_leaf_is_not_found_with_a_hint() -> None:
    with pytest.raises(NotFound, match="not a VSS leaf the assistant uses") as caught:
        cockpit_signal("Vehicle.Cabin.Teleporter")
    assert "COCKPIT_PATTERNS" in str(caught.value.hint)


def test_extract_needs_the_spec_and_its_overlays(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        extract(tmp_path / "missing.vspec")
    spec = tmp_path / "root.vspec"
    spec.write_text("Vehicle:\n  type: branch\n  description: x\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"overlay\.vspec does not exist"):
        extract(spec, (tmp_path / "overlay.vspec",))
