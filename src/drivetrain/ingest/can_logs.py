"""CAN log readers and writers: candump, Vector ASC and BLF, ASAM MF4.

Every reader streams a log as Arrow tables of at most ``chunk_rows`` frames in
:data:`FRAME_SCHEMA`, so a multi-gigabyte log never sits in memory, and
returns the lines it could not read as :class:`Reject` records (line or frame
number and reason) instead of dropping them.

- candump (``candump -L`` / ``-l`` format, ``(sec.usec) iface id#data``, CAN FD
  as ``id##<flags><data>``) is parsed vectorised with Polars from byte chunks.
- ASC, BLF and MF4 go through python-can's readers (MF4 via asammdf).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from drivetrain.errors import InputError

FRAME_SCHEMA = pa.schema(
    [
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("bus", pa.int16(), nullable=False),
        pa.field("frame_id", pa.uint32(), nullable=False),
        pa.field("is_extended", pa.bool_(), nullable=False),
        pa.field("is_fd", pa.bool_(), nullable=False),
        pa.field("data", pa.binary(), nullable=False),
    ]
)
FORMATS = {".log": "candump", ".asc": "asc", ".blf": "blf", ".mf4": "mf4"}
_CANDUMP = r"^\s*\((\d+)\.(\d{1,9})\)\s+(\S+)\s+([0-9A-Fa-f]{1,8})(##?)([0-9A-Fa-fRr]*)\s*$"
_READ_BYTES = 64 << 20


@dataclass(frozen=True, slots=True)
class Reject:
    """A log record that could not be read: where, why, and its text."""

    location: str
    reason: str
    record: str


@dataclass(slots=True)
class FrameChunk:
    """Up to ``chunk_rows`` frames and the records refused among them."""

    frames: pa.Table
    rejects: list[Reject]


def log_format(path: Path) -> str:
    """The format of ``path`` from its extension; InputError lists the known ones."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{path.name}: unknown CAN log format {path.suffix!r}",
            hint=f"use one of {', '.join(FORMATS)}",
        )
    return fmt


def read_can_log(path: Path, *, chunk_rows: int = 500_000) -> Iterator[FrameChunk]:
    """Stream the frames of a CAN log (format from the extension)."""
    if not path.is_file():
        raise InputError(f"CAN log {path} does not exist")
    fmt = log_format(path)
    chunks = (
        _read_candump(path, chunk_rows)
        if fmt == "candump"
        else _read_python_can(path, fmt, chunk_rows)
    )
    latest: dict[int, int] = {}
    for chunk in chunks:
        yield _monotonic(chunk, latest, path.name)


def _monotonic(chunk: FrameChunk, latest: dict[int, int], name: str) -> FrameChunk:
    """Reject frames that go back in time on their bus (``latest``: last µs per bus)."""
    if chunk.frames.num_rows == 0:
        return chunk
    bus = chunk.frames["bus"].to_numpy()
    ts = chunk.frames["ts"].cast(pa.int64()).to_numpy()
    bad = np.zeros(len(ts), dtype=bool)
    for b in np.unique(bus):
        rows = np.flatnonzero(bus == b)
        before = np.maximum.accumulate(
            np.concatenate(([latest.get(int(b), ts[rows[0]])], ts[rows]))
        )
        bad[rows] = ts[rows] < before[:-1]
        latest[int(b)] = int(before[-1])
    if not bad.any():
        return chunk
    rejects = [
        Reject(
            f"{name}:frame at {ts[i]} us",
            f"timestamp earlier than a previous frame on bus {bus[i]}",
            f"id=0x{chunk.frames['frame_id'][i].as_py():X}",
        )
        for i in np.flatnonzero(bad)
    ]
    return FrameChunk(chunk.frames.filter(pa.array(~bad)), chunk.rejects + rejects)


def parse_candump(data: bytes, name: str = "payload") -> FrameChunk:
    """Frames of candump ``-L`` text (one message payload, one file block)."""
    chunks = list(_candump_block(data, 0, {}, max(1, data.count(b"\n") + 1), name))
    return FrameChunk(
        pa.concat_tables([c.frames for c in chunks]), [r for c in chunks for r in c.rejects]
    )


def _read_candump(path: Path, chunk_rows: int) -> Iterator[FrameChunk]:
    buses: dict[str, int] = {}
    line_offset = 0
    carry = b""
    with path.open("rb") as handle:
        while True:
            block = handle.read(_READ_BYTES)
            data = carry + block
            if not block:
                if data.strip():
                    yield from _candump_block(data, line_offset, buses, chunk_rows, path.name)
                return
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            if cut:
                chunk = data[:cut]
                yield from _candump_block(chunk, line_offset, buses, chunk_rows, path.name)
                line_offset += chunk.count(b"\n")


