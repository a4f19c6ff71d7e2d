"""Turn the statements read by ``dbc_parser`` into a frozen ``DbcDatabase``.

Cross-references (comments, VAL_, SIG_VALTYPE_, SG_MUL_VAL_, attributes) are
resolved here, multiplexing follows cantools' reading of the file, and the
quirks below are tolerated with a ``DbcWarning``:

- an id above 0x7FF written without the 0x80000000 flag (read as extended);
- names starting with a digit (``0_COUNTER``, ``2017_5``), numbers such as
  ``.25``, hex ids;
- ``CM_ SG_ <id> "..."`` without a signal name and ``CM_ <id> "..."`` (kept as
  the message's comment); a ``;``-terminated statement without its ``;``;
- VAL_ / SIG_VALTYPE_ / SG_MUL_VAL_ for unknown messages or signals (ignored);
- duplicate message ids or names and duplicate signals (the last one wins);
- overlapping signals and signals reaching past the message length (kept);
- float value types on signals that are not 32 or 64 bits (read as integers).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from types import MappingProxyType

from drivetrain.catalog.dbc_model import (
    DbcDatabase,
    DbcMessage,
    DbcSignal,
    DbcWarning,
    SignalKind,
    classify_signal,
)

_NO_NODE = "Vector__XXX"
At = tuple[int, int]


@dataclass
class SignalDraft:
    """An SG_ line as written."""

    line: int
    col: int
    name: str
    marker: str | None
    start: int
    size: int
    little: bool
    signed: bool
    factor: float
    offset: float
    minimum: float | None
    maximum: float | None
    unit: str
    receivers: tuple[str, ...]


@dataclass
class MessageDraft:
    """A BO_ line as written, with its SG_ lines."""

    line: int
    col: int
    raw_id: int
    name: str
    length: int
    sender: str
    signals: list[SignalDraft] = field(default_factory=list)


@dataclass
class ParsedDbc:
    """Everything the statements of one file said, before cross-references are resolved."""

    file: str
    warnings: list[DbcWarning] = field(default_factory=list)
    messages: list[MessageDraft] = field(default_factory=list)
    version: str = ""
    nodes: tuple[str, ...] = ()
    comment: str = ""
    value_tables: dict[str, dict[int, str]] = field(default_factory=dict)
    defs: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    defaults: dict[str, str | float] = field(default_factory=dict)
    db_attrs: dict[str, str | float] = field(default_factory=dict)
    msg_attrs: dict[tuple[int, str], str | float] = field(default_factory=dict)
    msg_comments: dict[int, str] = field(default_factory=dict)
    sig_comments: dict[tuple[int, str], str] = field(default_factory=dict)
    choices: list[tuple[At, int, str, dict[int, str]]] = field(default_factory=list)
    value_types: list[tuple[At, int, str, int]] = field(default_factory=list)
    mux_values: list[tuple[At, int, str, str, list[tuple[int, int]]]] = field(default_factory=list)
    tx: dict[int, list[str]] = field(default_factory=dict)

    def warn(self, at: At, message: str) -> None:
        self.warnings.append(DbcWarning(at[0], at[1], message))


def be_bits(start: int, size: int) -> list[int]:
    """Bit numbers (DBC sawtooth numbering) of a big-endian signal, msb first."""
    first = (start // 8) * 8 + 7 - start % 8
    return [(k // 8) * 8 + 7 - k % 8 for k in range(first, first + size)]


def _bit_mask(sig: SignalDraft) -> int:
    bits = range(sig.start, sig.start + sig.size) if sig.little else be_bits(sig.start, sig.size)
    mask = 0
    for bit in bits:
        mask |= 1 << bit
    return mask


def build_database(name: str, parsed: ParsedDbc) -> DbcDatabase:
    """Resolve ``parsed`` into a ``DbcDatabase``; problems become warnings."""
    drafts: dict[int, MessageDraft] = {}
    for msg in parsed.messages:
        if msg.name == "VECTOR__INDEPENDENT_SIG_MSG":
            continue
        if msg.raw_id in drafts:
            parsed.warn((msg.line, msg.col), f"message id {msg.raw_id} defined again")
        drafts[msg.raw_id] = msg
    known = {raw: {s.name for s in m.signals} for raw, m in drafts.items()}

    def exists(at: At, what: str, raw: int, signal: str) -> bool:
        if raw in known and signal in known[raw]:
            return True
        where = "message" if raw not in known else f"signal {signal!r} of message"
        parsed.warn(at, f"{what} for unknown {where} {raw} ignored")
        return False

    choices = {(r, s): c for at, r, s, c in parsed.choices if exists(at, "VAL_", r, s)}
    floats: dict[tuple[int, str], bool] = {}
    for at, raw, signal, kind in parsed.value_types:
        if exists(at, "SIG_VALTYPE_", raw, signal):
            floats[(raw, signal)] = kind in (1, 2)
    mux: dict[int, dict[str, dict[str, list[tuple[int, int]]]]] = defaultdict(dict)
    for at, raw, signal, switch, ranges in parsed.mux_values:
        if exists(at, "SG_MUL_VAL_", raw, signal):
            mux[raw].setdefault(switch, {}).setdefault(signal, []).extend(ranges)

    messages: dict[str, DbcMessage] = {}
    by_id: dict[tuple[int, bool], DbcMessage] = {}
    for raw, draft in drafts.items():
        message = _message(parsed, draft, choices, floats, mux.get(raw, {}))
        if message.name in messages:
            parsed.warn((draft.line, draft.col), f"message name {message.name!r} defined again")
        messages[message.name] = message
        by_id[(message.frame_id, message.is_extended)] = message
    bus = parsed.db_attrs.get("BusType", parsed.defaults.get("BusType"))
    return DbcDatabase(
        name=name,
        messages=MappingProxyType(messages),
        version=parsed.version,
        nodes=parsed.nodes,
        bus_type=None if bus is None else str(bus),
        comment=parsed.comment,
        value_tables=MappingProxyType(
            {k: MappingProxyType(v) for k, v in parsed.value_tables.items()}
        ),
        warnings=tuple(sorted(parsed.warnings, key=lambda w: (w.line, w.column))),
        by_frame_id=MappingProxyType(by_id),
    )


def _attribute(parsed: ParsedDbc, raw: int, attr: str) -> str | float | None:
    value = parsed.msg_attrs.get((raw, attr), parsed.defaults.get(attr))
    kind, enum = parsed.defs.get(attr, ("", []))
    if kind == "ENUM" and isinstance(value, float) and 0 <= int(value) < len(enum):
        return enum[int(value)]
    return value


def _message(
    parsed: ParsedDbc,
    draft: MessageDraft,
    choices: dict[tuple[int, str], dict[int, str]],
    floats: dict[tuple[int, str], bool],
    mux: dict[str, dict[str, list[tuple[int, int]]]],
) -> DbcMessage:
    at = (draft.line, draft.col)
    raw = draft.raw_id
    extended = bool(raw & 0x80000000)
    frame_id = raw & 0x7FFFFFFF
    if not extended and raw > 0x7FF:
        parsed.warn(at, f"id {raw:#x} > 0x7FF without the extended flag: read as extended")
        extended = True
    if frame_id > 0x1FFFFFFF:
        parsed.warn(at, f"id {frame_id:#x} does not fit in 29 bits")
    if draft.length > 64:
        parsed.warn(at, f"message length {draft.length} exceeds 64 bytes")
    frame_format = _attribute(parsed, raw, "VFrameFormat")
    is_fd = draft.length > 8 or (
        str(frame_format).endswith("CAN_FD")
        if isinstance(frame_format, str)
        else frame_format in (14.0, 15.0)
    )
    cycle = _attribute(parsed, raw, "GenMsgCycleTime")
    cycle_time = int(cycle) if isinstance(cycle, float) and cycle > 0 else None
    senders = [draft.sender, *parsed.tx.get(raw, [])]
    return DbcMessage(
        name=draft.name,
        frame_id=frame_id,
        is_extended=extended,
        length=draft.length,
        signals=MappingProxyType(_signals(parsed, draft, choices, floats, mux)),
        comment=parsed.msg_comments.get(raw, ""),
        senders=tuple(dict.fromkeys(s for s in senders if s != _NO_NODE)),
        cycle_time=cycle_time,
        is_fd=is_fd,
    )


def _signals(
    parsed: ParsedDbc,
    draft: MessageDraft,
    choices: dict[tuple[int, str], dict[int, str]],
    floats: dict[tuple[int, str], bool],
    mux: dict[str, dict[str, list[tuple[int, int]]]],
) -> dict[str, DbcSignal]:
    raw = draft.raw_id
    switches = [s.name for s in draft.signals if s.marker and s.marker.endswith("M")]
    switch = switches[0] if len(switches) == 1 else None  # cantools: one 'M' or none
    switch_of = {sig: sw for sw, sigs in mux.items() for sig in sigs}
    out: dict[str, DbcSignal] = {}
    masks: list[tuple[str, int, str | None, frozenset[int] | None]] = []
    for s in draft.signals:
        at = (s.line, s.col)
        if not 0 < s.size <= 64:
            parsed.warn(at, f"signal {s.name!r} of {s.size} bits cannot be decoded: skipped")
            continue
        ids: set[int] = set()
        parent: str | None = None
        if s.marker is not None:
            if switch is None:
                parent = switch_of.get(s.name)
            elif s.name != switch:
                parent = switch
            if switch is not None and s.marker[1:].isdigit():
                ids.add(int(s.marker[1:]))
        source = switch if switch is not None else switch_of.get(s.name)
        for low, high in mux.get(source or "", {}).get(s.name, []):
            ids.update(range(low, high + 1))
        mux_ids = tuple(sorted(ids)) if ids and source is not None else None
        is_float = floats.get((raw, s.name), False)
        if is_float and s.size not in (32, 64):
            parsed.warn(at, f"float signal {s.name!r} has {s.size} bits: read as integer")
            is_float = False
        is_mux = s.marker is not None and s.marker.endswith("M")
        kind: SignalKind = "physical" if is_mux or is_float else classify_signal(s.name)
        if s.little:
            lsb, msb = s.start, s.start + s.size - 1
        else:
            bits = be_bits(s.start, s.size)
            msb, lsb = s.start, bits[-1]
        mask = _bit_mask(s)
        if mask >> (8 * max(draft.length, 0)):
            parsed.warn(at, f"signal {s.name!r} reaches past the {draft.length}-byte message")
        group = frozenset(mux_ids) if mux_ids is not None else None
        for other, other_mask, other_parent, other_group in masks:
            exclusive = (
                group is not None
                and other_group is not None
                and parent == other_parent
                and not group & other_group
            )
            if mask & other_mask and not exclusive:
                parsed.warn(at, f"signal {s.name!r} overlaps {other!r}")
                break
        masks.append((s.name, mask, parent, group))
        if s.name in out:
            parsed.warn(at, f"signal {s.name!r} defined again in {draft.name!r}")
        out[s.name] = DbcSignal(
            name=s.name,
            start_bit=s.start,
            msb=msb,
            lsb=lsb,
            size=s.size,
            is_signed=s.signed,
            factor=s.factor,
            offset=s.offset,
            is_little_endian=s.little,
            unit=s.unit,
            comment=parsed.sig_comments.get((raw, s.name), ""),
            minimum=s.minimum,
            maximum=s.maximum,
            choices=MappingProxyType(choices.get((raw, s.name), {})),
            is_multiplexer=is_mux,
            multiplexer_ids=mux_ids,
            multiplexer_signal=parent,
            is_float=is_float,
            receivers=tuple(r for r in s.receivers if r != _NO_NODE),
            kind=kind,
        )
    return out
