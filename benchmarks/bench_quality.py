"""Quality at plant scale: 10,000 characteristics x 1,000 subgroups in one batch, and the stream rate.

Run: .venv/bin/python benchmarks/bench_quality.py [--characteristics 10000] [--subgroups 1000]
     [--size 5] [--reference 100] [--stream-characteristics 1000] [--stream-rows 200000]
     [--messages 4000] [--skip-batch] [--skip-stream] [--skip-mqtt]

**Batch.** Generates ``characteristics x subgroups x size`` normal measurements
(2 % of the characteristics get a sustained 1 sigma shift in their second half,
so Phase I has subgroups to drop and Nelson rules to fire) as a polars frame of
``characteristic``, ``subgroup`` (integers) and ``value``, then times one
``control_chart(frame, "xbar_r", by="characteristic", rules="nelson")`` (Phase I
with revision, all eight Nelson rules) with its peak RSS, and
``chart.monitor`` on a Phase II of 100 new subgroups of every characteristic
(and then on one more subgroup, the latency of judging one new subgroup of every
characteristic). The reference is the straightforward loop: per characteristic,
mistat's ``QualityControlChart`` (R qcc's port) for X-bar and for R, refitted
without the subgroups beyond either chart's limits (as ``control_chart`` does),
on ``--reference`` characteristics, extrapolated to all of them. qcc's own run
check (beyond limits, runs of 7) is part of its constructor; the other Nelson
rules are not, so the reference does less work than ``control_chart``. On the
sample, the X-bar and R centres and limits must equal the reference's (rel 1e-4:
qcc's d2 is tabled to three decimals) and the kept subgroups must agree.

**Streaming.** A ``QualityWatch`` over a synthetic plant (``--stream-characteristics``
X-bar-R characteristics, 10 per station, subgroups of 5, Phase I 25 subgroups
each, rules "nelson", ``keep_points=False``) is fed ``--stream-rows``
measurements in time order (one part a minute through every station), in
batches of 100, 1,000 and 10,000 rows, as text (string ts and value, what an
MQTT message or a CSV drop gives) and typed (UTC datetime ts, float value):
measurements/s and per-batch latency p50/p95. The simulated plant of
``drivetrain.demo.plant_generator`` (its few characteristics, Phase I before
``monitor_from``) is streamed once too. End to end: ``--messages`` MQTT messages
of 50 measurements each (one station's 5 parts x 10 characteristics) are
published at QoS 1 from another process to a private mosquitto on a free port
and consumed by ``PlantStream.batches`` into ``watch.feed``.

For comparison: a line of 60 stations x 10 characteristics at one part a minute
measures 10 measurements/s; a big plant (several lines, faster takt) ~1,000/s.
"""

from __future__ import annotations

import argparse
import getpass
import json
import math
import multiprocessing as mp
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl
from mistat.qcc import QualityControlChart

from drivetrain.demo.plant_generator import PlantConfig, generate_plant
from drivetrain.demo.publisher import publish_messages
from drivetrain.ingest.plant_stream import PlantStream
from drivetrain.quality.charts import ControlChart, control_chart
from drivetrain.quality.data import measurement_subgroups
from drivetrain.quality.stream import QualityWatch

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
T0 = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)
TAKT_S = 60.0  # one part a minute
PER_STATION = 10
PHASE1_SUBGROUPS = 25
SIZE = 5
TS_FORMAT = "%Y-%m-%dT%H:%M:%S%.3fZ"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {total:.0f} GB RAM, Python {platform.python_version()}, "
        f"polars {pl.__version__}, numpy {np.__version__}"
    )


# -- batch ---------------------------------------------------------------------------


