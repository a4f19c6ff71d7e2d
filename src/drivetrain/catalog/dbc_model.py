"""The data model of a parsed DBC file: frozen messages, signals and warnings.

``DbcDatabase`` holds ``DbcMessage`` objects by name and by ``(frame_id,
is_extended)``; each message holds its ``DbcSignal`` objects by name. Start
bits are kept as written in the file (for big-endian signals that is the most
significant bit in the DBC's sawtooth numbering); ``msb``/``lsb`` follow
opendbc's convention. Counters and checksums carry ``kind`` ``counter`` /
``checksum`` so decoders keep them apart from physical signals.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from drivetrain.errors import NotFound

SignalKind = Literal["physical", "counter", "checksum"]

_EMPTY: Mapping[int, str] = MappingProxyType({})

_COUNTER_WORDS = frozenset(
    {"COUNTER", "CNT", "CTR", "ALIVE", "ALIVECOUNTER", "ROLLINGCOUNTER", "ZAEHLER", "BZ"}
)
_CHECKSUM_WORDS = frozenset({"CHECKSUM", "CHKSUM", "CRC", "CHECKSUMME", "CHK", "CRC8"})
_WORD_SPLIT = re.compile(r"[^A-Z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


def classify_signal(name: str) -> SignalKind:
    """``counter``/``checksum`` for message integrity fields by name, else ``physical``.

    Matches the words opendbc's checksum rules use (``COUNTER``, ``CHECKSUM``,
    Tesla's ``*Counter``/``*Checksum``) and the usual OEM spellings (``CRC``,
    ``CNT``, ``ALIVE``, VW's ``BZ``/``Zaehler``), as a whole name, one of its
    words or inside a word (``ESP_21_CRC``, ``LKAS_Counter``, ``0_COUNTER``,
    ``WHL_SPD_AliveCounter_LSB``).
    """
    words = [w.upper() for w in _WORD_SPLIT.split(name) if w]
    upper = name.upper()
    last = words[-1] if words else ""
    # Short tokens (CRC, CNT, CTR, BZ…) count only as the last word — CAN_RX_AVG_CTR_TOTAL
    # is a physical count — but the unambiguous spellings count anywhere, as Hyundai
    # writes WHL_SPD_Checksum_LSB and CF_Ems_AliveCounterEMS9.
    if last in _CHECKSUM_WORDS or "CHECKSUM" in upper or "CHKSUM" in upper:
        return "checksum"
    if last in _COUNTER_WORDS or "COUNTER" in upper or "ALIVE" in upper:
        return "counter"
    return "physical"


@dataclass(frozen=True, slots=True)
class DbcWarning:
    """Something the parser tolerated; ``line``/``column`` are 1-based."""

    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message}"


@dataclass(frozen=True, slots=True)
class DbcSignal:
    """One signal of a DBC message; ``physical = raw * factor + offset`` in ``unit``.

    ``minimum``/``maximum`` are ``None`` when the file writes ``[0|0]`` (no
    range). A multiplexed signal is present only in frames whose
    ``multiplexer_signal`` holds one of ``multiplexer_ids``.
    """

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
    minimum: float | None = None
    maximum: float | None = None
    choices: Mapping[int, str] = field(default_factory=lambda: _EMPTY)
    is_multiplexer: bool = False
    multiplexer_ids: tuple[int, ...] | None = None
    multiplexer_signal: str | None = None
    is_float: bool = False
    receivers: tuple[str, ...] = ()
    kind: SignalKind = "physical"

    @property
    def length(self) -> int:
        """Bit length (alias of ``size``)."""
        return self.size

    @property
    def byte_order(self) -> Literal["little_endian", "big_endian"]:
        """``little_endian`` (Intel, ``@1``) or ``big_endian`` (Motorola, ``@0``)."""
        return "little_endian" if self.is_little_endian else "big_endian"

    @property
    def raw_range(self) -> tuple[int, int]:
        """Smallest and largest raw integer the signal's bits hold."""
        if self.is_signed:
            return -(1 << (self.size - 1)), (1 << (self.size - 1)) - 1
        return 0, (1 << self.size) - 1


@dataclass(frozen=True, slots=True)
class DbcMessage:
    """One CAN message; ``frame_id`` excludes the DBC's extended-frame flag bit."""

    name: str
    frame_id: int
    is_extended: bool
    length: int
    signals: Mapping[str, DbcSignal]
    comment: str = ""
    senders: tuple[str, ...] = ()
    cycle_time: int | None = None
    is_fd: bool = False

    @property
    def address(self) -> int:
        """The frame id (kept for callers of the earlier opendbc-based model)."""
        return self.frame_id

    @property
    def size(self) -> int:
        """Payload length in bytes (alias of ``length``)."""
        return self.length

    def signal(self, name: str) -> DbcSignal:
        """The signal called ``name``; ``NotFound`` lists the closest names."""
        try:
            return self.signals[name]
        except KeyError:
            raise NotFound(
                f"message {self.name!r} has no signal {name!r}",
                hint=close_hint(name, self.signals),
            ) from None


@dataclass(frozen=True, slots=True)
class DbcDatabase:
    """A parsed DBC file: its messages by name, and what the parser tolerated."""

    name: str
    messages: Mapping[str, DbcMessage] = field(default_factory=dict)
    version: str = ""
    nodes: tuple[str, ...] = ()
    bus_type: str | None = None
    comment: str = ""
    value_tables: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    warnings: tuple[DbcWarning, ...] = ()
    by_frame_id: Mapping[tuple[int, bool], DbcMessage] = field(default_factory=dict)

    def message(self, name: str) -> DbcMessage:
        """The message called ``name``; ``NotFound`` lists the closest names."""
        try:
            return self.messages[name]
        except KeyError:
            raise NotFound(
                f"DBC {self.name!r} has no message {name!r}",
                hint=close_hint(name, self.messages),
            ) from None

    def message_by_frame_id(self, frame_id: int, is_extended: bool | None = None) -> DbcMessage:
        """The message sent as ``frame_id`` (standard first when ``is_extended`` is None)."""
        flags = (False, True) if is_extended is None else (is_extended,)
        for flag in flags:
            if (found := self.by_frame_id.get((frame_id, flag))) is not None:
                return found
        raise NotFound(f"DBC {self.name!r} has no message with frame id {frame_id:#x}")

    def signal(self, message: str, name: str) -> DbcSignal:
        """The signal ``name`` of ``message``; ``NotFound`` lists the closest names."""
        msg = self.message(message)
        try:
            return msg.signals[name]
        except KeyError:
            raise NotFound(
                f"DBC {self.name!r} message {message!r} has no signal {name!r}",
                hint=close_hint(name, msg.signals),
            ) from None


def close_hint(name: str, known: Mapping[str, object] | tuple[str, ...]) -> str:
    """A "did you mean" hint listing the closest of ``known`` names."""
    names = list(known)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    lead = f"did you mean {', '.join(close)}? " if close else ""
    return f"{lead}known: {', '.join(sorted(names))}"
