"""MQTT gateway throughput: sustained messages/s and signals/s at QoS 1, zero loss.

Run: .venv/bin/python benchmarks/bench_gateway.py [--messages 20000 --signals 20 ...]

A publisher in a separate process sends ``--messages`` single-sample VSS JSON
messages of ``--signals`` signals each (QoS 1, ``--vehicles`` vehicles) to the
broker as fast as the broker acknowledges them; the gateway, subscribed
first, stores them in a fresh lake. The run passes only if the lake then holds
exactly messages × signals rows and every message was acknowledged. The
reference it beats is the naive idempotent write, ``Lake.merge`` per batch,
timed on the same batches (``--merge-batches``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from drivetrain.catalog import load_signal_catalog
from drivetrain.demo.publisher import publish_messages
from drivetrain.ingest.gateway import Gateway, GatewayConfig, drop_stored
from drivetrain.ingest.sink import CollectionContext, write_telemetry
from drivetrain.lake import Lake

T0_NS = 1_790_841_600_000_000_000  # 2026-10-01T08:00:00Z


def messages(n: int, signals: int, vehicles: int) -> Iterator[tuple[str, bytes]]:
    """n one-sample messages; vehicle i % vehicles, 100 ms apart per vehicle."""
    paths = sorted(load_signal_catalog())[:signals]
    for i in range(n):
        vehicle = f"BENCH{i % vehicles:05d}"
        body = {
            "ts": T0_NS + (i // vehicles) * 100_000_000,
            "signals": {p: float(i % 50) + k / 8 for k, p in enumerate(paths)},
            "msg_id": f"{vehicle}-{i}",
        }
        yield f"vehicles/{vehicle}/vss", json.dumps(body).encode()


def _publish(port: int, n: int, signals: int, vehicles: int, result: mp.Queue) -> None:  # type: ignore[type-arg]
    sent, elapsed = publish_messages(messages(n, signals, vehicles), port=port)
    result.put((sent, elapsed))


def run_gateway(args: argparse.Namespace, root: Path) -> None:
    lake = Lake(root / "lake")
    config = GatewayConfig(
        host=args.host,
        port=args.port,
        client_id=f"bench-{uuid.uuid4().hex[:8]}",
        batch_messages=args.batch_messages,
        batch_seconds=args.batch_seconds,
        session_expiry_s=60,
    )
    result: mp.Queue = mp.get_context("spawn").Queue()  # type: ignore[type-arg]
    with Gateway(lake, config) as gateway:  # subscribed before the first message is sent
        publisher = mp.get_context("spawn").Process(
            target=_publish, args=(args.port, args.messages, args.signals, args.vehicles, result)
        )
        began = time.perf_counter()
        publisher.start()
        stats = gateway.run(max_messages=args.messages, duration_s=args.timeout)
        wall = time.perf_counter() - began
        publisher.join()
    sent, publish_s = result.get()
    rows = lake.read("telemetry", columns=["signal"]).num_rows
    expected = args.messages * args.signals
    ok = sent == args.messages and rows == expected and stats.acked == args.messages
    print(
        f"{args.messages:,} messages × {args.signals} signals, batches of "
        f"≤{args.batch_messages} msgs/{args.batch_seconds:g} s: {wall:5.1f} s wall = "
        f"{args.messages / wall:>8,.0f} msg/s, {expected / wall:>10,.0f} signals/s "
        f"(publisher alone {sent / publish_s:,.0f} msg/s)"
    )
    print(
        f"  lake rows {rows:,} / expected {expected:,}; acked {stats.acked:,}; "
        f"duplicates {stats.duplicate_rows}; quarantined {stats.quarantined}; "
        f"{stats.batches} batches; lake check {stats.lake_check_s:.2f} s, "
        f"write {stats.write_s:.2f} s  -> {'ZERO LOSS' if ok else 'LOSS OR MISMATCH'}"
    )
    if not ok:
        raise SystemExit(1)


def compare_merge(args: argparse.Namespace, root: Path) -> None:
    """Per-batch cost of the idempotency options on a lake that already holds data."""
    paths = sorted(load_signal_catalog())[: args.signals]
    per_batch = args.batch_messages

    def batch(k: int) -> pa.Table:
        ids, ts, sig, val = [], [], [], []
        for i in range(k * per_batch, (k + 1) * per_batch):
            for p in paths:
                ids.append(f"BENCH{i % args.vehicles:05d}")
                ts.append((T0_NS + (i // args.vehicles) * 100_000_000) // 1000)
                sig.append(p)
                val.append(1.0)
        return pa.table(
            {
                "vehicle_id": ids,
                "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
                "signal": sig,
                "value": val,
            }
        )

    context = CollectionContext(source="bench", purpose="vehicle_health")
    lakes = {name: Lake(root / name) for name in ("append", "check", "merge")}
    timings: dict[str, float] = dict.fromkeys(lakes, 0.0)
    n = args.merge_batches
    for k in range(n):
        data = batch(k)
        for name, lake in lakes.items():
            began = time.perf_counter()
            if name == "append":
                write_telemetry(lake, data, context)
            elif name == "check":
                write_telemetry(lake, drop_stored(lake, data), context)
            else:
                lake.merge("telemetry", data)
            timings[name] += time.perf_counter() - began
    rows = per_batch * len(paths)
    for name, label in (
        ("append", "append, no dedupe (not idempotent)"),
        ("check", "key check + append (the gateway)"),
        ("merge", "Lake.merge upsert"),
    ):
        ms = timings[name] / n * 1000
        print(
            f"  {label:36s} {ms:7.1f} ms per batch of {rows:,} rows "
            f"({n} batches, lake grows to {n * rows:,} rows)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--signals", type=int, default=20)
    parser.add_argument("--vehicles", type=int, default=100)
    parser.add_argument("--batch-messages", type=int, default=1000)
    parser.add_argument("--batch-seconds", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument(
        "--merge-batches",
        type=int,
        default=30,
        help="batches for the idempotency comparison (0 to skip)",
    )
    args = parser.parse_args()
    print(f"{platform.machine()}, {mp.cpu_count()} cores, Python {platform.python_version()}")
    root = Path(tempfile.mkdtemp(prefix="dt-bench-gw-"))
    try:
        run_gateway(args, root)
        if args.merge_batches:
            compare_merge(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
