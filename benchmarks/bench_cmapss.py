"""Remaining useful life on NASA C-MAPSS FD001: RMSE, PHM08 score, interval coverage, time.

Run: .venv/bin/python benchmarks/bench_cmapss.py [--data DIR --seeds 0,1,2 --threads N
     --compare --heldout]
Fits ``RulModel`` on the 100 run-to-failure engines of ``train_FD001.txt``,
predicts the RUL at the last cycle of the 100 engines of ``test_FD001.txt`` and
scores it against ``RUL_FD001.txt`` (the true, uncapped RUL), next to published
results on the same 100 engines. ``--compare`` also fits random forests (raw
readings, and the same features as the model); ``--heldout`` measures the
interval's coverage on training engines held out in 5 folds, cut at every
5th cycle. The data is read in place (default ../shared/data/cmapss beside the
repository); record the output in docs/performance.md and docs/health.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import sklearn
from sklearn.ensemble import RandomForestRegressor
from threadpoolctl import threadpool_limits

from drivetrain.health.cmapss import SENSORS, SETTINGS, read_cmapss, read_cmapss_rul
from drivetrain.health.rul import RulModel, compute_rul_features, feature_names
from drivetrain.health.rul_metrics import interval_coverage, phm08_score, rmse

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared/data/cmapss"

# RMSE and PHM08 score on the 100 FD001 test engines, as reported by the authors.
PUBLISHED = (
    ("CNN, Babu et al. 2016", 18.45, 1287),
    ("random forest, in Zhang et al. 2017", 17.91, 480),
    ("deep LSTM, Zheng et al. 2017", 16.14, 338),
    ("deep CNN, Li et al. 2018", 12.61, 274),
)


def score_run(train: pa.Table, test: pa.Table, truth: np.ndarray, seed: int) -> dict[str, float]:
    began = time.perf_counter()
    model = RulModel(seed=seed).fit(train, unit="unit", time="cycle")
    fitted = time.perf_counter()
    out = model.predict(test)
    predicted = time.perf_counter()
    assert out.column("unit").to_pylist() == list(range(1, len(truth) + 1))
    assert set(out.column("status").to_pylist()) == {"ok"}
    rul = out.column("rul").to_numpy()
    low, high = out.column("low").to_numpy(), out.column("high").to_numpy()
    return {
        "rmse": rmse(rul, truth),
        "rmse_capped": rmse(rul, np.minimum(truth, model.cap)),
        "phm08": phm08_score(rul, truth),
        "coverage": interval_coverage(low, high, truth),
        "width": float(np.mean(np.minimum(high, model.cap) - low)),
        "open": float(np.isinf(high).sum()),
        "fit_s": fitted - began,
        "predict_s": predicted - fitted,
    }


def compare_forests(train: pa.Table, test: pa.Table, truth: np.ndarray) -> None:
    """Random forests with scikit-learn defaults: raw readings, then the model's features."""
    model = RulModel().fit(train, unit="unit", time="cycle")
    raw = [c for c in (*SETTINGS, *SENSORS) if c in model.columns]
    rows = pl.from_arrow(train)
    assert isinstance(rows, pl.DataFrame)
    target = (pl.col("cycle").max().over("unit") - pl.col("cycle")).clip(upper_bound=125)
    rows = rows.with_columns(target.alias("target"))
    last = pl.from_arrow(test)
    assert isinstance(last, pl.DataFrame)
    last = last.filter(pl.col("cycle") == pl.col("cycle").max().over("unit")).sort("unit")
    cases = [("random forest, raw readings of the cycle", raw, rows, last)]
    names = feature_names(model.columns, baseline=model.baseline)
    featured = compute_rul_features(
        rows,
        unit="unit",
        time="cycle",
        columns=model.columns,
        window=model.window,
        baseline=model.baseline,
    ).filter(pl.col("__row") >= model.min_cycles - 1)
    test_features = compute_rul_features(
        test,
        unit="unit",
        time="cycle",
        columns=model.columns,
        window=model.window,
        baseline=model.baseline,
    ).filter(pl.col("__row") == pl.len().over("unit") - 1)
    cases.append(("random forest, RulModel's features", names, featured, test_features))
    for label, columns, fit_rows, score_rows in cases:
        forest = RandomForestRegressor(random_state=0, n_jobs=-1)
        began = time.perf_counter()
        forest.fit(fit_rows.select(columns).to_numpy(), fit_rows["target"].to_numpy())
        took = time.perf_counter() - began
        rul = forest.predict(score_rows.sort("unit").select(columns).to_numpy())
        print(
            f"  {label:44s} RMSE {rmse(rul, truth):6.2f}  PHM08 {phm08_score(rul, truth):7.0f}"
            f"  fit {took:5.1f} s"
        )


