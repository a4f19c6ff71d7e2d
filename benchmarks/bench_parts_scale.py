"""Parts forecasting at network scale: 100,000 part x location series on this machine.

Run: .venv/bin/python benchmarks/bench_parts_scale.py [--series 100000] [--months 48] [--h 12]
Generates intermittent monthly demand (a seeded compound Bernoulli-Poisson
mixture spanning the four demand classes), then times drivetrain's path -
``prepare_demand`` (validation and completion), ``classify`` (ADI/CV2) and
``forecast_by_class`` (each class's statsforecast model) - with n_jobs 1 and 2,
and the same models run directly through ``statsforecast`` (one
``StatsForecast.forecast`` over every series with IMAPA, CrostonSBA and AutoETS)
with n_jobs 1 and 2. Prints series/s and total seconds; record them in
docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

import numpy as np
import polars as pl
from statsforecast import StatsForecast
from statsforecast.models import IMAPA, AutoETS, CrostonSBA

from drivetrain.parts.classify import classify
from drivetrain.parts.demand import prepare_demand
from drivetrain.parts.forecast import forecast_by_class


def demand(series: int, months: int, seed: int = 0) -> pl.DataFrame:
    """Per series a demand probability and a size: smooth to lumpy."""
    rng = np.random.default_rng(seed)
    p = rng.beta(0.8, 1.6, series)  # share of months with demand
    size = rng.gamma(1.2, 2.0, series) + 0.3
    spread = rng.choice([1.0, 8.0], series, p=[0.7, 0.3])  # 30 % with widely varying sizes
    occurs = rng.random((series, months)) < p[:, None]
    sizes = 1 + rng.negative_binomial(1 / spread[:, None], 1 / (1 + size[:, None] * spread[:, None]), (series, months))
    y = np.where(occurs, sizes, 0).astype(np.float64)
    return pl.DataFrame(
        {
            "unique_id": np.repeat([f"P{i:06d}@D{i % 400:03d}" for i in range(series)], months),
            "ds": np.tile(np.arange(months, dtype=np.int64), series),
            "y": y.ravel(),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--h", type=int, default=12)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    df = demand(args.series, args.months)
    print(f"{args.series:,} series x {args.months} months = {df.height:,} rows, h={args.h}")
    for n_jobs in (1, 2):
        t0 = time.perf_counter()
        prepared = prepare_demand(df, freq=1)
        t1 = time.perf_counter()
        classes = classify(prepared.series)
        t2 = time.perf_counter()
        out = forecast_by_class(prepared.series, classes, h=args.h, freq=1, n_jobs=n_jobs)
        t3 = time.perf_counter()
        total = t3 - t0
        mix = dict(classes["class"].value_counts().iter_rows())
        print(
            f"drivetrain n_jobs={n_jobs}: prepare {t1 - t0:.1f} s, classify {t2 - t1:.1f} s, "
            f"forecast {t3 - t2:.1f} s, total {total:.1f} s = {args.series / total:,.0f} series/s "
            f"({out.height:,} forecast rows; classes {mix})"
        )
    runs = {"IMAPA": [IMAPA()], "IMAPA+CrostonSBA+AutoETS": [IMAPA(), CrostonSBA(), AutoETS()]}
    for label, models in runs.items():
        for n_jobs in (1, 2):
            t0 = time.perf_counter()
            wide = StatsForecast(models=models, freq=1, n_jobs=n_jobs).forecast(df=df, h=args.h)
            total = time.perf_counter() - t0
            print(
                f"statsforecast n_jobs={n_jobs}, {label} on every series: "
                f"{total:.1f} s = {args.series / total:,.0f} series/s ({wide.height:,} rows)"
            )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss:,.0f} MB")


if __name__ == "__main__":
    main()
