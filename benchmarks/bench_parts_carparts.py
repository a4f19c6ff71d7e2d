"""Parts forecasting on real data: the carparts benchmark (2,674 monthly series).

Run: .venv/bin/python benchmarks/bench_parts_carparts.py [--data ../shared/data/carparts] [--plot out.png]
The standard split: the last 12 months of each complete series are the test
horizon, the 39 before it the history (Hyndman et al. 2008, ``expsmooth``).
Every method forecasts the 12 months from the one origin:

* baselines: zero, naive (last value), historic average;
* statsforecast: Croston, SBA, TSB(0.1, 0.1), ADIDA, IMAPA, AutoETS;
* drivetrain's class-based choice (``auto``: each series' ADI/CV2 class picks
  its model, classes from the history only).

Accuracy is reported as sMAE, RMSSE, scaled bias and RMSE (MASE-type measures
alone would crown the zero forecast). The inventory outcome is what decides:
for each method and target cycle service level, each series gets an (R=1, L=1)
order-up-to level from drivetrain.parts.inventory (bootstrap of its history,
rescaled to the method's forecast), the policy is replayed over the 12 test
months, and the achieved fill rate is set against the average units on hand.
Prints the tables (markdown) for docs/parts.md; ``--plot`` draws the
service-vs-stock trade-off curves.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import polars as pl

from drivetrain.parts.backtest import backtest, score
from drivetrain.parts.demand import prepare_demand
from drivetrain.parts.inventory import StockingTerms, bootstrap_demand, policy_for, simulate_policy

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared/data/carparts"
METHODS = ["Zero", "Naive", "HistoricAverage", "CrostonClassic", "CrostonSBA", "TSB", "ADIDA",
           "IMAPA", "AutoETS", "auto"]  # fmt: skip
TARGETS = (0.80, 0.90, 0.95, 0.99)
TERMS = StockingTerms(lead_time=1, review_period=1)


def load(data: Path) -> pl.DataFrame:
    raw = pl.read_csv(data / "carparts_long.csv", schema_overrides={"unique_id": pl.String})
    complete = raw.group_by("unique_id").agg(pl.col("y").null_count().alias("nulls"))
    keep = complete.filter(pl.col("nulls") == 0)["unique_id"]
    return raw.filter(pl.col("unique_id").is_in(keep.implode())).rename({"month": "ds"})


def service(history: pl.DataFrame, preds: pl.DataFrame, targets: tuple[float, ...]) -> pl.DataFrame:
    """Per method and target: mean achieved fill rate and cycle service, mean units on hand."""
    rng = np.random.default_rng(7)
    hist = {k[0]: g["y"].to_numpy() for k, g in history.sort("ds").group_by("unique_id")}
    rows = []
    for (model, uid), g in preds.sort("ds").group_by("model", "unique_id"):
        past = hist[str(uid)]
        mean = float(g["forecast"][:2].mean())  # L + R = 2 periods
        lt = bootstrap_demand(past, TERMS.lead_time, mean=mean, rng=rng, draws=1000)
        ltr = bootstrap_demand(past, TERMS.lead_time + TERMS.review_period, mean=mean, rng=rng,
                               draws=1000)  # fmt: skip
        actual = g["y"].to_numpy()
        for target in targets:
            policy = policy_for(lt, ltr, mean * TERMS.review_period, TERMS, target=target)
            fill, cycle, on_hand = simulate_policy(actual, policy.order_up_to, TERMS)
            rows.append((model, target, fill, cycle, on_hand))
    frame = pl.DataFrame(
        rows, schema=["model", "target", "fill_rate", "cycle_service", "on_hand"], orient="row"
    )
    return (
        frame.group_by("model", "target")
        .agg(pl.col("fill_rate").mean(), pl.col("cycle_service").mean(), pl.col("on_hand").mean())
        .sort("model", "target")
    )


def markdown(frame: pl.DataFrame, digits: int = 3) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = [
        "| " + " | ".join(f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row) + " |"
        for row in frame.iter_rows()
    ]
    return "\n".join([head, rule, *body])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()
    df = load(args.data)
    prepared = prepare_demand(df, freq=1)
    t0 = time.perf_counter()
    result = backtest(prepared.series, METHODS, h=12, n_windows=1, freq=1)
    elapsed = time.perf_counter() - t0
    print(f"{prepared.report.series:,} complete series; backtest of {len(METHODS)} methods "
          f"in {elapsed:.1f} s; {len(result.skipped)} skipped")  # fmt: skip
    accuracy = score(result).select("model", "smae", "rmsse", "sbias", "rmse", "total_bias")
    print(markdown(accuracy.sort("rmse")))
    history = prepared.series.join(
        result.predictions.select("unique_id", "cutoff").unique(), on="unique_id"
    ).filter(pl.col("ds") <= pl.col("cutoff"))
    t0 = time.perf_counter()
    outcome = service(history, result.predictions, TARGETS)
    print(f"inventory replay in {time.perf_counter() - t0:.1f} s")
    print(markdown(outcome.filter(pl.col("target") == 0.95).sort("on_hand")))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4.5))
        for (model,), g in outcome.sort("target").group_by("model", maintain_order=True):
            if model == "Zero":
                continue
            ax.plot(g["on_hand"], g["fill_rate"], marker="o", label=str(model))
        ax.set_xlabel("average units on hand per series")
        ax.set_ylabel("achieved fill rate")
        ax.set_title("carparts, last 12 months: service achieved per unit of stock")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
