"""Warranty at program scale: import, the early-warning detector, alerts.

Run: .venv/bin/python benchmarks/bench_warranty.py [--per-model-month N ...]
For each production rate, generates the simulated programs' history (six
models, 18 build months), writes the two CSV exports, imports them into a
scratch lake (pseudonymising every VIN, checking every claim), then times one
analysis date: the cells' exposure and expected claims (``cell_months``), the
vectorised GLR over every cell (``score_cells``), and the alerts with their
evidence. The GLR is compared with the reference computation it replaces: the
same statistic from scipy's Poisson log-pmf, cell by cell in Python (timed on
200 cells and scaled). Prints the numbers; record them in docs/performance.md.
"""

from __future__ import annotations

import argparse
import platform
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
from scipy import stats

from drivetrain.demo.warranty_generator import (
    WarrantyConfig,
    generate_warranty,
    write_claims_csv,
    write_production_csv,
)
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.ingest.warranty_records import import_warranty_file
from drivetrain.lake import Lake
from drivetrain.warranty import build_alerts, cell_months, score_cells
from drivetrain.warranty.early_warning import CELL

AS_OF = date(2025, 6, 30)


def _reference(y: np.ndarray, e: np.ndarray) -> float:
    """The cumulative GLR of one cell, from scipy, month by month."""
    best = 0.0
    observed = expected = 0.0
    for month in range(len(y)):
        observed, expected = observed + y[month], expected + e[month]
        if observed > expected:
            ratio = stats.poisson.logpmf(observed, observed) - stats.poisson.logpmf(
                observed, expected
            )
            best = max(best, float(ratio))
    return best


def run(per_model_month: int, scratch: Path) -> dict[str, float]:
    timings: dict[str, float] = {}
    began = time.perf_counter()
    history = generate_warranty(WarrantyConfig(per_model_month=per_model_month, as_of=AS_OF))
    timings["generate_s"] = time.perf_counter() - began
    folder = scratch / f"p{per_model_month}"
    folder.mkdir()
    production = write_production_csv(history, folder / "production.csv")
    claims = write_claims_csv(history, folder / "claims.csv")
    lake, audit = Lake(folder / "lake"), AuditLog(folder)
    key = PseudonymKey.load_or_create(folder)
    began = time.perf_counter()
    made, _ = import_warranty_file(lake, audit, key, production, production=True, currency="EUR")
    timings["import_production_s"] = time.perf_counter() - began
    began = time.perf_counter()
    claimed, _ = import_warranty_file(lake, audit, key, claims, production=False, currency="EUR")
    timings["import_claims_s"] = time.perf_counter() - began
    began = time.perf_counter()
    cells = cell_months(history.claims, history.production, AS_OF)
    timings["cell_months_s"] = time.perf_counter() - began
    began = time.perf_counter()
    scored = score_cells(cells)
    timings["glr_s"] = time.perf_counter() - began
    sample = scored.select(CELL).head(200)
    subset = cells.join(sample, on=list(CELL), how="semi").sort(*CELL, "mis")
    began = time.perf_counter()
    for _, group in subset.group_by(CELL, maintain_order=True):
        _reference(group["claims"].to_numpy(), group["expected"].to_numpy())
    timings["reference_glr_s"] = (time.perf_counter() - began) * scored.height / sample.height
    began = time.perf_counter()
    alerts = build_alerts(history.claims, history.production, AS_OF)
    timings["alerts_s"] = time.perf_counter() - began
    timings.update(
        vehicles=made.rows,
        claims=claimed.rows,
        cells=scored.height,
        cell_months=cells.height,
        alerts=len(alerts),
    )
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-model-month", type=int, nargs="+", default=[300, 3000])
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {platform.processor() or '?'}; python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for rate in args.per_model_month:
            t = run(rate, Path(tmp))
            print(
                f"{t['vehicles']:>9,.0f} vehicles {t['claims']:>7,.0f} claims | generate "
                f"{t['generate_s']:.1f} s | import production {t['import_production_s']:.1f} s "
                f"({t['vehicles'] / t['import_production_s']:,.0f}/s), claims "
                f"{t['import_claims_s']:.1f} s | {t['cells']:,.0f} cells ({t['cell_months']:,.0f} "
                f"cell-months): exposure {t['cell_months_s']:.2f} s, GLR {t['glr_s']:.3f} s "
                f"(scipy cell by cell ~{t['reference_glr_s']:.1f} s, "
                f"x{t['reference_glr_s'] / max(t['glr_s'], 1e-9):,.0f}) | alerts with evidence "
                f"{t['alerts_s']:.1f} s ({t['alerts']:.0f})"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