def _candump_block(
    data: bytes, line_offset: int, buses: dict[str, int], chunk_rows: int, name: str
) -> Iterator[FrameChunk]:
    lines = pl.read_csv(
        io.BytesIO(data),
        has_header=False,
        separator="\x1f",
        quote_char=None,
        new_columns=["line"],
        schema_overrides={"line": pl.String},
        truncate_ragged_lines=True,
    ).with_row_index("n", offset=line_offset + 1)
    parsed = lines.with_columns(pl.col("line").str.extract_groups(_CANDUMP).alias("g")).unnest("g")
    parsed.columns = ["n", "line", "sec", "frac", "iface", "id", "sep", "payload"]
    parsed = parsed.filter(pl.col("line").is_not_null() & (pl.col("line").str.strip_chars() != ""))
    fd = pl.col("sep") == "##"
    frames = parsed.with_columns(
        pl.when(fd).then(pl.col("payload").str.slice(1)).otherwise(pl.col("payload")).alias("hex"),
        pl.col("payload").str.to_uppercase().str.starts_with("R").fill_null(False).alias("remote"),
        fd.fill_null(False).alias("is_fd"),
        (
            pl.col("sec").cast(pl.Int64) * 1_000_000
            + pl.col("frac").str.pad_end(6, "0").str.slice(0, 6).cast(pl.Int64)
        ).alias("ts_us"),
        pl.col("id").str.to_integer(base=16, strict=False).alias("frame_id"),
        (pl.col("id").str.len_chars() > 3).alias("is_extended"),
    ).with_columns((pl.col("hex").str.len_chars() % 2 == 1).fill_null(False).alias("odd"))
    reason = (
        pl.when(pl.col("sec").is_null())
        .then(pl.lit("not a candump line"))
        .when(pl.col("remote"))
        .then(pl.lit("remote frame (no data)"))
        .when(pl.col("odd"))
        .then(pl.lit("odd number of data hex digits"))
        .otherwise(None)
    )
    frames = frames.with_columns(reason.alias("reason"))
    rejected = frames.filter(pl.col("reason").is_not_null())
    rejects = [
        Reject(f"{name}:{r['n']}", r["reason"], r["line"] or "")
        for r in rejected.select("n", "reason", "line").iter_rows(named=True)
    ]
    good = frames.filter(pl.col("reason").is_null())
    for iface in good["iface"].unique(maintain_order=True).to_list():
        buses.setdefault(iface, len(buses))
    good = good.with_columns(
        pl.col("iface").replace_strict(buses, return_dtype=pl.Int16).alias("bus"),
        pl.col("hex").str.decode("hex").alias("data"),
    )
    table = pa.table(
        {
            "ts": pa.array(good["ts_us"].to_numpy(), pa.timestamp("us", tz="UTC")),
            "bus": good["bus"].to_arrow().cast(pa.int16()),
            "frame_id": good["frame_id"].to_arrow().cast(pa.uint32()),
            "is_extended": good["is_extended"].to_arrow(),
            "is_fd": good["is_fd"].to_arrow(),
            "data": good["data"].to_arrow().cast(pa.binary()),
        },
        schema=FRAME_SCHEMA,
    )
    first = True
    for start in range(0, max(table.num_rows, 1), chunk_rows):
        yield FrameChunk(table.slice(start, chunk_rows), rejects if first else [])
        first = False


def _read_python_can(path: Path, fmt: str, chunk_rows: int) -> Iterator[FrameChunk]:
    import can

    readers: dict[str, Any] = {"asc": can.ASCReader, "blf": can.BLFReader, "mf4": can.MF4Reader}
    columns: dict[str, list[Any]] = {name: [] for name in FRAME_SCHEMA.names}
    rejects: list[Reject] = []
    try:
        options = {"relative_timestamp": False} if fmt == "asc" else {}
        reader = readers[fmt](str(path), **options)
        for number, msg in enumerate(reader, start=1):
            if msg.is_error_frame or msg.is_remote_frame:
                kind = "error frame" if msg.is_error_frame else "remote frame (no data)"
                rejects.append(Reject(f"{path.name}:frame {number}", kind, repr(msg)))
                continue
            columns["ts"].append(round(msg.timestamp * 1_000_000))
            columns["bus"].append(_channel(msg.channel))
            columns["frame_id"].append(msg.arbitration_id)
            columns["is_extended"].append(bool(msg.is_extended_id))
            columns["is_fd"].append(bool(msg.is_fd))
            columns["data"].append(bytes(msg.data))
            if len(columns["ts"]) >= chunk_rows:
                yield FrameChunk(_table(columns), rejects)
                columns = {name: [] for name in FRAME_SCHEMA.names}
                rejects = []
        declared = getattr(reader, "file_size", None)  # BLF headers state their file size
        if declared and path.stat().st_size < declared:
            rejects.append(
                Reject(
                    path.name,
                    f"log is truncated: its header declares {declared} bytes, "
                    f"the file has {path.stat().st_size}; frames after the cut are lost",
                    "",
                )
            )
    except Exception as exc:  # noqa: BLE001 - a reader boundary: any parse failure is reported
        rejects.append(
            Reject(path.name, f"log is corrupt from here on ({type(exc).__name__}: {exc})", "")
        )
    yield FrameChunk(_table(columns), rejects)


