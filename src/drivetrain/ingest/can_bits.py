"""Bit-level pieces of CAN decoding: where a signal's bits sit, and reading them in bulk.

A frame's payload is read as ``uint64`` words: the first 8 bytes of every frame
are gathered straight from the Arrow data buffer with one unaligned fancy index
(``Payloads.first_words``), big-endian signals read the byte-swapped word, and
fields of CAN FD frames past byte 8 come from 8-byte windows of a 2-D byte
matrix. A ``SignalSet`` decodes several signals of one message at once as a
``(signals, frames)`` block: one broadcast shift and mask, then sign extension
and ``raw * factor + offset`` over the whole block.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from drivetrain.catalog.dbc_build import be_bits
from drivetrain.catalog.dbc_model import DbcMessage, DbcSignal
from drivetrain.errors import InputError

__all__ = [
    "U8",
    "U64",
    "BitField",
    "GroupWords",
    "MessagePlan",
    "Payloads",
    "SignalSet",
    "bit_field",
    "bytes_needed",
    "is_multiplexed",
    "physical",
    "row_masks",
    "to_signed",
    "zero_past_end",
]

U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
_Mask = npt.NDArray[np.bool_]
_PAD = 72  # zero bytes after the data buffer, so every window read stays inside it
# _BYTES_MASK[k] keeps the first k bytes of a little-endian word
_BYTES_MASK = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], dtype=np.uint64)


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


def to_signed(raw: U64, size: int) -> I64:
    """Two's-complement sign extension of ``size``-bit raw values."""
    values = raw.view(np.int64)
    if size >= 64:
        return values
    sign = np.int64(1 << (size - 1))
    return (values ^ sign) - sign


def physical(sig: DbcSignal, raw: U64) -> tuple[F64, I64]:
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
    """The ``data`` column of a frame table: offsets, lengths and the padded byte buffer."""

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
        self.values: U8 = np.concatenate([flat, np.zeros(_PAD, dtype=np.uint8)])
        self.lengths = np.diff(self.offsets)

    def first_words(self) -> U64:
        """Bytes 0–7 of every frame as a little-endian ``uint64``; past a frame's end: garbage.

        The bytes past a frame's end are the next frame's: a field that ends within the
        frame is unaffected (shift and mask drop them); ``zero_past_end`` clears them where
        a frame may be shorter than a field it is read for.
        """
        # a uint64 view with a stride of one byte: element i is the word starting at byte i;
        # read in input order, sequentially through the buffer (a gather in group order is
        # several times slower: it jumps around the buffer)
        unaligned = np.ndarray(
            shape=(len(self.values) - _PAD + 1,),
            dtype="<u8",
            buffer=self.values,
            strides=(1,),
        )
        words: U64 = unaligned[self.offsets[:-1]].astype(np.uint64, copy=False)
        return words

    def matrix(self, rows: npt.NDArray[np.int64], width: int) -> U8:
        """Payloads of ``rows`` as a zero-padded ``(len(rows), width)`` uint8 array."""
        starts = self.offsets[rows]
        # rows of a stride-1 view: one contiguous copy of ``width`` bytes per frame
        windows = np.lib.stride_tricks.as_strided(
            self.values,
            shape=(len(self.values) - _PAD + 1, width),
            strides=(1, 1),
            writeable=False,
        )
        out: U8 = windows[starts]
        lengths = self.lengths[rows]
        if (lengths < width).any():
            out[np.arange(width) >= lengths[:, None]] = 0
        return out


def zero_past_end(words: U64, lengths: npt.NDArray[np.int64]) -> U64:
    """``words`` (from ``Payloads.first_words``) with the bytes past each frame's end zeroed."""
    if len(lengths) == 0 or lengths.min() >= 8:
        return words
    return words & _BYTES_MASK[np.minimum(lengths, 8)]


