"""Fleet-informed versus history-only forecasts on the simulated parts network (issue #8).

Run: .venv/bin/python benchmarks/bench_parts_network.py [--jobs N] [--scenario wave|nowave|both]

Two scenarios of drivetrain.demo's parts network (36 months of history):

* ``wave``: the default warranty history (a thermostat supplier defect, so a
  failure wave of TH-1004 at the Fiat Tipo dealers) and the default brake-caliper
  recall (BRK-CAL-FL); the fleet signal learns of each when it is announced;
* ``nowave``: no defect and no campaign: nothing for the fleet to foresee beyond
  maintenance and wear.

A rolling-origin backtest (h = 3 months, origins 3 months apart, at least 12
months of history before the first) forecasts with Naive, HistoricAverage, IMAPA
and drivetrain's class-based ``auto``; ``auto+fleet`` is ``auto`` plus the
change the fleet signal foresees, each origin seeing only the signal vintage
issued by its cutoff. Accuracy: RMSE, RMSSE, sMAE, scaled bias.

Service versus stock: at each origin every series gets the (R=1, L) order-up-to
level S of ``plan_stock`` for a 95 % cycle-service target (the bootstrap of the
history up to the cutoff, rescaled to the forecast's rate over L + R months),
and the policy is replayed over the 3 test months from S on the shelf. The test
months never enter S; the same forecast gives the same S (one seed per series).
A forecast that removes an under-forecasting bias buys service with stock at
one target, so auto and auto+fleet are also replayed at further targets
(``CURVE``): the service-versus-stock curves decide which holds less stock for
the same service. A per-part table lists the parts auto+fleet makes worse.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import date

import polars as pl

from drivetrain.demo.parts_generator import PartsConfig, generate_parts_network
from drivetrain.demo.warranty_generator import WarrantyConfig, generate_warranty
from drivetrain.parts.backtest import Backtest, backtest, score, series_scores
from drivetrain.parts.data import PartsData, demand_series, signal_series, stocking_terms
from drivetrain.parts.fleet_demand import informed_backtest
from drivetrain.parts.inventory import StockingTerms, simulate_policy
from drivetrain.parts.plan import plan_stock

MODELS = ["Naive", "HistoricAverage", "IMAPA", "auto"]
FLEET = "auto+fleet"
H, STEP, MIN_HISTORY = 3, 3, 12  # months
TARGET = 0.95  # cycle service
CURVE = (0.90, 0.97, 0.99)  # further targets, for auto and auto+fleet: service at equal stock
REVIEW = 1
WAVE_PARTS = ("TH-1004", "BRK-CAL-FL")
GROUPS = ("wave parts", "other parts", "all")
SCENARIOS = {"wave": "wave (thermostat defect + brake-caliper recall)", "nowave": "no wave"}


def network(scenario: str) -> PartsData:
    """The simulated network of a scenario, as the planner's tables."""
    if scenario == "wave":
        history, config = generate_warranty(WarrantyConfig()), PartsConfig()
    else:
        history, config = generate_warranty(WarrantyConfig(defect=None)), PartsConfig(campaign=None)
    net = generate_parts_network(history, config)
    return PartsData(
        parts=net.parts,
        locations=net.locations,
        demand=net.demand,
        signal=net.vintages,
        versions={},
    )


def windows(months: int) -> int:
    """The most origins STEP apart whose tests fit, with MIN_HISTORY months before the first."""
    return (months - MIN_HISTORY - H) // STEP + 1


def group_of() -> pl.Expr:
    wave = pl.any_horizontal(pl.col("unique_id").str.starts_with(p + "@") for p in WAVE_PARTS)
    return pl.when(wave).then(pl.lit("wave parts")).otherwise(pl.lit("other parts")).alias("group")


def by_group(frame: pl.DataFrame) -> list[tuple[str, pl.DataFrame]]:
    """The rows of each group of GROUPS (``all``: every row)."""
    tagged = frame.with_columns(group_of())
    return [(g, tagged if g == "all" else tagged.filter(pl.col("group") == g)) for g in GROUPS]


