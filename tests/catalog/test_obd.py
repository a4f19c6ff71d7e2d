"""SAE J1979 service 01 PID table against worked examples and its own formulas."""

from __future__ import annotations

import re

import numpy as np
import pytest

from drivetrain.catalog import MODE_01_PIDS, ObdPid, decode_pid, encode_pid, get_pid
from drivetrain.catalog.obd import decode_pid_raw
from drivetrain.errors import InputError, NotFound

# (pid, data bytes, physical value) — worked examples of the standard's formulas
WORKED_EXAMPLES = [
    (0x0C, bytes([0x1A, 0xF8]), 1726.0),  # (256*26 + 248) / 4
    (0x0C, bytes([0x0F, 0xA0]), 1000.0),
    (0x0D, bytes([0x32]), 50.0),
    (0x05, bytes([0x7B]), 83.0),  # 123 - 40
    (0x05, bytes([0x00]), -40.0),
    (0x46, bytes([0x3C]), 20.0),
    (0x5C, bytes([0x82]), 90.0),
    (0x04, bytes([0xFF]), 100.0),
    (0x04, bytes([0x80]), 128 * 100 / 255),
    (0x2F, bytes([0x66]), 40.0),  # 102 * 100 / 255
    (0x49, bytes([0x33]), 20.0),  # 51 * 100 / 255
    (0x42, bytes([0x36, 0x0C]), 13.836),  # (256*54 + 12) / 1000
    (0xA6, bytes([0x00, 0x01, 0xE2, 0x40]), 12345.6),  # 123456 / 10 km
]


@pytest.mark.parametrize(("pid", "data", "expected"), WORKED_EXAMPLES)
def test_worked_examples(pid: int, data: bytes, expected: float) -> None:
    assert decode_pid(pid, data) == pytest.approx(expected)


@pytest.mark.parametrize(("pid", "data", "expected"), WORKED_EXAMPLES)
def test_encode_inverts_decode(pid: int, data: bytes, expected: float) -> None:
    assert encode_pid(pid, expected) == data


def _evaluate(formula: str, data: bytes) -> float:
    """Evaluate the standard's notation, e.g. ``(256A+B)/4``, for the given bytes."""
    expression = formula.replace("^", "**")
    expression = re.sub(r"(\d)\s*([A-D])", r"\1*\2", expression)
    names = dict(zip("ABCD", data, strict=False))
    return float(eval(expression, {"__builtins__": {}}, names))


@pytest.mark.parametrize("entry", list(MODE_01_PIDS.values()), ids=lambda e: f"0x{e.pid:02X}")
def test_scale_and_offset_agree_with_the_formula(entry: ObdPid) -> None:
    rng = np.random.default_rng(entry.pid)
    samples = [bytes([0] * entry.data_bytes), bytes([0xFF] * entry.data_bytes)]
    samples += [bytes(rng.integers(0, 256, entry.data_bytes).tolist()) for _ in range(20)]
    for data in samples:
        raw = int.from_bytes(data, "big")
        assert raw * entry.scale + entry.offset == pytest.approx(_evaluate(entry.formula, data))


def test_standard_range_is_reachable_from_the_raw_range() -> None:
    for entry in MODE_01_PIDS.values():
        first, last = entry.raw_range
        assert first * entry.scale + entry.offset == pytest.approx(entry.minimum)
        assert last * entry.scale + entry.offset == pytest.approx(entry.maximum)
    # engine oil temperature: A-40 with the standard's 210 degC ceiling, not 215
    assert get_pid(0x5C).raw_range == (0, 250)


def test_vectorised_decode_matches_scalar_decode() -> None:
    raw = np.array([0, 6904, 65535])
    np.testing.assert_allclose(decode_pid_raw(0x0C, raw), [0.0, 1726.0, 16383.75])


def test_encode_clips_to_the_standard_range() -> None:
    assert encode_pid(0x05, -100.0) == bytes([0])
    assert encode_pid(0x5C, 400.0) == bytes([250])
    assert encode_pid(0x0D, 300.0) == bytes([255])


def test_wrong_byte_count_and_unknown_pid() -> None:
    with pytest.raises(InputError, match="2 data byte"):
        decode_pid(0x0C, bytes([0x1A]))
    with pytest.raises(NotFound, match="0x99"):
        get_pid(0x99)
