"""CAN decoding throughput: drivetrain's vectorised decoder vs a cantools decode loop.

Run: .venv/bin/python benchmarks/bench_decode.py [--dbc NAME --frames N --sample M]
Builds N random frames over the DBC's messages (random payloads, valid
multiplexer values left to chance), decodes all of them with ``decode_frames``
and the first M of the same frames with a plain cantools ``Message.decode``
loop (``decode_choices=False, scaling=True``; frames cantools refuses are left
out of its loop), each timed ``--repeat`` times, and prints signals/s of both
(best and median) and their ratio.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from typing import Any

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


def cantools_message_table(dbc: str, frames: pa.Table, sample: int) -> list[tuple[Any, bytes]]:
    """(cantools message, payload) of the first ``sample`` frames that cantools decodes."""
    import cantools
    from opendbc import DBC_PATH, get_generated_dbcs

    generated = get_generated_dbcs()
    if dbc in generated:
        db = cantools.database.load_string(generated[dbc], database_format="dbc", strict=False)
    else:
        db = cantools.database.load_file(f"{DBC_PATH}/{dbc}.dbc", strict=False)
    by_id = {(m.frame_id, m.is_extended_frame): m for m in db.messages}
    head = frames.slice(0, sample)
    out = []
    for frame_id, is_ext, payload in zip(
        head.column("frame_id").to_pylist(),
        head.column("is_extended").to_pylist(),
        head.column("data").to_pylist(),
        strict=True,
    ):
        message = by_id[(frame_id, is_ext)]
        # frames with a multiplexer value the DBC does not list make cantools raise; they
        # are left out so that its timed loop pays for no exception
        try:
            message.decode(payload, decode_choices=False, scaling=True)
        except cantools.database.errors.DecodeError:
            continue
        out.append((message, payload))
    return out


def time_cantools(work: list[tuple[Any, bytes]]) -> tuple[int, float]:
    """Signals decoded and seconds taken by a plain ``Message.decode`` loop over ``work``."""
    signals = 0
    began = time.perf_counter()
    for message, payload in work:
        signals += len(message.decode(payload, decode_choices=False, scaling=True))
    return signals, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dbc", default="toyota_nodsu_pt_generated")
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    db = load_dbc(args.dbc)
    frames = build_frames(args.dbc, args.frames)
    print(f"{platform.machine()} {platform.python_version()} · {args.dbc} · {args.frames:,} frames")
    ours_times = []
    for _ in range(args.repeat):
        began = time.perf_counter()
        result = decode_frames(frames, db)
        ours_times.append(time.perf_counter() - began)
    ours = result.signals.num_rows + result.integrity.num_rows
    work = cantools_message_table(args.dbc, frames, args.sample)
    theirs_times = []
    for _ in range(args.repeat):
        theirs, seconds = time_cantools(work)
        theirs_times.append(seconds)
    ours_best, ours_median = min(ours_times), statistics.median(ours_times)
    theirs_best, theirs_median = min(theirs_times), statistics.median(theirs_times)
    print(
        f"drivetrain decode_frames: {ours:,} signals ({result.signals.num_rows:,} physical,"
        f" {result.integrity.num_rows:,} integrity) from {args.frames:,} frames in"
        f" {ours_best:.3f} s best / {ours_median:.3f} s median of {args.repeat}"
        f" = {ours / ours_best:,.0f} signals/s best, {ours / ours_median:,.0f} median"
    )
    print(
        f"cantools Message.decode loop: {theirs:,} signals from {len(work):,} frames"
        f" (the first {args.sample:,} less {args.sample - len(work):,} it refuses) in"
        f" {theirs_best:.3f} s best / {theirs_median:.3f} s median of {args.repeat}"
        f" = {theirs / theirs_best:,.0f} signals/s best, {theirs / theirs_median:,.0f} median"
    )
    ratio_best = (ours / ours_best) / (theirs / theirs_best)
    ratio_median = (ours / ours_median) / (theirs / theirs_median)
    print(
        f"ratio: {ratio_best:.1f}× cantools (best vs best), {ratio_median:.1f}× (median vs median)"
    )


if __name__ == "__main__":
    main()
