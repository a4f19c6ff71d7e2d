"""``drivetrain parts signal``: warranty's early warnings turned into part demand the fleet foresees.

A warranty alert says that a component of one model, region and build window
fails early. Here it becomes parts: the window's vehicles that have not yet
claimed the component, at their ages, fail by the life distribution warranty
fits to the window (Weibull and Weibull with a defective subpopulation, averaged
by Akaike weight, their spread added to the variance), month by month (:func:`drivetrain.parts.fleet_signal.failures_in_months`,
out of warranty too: a failure still needs a part). Only the *excess* over the
model's usual rate is new to the parts planner (the usual rate is in the
demand history already): the share ``1 - 1/rate ratio`` of the alert's claims
is the excess, and the failures are thinned by it. The market's expectation is
split over its dealers by their share of the part's past demand (repairs in
warranty are done by the dealer) and stored in ``parts_fleet_signal`` with the
source ``warranty``, issued in the month of ``--as-of``.

Two principals act: the warranty engineer reads claims and production for the
purpose warranty; the parts planner reads the parts tables for parts_planning.
Only aggregates (units per part, dealer and month) cross over.
"""

from __future__ import annotations

from datetime import date, timedelta
from importlib.metadata import version as package_version
from typing import Annotated

import numpy as np
import polars as pl
import typer

from drivetrain.cli.output import console, print_json, print_table, settings_of
from drivetrain.cli.warranty_common import load_data, parse_day
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import principal_named
from drivetrain.governance.provenance import record_output
from drivetrain.ingest.parts_records import store_parts_tables
from drivetrain.ingest.sink import CollectionContext
from drivetrain.lake import Lake
from drivetrain.parts.data import PURPOSE, load_parts_data
from drivetrain.parts.fleet_signal import allocate, demand_shares, failures_in_months
from drivetrain.warranty import (
    WarrantyAlert,
    WarrantyData,
    fit_component,
    life_sample,
    warranty_alerts,
)
from drivetrain.warranty.reliability import TooFewFailures

SOURCE = "warranty"


def _months(as_of: date, n: int) -> list[date]:
    first = as_of.replace(day=1)
    out = []
    for _ in range(n):
        out.append(first)
        first = (first + timedelta(days=32)).replace(day=1)
    return out


def _excess(
    data: WarrantyData, alert: WarrantyAlert, context: AccessContext, as_of: date,
    months: list[date], audit: AuditLog,
) -> pl.DataFrame | None:  # fmt: skip
    """The alert's excess failures per market and month, or None (no part, no fit)."""
    i = alert.issue
    claims = data.claims.filter(pl.col("causal_part") == i.causal_part)
    numbers = claims["part_number"].drop_nulls().mode()
    if numbers.is_empty():
        return None
    sample = life_sample(
        data, i.causal_part, as_of, model_id=i.model_id, region=i.region,
        build_from=i.build_months[0], build_to=i.build_months[-1],
    )  # fmt: skip
    try:
        fits, _ = fit_component(
            sample, context, data=data, distributions=("weibull", "weibull_ds"), audit=audit
        )
    except TooFewFailures:
        return None
    window = data.production.filter(
        pl.col("model_id") == i.model_id,
        pl.col("region") == i.region,
        pl.col("build_date").is_between(alert.build_from, alert.build_to),
        pl.col("sale_date").is_not_null() & (pl.col("sale_date") <= as_of),
        ~pl.col("vehicle_id").is_in(claims["vehicle_id"].implode()),
    )
    units = (
        window.with_columns(
            (pl.lit(as_of) - pl.col("sale_date")).dt.total_days().cast(pl.Float64).alias("age_days")
        )
        .group_by("market", "age_days")
        .agg(pl.len().cast(pl.Float64).alias("count"))
        .with_columns(pl.lit(str(numbers.sort()[0])).alias("part_number"))
    )
    if units.is_empty():
        return None
    # the fits weighted by Akaike weight (Burnham & Anderson): early on, a defective
    # subpopulation and a wear-out fit alike, and the spread between them is uncertainty
    aicc = np.array([f.aicc for f in fits])
    weights = np.exp(-(aicc - aicc.min()) / 2)
    weights /= weights.sum()
    keys = ["part_number", "market", "month"]
    per_fit = [
        failures_in_months(units, f.cdf, as_of, months).with_columns(pl.lit(w).alias("w"))
        for f, w in zip(fits, weights, strict=True)
    ]
    failures = (
        pl.concat(per_fit)
        .group_by(keys)
        .agg(
            (pl.col("w") * pl.col("expected")).sum().alias("expected"),
            (pl.col("w") * (pl.col("variance") + pl.col("expected") ** 2)).sum().alias("_m2"),
        )
        .with_columns(
            (pl.col("_m2") - pl.col("expected") ** 2).clip(lower_bound=0).alias("variance")
        )
        .drop("_m2")
    )
    s = float(np.clip(1.0 - 1.0 / i.rate_ratio, 0.0, 1.0)) if i.rate_ratio > 0 else 0.0
    return failures.with_columns(
        (pl.col("variance") * s * s + pl.col("expected") * s * (1 - s)).alias("variance"),
        (pl.col("expected") * s).alias("expected"),
    )


