"""Vectorised DBC encoding: physical signal arrays in, a table of CAN frames out.

The inverse of ``can_decode``: each signal is turned into raw integers
(``round((value - offset) / factor)``, half to even as cantools does), masked
into the 8-byte windows the decoder reads, and the windows are ORed into a 2-D
payload array. Signals not given are raw 0, except counters, which count up
per frame (mod their size). Checksums are left 0 unless ``checksum="opendbc"``
asks for opendbc's own checksum functions (a per-frame Python loop; slow).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from drivetrain.catalog.dbc_model import DbcDatabase, DbcMessage, DbcSignal
from drivetrain.errors import InputError, NotFound
from drivetrain.ingest.can_decode import FRAME_SCHEMA, U8, bit_field

__all__ = ["encode_frames"]


def _message(db: DbcDatabase, message: str | int) -> DbcMessage:
    if isinstance(message, str):
        return db.message(message)
    return db.message_by_frame_id(message)


def _raw(sig: DbcSignal, values: npt.NDArray[np.float64], clip: bool) -> npt.NDArray[np.uint64]:
    if sig.is_float:
        scaled = (values - sig.offset) / sig.factor
        if sig.size == 32:
            return scaled.astype(np.float32).view(np.uint32).astype(np.uint64)
        return scaled.astype(np.float64).view(np.uint64)
    low, high = sig.raw_range
    raw = np.rint((values - sig.offset) / sig.factor)
    bad = ~np.isfinite(raw) | (raw < low) | (raw > high)
    if bad.any():
        if not clip:
            first = values[bad][0]
            raise InputError(
                f"{int(bad.sum())} values of {sig.name} cannot be encoded (first: {first}); "
                f"the signal holds {low * sig.factor + sig.offset}..{high * sig.factor + sig.offset}",
                hint="quantise the values to carrier_limits first, or pass clip=True",
            )
        raw = np.clip(np.nan_to_num(raw, nan=0.0), low, high)
    ints = raw.astype(np.int64)
    return ints.view(np.uint64) & np.uint64((1 << sig.size) - 1)


def _put(payload: U8, sig: DbcSignal, raw: npt.NDArray[np.uint64]) -> None:
    layout = bit_field(sig)
    if layout.window < 0:
        for k, bit in enumerate(layout.bits):
            column = ((raw >> np.uint64(k)) & np.uint64(1)).astype(np.uint8)
            payload[:, bit // 8] |= column << np.uint8(bit % 8)
        return
    word = (raw & layout.mask) << np.uint64(layout.shift)
    dtype = "<u8" if layout.little else ">u8"
    chunk = word.astype(dtype).view(np.uint8).reshape(-1, 8)
    payload[:, layout.window : layout.window + 8] |= chunk


def encode_frames(
    db: DbcDatabase,
    message: str | int,
    values: Mapping[str, npt.ArrayLike],
    ts: npt.ArrayLike,
    *,
    bus: int = 0,
    clip: bool = False,
    checksum: Literal["zero", "opendbc"] = "zero",
) -> pa.Table:
    """Frames of ``message`` (name or frame id) carrying ``values`` (physical, DBC units).

    ``ts`` gives one timestamp per frame (datetime64 or integer microseconds,
    UTC). Multiplexed signals are written only into frames whose multiplexer
    value (from ``values``) selects them. Out-of-range or NaN values raise
    ``InputError`` unless ``clip``. Returns a table with ``FRAME_SCHEMA``.
    """
    msg = _message(db, message)
    stamps = np.asarray(ts)
    if stamps.dtype.kind == "M":
        stamps = stamps.astype("datetime64[us]").astype(np.int64)
    n = len(stamps)
    unknown = set(values) - set(msg.signals)
    if unknown:
        raise NotFound(f"message {msg.name!r} has no signals {sorted(unknown)}")
    width = max(8, msg.length) + 8
    payload = np.zeros((n, width), dtype=np.uint8)
    raws: dict[str, npt.NDArray[np.uint64]] = {}
    for name, sig in msg.signals.items():
        if name in values:
            column = np.broadcast_to(np.asarray(values[name], dtype=np.float64), (n,))
            raws[name] = _raw(sig, column, clip)
        elif sig.kind == "counter":
            raws[name] = np.arange(n, dtype=np.uint64) & np.uint64((1 << sig.size) - 1)
        else:
            raws[name] = np.zeros(n, dtype=np.uint64)
    for name, sig in msg.signals.items():
        raw = raws[name]
        switch = sig.multiplexer_signal
        if switch is not None and sig.multiplexer_ids is not None and switch in raws:
            selected = np.isin(raws[switch], np.array(sig.multiplexer_ids, dtype=np.uint64))
            raw = np.where(selected, raw, np.uint64(0))
        _put(payload, sig, raw)
    data = payload[:, : msg.length]
    if checksum == "opendbc":
        data = _opendbc_checksums(db, msg, data)
    flat = pa.py_buffer(np.ascontiguousarray(data).tobytes())
    offsets = pa.py_buffer((np.arange(n + 1, dtype=np.int32) * msg.length).tobytes())
    column = pa.Array.from_buffers(pa.binary(), n, [None, offsets, flat])
    return pa.table(
        {
            "ts": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "bus": pa.array(np.full(n, bus, dtype=np.int16)),
            "frame_id": pa.array(np.full(n, msg.frame_id, dtype=np.uint32)),
            "is_extended": pa.array(np.full(n, msg.is_extended)),
            "data": column,
        },
        schema=FRAME_SCHEMA,
    )


def _opendbc_checksums(db: DbcDatabase, msg: DbcMessage, data: U8) -> U8:
    from opendbc.can.dbc import DBC
    from opendbc.can.packer import set_value

    try:
        ref = DBC(db.name)
    except FileNotFoundError:
        raise NotFound(f"opendbc has no checksum rules for DBC {db.name!r}") from None
    address = msg.frame_id | (0x80000000 if msg.is_extended and msg.frame_id <= 0x7FF else 0)
    ref_msg = ref.msgs.get(address) or ref.msgs.get(msg.frame_id)
    sigs = [] if ref_msg is None else [s for s in ref_msg.sigs.values() if s.calc_checksum]
    if not sigs:
        return data
    out = data.copy()
    for i in range(len(out)):  # opendbc's checksum functions take one frame at a time
        frame = bytearray(out[i].tobytes())
        for sig in sigs:
            set_value(frame, sig, sig.calc_checksum(address, sig, frame))
        out[i] = np.frombuffer(bytes(frame), dtype=np.uint8)
    return out
