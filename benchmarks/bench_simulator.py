"""Fleet simulator throughput: signal rows per second into the lake.

Run: .venv/bin/python benchmarks/bench_simulator.py [--vehicles N --days D ...]
Default: the demo fleet (200 vehicles × 30 days) and a 10,000-vehicle fleet
(fewer days, same per-day work per vehicle). Prints one line per case and the
rows/s; record the figures in docs/performance.md with the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from drivetrain.demo import SimulationConfig, simulate_fleet
from drivetrain.lake import Lake


def run(vehicles: int, days: int, period: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="dt-bench-"))
    try:
        began = time.perf_counter()
        report = simulate_fleet(
            SimulationConfig(vehicles=vehicles, days=days, period_s=period), Lake(root)
        )
        wall = time.perf_counter() - began
        rows = report.rows["telemetry"]
        size = sum(f.stat().st_size for f in root.rglob("*.parquet")) / 2**20
        print(
            f"{vehicles:>6} vehicles × {days:>2} days @ {period:>2} s: "
            f"{rows:>12,} signal rows in {wall:6.1f} s = {rows / wall:>10,.0f} rows/s; "
            f"{report.rows['trips']:,} trips, {report.rows['dtc_events']:,} DTCs, {size:,.0f} MiB"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vehicles", type=int)
    parser.add_argument("--days", type=int)
    parser.add_argument("--period", type=int, default=10)
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    if args.vehicles:
        run(args.vehicles, args.days or 30, args.period)
        return
    run(200, 30, args.period)
    run(10_000, 3, args.period)


if __name__ == "__main__":
    main()
