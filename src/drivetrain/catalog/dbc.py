"""DBC introspection and the value range each signal carrier can represent.

DBC files come from the ``opendbc`` package (its plain files and the ones it
generates in memory, such as ``chrysler_pacifica_2017_hybrid_generated``).
opendbc's own parser gives the layout of each signal; it drops units and
comments, so those are read from the DBC text itself.

``carrier_limits`` answers, in VSS units, which values a binding's carrier (a
CAN signal or an OBD-II PID) can represent and in which steps; ``quantise``
moves simulated values onto that grid so they survive an encode/decode round
trip exactly.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from drivetrain.catalog.models import SignalBinding
from drivetrain.catalog.obd import get_pid
from drivetrain.catalog.signals import get_signal
from drivetrain.errors import InputError, NotFound

_EPS = 1e-9

_BO_RE = re.compile(r"^BO_\s+(\d+)\s+(\w+)\s*:", re.MULTILINE)
_SG_RE = re.compile(
    r"^\s*SG_\s+(\w+)(?:\s+(?:m\d+M?|M))?\s*:\s*\d+\|\d+@[01][+-]\s*"
    r"\([^)]*\)\s*\[[^\]]*\]\s*\"([^\"]*)\""
)
_CM_SG_RE = re.compile(r'CM_\s+SG_\s+(\d+)\s+(\w+)\s+"((?:[^"\\]|\\.)*)"\s*;', re.DOTALL)
_CM_BO_RE = re.compile(r'CM_\s+BO_\s+(\d+)\s+"((?:[^"\\]|\\.)*)"\s*;', re.DOTALL)


@dataclass(frozen=True, slots=True)
class DbcSignal:
    """One signal of a DBC message; ``physical = raw * factor + offset`` in ``unit``."""

    name: str
    start_bit: int
    msb: int
    lsb: int
    size: int
    is_signed: bool
    factor: float
    offset: float
    is_little_endian: bool
    unit: str = ""
    comment: str = ""

    @property
    def raw_range(self) -> tuple[int, int]:
        """Smallest and largest raw integer the signal's bits hold."""
        if self.is_signed:
            return -(1 << (self.size - 1)), (1 << (self.size - 1)) - 1
        return 0, (1 << self.size) - 1


@dataclass(frozen=True, slots=True)
class DbcMessage:
    """One CAN message of a DBC file."""

    name: str
    address: int
    size: int
    signals: Mapping[str, DbcSignal]
    comment: str = ""


@dataclass(frozen=True, slots=True)
class DbcDatabase:
    """A parsed DBC file: its messages by name."""

    name: str
    messages: Mapping[str, DbcMessage] = field(default_factory=dict)

    def message(self, name: str) -> DbcMessage:
        """The message called ``name``; ``NotFound`` lists the closest names."""
        try:
            return self.messages[name]
        except KeyError:
            raise NotFound(
                f"DBC {self.name!r} has no message {name!r}",
                hint=_close_hint(name, self.messages),
            ) from None

    def signal(self, message: str, name: str) -> DbcSignal:
        """The signal ``name`` of ``message``; ``NotFound`` lists the closest names."""
        msg = self.message(message)
        try:
            return msg.signals[name]
        except KeyError:
            raise NotFound(
                f"DBC {self.name!r} message {message!r} has no signal {name!r}",
                hint=_close_hint(name, msg.signals),
            ) from None


@dataclass(frozen=True, slots=True)
class CarrierLimits:
    """Values a carrier can represent, in the VSS signal's unit.

    ``minimum``/``maximum`` bound the range (``None`` = unbounded) and
    representable values are ``minimum + k * resolution``; ``resolution`` is
    ``None`` when the carrier is not quantised (a natively reported VSS value).
    """

    minimum: float | None
    maximum: float | None
    resolution: float | None


def available_dbcs() -> tuple[str, ...]:
    """Names ``load_dbc`` accepts: opendbc's DBC files and its generated DBCs."""
    return _available()


@cache
def _available() -> tuple[str, ...]:
    from opendbc import DBC_PATH, get_generated_dbcs

    files = {f[:-4] for f in os.listdir(DBC_PATH) if f.endswith(".dbc")}
    return tuple(sorted(files | set(get_generated_dbcs())))


def load_dbc(name: str) -> DbcDatabase:
    """Parse the opendbc DBC called ``name`` (cached), with units and comments."""
    if name not in _available():
        raise NotFound(f"no DBC named {name!r} in opendbc", hint=_close_hint(name, _available()))
    return _load(name)


