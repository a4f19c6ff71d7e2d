"""CAN log readers and writers: candump, ASC, BLF, MF4."""

from __future__ import annotations

from pathlib import Path

import can
import numpy as np
import pyarrow as pa
import pytest

from drivetrain.errors import InputError
from drivetrain.ingest.can_logs import FRAME_SCHEMA, read_can_log, write_can_log

CANDUMP = """\
(1700000000.000001) can0 123#DEADBEEF
(1700000000.000100) can0 1ABCDEF0#0102

(1700000000.000200) can1 321##1AABBCCDDEEFF00112233445566778899
(1700000000.000300) can0 123#R
this is not a frame
(1700000000.000400) can0 124#ABC
(1700000000.000500) can0 7FF#
"""


def read_all(path: Path, **kw: int) -> tuple[pa.Table, list[tuple[str, str]]]:
    chunks = list(read_can_log(path, **kw))
    frames = pa.concat_tables([c.frames for c in chunks])
    return frames, [(r.location, r.reason) for c in chunks for r in c.rejects]


def random_frames(n: int, seed: int = 1) -> pa.Table:
    rng = np.random.default_rng(seed)
    extended = rng.random(n) < 0.3
    ids = np.where(extended, rng.integers(0x800, 1 << 29, n), rng.integers(0, 0x800, n))
    lengths = rng.integers(0, 9, n)
    data = [bytes(rng.integers(0, 256, k, dtype=np.uint8)) for k in lengths]
    ts = 1_700_000_000_000_000 + np.cumsum(rng.integers(1, 5000, n))
    return pa.table(
        {
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "bus": pa.array(rng.integers(0, 2, n), pa.int16()),
            "frame_id": pa.array(ids, pa.uint32()),
            "is_extended": pa.array(extended),
            "is_fd": pa.array(np.zeros(n, dtype=bool)),
            "data": pa.array(data, pa.binary()),
        },
        schema=FRAME_SCHEMA,
    )


def test_candump_lines_and_rejects(tmp_path: Path) -> None:
    log = tmp_path / "drive.log"
    log.write_text(CANDUMP)
    frames, rejects = read_all(log)
    rows = frames.to_pylist()
    assert [(r["frame_id"], r["is_extended"], r["is_fd"], r["bus"], r["data"]) for r in rows] == [
        (0x123, False, False, 0, bytes.fromhex("DEADBEEF")),
        (0x1ABCDEF0, True, False, 0, bytes.fromhex("0102")),
        (0x321, False, True, 1, bytes.fromhex("AABBCCDDEEFF00112233445566778899")),
        (0x7FF, False, False, 0, b""),
    ]
    assert int(frames["ts"].cast(pa.int64())[0].as_py()) == 1_700_000_000_000_001
    assert rejects == [
        ("drive.log:5", "remote frame (no data)"),
        ("drive.log:6", "not a candump line"),
        ("drive.log:7", "odd number of data hex digits"),
    ]


def test_candump_agrees_with_python_can(tmp_path: Path) -> None:
    path = tmp_path / "ref.log"
    write_can_log(path, [random_frames(2000)])
    ours, _ = read_all(path)
    theirs = list(can.CanutilsLogReader(str(path)))
    assert len(theirs) == ours.num_rows
    for mine, ref in zip(ours.to_pylist(), theirs, strict=True):
        assert mine["frame_id"] == ref.arbitration_id
        assert mine["is_extended"] == ref.is_extended_id
        assert mine["data"] == bytes(ref.data)
        assert abs(mine["ts"].timestamp() - ref.timestamp) < 1e-6


@pytest.mark.parametrize("suffix", [".log", ".asc", ".blf", ".mf4"])
def test_round_trip_every_format(tmp_path: Path, suffix: str) -> None:
    frames = random_frames(3000)
    path = tmp_path / f"drive{suffix}"
    assert write_can_log(path, [frames.slice(0, 1000), frames.slice(1000)]) == 3000
    back, rejects = read_all(path, chunk_rows=700)
    assert not rejects
    columns = ["frame_id", "is_extended", "data"]
    assert back.select(columns).equals(frames.select(columns))
    drift = back["ts"].cast(pa.int64()).to_numpy() - frames["ts"].cast(pa.int64()).to_numpy()
    assert np.abs(drift).max() <= 1
    if suffix in (".log", ".blf"):
        assert back["bus"].equals(frames["bus"])


def test_chunks_bound_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    write_can_log(path, [random_frames(5000)])
    chunks = list(read_can_log(path, chunk_rows=1000))
    assert [c.frames.num_rows for c in chunks] == [1000] * 5


def test_time_going_backwards_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "jump.log"
    path.write_text(
        "(1700000000.000100) can0 123#01\n(1700000000.000050) can0 123#02\n"
        "(1700000000.000060) can1 123#03\n(1700000000.000200) can0 123#04\n"
    )
    frames, rejects = read_all(path)
    assert frames["data"].to_pylist() == [b"\x01", b"\x03", b"\x04"]
    assert len(rejects) == 1 and "earlier than a previous frame on bus 0" in rejects[0][1]


def test_truncated_blf_keeps_what_was_readable(tmp_path: Path) -> None:
    path = tmp_path / "cut.blf"
    write_can_log(path, [random_frames(4000)])
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    frames, rejects = read_all(path)
    assert 0 < frames.num_rows < 4000
    assert len(rejects) == 1 and "truncated" in rejects[0][1]


def test_unknown_format_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown CAN log format"):
        list(read_can_log(Path(__file__)))
    with pytest.raises(InputError, match="does not exist"):
        list(read_can_log(tmp_path / "nope.log"))


def test_a_failed_write_leaves_no_file(tmp_path: Path) -> None:
    def broken() -> list[pa.Table]:
        raise RuntimeError("simulator crashed")

    path = tmp_path / "half.log"
    with pytest.raises(RuntimeError):
        write_can_log(path, (t for t in broken()))
    assert list(tmp_path.iterdir()) == []