def ordered(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows by group (in GROUPS order), then model."""
    rank = pl.col("group").replace_strict(
        {g: i for i, g in enumerate(GROUPS)}, return_dtype=pl.Int8
    )
    return frame.sort(rank, "model", maintain_order=True)


def accuracy(result: Backtest) -> pl.DataFrame:
    rows = []
    for group, sub in by_group(result.predictions):
        part = Backtest(sub.drop("group"), result.scales, (), result.h, result.n_windows,
                        result.step_size)  # fmt: skip
        rows.append(score(part).with_columns(pl.lit(group).alias("group")))
    cols = ["group", "model", "series_origins", "rmse", "rmsse", "smae", "sbias"]
    return ordered(pl.concat(rows).select(cols))


def replay(
    series: pl.DataFrame, result: Backtest, terms: pl.DataFrame, target: float, models: list[str]
) -> pl.DataFrame:
    """Per model, origin and series: S from the origin's forecast, replayed on the test months."""
    info = {uid: (lt, cost) for uid, lt, cost in terms.select("unique_id", "lead_time",
                                                              "unit_cost").iter_rows()}  # fmt: skip
    preds = result.predictions.filter(pl.col("model").is_in(models))
    rows = []
    for cutoff in preds["cutoff"].unique().sort():
        at = preds.filter(pl.col("cutoff") == cutoff)
        history = series.filter(pl.col("ds") <= cutoff)  # nothing of the test months
        for (model,), g in at.group_by("model"):
            forecast = g.select("unique_id", "ds", pl.col("forecast").alias("mean"))
            ids = forecast["unique_id"].unique().implode()
            plan = plan_stock(
                history.filter(pl.col("unique_id").is_in(ids)), forecast,
                terms.filter(pl.col("unique_id").is_in(ids)), target=target, seed=0,
            )  # fmt: skip
            levels = dict(plan.select("unique_id", "order_up_to").iter_rows())
            actual = g.sort("ds").group_by("unique_id").agg(pl.col("y"))
            for uid, y in actual.iter_rows():
                lead, cost = info[uid]
                s_level = levels[uid]
                fill, cycle, on_hand = simulate_policy(
                    pl.Series(y).to_numpy(), s_level, StockingTerms(lead, REVIEW, cost)
                )
                demand = float(sum(y))
                rows.append((str(model), target, cutoff, uid, fill, cycle, on_hand,
                             on_hand * cost, fill * demand, demand))  # fmt: skip
    schema = ["model", "target", "cutoff", "unique_id", "fill_rate", "cycle_service", "on_hand",
              "stock_value", "met", "demand"]  # fmt: skip
    return pl.DataFrame(rows, schema=schema, orient="row")


def service(outcome: pl.DataFrame) -> pl.DataFrame:
    """Per group, model and target: achieved service, units on hand, stock value."""
    rows = []
    for group, sub in by_group(outcome):
        origins = sub["cutoff"].n_unique()
        rows.append(
            sub.group_by("model", "target")
            .agg(
                pl.len().alias("series_origins"),
                pl.col("fill_rate").mean(),
                (pl.col("met").sum() / pl.col("demand").sum()).alias("unit_fill"),
                pl.col("cycle_service").mean(),
                pl.col("on_hand").mean(),
                (pl.col("stock_value").sum() / origins).alias("stock_value"),
            )
            .with_columns(pl.lit(group).alias("group"))
        )
    cols = ["group", "model", "target", "series_origins", "fill_rate", "unit_fill",
            "cycle_service", "on_hand", "stock_value"]  # fmt: skip
    return ordered(pl.concat(rows).select(cols).sort("target"))


def versus(acc: pl.DataFrame, srv: pl.DataFrame) -> pl.DataFrame:
    """auto+fleet against auto, per group: relative change (%) or change in points."""
    both = acc.join(srv.drop("series_origins", "target"), on=["group", "model"])
    base = both.filter(pl.col("model") == "auto").drop("model")
    fleet = both.filter(pl.col("model") == FLEET).drop("model")
    j = base.join(fleet, on="group", suffix="_f")

    def pct(c: str) -> pl.Expr:
        return (100 * (pl.col(f"{c}_f") / pl.col(c) - 1)).alias(f"{c} %")

    def pts(c: str) -> pl.Expr:
        return (100 * (pl.col(f"{c}_f") - pl.col(c))).alias(f"{c} pts")

    return ordered(j.with_columns(pl.lit(FLEET).alias("model"))).select(
        "group", pct("rmse"), pct("rmsse"), pct("smae"),
        (pl.col("sbias_f") - pl.col("sbias")).alias("sbias diff"), pts("fill_rate"),
        pts("unit_fill"), pts("cycle_service"), pct("stock_value"),
    )  # fmt: skip


def per_part(result: Backtest) -> tuple[pl.DataFrame, str]:
    """auto+fleet against auto per part number: the wave parts and every part it makes worse."""
    s = series_scores(result).filter(pl.col("model").is_in(["auto", FLEET]))
    s = s.with_columns(pl.col("unique_id").str.splitn("@", 2).struct.field("field_0").alias("part"))
    t = s.group_by("part", "model").agg(
        pl.col("mse").mean().sqrt().alias("rmse"), pl.col("rmsse").mean()
    )
    w = t.filter(pl.col("model") == "auto").join(t.filter(pl.col("model") == FLEET), on="part")
    w = w.select(
        "part", "rmse", pl.col("rmse_right").alias("rmse fleet"),
        (100 * (pl.col("rmse_right") / pl.col("rmse") - 1)).alias("rmse %"),
        (100 * (pl.col("rmsse_right") / pl.col("rmsse") - 1)).alias("rmsse %"),
    ).sort("rmse %")  # fmt: skip
    d = w["rmse %"]
    tally = (f"{FLEET} against auto, RMSE per part number: better by > 1 % on "
             f"{int((d < -1).sum())} of {w.height}, within 1 % on {int((d.abs() <= 1).sum())}, "
             f"worse by > 1 % on {int((d > 1).sum())}")  # fmt: skip
    return w.filter(pl.col("part").is_in(WAVE_PARTS) | (pl.col("rmse %") > 1)), tally


def markdown(frame: pl.DataFrame, digits: int = 3) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = [
        "| " + " | ".join(f"{v:.{digits}f}" if isinstance(v, float) else str(v) for v in row) + " |"
        for row in frame.iter_rows()
    ]
    return "\n".join([head, rule, *body])


def run(scenario: str, jobs: int) -> None:
    t0 = time.perf_counter()
    data = network(scenario)
    prepared = demand_series(data)
    series = prepared.series
    months = series["ds"].n_unique()
    n_windows = windows(months)
    t1 = time.perf_counter()
    result = backtest(series, MODELS, h=H, n_windows=n_windows, step_size=STEP, n_jobs=jobs)
    result = informed_backtest(result, series, signal_series(data), n_jobs=jobs)
    t2 = time.perf_counter()
    ids = result.predictions["unique_id"].unique().sort().to_list()
    terms = stocking_terms(data, ids, review_period=REVIEW)
    outcome = replay(series, result, terms, TARGET, [*MODELS, FLEET])
    t3 = time.perf_counter()
    curve = pl.concat(
        [outcome.filter(pl.col("model").is_in(["auto", FLEET]))]
        + [replay(series, result, terms, t, ["auto", FLEET]) for t in CURVE]
    )
    t4 = time.perf_counter()
    cutoffs = result.predictions["cutoff"].unique().sort()
    first, last = cutoffs[0], cutoffs[-1]
    assert isinstance(first, date) and isinstance(last, date)
    wave_ids = sum(1 for i in ids if i.split("@")[0] in WAVE_PARTS)
    print(f"\n## Scenario: {SCENARIOS[scenario]}\n")
    print(f"{len(ids)} series ({wave_ids} wave-part series), {months} months of history; "
          f"{n_windows} origins {STEP} months apart, h={H}, cutoffs {first} .. {last}; "
          f"{len(result.skipped)} series too short, skipped: {', '.join(result.skipped) or '-'}")  # fmt: skip
    vintages = signal_series(data)["issued"].unique().sort().to_list()
    print(f"fleet signal vintages issued: {', '.join(str(v) for v in vintages)}")
    lead = terms["lead_time"].value_counts().sort("lead_time")
    print("lead times (months): " + ", ".join(f"L={a}: {b} series" for a, b in lead.iter_rows()))
    over = terms.filter(pl.col("lead_time") > H).height
    late = terms.filter(pl.col("lead_time") + REVIEW >= H).height
    print(f"{over} series with L > h={H} (replayed over the {H} months all the same); {late} "
          f"with L + 1 >= h: no order placed in the replay arrives in it, the starting stock S "
          f"alone serves them")  # fmt: skip
    print(f"\n### Accuracy ({scenario})\n")
    acc = accuracy(result)
    print(markdown(acc))
    print(f"\n### Service versus stock ({scenario}): (R=1, S) at {TARGET:.0%} cycle service\n")
    srv = service(outcome)
    print(markdown(srv.drop("target")))
    print("\nfill_rate and cycle_service: means over series-origins (a series without demand "
          "counts as served); unit_fill: units met / units demanded; on_hand: mean units at "
          "period end per series; stock_value: on hand x unit cost, summed over the group's "
          "series, mean over origins (EUR)")  # fmt: skip
    print(f"\n### {FLEET} against auto ({scenario})\n")
    print(markdown(versus(acc, srv), digits=1))
    print("\n(% : relative change; pts: percentage points; sbias diff: change of the scaled bias)")
    parts, tally = per_part(result)
    print(f"\n{tally}; the wave parts and the parts made worse by > 1 %:\n")
    print(markdown(parts, digits=2))
    print(f"\n### Service at equal stock ({scenario}): auto and {FLEET} over targets\n")
    cols = ["group", "model", "target", "unit_fill", "cycle_service", "stock_value"]
    print(markdown(service(curve).select(cols)))
    print(f"\nrun time ({scenario}): network {t1 - t0:.1f} s, backtest {t2 - t1:.1f} s, "
          f"replay {t3 - t2:.1f} s, curve {t4 - t3:.1f} s, total {t4 - t0:.1f} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1, help="n_jobs for statsforecast")
    parser.add_argument("--scenario", choices=["wave", "nowave", "both"], default="both")
    args = parser.parse_args()
    t0 = time.perf_counter()
    print("# Parts network backtest: naive, statistical and fleet-informed forecasts")
    print(f"\nmachine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}; --jobs {args.jobs}")  # fmt: skip
    for scenario in ("wave", "nowave") if args.scenario == "both" else (args.scenario,):
        run(scenario, args.jobs)
    print(f"\ntotal run time: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