def signal_command(
    ctx: typer.Context,
    as_: Annotated[str, typer.Option("--as", help="Parts planner (reads the parts tables).")],
    warranty_as: Annotated[
        str, typer.Option("--warranty-as", help="Warranty engineer (reads claims, production).")
    ],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Analysis date YYYY-MM-DD (default: today).")
    ] = None,
    months: Annotated[int, typer.Option(min=1, max=36, help="Months to foresee.")] = 12,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Turn warranty alerts into part demand per dealer and month (the fleet signal).

    Each alert's window of vehicles fails by warranty's fitted life distribution;
    the excess over the model's usual rate is split over the market's dealers and
    stored as the source 'warranty', for 'drivetrain parts plan --fleet'.
    Example: drivetrain parts signal --as parts --warranty-as warranty --as-of 2024-09-30
    """
    settings = settings_of(ctx)
    day = parse_day(as_of, "--as-of") or date.today()
    data, context, audit = load_data(settings, warranty_as)
    planner = AccessContext(principal_named(settings.resolved_principals_file, as_), PURPOSE)
    lake = Lake(settings.lake_dir)
    parts = load_parts_data(lake, planner, audit=audit)
    alerts = warranty_alerts(data, context, day, currency=settings.warranty_currency, audit=audit)
    ahead = _months(day, months + 1)[1:]  # the months after the as-of month
    frames, skipped = [], []
    for alert in alerts:
        excess = _excess(data, alert, context, day, ahead, audit)
        if excess is None:
            skipped.append(f"{alert.issue.causal_part}/{alert.issue.model_id}")
        else:
            frames.append(excess)
    history = parts.demand.filter(pl.col("month") <= day)
    shares = demand_shares(history, parts.locations, kinds=("dealer",))
    rows = pl.DataFrame()
    unplaced: list[str] = []
    if frames:
        expected = pl.concat(frames)
        placed = expected.join(shares.select("part_number", "market").unique(), on=["part_number", "market"], how="semi")  # fmt: skip
        unplaced = sorted(set(expected["market"]) - set(placed["market"]))
        rows = allocate(placed, shares).with_columns(
            pl.lit(day.replace(day=1)).alias("issued"), pl.lit(SOURCE).alias("source")
        )
    if unplaced:
        console.print(f"[yellow]no dealers with this part in market(s) {', '.join(unplaced)}: not stored[/]")  # fmt: skip
    stored = None
    if rows.height:
        write = CollectionContext(source=SOURCE, purpose=PURPOSE)
        stored = store_parts_tables(lake, write, {"parts_fleet_signal": rows}).versions
    output_id = record_output(
        audit, kind="parts_fleet_signal", model="warranty life fits -> parts (excess failures)",
        version=package_version("drivetrain"),
        params={"as_of": day.isoformat(), "months": months},
        inputs={}, sources=[f"warranty alert {a.output_id}" for a in alerts if a.output_id] + parts.sources(),
        principal=as_, purpose=PURPOSE,
    )  # fmt: skip
    by_part = (
        rows.group_by("part_number").agg(pl.col("expected").sum(), pl.col("location_id").n_unique())
        if rows.height
        else pl.DataFrame(
            schema={"part_number": pl.String, "expected": pl.Float64, "location_id": pl.UInt32}
        )
    )
    if as_json:
        print_json({"alerts": len(alerts), "skipped": skipped, "unplaced_markets": unplaced,
                    "rows": rows.height, "versions": stored, "by_part": by_part.to_dicts(),
                    "output_id": output_id})  # fmt: skip
        return
    print_table(
        f"{len(alerts)} warranty alert(s) at {day}: excess failures over the next {months} months",
        ("part", "units foreseen", "dealers"),
        [
            (r["part_number"], f"{r['expected']:.1f}", r["location_id"])
            for r in by_part.iter_rows(named=True)
        ],
    )
    if skipped:
        console.print(f"no part or no fit for {', '.join(skipped)}")
    console.print(f"[dim]how it was produced: drivetrain explain {output_id}[/]")
    if not alerts:
        console.print(f"no warranty alert at {day}: nothing stored")
