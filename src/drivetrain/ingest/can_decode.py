"""Vectorised DBC decoding of CAN frames into long-format Arrow signals.

Frames are grouped by ``(frame_id, is_extended)``; each group's payloads
become a 2-D ``uint8`` array, 8-byte windows of it are read as little- and
big-endian ``uint64`` integers, and every signal is one shift and mask over the
whole group — no Python loop over frames. Multiplexed signals are decoded only
on frames whose multiplexer value matches (simple and nested multiplexing, as
resolved in the DBC model). Counters and checksums go to ``integrity``; unknown
ids and frames shorter than their message go to ``rejects`` with the reason.

Output rows are ordered by message, then signal, then input order.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from drivetrain.catalog.dbc_build import be_bits
from drivetrain.catalog.dbc_model import DbcDatabase, DbcMessage, DbcSignal
from drivetrain.errors import InputError

__all__ = [
    "FRAME_SCHEMA",
    "INTEGRITY_SCHEMA",
    "REJECT_SCHEMA",
    "SIGNAL_SCHEMA",
    "DecodeResult",
    "decode_frames",
]

U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]
_TS = pa.timestamp("us", tz="UTC")
_NAME = pa.dictionary(pa.int32(), pa.string())

FRAME_SCHEMA = pa.schema(
    [
        ("ts", _TS),
        ("bus", pa.int16()),
        ("frame_id", pa.uint32()),
        ("is_extended", pa.bool_()),
        ("data", pa.binary()),
    ]
)
SIGNAL_SCHEMA = pa.schema(
    [
        ("ts", _TS),
        ("bus", pa.int16()),
        ("frame_id", pa.uint32()),
        ("message", _NAME),
        ("signal", _NAME),
        ("value", pa.float64()),
        ("raw", pa.int64()),
    ]
)
INTEGRITY_SCHEMA = pa.schema(
    [
        ("ts", _TS),
        ("bus", pa.int16()),
        ("frame_id", pa.uint32()),
        ("message", _NAME),
        ("signal", _NAME),
        ("kind", _NAME),
        ("raw", pa.int64()),
    ]
)
REJECT_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("ts", _TS),
        ("bus", pa.int16()),
        ("frame_id", pa.uint32()),
        ("is_extended", pa.bool_()),
        ("data", pa.binary()),
        ("reason", pa.string()),
    ]
)


@dataclass(frozen=True)
class DecodeResult:
    """Decoded signals, counters/checksums, rejected frames, and the counts of each."""

    signals: pa.Table
    integrity: pa.Table
    rejects: pa.Table
    frames_in: int
    frames_decoded: int
    frames_not_requested: int
    reject_counts: dict[str, int] = field(default_factory=dict)

    @property
    def frames_rejected(self) -> int:
        """Frames in ``rejects`` (unknown id or too short)."""
        return int(self.rejects.num_rows)


@dataclass(frozen=True, slots=True)
class BitField:
    """Where a signal's bits sit in an 8-byte window starting at byte ``window``."""

    window: int
    shift: int
    little: bool
    mask: np.uint64
    bits: tuple[int, ...]  # bit numbers, lsb first; used when the field spans > 8 bytes


def bit_field(sig: DbcSignal) -> BitField:
    """The window, shift and mask that extract ``sig`` from a payload."""
    mask = np.uint64((1 << sig.size) - 1)
    if sig.is_little_endian:
        bits = tuple(range(sig.start_bit, sig.start_bit + sig.size))
        first, last = bits[0] // 8, bits[-1] // 8
        window = 0 if last < 8 else first
        shift = sig.start_bit - 8 * window
    else:
        bits = tuple(reversed(be_bits(sig.start_bit, sig.size)))
        first, last = sig.start_bit // 8, bits[0] // 8
        window = 0 if last < 8 else first
        shift = (7 - (last - window)) * 8 + bits[0] % 8
    if last - window >= 8:  # only signals over 57 bits that are not byte aligned
        return BitField(-1, 0, sig.is_little_endian, mask, bits)
    return BitField(window, shift, sig.is_little_endian, mask, ())


