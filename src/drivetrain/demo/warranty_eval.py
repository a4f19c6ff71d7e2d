"""How much earlier the early-warning detector sees a supplier defect than a naive rule.

The protocol (``drivetrain warranty evaluate``):

1. For each seed, generate two warranty histories of the same programs: one
   **null** (no defect) and one with the injected supplier defect.
2. Replay both month by month, as a warranty engineer would have seen them:
   at each month end, from the defect's first build month on, the claims
   filed by then and the vehicles at risk by then.
3. **Same false-alarm rate.** On the null history, set each method's
   threshold so that at most ``target_far`` of all cells ever alarm over the
   replay (the CUSUM's ``h``; the naive rule's rate ratio ``c``).
4. On the defect history, find the first month end at which a cell of the
   defect (its component and model, a build month inside the window) alarms,
   for each method, and the false-alarm share among all other cells.

Months in service at the alert are counted from the first sale of a vehicle
in the defective build window.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import polars as pl

from drivetrain.demo.warranty_generator import (
    SupplierDefect,
    WarrantyConfig,
    WarrantyHistory,
    generate_warranty,
)
from drivetrain.warranty.claims_table import DAYS_PER_MONTH
from drivetrain.warranty.early_warning import (
    CELL,
    DetectorConfig,
    cell_months,
    naive_alerts,
    relative_alerts,
    score_cells,
)

Progress = Callable[[int, int], None]
METHODS = ("glr", "cusum", "relative", "naive")  # the detector, Lucas's CUSUM, two rules


@dataclass(frozen=True, slots=True)
class SeedResult:
    """One seed: thresholds, when each method first alerted on the defect, false alarms."""

    seed: int
    thresholds: dict[str, float]
    alert_date: dict[str, date | None]
    alert_mis: dict[str, int | None]
    false_alarm_share: dict[str, float]
    cells: int


@dataclass(frozen=True, slots=True)
class WarrantyEvaluation:
    """The evaluation over seeds."""

    target_far: float
    defect: SupplierDefect
    per_model_month: int
    rho: float
    results: list[SeedResult]

    def months_earlier(self) -> list[float]:
        """Per seed: naive alert minus detector alert, in months (inf when naive never did)."""
        out = []
        for r in self.results:
            c, n = r.alert_mis["glr"], r.alert_mis["naive"]
            if c is None:
                out.append(-math.inf if n is not None else math.nan)
            else:
                out.append(math.inf if n is None else float(n - c))
        return out

    def summary(self) -> dict[str, object]:
        def mean(values: Sequence[float]) -> float | None:
            finite = [v for v in values if math.isfinite(v)]
            return round(float(np.mean(finite)), 2) if finite else None

        return {
            "seeds": [r.seed for r in self.results],
            "target_false_alarm_share": self.target_far,
            "defect": {
                "component": self.defect.component,
                "model_id": self.defect.model_id,
                "build_window": [str(self.defect.build_from), str(self.defect.build_to)],
                "defective_share": self.defect.defective_share,
            },
            "vehicles_per_model_month": self.per_model_month,
            "rho": self.rho,
            "alert_mis": {m: [r.alert_mis[m] for r in self.results] for m in METHODS},
            "mean_alert_mis": {
                m: mean([float(v) for r in self.results if (v := r.alert_mis[m]) is not None])
                for m in METHODS
            },
            "months_earlier": self.months_earlier(),
            "mean_months_earlier": mean(self.months_earlier()),
            "false_alarm_share": {
                m: [round(r.false_alarm_share[m], 4) for r in self.results] for m in METHODS
            },
            "thresholds": {m: [round(r.thresholds[m], 3) for r in self.results] for m in METHODS},
        }


def month_ends(first: date, last: date) -> list[date]:
    """The last day of every month from ``first``'s month to ``last``'s."""
    ends: list[date] = []
    year, month = first.year, first.month
    while True:
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        end = nxt - timedelta(days=1)
        if end > last:
            return ends
        ends.append(end)
        year, month = nxt.year, nxt.month


def replay(
    history: WarrantyHistory, dates: Sequence[date], rho: float, on_step: Callable[[], None] | None
) -> pl.DataFrame:
    """Every method's statistic of every cell at every analysis date:
    ``as_of, *CELL, glr, cusum, relative, naive``."""
    frames = []
    for as_of in dates:
        cells = cell_months(history.claims, history.production, as_of)
        if not cells.is_empty():
            g = score_cells(cells, DetectorConfig(method="glr"))
            c = score_cells(cells, DetectorConfig(method="cusum", rho=rho))
            r = relative_alerts(cells, 1.0)
            n = naive_alerts(cells, {})
            frames.append(
                g.select(*CELL, pl.col("statistic").alias("glr"))
                .join(c.select(*CELL, pl.col("statistic").alias("cusum")), on=list(CELL))
                .join(r.select(*CELL, pl.col("statistic").alias("relative")), on=list(CELL))
                .join(n.select(*CELL, pl.col("statistic").alias("naive")), on=list(CELL))
                .with_columns(pl.lit(as_of).alias("as_of"))
            )
        if on_step:
            on_step()
    return pl.concat(frames) if frames else pl.DataFrame()


def _threshold(null: pl.DataFrame, method: str, target_far: float) -> float:
    """The smallest threshold at which at most ``target_far`` of the null cells ever alarm."""
    if null.is_empty():
        return math.inf
    peaks = np.sort(null.group_by(*CELL).agg(pl.col(method).max())[method].to_numpy())
    allowed = math.floor(target_far * len(peaks))
    # alarms are statistic >= threshold: just above the (allowed+1)-th largest peak
    return float(np.nextafter(peaks[-(allowed + 1)], np.inf)) if len(peaks) > allowed else 0.0


def evaluate_warranty(
    seeds: Sequence[int] = (1, 2, 3),
    *,
    defect: SupplierDefect | None = None,
    per_model_month: int = 300,
    target_far: float = 0.01,
    rho: float = 2.0,
    months_after: int = 24,
    on_progress: Progress | None = None,
) -> WarrantyEvaluation:
    """Run the protocol of the module docstring over ``seeds``."""
    defect = defect or SupplierDefect()
    dates = month_ends(defect.build_from, defect.build_to + timedelta(days=31 * months_after))
    total, done = 2 * len(seeds) * len(dates), 0

    def step() -> None:
        nonlocal done
        done += 1
        if on_progress:
            on_progress(done, total)

    results = []
    for seed in seeds:
        base = WarrantyConfig(seed=seed, per_model_month=per_model_month, defect=defect)
        null_history = generate_warranty(replace(base, seed=seed + 10_000, defect=None))
        null = replay(null_history, dates, rho, step)
        thresholds = {m: _threshold(null, m, target_far) for m in METHODS if m != "naive"}
        # the naive rule gets a threshold per component (a battery is not a thermostat),
        # each at the same false-alarm share among that component's cells
        limits = {
            str(part): _threshold(null.filter(pl.col("causal_part") == part), "naive", target_far)
            for part in null["causal_part"].unique()
        }
        history = generate_warranty(base)
        scored = replay(history, dates, rho, step).with_columns(
            (
                (pl.col("causal_part") == defect.component)
                & (pl.col("model_id") == defect.model_id)
                & (pl.col("build_month") >= f"{defect.build_from:%Y-%m}")
                & (pl.col("build_month") <= f"{defect.build_to:%Y-%m}")
            ).alias("defect")
        )
        first_sale = _first_sale(history, defect)
        alert_date: dict[str, date | None] = {}
        alert_mis: dict[str, int | None] = {}
        far: dict[str, float] = {}
        scored = scored.join(
            pl.DataFrame({"causal_part": list(limits), "naive_limit": list(limits.values())}),
            on="causal_part",
            how="left",
        ).with_columns(pl.col("naive_limit").fill_null(math.inf))
        for m in METHODS:
            limit = pl.col("naive_limit") if m == "naive" else pl.lit(thresholds[m])
            hits = scored.filter(pl.col("defect") & (pl.col(m) >= limit))
            when = hits["as_of"].min() if hits.height else None
            alert_date[m] = when if isinstance(when, date) else None
            alert_mis[m] = (
                int((alert_date[m] - first_sale).days / DAYS_PER_MONTH)  # type: ignore[operator]
                if alert_date[m] is not None
                else None
            )
            others = (
                scored.filter(~pl.col("defect"))
                .group_by(*CELL)
                .agg((pl.col(m) >= limit).any().alias("alarmed"))
            )
            share = others["alarmed"].cast(pl.Float64).mean()
            far[m] = share if isinstance(share, float) else 0.0
        thresholds["naive"] = limits.get(defect.component, math.inf)
        results.append(
            SeedResult(seed, thresholds, alert_date, alert_mis, far, scored.select(CELL).n_unique())
        )
    return WarrantyEvaluation(target_far, defect, per_model_month, rho, results)


def _first_sale(history: WarrantyHistory, defect: SupplierDefect) -> date:
    window = history.production.filter(
        (pl.col("model_id") == defect.model_id)
        & pl.col("build_date").is_between(defect.build_from, defect.build_to)
        & pl.col("sale_date").is_not_null()
    )
    first = window["sale_date"].min()
    return first if isinstance(first, date) else defect.build_from
