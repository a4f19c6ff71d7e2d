"""Our SAE J1979 PID table decodes exactly like python-OBD (an independent implementation)."""

from __future__ import annotations

import numpy as np
import obd
import pytest
from obd.protocols.protocol import Frame, Message

from drivetrain.catalog import MODE_01_PIDS, decode_pid, get_pid

COMMON = [
    pid for pid in sorted(MODE_01_PIDS) if pid < len(obd.commands[1]) and obd.commands[1][pid]
]


def python_obd(pid: int, data: bytes) -> float:
    message = Message([Frame("")])
    message.data = bytearray([0x41, pid, *data])
    value = obd.commands[1][pid].decode([message])
    return float(getattr(value, "magnitude", value))


def test_most_of_our_pids_exist_in_python_obd() -> None:
    assert len(COMMON) >= len(MODE_01_PIDS) - 2  # 0xA6 (odometer) postdates python-OBD


@pytest.mark.parametrize("pid", COMMON)
def test_every_raw_value_decodes_the_same(pid: int) -> None:
    entry = get_pid(pid)
    assert obd.commands[1][pid].bytes == 2 + entry.data_bytes
    rng = np.random.default_rng(pid)
    raws = [0, 256**entry.data_bytes - 1, *rng.integers(0, 256**entry.data_bytes, 200).tolist()]
    for raw in raws:
        data = int(raw).to_bytes(entry.data_bytes, "big")
        assert decode_pid(pid, data) == pytest.approx(python_obd(pid, data), rel=1e-9, abs=1e-9)


def test_dtc_bytes_decode_like_python_obd() -> None:
    from obd.decoders import parse_dtc

    from drivetrain.catalog.obd import decode_dtc

    for first in range(256):
        for second in (0x00, 0x01, 0x28, 0x7F, 0xA5, 0xFF):
            ref = parse_dtc((first, second))
            # python-OBD prints hex letters of the last byte in lower case (P007f): J2012 is upper
            assert decode_dtc(first, second) == (ref[0].upper() if ref else None), (first, second)
