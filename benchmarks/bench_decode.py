"""CAN decoding throughput: drivetrain's vectorised decoder vs a cantools decode loop.

Run: .venv/bin/python benchmarks/bench_decode.py [--dbc NAME --frames N --sample M]
Builds N random frames over the DBC's messages (random payloads, valid
multiplexer values left to chance), decodes all of them with ``decode_frames``
and a sample of M of the same frames with cantools ``Message.decode`` in a loop
(its signals/s extrapolated from the sample), and prints both and the ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import time

import numpy as np
import pyarrow as pa

from drivetrain.catalog import load_dbc
from drivetrain.ingest.can_decode import decode_frames


def build_frames(dbc: str, n: int, seed: int = 0) -> pa.Table:
    """``n`` frames cycling over the DBC's messages with signals, random payloads."""
    db = load_dbc(dbc)
    messages = [m for m in db.messages.values() if m.signals and m.length <= 8]
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(messages), n)
    ids = np.array([m.frame_id for m in messages], dtype=np.uint32)[pick]
    ext = np.array([m.is_extended for m in messages])[pick]
    lengths = np.array([m.length for m in messages], dtype=np.int32)[pick]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    payload = rng.integers(0, 256, int(offsets[-1]), dtype=np.uint8)
    data = pa.Array.from_buffers(
        pa.binary(), n, [None, pa.py_buffer(offsets.tobytes()), pa.py_buffer(payload.tobytes())]
    )
    return pa.table(
        {
            "ts": pa.array(np.arange(n, dtype=np.int64) * 100, pa.timestamp("us", tz="UTC")),
            "bus": pa.array(np.zeros(n, dtype=np.int16)),
            "frame_id": pa.array(ids),
            "is_extended": pa.array(ext),
            "data": data,
        }
    )


def bench_cantools(dbc: str, frames: pa.Table, sample: int) -> tuple[int, float]:
    """Signals decoded and seconds taken by a cantools loop over the first ``sample`` frames."""
    import cantools
    from opendbc import DBC_PATH, get_generated_dbcs

    generated = get_generated_dbcs()
    if dbc in generated:
        db = cantools.database.load_string(generated[dbc], database_format="dbc", strict=False)
    else:
        db = cantools.database.load_file(f"{DBC_PATH}/{dbc}.dbc", strict=False)
    ids = frames.column("frame_id").to_pylist()[:sample]
    ext = frames.column("is_extended").to_pylist()[:sample]
    data = frames.column("data").to_pylist()[:sample]
    by_id = {(m.frame_id, m.is_extended_frame): m for m in db.messages}
    signals = 0
    began = time.perf_counter()
    for frame_id, is_ext, payload in zip(ids, ext, data, strict=True):
        message = by_id[(frame_id, is_ext)]
        # an unknown multiplexer value makes cantools refuse the frame
        with contextlib.suppress(cantools.database.errors.DecodeError):
            signals += len(message.decode(payload, decode_choices=False, scaling=True))
    return signals, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dbc", default="toyota_nodsu_pt_generated")
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    db = load_dbc(args.dbc)
    frames = build_frames(args.dbc, args.frames)
    print(f"{platform.machine()} {platform.python_version()} · {args.dbc} · {args.frames:,} frames")
    best = float("inf")
    for _ in range(args.repeat):
        began = time.perf_counter()
        result = decode_frames(frames, db)
        best = min(best, time.perf_counter() - began)
    ours = result.signals.num_rows + result.integrity.num_rows
    ours_rate = ours / best
    print(
        f"drivetrain decode_frames: {ours:,} signals in {best:.3f} s = {ours_rate:,.0f} signals/s"
        f" ({result.signals.num_rows:,} physical, {result.integrity.num_rows:,} integrity)"
    )
    signals, seconds = bench_cantools(args.dbc, frames, args.sample)
    theirs_rate = signals / seconds
    print(
        f"cantools Message.decode loop: {signals:,} signals from {args.sample:,} frames in "
        f"{seconds:.3f} s = {theirs_rate:,.0f} signals/s (extrapolated to all frames: "
        f"{seconds * args.frames / args.sample:.1f} s)"
    )
    print(f"ratio: {ours_rate / theirs_rate:.1f}× cantools")


if __name__ == "__main__":
    main()