def _channel(channel: Any) -> int:
    if isinstance(channel, int):
        return channel
    digits = "".join(c for c in str(channel or "0") if c.isdigit())
    return int(digits or 0)


def _table(columns: dict[str, list[Any]]) -> pa.Table:
    return pa.table(
        {
            "ts": pa.array(np.asarray(columns["ts"], dtype=np.int64), pa.timestamp("us", tz="UTC")),
            "bus": pa.array(columns["bus"], pa.int16()),
            "frame_id": pa.array(columns["frame_id"], pa.uint32()),
            "is_extended": pa.array(columns["is_extended"], pa.bool_()),
            "is_fd": pa.array(columns["is_fd"], pa.bool_()),
            "data": pa.array(columns["data"], pa.binary()),
        },
        schema=FRAME_SCHEMA,
    )


def write_can_log(path: Path, frames: Iterable[pa.Table]) -> int:
    """Write frames (FRAME_SCHEMA tables) as a CAN log in the format of ``path``'s extension.

    Returns the number of frames written. The file is written under a temporary
    name and renamed at the end, so a failed write leaves no half log behind.
    """
    fmt = log_format(path)
    tmp = path.with_name(path.name + ".part" + path.suffix)
    count = 0
    try:
        if fmt == "candump":
            with tmp.open("w", encoding="ascii") as out:
                for table in frames:
                    out.write(_candump_lines(table))
                    count += table.num_rows
        else:
            count = _write_python_can(tmp, fmt, frames)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def _candump_lines(table: pa.Table) -> str:
    if table.num_rows == 0:
        return ""
    return "\n".join(candump_lines(table)) + "\n"


def candump_lines(table: pa.Table) -> list[str]:
    """``candump -L`` lines for a table of frames, formatted without a Python loop."""
    if table.num_rows == 0:
        return []
    ids = table["frame_id"].to_numpy().astype(">u4")
    id_bytes = pa.Array.from_buffers(pa.binary(4), len(ids), [None, pa.py_buffer(ids.tobytes())])
    df = pl.from_arrow(table.append_column("id_bytes", id_bytes.cast(pa.binary())))
    assert isinstance(df, pl.DataFrame)
    ts = pl.col("ts").dt.epoch("us")
    hex_id = pl.col("id_bytes").bin.encode("hex").str.to_uppercase()
    lines = df.select(
        pl.format(
            "({}.{}) can{} {}{}{}",
            (ts // 1_000_000).cast(pl.String),
            (ts % 1_000_000).cast(pl.String).str.pad_start(6, "0"),
            pl.col("bus").cast(pl.String),
            pl.when(pl.col("is_extended")).then(hex_id).otherwise(hex_id.str.slice(5, 3)),
            pl.when(pl.col("is_fd")).then(pl.lit("##0")).otherwise(pl.lit("#")),
            pl.col("data").bin.encode("hex").str.to_uppercase(),
        )
    ).to_series()
    return list(lines.to_list())


def _write_python_can(path: Path, fmt: str, frames: Iterable[pa.Table]) -> int:
    import can

    writers: dict[str, Any] = {"asc": can.ASCWriter, "blf": can.BLFWriter, "mf4": can.MF4Writer}
    count = 0
    writer = writers[fmt](str(path))
    started = False
    try:
        for table in frames:
            if fmt == "asc" and not started and table.num_rows:
                # ASC times are relative to a header date of millisecond precision:
                # start the measurement on a whole millisecond so no microsecond is lost.
                first_us = int(table["ts"].cast(pa.int64())[0].as_py())
                writer.log_event("drivetrain", timestamp=(first_us // 1000) / 1000)
                started = True
            for row in table.to_pylist():
                writer.on_message_received(
                    can.Message(
                        timestamp=row["ts"].timestamp(),
                        arbitration_id=row["frame_id"],
                        is_extended_id=row["is_extended"],
                        is_fd=row["is_fd"],
                        channel=row["bus"],
                        data=row["data"],
                    )
                )
                count += 1
    finally:
        writer.stop()
    return count
