"""Vectorised DBC decoding of CAN frames into long-format Arrow signals.

Each frame is mapped to its message with a lookup table (standard ids) or a
binary search (extended ids), and frames are grouped by message with one
stable radix sort of the small message index. The first 8 payload bytes of
every frame are gathered once as a ``uint64`` (``can_bits.Payloads``); per
message, all its signals are one ``(signals, frames)`` block of shifts and
masks written straight into preallocated output columns, and ``ts``/``bus``
are broadcast into the block instead of gathered per output row. Multiplexed
signals are kept only on frames whose multiplexer value matches (simple and
nested multiplexing, as resolved in the DBC model). Counters and checksums go
to ``integrity``; unknown ids and frames shorter than their message go to
``rejects`` with the reason.

Output rows are ordered by message (frame id), then signal (DBC order), then
input order; ``message``/``signal``/``kind`` are dictionary-encoded in order of
first appearance.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from drivetrain.catalog.dbc_model import DbcDatabase, DbcMessage
from drivetrain.errors import InputError
from drivetrain.ingest.can_bits import (
    U8,
    BitField,
    GroupWords,
    MessagePlan,
    Payloads,
    SignalSet,
    bit_field,
    bytes_needed,
    row_masks,
    zero_past_end,
)

__all__ = [
    "FRAME_SCHEMA",
    "INTEGRITY_SCHEMA",
    "REJECT_SCHEMA",
    "SIGNAL_SCHEMA",
    "U8",
    "BitField",
    "DecodeResult",
    "bit_field",
    "bytes_needed",
    "decode_frames",
]

I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
_TS = pa.timestamp("us", tz="UTC")
_NAME = pa.dictionary(pa.int32(), pa.string())
_STANDARD_IDS = 1 << 11

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


class _DbIndex:
    """Frame-id lookup and decoding plans of one database, built once and cached."""

    def __init__(self, db: DbcDatabase) -> None:
        self.db = db
        found = sorted(db.by_frame_id.items(), key=lambda kv: kv[0][0] | (kv[0][1] << 32))
        self.messages = [msg for _, msg in found]
        self.keys = np.array([fid | (ext << 32) for (fid, ext), _ in found], dtype=np.int64)
        code = np.int16 if len(found) < np.iinfo(np.int16).max else np.int32
        self.lookup: npt.NDArray[np.integer[Any]] = np.full(_STANDARD_IDS, len(found), code)
        small = self.keys < _STANDARD_IDS
        self.lookup[self.keys[small]] = np.flatnonzero(small).astype(code)
        self.plans: dict[frozenset[str] | None, list[MessagePlan]] = {}

    def locate(self, ids: npt.NDArray[np.uint32], ext: Mask) -> npt.NDArray[np.integer[Any]]:
        """Index into ``messages`` of every frame; ``len(messages)`` for unknown ids."""
        unknown = len(self.messages)
        if not ext.any() and (len(ids) == 0 or int(ids.max()) < _STANDARD_IDS):
            return self.lookup[ids]
        keys = ids.astype(np.int64) | (ext.astype(np.int64) << 32)
        if len(self.keys) == 0:
            return np.full(len(keys), unknown, dtype=self.lookup.dtype)
        where = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        hit = self.keys[where] == keys
        return np.where(hit, where, unknown).astype(self.lookup.dtype)

    def plans_for(self, include: Collection[str] | None) -> list[MessagePlan]:
        key = None if include is None else frozenset(include)
        if key not in self.plans:
            self.plans[key] = [
                MessagePlan(msg, None if key is None else _wanted(msg, key))
                for msg in self.messages
            ]
        return self.plans[key]


def _wanted(msg: DbcMessage, include: frozenset[str]) -> set[str]:
    if msg.name in include:
        return set(msg.signals)
    return {s for s in msg.signals if s in include or f"{msg.name}.{s}" in include}


_INDEXES: dict[int, _DbIndex] = {}


def _index(db: DbcDatabase) -> _DbIndex:
    # keyed by id(); the index holds ``db`` so the id cannot be reused while cached
    found = _INDEXES.get(id(db))
    if found is None or found.db is not db:
        if len(_INDEXES) >= 64:
            _INDEXES.pop(next(iter(_INDEXES)))
        found = _INDEXES[id(db)] = _DbIndex(db)
    return found


class _Sink:
    """Preallocated columns of one long output table, filled one message block at a time.

    ``message``/``signal`` (and ``kind`` for integrity) are int32 codes into
    dictionaries of the names in order of first appearance.
    """

    def __init__(self, capacity: int, frame_columns: dict[str, npt.NDArray[Any]], values: bool):
        self.columns = {k: np.empty(capacity, dtype=v.dtype) for k, v in frame_columns.items()}
        self.frame_id = np.empty(capacity, dtype=np.uint32)
        self.raw = np.empty(capacity, dtype=np.int64)
        self.values = np.empty(capacity, dtype=np.float64) if values else None
        named = ("message", "signal") if values else ("message", "signal", "kind")
        self.codes = {name: np.empty(capacity, dtype=np.int32) for name in named}
        self.dictionaries: dict[str, dict[str, int]] = {name: {} for name in named}
        self.pos = 0

    def _codes(self, msg: DbcMessage, sset: SignalSet) -> dict[str, npt.NDArray[np.int32]]:
        """Per name column: the code of each signal of ``sset``, shape ``(signals, 1)``."""
        out = {}
        for column, dictionary in self.dictionaries.items():
            names = [
                msg.name if column == "message" else s.name if column == "signal" else s.kind
                for s in sset.signals
            ]
            codes = [dictionary.setdefault(name, len(dictionary)) for name in names]
            out[column] = np.array(codes, dtype=np.int32).reshape(-1, 1)
        return out

    def add(
        self,
        msg: DbcMessage,
        sset: SignalSet,
        words: GroupWords,
        frame_columns: dict[str, npt.NDArray[Any]],
        masks: dict[str, Mask | None] | None,
    ) -> None:
        k, n = len(sset), len(words)
        block = slice(self.pos, self.pos + k * n)
        ints = self.raw[block].reshape(k, n)
        sset.raw_into(words, ints)
        values = None
        if self.values is not None:
            values = self.values[block].reshape(k, n)
            sset.values_into(ints, values)
        codes = self._codes(msg, sset)
        chosen = [None if masks is None else masks[s.name] for s in sset.signals]
        if all(m is None for m in chosen):
            for name, column in frame_columns.items():
                self.columns[name][block].reshape(k, n)[...] = column
            for name, code in codes.items():
                self.codes[name][block].reshape(k, n)[...] = code
        else:
            block = self._compact(ints, values, codes, frame_columns, chosen)
        self.frame_id[block] = msg.frame_id
        self.pos = block.stop

    def _compact(
        self,
        ints: I64,
        values: npt.NDArray[np.float64] | None,
        codes: dict[str, npt.NDArray[np.int32]],
        frame_columns: dict[str, npt.NDArray[Any]],
        chosen: list[Mask | None],
    ) -> slice:
        """Keep each signal's row of the block only on the frames that carry it.

        Rows are moved forward in place, one signal at a time: signal ``i`` lands at or
        before where its row starts, and after every row already placed.
        """
        start = end = self.pos
        picks: dict[int, tuple[I64, dict[str, npt.NDArray[Any]]]] = {}
        for i, mask in enumerate(chosen):
            if mask is None:
                taken: I64 | slice = slice(None)
                columns = frame_columns
            else:
                if id(mask) not in picks:  # signals of one multiplexer value share their mask
                    rows = np.flatnonzero(mask)
                    picks[id(mask)] = rows, {k: v[rows] for k, v in frame_columns.items()}
                taken, columns = picks[id(mask)]
            raw = ints[i][taken]
            segment = slice(end, end + len(raw))
            self.raw[segment] = raw
            if values is not None and self.values is not None:
                self.values[segment] = values[i][taken]
            for name, column in columns.items():
                self.columns[name][segment] = column
            for name, code in codes.items():
                self.codes[name][segment] = code[i, 0]
            end = segment.stop
        return slice(start, end)

    def table(self, schema: pa.Schema) -> pa.Table:
        end = self.pos
        columns = {
            "ts": _arrow(self.columns["ts"][:end], _TS, self.columns.get("ts_valid")),
            "bus": _arrow(self.columns["bus"][:end], pa.int16(), self.columns.get("bus_valid")),
            "frame_id": pa.array(self.frame_id[:end]),
            "raw": pa.array(self.raw[:end]),
            **{
                name: pa.DictionaryArray.from_arrays(
                    pa.array(self.codes[name][:end]),
                    pa.array(list(self.dictionaries[name]), pa.string()),
                    safe=False,  # the codes index the dictionary by construction
                )
                for name in self.codes
            },
        }
        if self.values is not None:
            columns["value"] = pa.array(self.values[:end])
        return pa.table([columns[f.name] for f in schema], schema=schema)


def _arrow(values: npt.NDArray[Any], type_: pa.DataType, valid: Mask | None) -> pa.Array:
    """Zero-copy Arrow array of ``values`` (int64 micros for timestamps), nulls where invalid."""
    array = pa.array(values, mask=None if valid is None else ~valid[: len(values)])
    return array.view(type_) if type_ != array.type else array


def _numpy(column: pa.ChunkedArray, type_: pa.DataType) -> tuple[npt.NDArray[Any], Mask | None]:
    """``column`` cast to ``type_`` as numpy values (nulls as 0) and its validity (None: no nulls)."""
    array = column.combine_chunks().cast(type_)
    valid = None
    if array.null_count:
        valid = array.is_valid().to_numpy(zero_copy_only=False)
        array = array.fill_null(pa.scalar(0).cast(type_))
    if type_ == _TS:
        array = array.view(pa.int64())
    return array.to_numpy(zero_copy_only=False), valid


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
    n = frames.num_rows
    payloads = Payloads(frames.column("data").combine_chunks())
    index = _index(db)
    plans = index.plans_for(include)
    ids, ids_valid = _numpy(frames.column("frame_id"), pa.uint32())
    ext, _ = _numpy(frames.column("is_extended"), pa.bool_())
    which = index.locate(ids, ext.astype(bool))
    unknown = len(plans)
    if ids_valid is not None:
        which[~ids_valid] = unknown
    order = np.argsort(which, kind="stable")  # a radix sort of a small integer
    counts = np.bincount(which, minlength=unknown + 1)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    known = order[: bounds[unknown]]
    # per-frame inputs in group order, gathered once for all messages
    sorted_columns: dict[str, npt.NDArray[Any]] = {}
    for name, type_ in (("ts", _TS), ("bus", pa.int16())):
        values, valid = _numpy(frames.column(name), type_)
        sorted_columns[name] = values[known]
        if valid is not None:
            sorted_columns[f"{name}_valid"] = valid[known]
    first_words = payloads.first_words()[known]
    lengths = payloads.lengths[known]
    sizes = np.array([[len(p.physical), len(p.integrity)] for p in plans], dtype=np.int64)
    capacity = counts[:unknown] @ sizes if unknown else np.zeros(2, dtype=np.int64)
    signals = _Sink(int(capacity[0]), sorted_columns, values=True)
    integrity = _Sink(int(capacity[1]), sorted_columns, values=False)
    rejected: list[tuple[I64, str]] = [(order[bounds[unknown] :], "unknown frame id")]
    decoded = not_requested = 0
    for m in np.flatnonzero(counts[:unknown]).tolist():
        plan, lo, hi = plans[m], int(bounds[m]), int(bounds[m + 1])
        msg, rows, group = plan.msg, known[lo:hi], slice(lo, hi)
        short = lengths[group] < msg.length
        keep: slice | I64 = group
        if short.any():
            rejected.append((rows[short], f"shorter than {msg.name} ({msg.length} bytes)"))
            keep, rows = np.flatnonzero(~short) + lo, rows[~short]
        if not plan.requested:
            not_requested += len(rows)
            continue
        decoded += len(rows)
        first = first_words[keep]
        if plan.masked:  # a multiplexer or a field may lie past the end of a frame
            first = zero_past_end(first, lengths[keep])
        words = GroupWords(first, payloads, rows, plan.width)
        columns = {name: values[keep] for name, values in sorted_columns.items()}
        masks = row_masks(plan, words, lengths[keep]) if plan.masked else None
        if len(plan.physical):
            signals.add(msg, plan.physical, words, columns, masks)
        if len(plan.integrity):
            integrity.add(msg, plan.integrity, words, columns, masks)
    return DecodeResult(
        signals=signals.table(SIGNAL_SCHEMA),
        integrity=integrity.table(INTEGRITY_SCHEMA),
        rejects=_rejects(frames, rejected),
        frames_in=n,
        frames_decoded=decoded,
        frames_not_requested=not_requested,
        reject_counts={reason: len(rows) for rows, reason in rejected if len(rows)},
    )


def _rejects(frames: pa.Table, rejected: list[tuple[I64, str]]) -> pa.Table:
    """The rejected frames in input order, each with its reason."""
    rows = np.concatenate([r for r, _ in rejected]).astype(np.int64)
    reasons = np.repeat(np.arange(len(rejected)), [len(r) for r, _ in rejected])
    order = np.argsort(rows, kind="stable")
    rows, reasons = rows[order], reasons[order]
    taken = pa.array(rows, pa.int64())
    return pa.table(
        {
            "row": taken,
            "ts": frames.column("ts").take(taken).cast(_TS),
            "bus": frames.column("bus").take(taken).cast(pa.int16()),
            "frame_id": frames.column("frame_id").take(taken).cast(pa.uint32()),
            "is_extended": frames.column("is_extended").take(taken),
            "data": pc.cast(frames.column("data").take(taken), pa.binary()),
            "reason": pa.array([rejected[i][1] for i in reasons.tolist()], pa.string()),
        },
        schema=REJECT_SCHEMA,
    )
