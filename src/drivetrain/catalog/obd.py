"""SAE J1979 (ISO 15031-5) service 01 PIDs that drivetrain decoder manifests use.

A mode 01 response carries ``n`` data bytes A, B, C, D after the PID. The raw
value is those bytes read as one big-endian unsigned integer
(``A``, ``256A+B`` or ``2^24 A + 2^16 B + 2^8 C + D``), and every PID below is
linear in it: ``value = raw * scale + offset``. ``formula`` keeps the standard's
own notation next to the table entry so the two can be checked against each
other. Values are facts of the standard, held as data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from drivetrain.errors import InputError, NotFound

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class ObdPid:
    """One service 01 PID: its encoding and the range the standard defines for it."""

    pid: int
    name: str
    data_bytes: int
    scale: float
    offset: float
    minimum: float
    maximum: float
    unit: str
    formula: str

    @property
    def raw_range(self) -> tuple[int, int]:
        """Raw integers that decode into the standard's range and fit the data bytes."""
        low = (self.minimum - self.offset) / self.scale
        high = (self.maximum - self.offset) / self.scale
        # tolerate float noise such as 100 / (100/255) = 255.00000000000003
        first = max(0, math.ceil(low - _EPS))
        last = min(256**self.data_bytes - 1, math.floor(high + _EPS))
        return first, last


def _pid(
    pid: int,
    name: str,
    data_bytes: int,
    scale: float,
    offset: float,
    minimum: float,
    maximum: float,
    unit: str,
    formula: str,
) -> tuple[int, ObdPid]:
    return pid, ObdPid(pid, name, data_bytes, scale, offset, minimum, maximum, unit, formula)


MODE_01_PIDS: Mapping[int, ObdPid] = MappingProxyType(
    dict(
        [
            _pid(0x04, "Calculated engine load", 1, 100 / 255, 0.0, 0.0, 100.0, "%", "100A/255"),
            _pid(0x05, "Engine coolant temperature", 1, 1.0, -40.0, -40.0, 215.0, "°C", "A-40"),
            _pid(0x0C, "Engine speed", 2, 0.25, 0.0, 0.0, 16383.75, "rpm", "(256A+B)/4"),
            _pid(0x0D, "Vehicle speed", 1, 1.0, 0.0, 0.0, 255.0, "km/h", "A"),
            _pid(0x2F, "Fuel tank level input", 1, 100 / 255, 0.0, 0.0, 100.0, "%", "100A/255"),
            _pid(0x42, "Control module voltage", 2, 0.001, 0.0, 0.0, 65.535, "V", "(256A+B)/1000"),
            _pid(0x46, "Ambient air temperature", 1, 1.0, -40.0, -40.0, 215.0, "°C", "A-40"),
            _pid(
                0x49, "Accelerator pedal position D", 1, 100 / 255, 0.0, 0.0, 100.0, "%", "100A/255"
            ),
            _pid(0x5C, "Engine oil temperature", 1, 1.0, -40.0, -40.0, 210.0, "°C", "A-40"),
            _pid(
                0xA6,
                "Odometer",
                4,
                0.1,
                0.0,
                0.0,
                429_496_729.5,
                "km",
                "(2^24 A + 2^16 B + 2^8 C + D)/10",
            ),
        ]
    )
)


def get_pid(pid: int) -> ObdPid:
    """The table entry of one service 01 PID."""
    try:
        return MODE_01_PIDS[pid]
    except KeyError:
        known = ", ".join(f"0x{p:02X}" for p in sorted(MODE_01_PIDS))
        raise NotFound(
            f"OBD-II service 01 PID 0x{pid:02X} is not in drivetrain's PID table",
            hint=f"known PIDs: {known}",
        ) from None


def decode_pid(pid: int, data: bytes) -> float:
    """Physical value of a service 01 response's data bytes (A, B, …) for ``pid``."""
    entry = get_pid(pid)
    if len(data) != entry.data_bytes:
        raise InputError(
            f"PID 0x{pid:02X} ({entry.name}) carries {entry.data_bytes} data byte(s), "
            f"got {len(data)}",
            hint=f"pass only the bytes after the PID; formula {entry.formula}",
        )
    return int.from_bytes(data, "big") * entry.scale + entry.offset


def decode_pid_raw(pid: int, raw: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Vectorised decode of raw integers (the data bytes read big-endian) for ``pid``."""
    entry = get_pid(pid)
    return np.asarray(raw, dtype=np.float64) * entry.scale + entry.offset


def encode_pid(pid: int, value: float) -> bytes:
    """Data bytes a service 01 response for ``pid`` carries for ``value`` (rounded, clipped)."""
    entry = get_pid(pid)
    first, last = entry.raw_range
    raw = min(max(round((value - entry.offset) / entry.scale), first), last)
    return raw.to_bytes(entry.data_bytes, "big")


_DTC_LETTERS = "PCBU"


def decode_dtc(first: int, second: int) -> str | None:
    """The trouble code two bytes of a service 03/07 response carry (SAE J1979), None for 0000.

    Bits 7-6 of the first byte are the system letter (P, C, B, U), bits 5-4 the
    first digit (0-3), bits 3-0 the second (hex), and the second byte the last two.
    """
    if not (0 <= first <= 0xFF and 0 <= second <= 0xFF):
        raise ValueError(f"DTC bytes must be 0-255, got {first}, {second}")
    if first == 0 and second == 0:
        return None
    return f"{_DTC_LETTERS[first >> 6]}{(first >> 4) & 0x3}{first & 0xF:X}{second:02X}"