@cache
def _load(name: str) -> DbcDatabase:
    from opendbc.can.dbc import DBC

    parsed = DBC(name)
    text = _dbc_text(name)
    units = _units(text)
    signal_comments = {(int(a), s): c for a, s, c in _CM_SG_RE.findall(text)}
    message_comments = {int(a): c for a, c in _CM_BO_RE.findall(text)}
    messages: dict[str, DbcMessage] = {}
    for address, msg in parsed.msgs.items():
        signals = {
            sig.name: DbcSignal(
                name=sig.name,
                start_bit=int(sig.start_bit),
                msb=int(sig.msb),
                lsb=int(sig.lsb),
                size=int(sig.size),
                is_signed=bool(sig.is_signed),
                factor=float(sig.factor),
                offset=float(sig.offset),
                is_little_endian=bool(sig.is_little_endian),
                unit=units.get((address, sig.name), ""),
                comment=signal_comments.get((address, sig.name), ""),
            )
            for sig in msg.sigs.values()
        }
        messages[msg.name] = DbcMessage(
            name=msg.name,
            address=int(address),
            size=int(msg.size),
            signals=MappingProxyType(signals),
            comment=message_comments.get(int(address), ""),
        )
    return DbcDatabase(name=name, messages=MappingProxyType(messages))


def _dbc_text(name: str) -> str:
    from opendbc import DBC_PATH, get_generated_dbcs

    generated: dict[str, str] = get_generated_dbcs()
    if name in generated:
        return generated[name]
    with open(os.path.join(DBC_PATH, f"{name}.dbc"), encoding="utf-8", errors="replace") as f:
        return f.read()


def _units(text: str) -> dict[tuple[int, str], str]:
    units: dict[tuple[int, str], str] = {}
    address = -1
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("BO_ "):
            bo = _BO_RE.match(stripped)
            address = int(bo.group(1)) if bo else -1
        elif stripped.startswith("SG_ ") and (sg := _SG_RE.match(stripped)):
            units[(address, sg.group(1))] = sg.group(2).strip()
    return units


def _close_hint(name: str, known: Mapping[str, object] | tuple[str, ...]) -> str:
    names = list(known)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    lead = f"did you mean {', '.join(close)}? " if close else ""
    return f"{lead}known: {', '.join(sorted(names))}"


def carrier_limits(binding: SignalBinding) -> CarrierLimits:
    """Range and resolution, in VSS units, of what ``binding``'s carrier can represent.

    A CAN signal spans its raw integers (bit size, signedness) through the DBC
    factor/offset; an OBD-II PID spans the standard's range through its
    formula; both then go through the binding's ``scale``/``offset``. The
    result is narrowed to the VSS signal's own min/max (snapped onto the
    carrier's grid), so quantised values are valid VSS values as well. A
    natively reported VSS value (``source = "vss"``) has the catalog's min/max
    and no resolution.
    """
    catalog = get_signal(binding.vss)
    if binding.source == "vss":
        return CarrierLimits(catalog.min, catalog.max, None)
    if binding.source == "can":
        if binding.dbc is None or binding.message is None or binding.signal is None:
            raise InputError(f"CAN binding of {binding.vss} needs dbc, message and signal")
        sig = load_dbc(binding.dbc).signal(binding.message, binding.signal)
        raw_lo, raw_hi = sig.raw_range
        factor, offset = sig.factor, sig.offset
    elif binding.source == "obd":
        if binding.pid is None:
            raise InputError(f"OBD binding of {binding.vss} needs a pid")
        pid = get_pid(binding.pid)
        raw_lo, raw_hi = pid.raw_range
        factor, offset = pid.scale, pid.offset
    else:
        raise InputError(f"binding of {binding.vss} has unknown source {binding.source!r}")
    ends = sorted(
        (raw * factor + offset) * binding.scale + binding.offset for raw in (raw_lo, raw_hi)
    )
    resolution = abs(factor * binding.scale)
    if resolution == 0 or not math.isfinite(resolution):
        raise InputError(f"binding of {binding.vss} has a zero or non-finite resolution")
    return _narrow(ends[0], ends[1], resolution, catalog.min, catalog.max, binding.vss)


def _narrow(
    low: float,
    high: float,
    resolution: float,
    vss_min: float | None,
    vss_max: float | None,
    path: str,
) -> CarrierLimits:
    if vss_min is not None and vss_min > low:
        k = math.ceil((vss_min - low) / resolution - _EPS)
        low = max(low + k * resolution, vss_min)
    if vss_max is not None and vss_max < high:
        k = math.floor((vss_max - low) / resolution + _EPS)
        high = min(low + k * resolution, vss_max)
    if low > high:
        raise InputError(
            f"the carrier of {path} cannot represent any value in the VSS range "
            f"[{vss_min}, {vss_max}]",
            hint="check the binding's scale and offset",
        )
    return CarrierLimits(low, high, resolution)


def quantise(values: npt.ArrayLike, limits: CarrierLimits) -> npt.NDArray[np.float64]:
    """Clip ``values`` to ``limits`` and round them onto the carrier's grid (vectorised)."""
    out = np.asarray(values, dtype=np.float64)
    if limits.resolution is not None and limits.minimum is not None:
        steps = np.rint((out - limits.minimum) / limits.resolution)
        out = limits.minimum + steps * limits.resolution
    low = -np.inf if limits.minimum is None else limits.minimum
    high = np.inf if limits.maximum is None else limits.maximum
    return np.clip(out, low, high)
