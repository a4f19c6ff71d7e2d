"""Fleet health scan throughput: telemetry rows per second through the whole scan.

Run: .venv/bin/python benchmarks/bench_health_scan.py [--vehicles N --days D --keep DIR]
Simulates N vehicles × D days into a scratch lake (or reuses ``--keep DIR`` if
it already holds one), then runs ``fleet_scan`` as a fleet analyst scoped to
every brand and the eu, us, kr and ca regions (China-resident vehicles are
withheld by residency, as in production): one governed read per day, daily
condition indicators, anomaly detection, remaining life and ranking. Prints the
rows read, wall time, rows/s and peak RSS; record them in docs/performance.md.
"""

from __future__ import annotations

import argparse
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

from drivetrain.demo import SimulationConfig, simulate_fleet
from drivetrain.demo.simulator import plan_fleet
from drivetrain.governance.access import AccessContext
from drivetrain.governance.principals import Principal
from drivetrain.health.scan import fleet_scan
from drivetrain.lake import Lake

ANALYST = Principal.of(
    "bench", roles=["fleet_analyst"], brands=["*"], regions=["eu", "us", "kr", "ca"], country="DE"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--keep", type=Path, default=None, help="lake directory to reuse")
    args = parser.parse_args()
    config = SimulationConfig(vehicles=args.vehicles, days=args.days, seed=7, fault_rate=0.2)
    root = args.keep or Path(tempfile.mkdtemp(prefix="dt-health-"))
    try:
        lake = Lake(root)
        if not lake.exists("telemetry"):
            began = time.perf_counter()
            simulate_fleet(config, lake)
            print(f"simulated {args.vehicles} × {args.days} in {time.perf_counter() - began:.0f} s")
        fleet, _, _ = plan_fleet(config)
        began = time.perf_counter()
        report = fleet_scan(lake, AccessContext(ANALYST, "vehicle_health"), fleet.records)
        wall = time.perf_counter() - began
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        print(
            f"machine: {platform.machine()}, python {platform.python_version()}\n"
            f"scan of {report.vehicles} vehicles × {report.days} days: {report.rows_read:,} rows "
            f"in {wall:.1f} s = {report.rows_read / wall:,.0f} rows/s, "
            f"{report.detection.anomalies.height} anomalies, peak RSS {rss:.2f} GiB"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