def batch_values(characteristics: int, subgroups: int, size: int, seed: int) -> np.ndarray:
    """characteristics x subgroups x size measurements; 2 % shift by 1 sigma half-way on."""
    rng = np.random.default_rng(seed)
    mu = rng.uniform(10.0, 100.0, characteristics)
    sd = rng.uniform(0.05, 2.0, characteristics)
    values = rng.standard_normal((characteristics, subgroups, size))
    shifted = rng.random(characteristics) < 0.02
    start = rng.integers(subgroups // 2, subgroups, characteristics)
    late = np.arange(subgroups)[None, :] >= start[:, None]
    values += (shifted[:, None] & late)[:, :, None]
    values *= sd[:, None, None]
    values += mu[:, None, None]
    return values


def batch_frame(values: np.ndarray, first_subgroup: int = 1) -> pl.DataFrame:
    characteristics, subgroups, size = values.shape
    per = subgroups * size
    labels = np.arange(first_subgroup, first_subgroup + subgroups, dtype=np.int64)
    return pl.DataFrame(
        {
            "characteristic": np.repeat(np.arange(characteristics, dtype=np.int64), per),
            "subgroup": np.tile(np.repeat(labels, size), characteristics),
            "value": values.reshape(-1),
        }
    )


def reference_chart(x: np.ndarray) -> tuple[list[float], np.ndarray]:
    """qcc X-bar and R limits of one characteristic's subgroups, revised like Phase I."""
    means, ranges = x.mean(axis=1), np.ptp(x, axis=1)
    use = np.ones(len(x), dtype=bool)
    floor = max(2, math.ceil(len(x) / 2))
    for _ in range(11):
        xbar = QualityControlChart(x[use], qcc_type="xbar")
        r = QualityControlChart(x[use], qcc_type="R")
        lo, hi = float(xbar.limits["LCL"].iloc[0]), float(xbar.limits["UCL"].iloc[0])
        rlo, rhi = float(r.limits["LCL"].iloc[0]), float(r.limits["UCL"].iloc[0])
        beyond = use & ((means < lo) | (means > hi) | (ranges < rlo) | (ranges > rhi))
        if not beyond.any() or (use & ~beyond).sum() < floor:
            break
        use &= ~beyond
    return [float(xbar.center), lo, hi, float(r.center), rlo, rhi], use


def ours_limits(chart: ControlChart, sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre, LCL, UCL of X-bar then R per sampled characteristic; and the used mask."""
    points = chart.points.filter(pl.col("characteristic").is_in(sample.tolist()))
    first = points.filter(pl.col("subgroup") == pl.col("subgroup").min().over("characteristic"))
    wide = []
    for statistic in ("xbar", "r"):
        part = first.filter(pl.col("statistic") == statistic).sort("characteristic")
        wide.append(part.select("center", "lcl", "ucl").to_numpy())
    used = (
        points.filter(pl.col("statistic") == "xbar")
        .sort("characteristic", "subgroup")
        .get_column("used")
        .to_numpy()
        .reshape(len(sample), -1)
    )
    return np.hstack(wide), used


def run_batch(args: argparse.Namespace) -> None:
    n, m, k = args.characteristics, args.subgroups, args.size
    print(
        f"\n== Batch: {n:,} characteristics x {m:,} subgroups of {k} = {n * m * k:,} measurements"
    )
    t0 = time.perf_counter()
    values = batch_values(n, m, k, args.seed)
    sample = np.unique(np.linspace(0, n - 1, min(args.reference, n)).astype(np.int64))
    sample_values = values[sample].copy()
    frame = batch_frame(values)
    del values
    print(f"generated in {time.perf_counter() - t0:.1f} s; peak RSS so far {rss_mb():,.0f} MB")

    before = rss_mb()
    t0 = time.perf_counter()
    chart = control_chart(frame, "xbar_r", by="characteristic", rules="nelson")
    phase1 = time.perf_counter() - t0
    after = rss_mb()
    params = chart.parameters
    removed = int(params.get_column("removed").sum())
    signals = int(chart.points.get_column("signal").sum())
    print(
        f"control_chart: {chart.points.height:,} points, {removed:,} subgroups removed in "
        f"Phase I, {signals:,} signals; peak RSS {after:,.0f} MB (was {before:,.0f} MB before)"
    )
    del frame

    rng = np.random.default_rng(args.seed + 1)
    mu = chart.parameters.get_column("center").to_numpy()
    sd = chart.parameters.get_column("sigma").to_numpy()
    new = rng.standard_normal((n, 100, k)) * sd[:, None, None] + mu[:, None, None]
    phase2 = batch_frame(new, first_subgroup=m + 1)
    one = batch_frame(
        rng.standard_normal((n, 1, k)) * sd[:, None, None] + mu[:, None, None], m + 101
    )
    t0 = time.perf_counter()
    watch = chart.monitor(phase2)
    monitor_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    chart.monitor(one, watch.state)
    monitor_one_s = time.perf_counter() - t0
    flagged = int(watch.points.get_column("signal").sum())

    t0 = time.perf_counter()
    reference = [reference_chart(sample_values[i]) for i in range(len(sample))]
    ref_s = (time.perf_counter() - t0) / len(sample) * n
    ref_limits = np.array([r[0] for r in reference])
    ref_used = np.array([r[1] for r in reference])
    ours, used = ours_limits(chart, sample)
    close = np.isclose(ours, ref_limits, rtol=1e-4, atol=0.0)
    worst = float(np.nanmax(np.abs(ours - ref_limits) / np.maximum(np.abs(ref_limits), 1e-300)))
    same_used = int((used == ref_used).all(axis=1).sum())

    rows = [
        ("control_chart Phase I, xbar_r, nelson", phase1, n * m * k),
        ("monitor Phase II, 100 subgroups each", monitor_s, n * 100 * k),
        ("monitor Phase II, 1 subgroup each", monitor_one_s, n * k),
        (
            f"reference: mistat qcc loop ({len(sample)} chars, x{n / len(sample):g})",
            ref_s,
            n * m * k,
        ),
    ]
    print(f"\n{'batch':<50} {'seconds':>9} {'measurements/s':>15} {'chars/s':>10}")
    for label, seconds, measured in rows:
        print(f"{label:<50} {seconds:>9.2f} {measured / seconds:>15,.0f} {n / seconds:>10,.0f}")
    print(f"control_chart is {ref_s / phase1:.0f}x the reference loop (extrapolated)")
    print(f"Phase II: {flagged:,} of {watch.points.height:,} points flagged (in control data)")
    print(
        f"limits vs qcc on {len(sample)} characteristics: "
        f"{'OK' if close.all() else 'MISMATCH'} ({int(close.sum())}/{close.size} within rel 1e-4, "
        f"worst rel {worst:.1e}); kept subgroups agree for {same_used}/{len(sample)}"
    )


# -- streaming ------------------------------------------------------------------------


def plant_params(characteristics: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(10.0, 100.0, characteristics), rng.uniform(0.05, 2.0, characteristics)


def ids(characteristics: int) -> tuple[list[str], list[str]]:
    chars = [f"C{i:05d}" for i in range(characteristics)]
    stations = [f"ST{i // PER_STATION:04d}" for i in range(characteristics)]
    return chars, stations


def master(characteristics: int) -> pl.DataFrame:
    chars, stations = ids(characteristics)
    return pl.DataFrame(
        {
            "characteristic_id": chars,
            "station_id": stations,
            "subgroup_size": [SIZE] * characteristics,
            "chart": ["xbar_r"] * characteristics,
        }
    )


def measurements(characteristics: int, first_part: int, parts: int, seed: int) -> pl.DataFrame:
    """Every characteristic of ``parts`` parts, in time order: part p at T0 + p takt,
    station s 0.5 s after s-1, its characteristics 10 ms apart; ts UTC, value float."""
    mu, sd = plant_params(characteristics, seed)
    chars, stations = ids(characteristics)
    rng = np.random.default_rng(seed + first_part + 1)
    part = np.repeat(np.arange(first_part, first_part + parts), characteristics)
    c = np.tile(np.arange(characteristics), parts)
    offset_ms = (part * TAKT_S * 1000 + (c // PER_STATION) * 500 + (c % PER_STATION) * 10).astype(
        np.int64
    )
    value = mu[c] + sd[c] * rng.standard_normal(c.size)
    t0_ms = int(T0.timestamp() * 1000)
    frame = pl.DataFrame(
        {
            "ts": pl.Series(t0_ms + offset_ms)
            .cast(pl.Datetime("ms", "UTC"))
            .cast(pl.Datetime("us", "UTC")),
            "station_id": pl.Series(stations).gather(c),
            "characteristic_id": pl.Series(chars).gather(c),
            "part_serial": pl.Series(part).cast(pl.String).str.zfill(9).str.pad_start(10, "P"),
            "value": value,
            "lot_id": pl.Series(part // 500).cast(pl.String).str.pad_start(8, "L"),
        }
    )
    return frame.sort("ts", maintain_order=True)


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame as an MQTT message or a CSV drop gives it: every column a string."""
    return frame.with_columns(
        pl.col("ts").dt.strftime(TS_FORMAT),
        pl.col("value").map_elements(repr, return_dtype=pl.String),
    )


def build_watch(
    characteristics: int, seed: int
) -> tuple[dict[str, ControlChart], pl.DataFrame, float]:
    chars = master(characteristics)
    history = measurements(characteristics, 0, PHASE1_SUBGROUPS * SIZE, seed)
    t0 = time.perf_counter()
    watch = QualityWatch.from_history(
        measurement_subgroups(history, chars), chars, rules="nelson", keep_points=False
    )
    return watch.charts, chars, time.perf_counter() - t0


def feed_all(
    watch: QualityWatch, batches: list[pl.DataFrame]
) -> tuple[float, list[float], int, int]:
    latencies = []
    subgroups = alerts = 0
    t0 = time.perf_counter()
    for batch in batches:
        b0 = time.perf_counter()
        step = watch.feed(batch)
        latencies.append(time.perf_counter() - b0)
        if step.rejected:
            raise RuntimeError(f"the watch refused {len(step.rejected)} rows: {step.rejected[0]}")
        subgroups += step.subgroups
        alerts += len(step.alerts)
    return time.perf_counter() - t0, latencies, subgroups, alerts


def stream_row(
    label: str, rows: int, seconds: float, latencies: list[float], subgroups: int, alerts: int
) -> None:
    p50, p95 = (np.percentile(latencies, q) * 1000 for q in (50, 95))
    print(
        f"{label:<40} {rows:>9,} {seconds:>8.2f} {rows / seconds:>14,.0f} {p50:>9.1f} {p95:>9.1f}"
        f" {subgroups:>9,} {alerts:>6,}"
    )


def simulated_plant() -> tuple[QualityWatch, list[pl.DataFrame], int]:
    production = pl.DataFrame(
        {"vin": ["X"], "model_id": ["fiat-tipo"], "build_date": [date(2024, 2, 3)]}
    )
    plant = generate_plant(PlantConfig(), production)
    raw = plant.frames["quality_measurements"].with_columns(
        pl.when(pl.col("lot_id") == "").then(None).otherwise(pl.col("lot_id")).alias("lot_id")
    )
    chars = plant.frames["quality_characteristics"].with_columns(
        pl.col("subgroup_size").cast(pl.Int32)
    )
    typed = raw.with_columns(
        pl.col("ts").str.to_datetime(time_unit="us", time_zone="UTC"),
        pl.col("value").cast(pl.Float64),
    )
    monitor_from = plant.config.monitor_from
    history = measurement_subgroups(typed.filter(pl.col("ts") < monitor_from), chars)
    watch = QualityWatch.from_history(history, chars, keep_points=False)
    live = raw.filter(typed.get_column("ts") >= monitor_from).sort("ts", maintain_order=True)
    return watch, [live.slice(i, 100) for i in range(0, live.height, 100)], chars.height


def run_stream(
    args: argparse.Namespace, charts: dict[str, ControlChart], chars: pl.DataFrame
) -> None:
    n = args.stream_characteristics
    parts = max(args.stream_rows // n, 1)
    live = measurements(n, PHASE1_SUBGROUPS * SIZE, parts, args.seed)
    text = as_text(live)
    print(
        f"\n== Streaming: {n:,} characteristics at {n // PER_STATION:,} stations, Phase I "
        f"{PHASE1_SUBGROUPS} subgroups of {SIZE} each, then {live.height:,} measurements "
        f"({parts} parts) in time order, keep_points=False"
    )
    header = f"{'feed':<40} {'rows':>9} {'seconds':>8} {'measurements/s':>14} {'p50 ms':>9} {'p95 ms':>9} {'subgroups':>9} {'alerts':>6}"
    print(header)
    for size in (100, 1_000, 10_000):
        for label, frame in (("text", text), ("typed", live)):
            batches = [frame.slice(i, size) for i in range(0, frame.height, size)]
            watch = QualityWatch(charts, chars, keep_points=False)
            stream_row(
                f"batches of {size:,} rows, {label}", frame.height, *feed_all(watch, batches)
            )
    watch, batches, count = simulated_plant()
    rows = sum(b.height for b in batches)
    stream_row(f"simulated plant ({count} chars), 100, text", rows, *feed_all(watch, batches))


# -- MQTT -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_broker(workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """A private mosquitto on a free port, as tests/ingest/conftest.py's Broker starts it."""
    port = free_port()
    config = workdir / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        f"max_queued_messages 0\nlog_dest stderr\nuser {getpass.getuser()}\n"
    )
    log = (workdir / "mosquitto.log").open("ab")
    process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=log, stderr=log)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mosquitto exited: see {workdir / 'mosquitto.log'}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"mosquitto did not listen on port {port} within 10 s")