class GroupWords:
    """``uint64`` words of the frames of one message, built on first use and cached.

    ``first`` is bytes 0–7 (little-endian, already gathered for every frame);
    other windows and fields wider than a window come from the byte matrix.
    """

    def __init__(self, first: U64, payloads: Payloads, rows: npt.NDArray[np.int64], width: int):
        self._cache: dict[tuple[int, bool], U64] = {(0, True): first}
        self._payloads, self._rows, self._width = payloads, rows, width
        self._matrix: U8 | None = None

    def __len__(self) -> int:
        return len(self._rows)

    def matrix(self) -> U8:
        if self._matrix is None:
            self._matrix = self._payloads.matrix(self._rows, self._width)
        return self._matrix

    def word(self, window: int, little: bool) -> U64:
        key = (window, little)
        if key not in self._cache:
            if window == 0:
                self._cache[key] = self._cache[(0, True)].byteswap()
            else:
                chunk = np.ascontiguousarray(self.matrix()[:, window : window + 8])
                if chunk.shape[1] < 8:  # a signal placed past the end of a 64-byte frame
                    chunk = np.pad(chunk, ((0, 0), (0, 8 - chunk.shape[1])))
                dtype = "<u8" if little else ">u8"
                self._cache[key] = chunk.view(dtype)[:, 0].astype(np.uint64, copy=False)
        return self._cache[key]

    def extract(self, layout: BitField) -> U64:
        """Raw unsigned values of one field for every frame."""
        if layout.window < 0:
            payload = self.matrix()
            out = np.zeros(len(payload), dtype=np.uint64)
            for k, bit in enumerate(layout.bits):
                column = (payload[:, bit // 8] >> np.uint8(bit % 8)) & np.uint8(1)
                out |= column.astype(np.uint64) << np.uint64(k)
            return out
        word = self.word(layout.window, layout.little)
        return (word >> np.uint64(layout.shift)) & layout.mask


def _column(values: Sequence[float | int], dtype: type[np.generic]) -> npt.NDArray[np.generic]:
    return np.array(values, dtype=dtype).reshape(-1, 1)


def _runs(flags: npt.NDArray[np.bool_]) -> tuple[slice, ...]:
    """The runs of consecutive True in ``flags``, as slices."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return tuple(slice(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True))


class SignalSet:
    """Signals of one message decoded together as a ``(signals, frames)`` block."""

    def __init__(self, signals: Sequence[DbcSignal]) -> None:
        self.signals = tuple(signals)
        self.layouts = tuple(bit_field(s) for s in self.signals)
        self.shift = _column([lay.shift for lay in self.layouts], np.uint64)
        self.mask = _column([int(lay.mask) for lay in self.layouts], np.uint64)
        self.sign = _column(
            [
                1 << (s.size - 1) if s.is_signed and not s.is_float and s.size < 64 else 0
                for s in self.signals
            ],
            np.int64,
        )
        self.factor = _column([s.factor for s in self.signals], np.float64)
        self.offset = _column([s.offset for s in self.signals], np.float64)
        self.scaled = bool((self.factor != 1.0).any())
        # sign extension and offsets only on the rows that need them: whole passes over
        # the block are what the decoder's time goes to
        self.signed = _runs(self.sign[:, 0] != 0)
        self.shifted = _runs(self.offset[:, 0] != 0.0)
        words = {(lay.window, lay.little) for lay in self.layouts}
        # one word for every signal (and no field wider than a window): one broadcast shift
        self.shared = words.pop() if len(words) == 1 and self.layouts[0].window >= 0 else None
        # floats and unsigned 64-bit integers: values not from the sign-extended int64
        self.special = tuple(
            i
            for i, s in enumerate(self.signals)
            if s.is_float or (s.size >= 64 and not s.is_signed)
        )

    def __len__(self) -> int:
        return len(self.signals)

    def raw_into(self, words: GroupWords, out: I64) -> None:
        """Sign-extended raw integers of every signal into ``out`` (``(signals, frames)``)."""
        raw = out.view(np.uint64)
        if self.shared is not None:
            np.right_shift(words.word(*self.shared), self.shift, out=raw)
            np.bitwise_and(raw, self.mask, out=raw)
        else:
            for i, layout in enumerate(self.layouts):
                raw[i] = words.extract(layout)
        for rows in self.signed:
            np.bitwise_xor(out[rows], self.sign[rows], out=out[rows])
            np.subtract(out[rows], self.sign[rows], out=out[rows])

    def values_into(self, ints: I64, out: F64) -> None:
        """``raw * factor + offset`` of every signal into ``out``, given ``raw_into``'s block."""
        if self.scaled:
            np.multiply(ints, self.factor, out=out)
        else:
            out[...] = ints
        for rows in self.shifted:
            np.add(out[rows], self.offset[rows], out=out[rows])
        for i in self.special:
            out[i] = physical(self.signals[i], ints[i].view(np.uint64))[0]


class MessagePlan:
    """How to decode one message: its requested signals split into physical and integrity."""

    def __init__(self, msg: DbcMessage, names: Collection[str] | None) -> None:
        chosen = [s for s in msg.signals.values() if names is None or s.name in names]
        self.msg = msg
        # without ``include`` every known frame counts as decoded, even one without signals
        self.requested = names is None or bool(chosen)
        self.physical = SignalSet([s for s in chosen if s.kind == "physical"])
        self.integrity = SignalSet([s for s in chosen if s.kind != "physical"])
        self.width = min(max(8, msg.length), 64) + 8
        # frames that may lack a signal: multiplexed, or bits past the DBC length
        self.masked = any(is_multiplexed(msg, s) or bytes_needed(s) > msg.length for s in chosen)


def is_multiplexed(msg: DbcMessage, sig: DbcSignal) -> bool:
    """Whether ``sig`` is present only for some values of a multiplexer of ``msg``."""
    parent = sig.multiplexer_signal
    return parent is not None and sig.multiplexer_ids is not None and parent in msg.signals


def row_masks(plan: MessagePlan, words: GroupWords, lengths: I64) -> dict[str, _Mask | None]:
    """Per signal: which frames carry it (None = every frame)."""
    msg = plan.msg
    masks: dict[str, _Mask | None] = {}

    def mask_of(name: str, depth: int = 0) -> _Mask | None:
        if name in masks:
            return masks[name]
        sig = msg.signals[name]
        result: _Mask | None = None
        if is_multiplexed(msg, sig):
            parent = msg.signals[sig.multiplexer_signal or ""]
            switch = words.extract(bit_field(parent))
            result = np.isin(switch, np.array(sig.multiplexer_ids, dtype=np.uint64))
            above = mask_of(parent.name, depth + 1) if depth < 8 else None
            if above is not None:
                result &= above
        masks[name] = result
        return result

    out: dict[str, _Mask | None] = {}
    for sset in (plan.physical, plan.integrity):
        for sig in sset.signals:
            mask = mask_of(sig.name)
            need = bytes_needed(sig)
            if need > msg.length:  # bits past the DBC length: only frames that carry them
                long_enough = lengths >= need
                mask = long_enough if mask is None else mask & long_enough
            out[sig.name] = mask
    return out