def bytes_needed(sig: DbcSignal) -> int:
    """Payload bytes a frame needs to carry all of ``sig``'s bits."""
    if sig.is_little_endian:
        return (sig.start_bit + sig.size - 1) // 8 + 1
    return max(sig.start_bit // 8, sig.lsb // 8) + 1


class PayloadWords:
    """Little/big-endian ``uint64`` views of 8-byte windows of a 2-D payload array, cached."""

    def __init__(self, payload: U8) -> None:
        self.payload = payload
        self._cache: dict[tuple[int, bool], U64] = {}

    def word(self, window: int, little: bool) -> U64:
        key = (window, little)
        if key not in self._cache:
            chunk = np.ascontiguousarray(self.payload[:, window : window + 8])
            if chunk.shape[1] < 8:  # a signal placed past the end of a 64-byte frame
                chunk = np.pad(chunk, ((0, 0), (0, 8 - chunk.shape[1])))
            dtype = "<u8" if little else ">u8"
            self._cache[key] = chunk.view(dtype)[:, 0].astype(np.uint64, copy=False)
        return self._cache[key]

    def extract(self, layout: BitField) -> U64:
        """Raw unsigned values of one field for every row."""
        if layout.window < 0:
            out = np.zeros(len(self.payload), dtype=np.uint64)
            for k, bit in enumerate(layout.bits):
                column = (self.payload[:, bit // 8] >> np.uint8(bit % 8)) & np.uint8(1)
                out |= column.astype(np.uint64) << np.uint64(k)
            return out
        word = self.word(layout.window, layout.little)
        return (word >> np.uint64(layout.shift)) & layout.mask


def to_signed(raw: U64, size: int) -> npt.NDArray[np.int64]:
    """Two's-complement sign extension of ``size``-bit raw values."""
    values = raw.view(np.int64)
    if size >= 64:
        return values
    sign = np.int64(1 << (size - 1))
    return (values ^ sign) - sign


def physical(sig: DbcSignal, raw: U64) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Scaled values and the raw integers (sign-extended) of ``sig``."""
    if sig.is_float:
        base = raw.astype(np.uint32).view(np.float32) if sig.size == 32 else raw.view(np.float64)
        values = base.astype(np.float64)
        ints = raw.view(np.int64)
    else:
        ints = to_signed(raw, sig.size) if sig.is_signed else raw.view(np.int64)
        values = (ints if sig.is_signed else raw).astype(np.float64)
    if sig.factor != 1.0:
        values = values * sig.factor
    if sig.offset != 0.0:
        values = values + sig.offset
    return values, ints


class Payloads:
    """The ``data`` column of a frame table, ready to be cut into 2-D byte arrays."""

    def __init__(self, data: pa.Array) -> None:
        if pa.types.is_fixed_size_binary(data.type):
            size = data.type.byte_width
            flat = np.frombuffer(data.buffers()[1], dtype=np.uint8)
            flat = flat[data.offset * size : (data.offset + len(data)) * size]
            self.offsets = np.arange(len(data) + 1, dtype=np.int64) * size
        elif pa.types.is_binary(data.type) or pa.types.is_large_binary(data.type):
            kind = np.int64 if pa.types.is_large_binary(data.type) else np.int32
            buffers = data.buffers()
            offsets = np.frombuffer(buffers[1], dtype=kind)
            self.offsets = offsets[data.offset : data.offset + len(data) + 1].astype(np.int64)
            flat = (
                np.frombuffer(buffers[2], dtype=np.uint8)
                if buffers[2] is not None
                else np.zeros(0, dtype=np.uint8)
            )
        else:
            raise InputError(f"frames.data must be binary or fixed_size_binary, not {data.type}")
        self.values: U8 = np.concatenate([flat, np.zeros(72, dtype=np.uint8)])
        self.lengths = np.diff(self.offsets)

    def matrix(self, rows: npt.NDArray[np.int64], width: int) -> U8:
        """Payloads of ``rows`` as a zero-padded ``(len(rows), width)`` uint8 array."""
        starts = self.offsets[rows]
        # rows of a stride-1 view: one contiguous copy of ``width`` bytes per frame
        windows = np.lib.stride_tricks.as_strided(
            self.values, shape=(len(self.values) - 72 + 1, width), strides=(1, 1), writeable=False
        )
        out: U8 = windows[starts]
        lengths = self.lengths[rows]
        if (lengths < width).any():
            out[np.arange(width) >= lengths[:, None]] = 0
        return out


def _selected(db: DbcDatabase, include: Collection[str] | None) -> dict[str, set[str]] | None:
    if include is None:
        return None
    wanted = set(include)
    out: dict[str, set[str]] = {}
    for msg in db.messages.values():
        names = {
            s
            for s in msg.signals
            if msg.name in wanted or s in wanted or f"{msg.name}.{s}" in wanted
        }
        if names:
            out[msg.name] = names
    return out


def _mux_masks(msg: DbcMessage, words: PayloadWords) -> dict[str, npt.NDArray[np.bool_] | None]:
    """Per signal: which rows carry it (None = every row)."""
    masks: dict[str, npt.NDArray[np.bool_] | None] = {}

    def mask_of(name: str, depth: int = 0) -> npt.NDArray[np.bool_] | None:
        if name in masks:
            return masks[name]
        sig = msg.signals[name]
        result: npt.NDArray[np.bool_] | None = None
        parent = sig.multiplexer_signal
        if parent is not None and sig.multiplexer_ids is not None and parent in msg.signals:
            switch = words.extract(bit_field(msg.signals[parent]))
            result = np.isin(switch, np.array(sig.multiplexer_ids, dtype=np.uint64))
            above = mask_of(parent, depth + 1) if depth < 8 else None
            if above is not None:
                result &= above
        masks[name] = result
        return result

    for name in msg.signals:
        mask_of(name)
    return masks


class _Sink:
    """Columns of one output table, gathered as chunks and joined once."""

    def __init__(self) -> None:
        self.rows: list[npt.NDArray[np.int64]] = []
        self.values: list[npt.NDArray[np.float64]] = []
        self.raws: list[npt.NDArray[np.int64]] = []
        self.codes: list[npt.NDArray[np.int32]] = []
        self.names: list[tuple[str, str, str]] = []

    def add(
        self,
        key: tuple[str, str, str],
        rows: npt.NDArray[np.int64],
        values: npt.NDArray[np.float64] | None,
        raw: npt.NDArray[np.int64],
    ) -> None:
        self.codes.append(np.full(len(rows), len(self.names), dtype=np.int32))
        self.names.append(key)
        self.rows.append(rows)
        self.raws.append(raw)
        if values is not None:
            self.values.append(values)

    def table(self, frames: pa.Table, schema: pa.Schema) -> pa.Table:
        rows = _cat(self.rows, np.int64)
        codes = _cat(self.codes, np.int32)
        columns: dict[str, pa.Array] = {
            "ts": frames.column("ts").take(rows).cast(_TS),
            "bus": frames.column("bus").take(rows).cast(pa.int16()),
            "frame_id": frames.column("frame_id").take(rows).cast(pa.uint32()),
            "message": _dictionary(codes, [k[0] for k in self.names]),
            "signal": _dictionary(codes, [k[1] for k in self.names]),
            "kind": _dictionary(codes, [k[2] for k in self.names]),
            "value": pa.array(_cat(self.values, np.float64)),
            "raw": pa.array(_cat(self.raws, np.int64)),
        }
        return pa.table([columns[f.name] for f in schema], schema=schema)


def _cat(parts: Iterable[npt.NDArray[Any]], dtype: type[np.generic]) -> npt.NDArray[Any]:
    parts = list(parts)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)


def _dictionary(codes: npt.NDArray[np.int32], names: list[str]) -> pa.Array:
    unique, index = np.unique(np.array(names, dtype=object), return_inverse=True)
    remap = index.astype(np.int32)
    return pa.DictionaryArray.from_arrays(
        pa.array(remap[codes] if len(remap) else codes, pa.int32()),
        pa.array(unique.tolist(), pa.string()),
    )


def decode_frames(
    frames: pa.Table, db: DbcDatabase, *, include: Collection[str] | None = None
) -> DecodeResult:
    """Decode ``frames`` (schema ``FRAME_SCHEMA``; ``data`` may be fixed-size binary) with ``db``.

    ``include`` limits decoding to these message names, signal names or
    ``Message.signal`` pairs; frames of other known messages are counted as
    not requested. Values are ``raw * factor + offset`` in the DBC's units.
    """
    missing = {"ts", "bus", "frame_id", "is_extended", "data"} - set(frames.column_names)
    if missing:
        raise InputError(f"frames table lacks columns {sorted(missing)}")
    frames = frames.combine_chunks()
    n = frames.num_rows
    data = (
        frames.column("data").chunk(0)
        if frames.column("data").num_chunks
        else pa.array([], pa.binary())
    )
    payloads = Payloads(data)
    ids = frames.column("frame_id").to_numpy(zero_copy_only=False).astype(np.int64)
    ext = frames.column("is_extended").to_numpy(zero_copy_only=False).astype(np.int64)
    lengths = payloads.lengths
    keys = ids | (ext << 32)
    order = np.argsort(keys, kind="stable")
    unique, starts = np.unique(keys[order], return_index=True)
    bounds = np.append(starts, n)
    wanted = _selected(db, include)
    signals, integrity = _Sink(), _Sink()
    reject_rows: list[npt.NDArray[np.int64]] = []
    reject_reasons: list[tuple[str, int]] = []
    decoded = not_requested = 0
    for g, key in enumerate(unique.tolist()):
        rows = order[bounds[g] : bounds[g + 1]]
        msg = db.by_frame_id.get((key & 0xFFFFFFFF, bool(key >> 32)))
        if msg is None:
            reject_rows.append(rows)
            reject_reasons.append(("unknown frame id", len(rows)))
            continue
        short = lengths[rows] < msg.length
        if short.any():
            reject_rows.append(rows[short])
            reject_reasons.append(
                (f"shorter than {msg.name} ({msg.length} bytes)", int(short.sum()))
            )
            rows = rows[~short]
        names = msg.signals.keys() if wanted is None else wanted.get(msg.name, set())
        if wanted is not None and not names:
            not_requested += len(rows)
            continue
        decoded += len(rows)
        words = PayloadWords(payloads.matrix(rows, min(max(8, msg.length), 64) + 8))
        masks = _mux_masks(msg, words)
        for name in names:
            sig = msg.signals[name]
            raw = words.extract(bit_field(sig))
            picked = rows
            mask = masks[name]
            need = bytes_needed(sig)
            if need > msg.length:  # bits past the DBC length: only frames that carry them
                long_enough = lengths[rows] >= need
                mask = long_enough if mask is None else mask & long_enough
            if mask is not None:
                raw, picked = raw[mask], rows[mask]
            values, ints = physical(sig, raw)
            if sig.kind == "physical":
                signals.add((msg.name, name, "physical"), picked, values, ints)
            else:
                integrity.add((msg.name, name, sig.kind), picked, None, ints)
    rejected = _cat(reject_rows, np.int64)
    reasons = [reason for reason, count in reject_reasons for _ in range(count)]
    rejects = pa.table(
        {
            "row": pa.array(rejected, pa.int64()),
            "ts": frames.column("ts").take(rejected).cast(_TS),
            "bus": frames.column("bus").take(rejected).cast(pa.int16()),
            "frame_id": frames.column("frame_id").take(rejected).cast(pa.uint32()),
            "is_extended": frames.column("is_extended").take(rejected),
            "data": pc.cast(frames.column("data").take(rejected), pa.binary()),
            "reason": pa.array(reasons, pa.string()),
        },
        schema=REJECT_SCHEMA,
    )
    counts: dict[str, int] = {}
    for reason, count in reject_reasons:
        counts[reason] = counts.get(reason, 0) + count
    return DecodeResult(
        signals=signals.table(frames, SIGNAL_SCHEMA),
        integrity=integrity.table(frames, INTEGRITY_SCHEMA),
        rejects=rejects,
        frames_in=n,
        frames_decoded=decoded,
        frames_not_requested=not_requested,
        reject_counts=counts,
    )