def plant_messages(characteristics: int, messages: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """``messages`` station messages of 50 measurements (5 parts x 10 characteristics)."""
    stations = characteristics // PER_STATION
    blocks = math.ceil(messages / stations)
    frame = measurements(characteristics, PHASE1_SUBGROUPS * SIZE, blocks * SIZE, seed)
    text = as_text(frame).with_columns(
        (pl.col("part_serial").str.slice(1).cast(pl.Int64) // SIZE).alias("_block")
    )
    columns = ("ts", "characteristic_id", "part_serial", "value", "lot_id")
    groups = text.group_by("_block", "station_id", maintain_order=True)
    for sent, ((_block, station), group) in enumerate(groups, start=1):
        rows = [dict(zip(columns, row, strict=True)) for row in group.select(columns).iter_rows()]
        for row in rows:
            row["value"] = float(row["value"])  # a JSON number, as a station sends it
        yield f"plants/P1/{station}/measurements", json.dumps(rows).encode()
        if sent >= messages:
            return


def _publish(port: int, characteristics: int, messages: int, seed: int, result: mp.Queue) -> None:  # type: ignore[type-arg]
    pending = list(plant_messages(characteristics, messages, seed))
    began = time.monotonic()  # CLOCK_MONOTONIC: the same clock in every process
    sent, elapsed = publish_messages(iter(pending), port=port)
    result.put((sent, elapsed, began))


def run_mqtt(
    args: argparse.Namespace, charts: dict[str, ControlChart], chars: pl.DataFrame
) -> None:
    if not Path(MOSQUITTO).exists():
        print("\n== MQTT: skipped, no mosquitto binary")
        return
    workdir = Path(tempfile.mkdtemp(prefix="bench-quality-"))
    broker, port = start_broker(workdir)
    try:
        watch = QualityWatch(charts, chars, keep_points=False)
        stream = PlantStream(
            "127.0.0.1", port, client_id=f"bench-{uuid.uuid4().hex[:8]}", session_expiry_s=60
        )
        stream.open()
        result: mp.Queue = mp.get_context("spawn").Queue()  # type: ignore[type-arg]
        publisher = mp.get_context("spawn").Process(
            target=_publish,
            args=(port, args.stream_characteristics, args.messages, args.seed, result),
        )
        publisher.start()
        rows = batches = subgroups = rejected = 0
        feed_s = 0.0
        try:
            for batch in stream.batches(max_messages=args.messages):
                f0 = time.monotonic()
                step = watch.feed(batch.frame)
                feed_s += time.monotonic() - f0
                rows += step.measurements
                batches += 1
                subgroups += step.subgroups
                rejected += len(step.rejected) + len(batch.rejected)
            done = time.monotonic()
        finally:
            stream.close()
        publisher.join()
        sent, publish_s, began = result.get()
        wall = done - began
    finally:
        broker.send_signal(signal.SIGTERM)
        broker.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"\n== MQTT end to end: {sent:,} messages x 50 measurements, QoS 1, private mosquitto, "
        f"publisher in another process"
    )
    print(
        f"consumed {rows:,} measurements in {batches} batches, {wall:.1f} s from the first "
        f"publish to the last feed = {rows / wall:,.0f} measurements/s ({feed_s:.1f} s in watch.feed, "
        f"{subgroups:,} subgroups judged, {rejected} rejected); the publisher alone "
        f"{publish_s:.1f} s = {sent * 50 / publish_s:,.0f} measurements/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--characteristics", type=int, default=10_000)
    parser.add_argument("--subgroups", type=int, default=1_000)
    parser.add_argument("--size", type=int, default=5)
    parser.add_argument(
        "--reference", type=int, default=100, help="characteristics the qcc loop runs"
    )
    parser.add_argument("--stream-characteristics", type=int, default=1_000)
    parser.add_argument("--stream-rows", type=int, default=200_000)
    parser.add_argument("--messages", type=int, default=4_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--skip-stream", action="store_true")
    parser.add_argument("--skip-mqtt", action="store_true")
    args = parser.parse_args()
    print(machine())
    if not args.skip_batch:
        run_batch(args)
    if not (args.skip_stream and args.skip_mqtt):
        charts, chars, phase1_s = build_watch(args.stream_characteristics, args.seed)
        print(
            f"\nwatch Phase I for {args.stream_characteristics:,} characteristics: {phase1_s:.2f} s"
        )
        if not args.skip_stream:
            run_stream(args, charts, chars)
        if not args.skip_mqtt:
            run_mqtt(args, charts, chars)
    print(
        "\nplant rates for comparison: a line of 60 stations x 10 characteristics at one part a "
        "minute = 10 measurements/s; a big plant ~1,000 measurements/s"
    )
    print(f"peak RSS {rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
