"""Charging planner against the naive "charge below 20 % to 80 %" baseline (issue #11, part 5).

Run: .venv/bin/python benchmarks/bench_charging.py [--trips 200] [--seed 0] [--network-seed 0]

On the seeded European-style network (``generate_road_network``), ``--trips``
generated trips (250-1,000 km between cities, 40-100 % starting charge, -10 to
30 °C, departures 06:00-18:00, five BEV models) are planned by both strategies
with the same energy, charging-curve and availability models. Reported: total
trip time (driving + expected waiting + charging) of each, the planner's gain
on the trips where both arrive (mean, median, share improved, any trip where the
planner is later), the trips where the baseline strands, a per-vehicle table,
the planner's latency (p50/p95), and — on the first ``--gap-trips`` trips — how
much the 5 % charge grid costs against a 1 % grid.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date

import numpy as np
import polars as pl

from drivetrain.cockpit.charging import (
    compare_strategies,
    generate_road_network,
    generate_trips,
    plan_route,
    summarise_comparison,
)
from drivetrain.cockpit.charging.planner import DEFAULT_STEP_PCT


def _minutes(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 60:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trips", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0, help="seed of the trips")
    parser.add_argument("--network-seed", type=int, default=0)
    parser.add_argument("--gap-trips", type=int, default=30)
    args = parser.parse_args()

    started = time.perf_counter()
    network = generate_road_network(args.network_seed)
    trips = generate_trips(network, args.trips, seed=args.seed)
    table = compare_strategies(network, trips)
    summary = summarise_comparison(table)
    elapsed = time.perf_counter() - started

    print(f"# bench_charging — {date.today()} on {platform.node()} ({os.cpu_count()} CPUs, "
          f"{platform.python_implementation()} {platform.python_version()})")  # fmt: skip
    print(f"network {network!r} version {network.version}; {len(trips)} trips (seed {args.seed})")
    print(f"planner: label-setting, {DEFAULT_STEP_PCT:g} % charge grid; total run {elapsed:.0f} s")
    print()
    print("| | planner | baseline |")
    print("|---|---|---|")
    both = table.filter(pl.col("planner_ok") & pl.col("baseline_ok"))
    for label, column in (("total trip time, mean (min)", "total_s"),
                          ("charging, mean (min)", "charge_s"),
                          ("expected waiting, mean (min)", "wait_s")):  # fmt: skip
        p = both[f"planner_{column}"].mean()
        b = both[f"baseline_{column}"].mean()
        print(f"| {label}, both arrive | {_minutes(p)} | {_minutes(b)} |")  # type: ignore[arg-type]
    print(f"| stops, mean | {summary['planner_stops_mean']:.2f} | "
          f"{summary['baseline_stops_mean']:.2f} |")  # fmt: skip
    cost_p, cost_b = both["planner_cost_eur"].mean(), both["baseline_cost_eur"].mean()
    print(f"| charging cost, mean (EUR) | {cost_p:.2f} | {cost_b:.2f} |")
    print(f"| trips that arrive | {table.height - summary['planner_fails']} / {table.height} | "
          f"{table.height - summary['baseline_fails']} / {table.height} |")  # fmt: skip
    print()
    print(f"- gain on the {summary['both_arrive']} trips both finish: mean "
          f"{summary['mean_gain_min']:.1f} min ({summary['mean_gain_pct']:.1f} %), median "
          f"{summary['median_gain_min']:.1f} min; improved on {summary['improved_pct']:.0f} %; "
          f"later than the baseline on {summary['later_than_baseline']} (worst gain "
          f"{summary['worst_gain_s']:.1f} s)")  # fmt: skip
    print(f"- the baseline strands on {summary['baseline_fails']} trips "
          f"({summary['baseline_fails_planner_arrives']} of which the planner completes); the "
          f"planner finds no plan on {summary['planner_fails']}")  # fmt: skip
    print(f"- planner latency p50 {summary['latency_p50_ms']:.0f} ms, "
          f"p95 {summary['latency_p95_ms']:.0f} ms")  # fmt: skip
    print()
    print("| vehicle | trips both arrive | planner (min) | baseline (min) | gain (min) | "
          "baseline strands |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    per = (
        table.group_by("vehicle")
        .agg(
            (pl.col("planner_ok") & pl.col("baseline_ok")).sum().alias("both"),
            pl.col("planner_total_s").filter(pl.col("baseline_ok")).mean().alias("p"),
            pl.col("baseline_total_s").filter(pl.col("planner_ok")).mean().alias("b"),
            pl.col("gain_s").mean().alias("g"),
            (~pl.col("baseline_ok")).sum().alias("fails"),
        )
        .sort("vehicle")
    )
    for row in per.iter_rows(named=True):
        print(f"| {row['vehicle']} | {row['both']} | {_minutes(row['p'])} | {_minutes(row['b'])} | "
              f"{_minutes(row['g'])} | {row['fails']} |")  # fmt: skip
    if args.gap_trips:
        gaps = []
        for trip in trips[: args.gap_trips]:
            coarse = plan_route(network, trip).total_s
            fine = plan_route(network, trip, soc_step_pct=1.0).total_s
            gaps.append(coarse - fine)
        gap = np.array(gaps)
        print()
        print(f"- {DEFAULT_STEP_PCT:g} % grid against a 1 % grid on {len(gap)} trips: mean "
              f"{gap.mean():.1f} s slower, worst {gap.max():.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