def heldout_coverage(train: pa.Table) -> None:
    """Coverage on training engines held out in 5 folds, cut at every 5th cycle."""
    rows = pl.from_arrow(train)
    assert isinstance(rows, pl.DataFrame)
    units = np.random.default_rng(42).permutation(rows["unit"].unique().sort().to_numpy())
    inside, near, rul_error = [], [], []
    for fold in np.array_split(units, 5):
        model = RulModel().fit(rows.filter(~pl.col("unit").is_in(fold)), unit="unit", time="cycle")
        cuts, truth = [], []
        for u in fold:
            history = rows.filter(pl.col("unit") == u)
            for k in range(model.min_cycles, history.height + 1, 5):
                cut_id = int(u) * 10_000 + k
                cuts.append(history.head(k).with_columns(pl.lit(cut_id).alias("unit")))
                truth.append((cut_id, history.height - k))
        out = model.predict(pl.concat(cuts))
        true = dict(truth)
        actual = np.array([true[u] for u in out.column("unit").to_pylist()], dtype=float)
        low, high = out.column("low").to_numpy(), out.column("high").to_numpy()
        hit = (actual >= low) & (actual <= high)
        inside.append(hit)
        near.append(hit[actual < model.cap])
        close = actual < model.cap
        rul_error.append(out.column("rul").to_numpy()[close] - actual[close])
    print(
        f"  held-out training engines, 5 folds, every 5th cycle: coverage "
        f"{np.concatenate(inside).mean():.3f} over {sum(map(len, inside)):,} cuts, "
        f"{np.concatenate(near).mean():.3f} on the {sum(map(len, near)):,} within 125 cycles "
        f"of failure (RMSE there {np.sqrt(np.mean(np.concatenate(rul_error) ** 2)):.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", default="0", help="comma-separated, e.g. 0,1,2,3,4")
    parser.add_argument("--compare", action="store_true", help="also fit random forests")
    parser.add_argument("--heldout", action="store_true", help="coverage on held-out engines")
    parser.add_argument("--threads", type=int, help="OpenMP/BLAS threads (default: all cores)")
    args = parser.parse_args()
    with threadpool_limits(limits=args.threads) if args.threads else contextlib.nullcontext():
        run(args)


def run(args: argparse.Namespace) -> None:
    train = read_cmapss(args.data / "train_FD001.txt")
    test = read_cmapss(args.data / "test_FD001.txt")
    truth = read_cmapss_rul(args.data / "RUL_FD001.txt").column("rul").to_numpy().astype(float)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, scikit-learn {sklearn.__version__}, "
        f"threads {args.threads or 'all'}"
    )
    print(
        f"FD001: {train.num_rows:,} training rows, {test.num_rows:,} test rows, 100 + 100 engines"
    )
    runs = []
    for seed in (int(s) for s in args.seeds.split(",")):
        r = score_run(train, test, truth, seed)
        runs.append(r)
        print(
            f"  seed {seed}: RMSE {r['rmse']:.2f} (vs capped truth {r['rmse_capped']:.2f})  "
            f"PHM08 {r['phm08']:.0f}  80 % interval coverage {r['coverage']:.2f} "
            f"(mean width {r['width']:.1f} below the cap, {r['open']:.0f} open-ended)  "
            f"fit {r['fit_s']:.2f} s  predict {r['predict_s'] * 1000:.0f} ms"
        )
    if len(runs) > 1:
        summary = "  mean: " + "  ".join(
            f"{k} {statistics.mean(r[k] for r in runs):.3g}" for k in ("rmse", "phm08", "coverage")
        )
        fit_times = sorted(r["fit_s"] for r in runs)
        print(
            f"{summary}  fit best {fit_times[0]:.2f} s, median {statistics.median(fit_times):.2f} s"
        )
    print("published, same 100 test engines (RMSE, PHM08):")
    for label, published_rmse, published_score in PUBLISHED:
        print(f"  {label:44s} RMSE {published_rmse:6.2f}  PHM08 {published_score:7.0f}")
    if args.compare:
        compare_forests(train, test, truth)
    if args.heldout:
        heldout_coverage(train)


if __name__ == "__main__":
    main()
