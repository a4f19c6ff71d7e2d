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
from drivetrain.errors import InputError, NotFound
from drivetrain.fleet import list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import principal_named
from drivetrain.governance.provenance import record_output
from drivetrain.health.scan import fleet_scan
from drivetrain.ingest.parts_records import store_parts_tables
from drivetrain.ingest.sink import CollectionContext
from drivetrain.lake import Lake
from drivetrain.parts.data import PURPOSE, load_parts_data
from drivetrain.parts.fleet_signal import allocate, demand_shares, due_in_months, failures_in_months
from drivetrain.settings import Settings
from drivetrain.state import migrate, session_scope
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


HEALTH_SOURCE = "health"
FAR_DAYS = 730.0  # an interval open towards "never" is closed here, beyond any horizon
CAPPED_DAYS = 365.0  # remaining_life caps its estimates here: "a year or more", not "in a year"


def _health(
    settings: Settings, principal: str, fitment: pl.DataFrame | None, months: int,
    audit: AuditLog,
) -> tuple[pl.DataFrame, date | None, int]:  # fmt: skip
    """Vehicle health's due wear items as expected parts per market and month.

    Returns the expectation, the month it is issued in (the scan's last day), and the
    number of due items no fitment row names a part for (reported, never dropped silently).
    """
    if fitment is None or fitment.is_empty():
        raise NotFound(
            "the lake has no parts fitment: which part serves a wear item on which model",
            hint="import it with 'drivetrain parts import ... --fitment fitment.csv' "
            "(or run 'drivetrain parts simulate')",
        )
    url = settings.resolved_state_url
    migrate(url)
    with session_scope(url) as session:
        fleet = list_vehicles(session)
    context = AccessContext(principal_named(settings.resolved_principals_file, principal), "vehicle_health")  # fmt: skip
    wear = fleet_scan(Lake(settings.lake_dir), context, fleet, audit=audit).wear
    due = wear.filter(pl.col("status").is_in(["trend", "at_limit"]) & pl.col("days_left").is_not_null())  # fmt: skip
    if due.is_empty():
        return pl.DataFrame(), None, 0
    cars = pl.DataFrame(
        {"vehicle_id": [v.vehicle_id for v in fleet], "model_id": [v.model_id for v in fleet],
         "market": [v.market for v in fleet]}
    )  # fmt: skip
    jobs = due.join(cars, on="vehicle_id").join(
        fitment, left_on=["model_id", "item"], right_on=["model_id", "service_item"], how="left"
    )
    unfitted = jobs.filter(pl.col("part_number").is_null()).height
    def days(column: str) -> pl.Expr:
        value = pl.col(column).fill_null(pl.col("days_left"))
        return pl.when(value >= CAPPED_DAYS).then(FAR_DAYS).otherwise(value).alias(column)

    jobs = jobs.filter(pl.col("part_number").is_not_null()).with_columns(
        days("days_left"), days("days_left_low"), days("days_left_high")
    )
    as_of = jobs["as_of"].max() if jobs.height else None
    if not isinstance(as_of, date):
        return pl.DataFrame(), None, unfitted
    ahead = _months(as_of, months)
    p = due_in_months(jobs.select("vehicle_id", "part_number", "as_of", "days_left", "days_left_low", "days_left_high", "quantity"), ahead)  # fmt: skip
    expected = (
        p.join(cars.select("vehicle_id", "market"), on="vehicle_id")
        .group_by("part_number", "market", "month")
        .agg(
            (pl.col("p") * pl.col("quantity")).sum().alias("expected"),
            (pl.col("p") * (1 - pl.col("p")) * pl.col("quantity") ** 2).sum().alias("variance"),
        )
    )
    return expected, as_of, unfitted


def _store(
    lake: Lake, expected: pl.DataFrame, shares: pl.DataFrame, issued: date, source: str
) -> tuple[pl.DataFrame, list[str]]:
    """Split ``expected`` over the dealers and store it as ``source``; returns the rows and
    the markets no dealer of the part is in (reported, not stored)."""
    if expected.is_empty():
        return pl.DataFrame(), []
    placed = expected.join(shares.select("part_number", "market").unique(), on=["part_number", "market"], how="semi")  # fmt: skip
    unplaced = sorted(set(expected["market"]) - set(placed["market"]))
    if placed.is_empty():
        return pl.DataFrame(), unplaced
    rows = allocate(placed, shares).with_columns(
        pl.lit(issued.replace(day=1)).alias("issued"), pl.lit(source).alias("source")
    )
    store_parts_tables(lake, CollectionContext(source=source, purpose=PURPOSE), {"parts_fleet_signal": rows})  # fmt: skip
    return rows, unplaced


def signal_command(
    ctx: typer.Context,
    as_: Annotated[str, typer.Option("--as", help="Parts planner (reads the parts tables).")],
    warranty_as: Annotated[
        str | None,
        typer.Option("--warranty-as", help="Warranty engineer: alerts become a 'warranty' signal."),
    ] = None,
    health_as: Annotated[
        str | None,
        typer.Option("--health-as", help="Fleet analyst: due wear items become a 'health' signal."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Warranty analysis date YYYY-MM-DD (default: today)."),
    ] = None,
    months: Annotated[int, typer.Option(min=1, max=36, help="Months to foresee.")] = 12,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Turn warranty alerts and vehicle health's due wear items into part demand per dealer.

    --warranty-as: each alert's window of vehicles fails by warranty's fitted life
    distributions; the excess over the model's usual rate is the 'warranty' source.
    --health-as: each connected vehicle's wear item due (remaining life with its
    interval) becomes its part (the parts fitment) in the months it falls due, the
    'health' source. Both are split over the market's dealers by past demand and
    stored for 'drivetrain parts plan --fleet'.
    Example: drivetrain parts signal --as parts --warranty-as warranty --as-of 2024-09-30
    """
    if warranty_as is None and health_as is None:
        raise InputError(
            "no source to turn into a signal",
            hint="pass --warranty-as (warranty alerts) and/or --health-as (vehicle health)",
        )
    settings = settings_of(ctx)
    audit = AuditLog(settings.ensure_data_dir())
    lake = Lake(settings.lake_dir)
    planner = AccessContext(principal_named(settings.resolved_principals_file, as_), PURPOSE)
    parts = load_parts_data(lake, planner, audit=audit)
    shares = demand_shares(parts.demand, parts.locations, kinds=("dealer",))
    rows: list[pl.DataFrame] = []
    summary: dict[str, object] = {}
    sources: list[str] = []
    unplaced: list[str] = []
    if warranty_as is not None:
        day = parse_day(as_of, "--as-of") or date.today()
        data, context, _ = load_data(settings, warranty_as)
        alerts = warranty_alerts(data, context, day, currency=settings.warranty_currency, audit=audit)  # fmt: skip
        ahead = _months(day, months + 1)[1:]  # the months after the as-of month
        frames, skipped = [], []
        for alert in alerts:
            excess = _excess(data, alert, context, day, ahead, audit)
            if excess is None:
                skipped.append(f"{alert.issue.causal_part}/{alert.issue.model_id}")
            else:
                frames.append(excess)
        history = shares if not frames else demand_shares(parts.demand.filter(pl.col("month") <= day), parts.locations, kinds=("dealer",))  # fmt: skip
        stored, missed = _store(lake, pl.concat(frames) if frames else pl.DataFrame(), history, day, SOURCE)  # fmt: skip
        rows.append(stored)
        unplaced += missed
        summary.update(alerts=len(alerts), skipped=skipped)
        sources += [f"warranty alert {a.output_id}" for a in alerts if a.output_id]
    if health_as is not None:
        expected, scanned, unfitted = _health(settings, health_as, parts.fitment, months, audit)
        stored, missed = (
            _store(lake, expected, shares, scanned, HEALTH_SOURCE)
            if scanned is not None
            else (pl.DataFrame(), [])
        )
        rows.append(stored)
        unplaced += missed
        summary.update(health_scan_as_of=str(scanned) if scanned else None, unfitted_items=unfitted)
        sources.append("vehicle health scan (fleet_scan wear)")
    out = (
        pl.concat([r for r in rows if r.height]) if any(r.height for r in rows) else pl.DataFrame()
    )
    if unplaced:
        console.print(f"[yellow]no dealer with this part in market(s) {', '.join(sorted(set(unplaced)))}: not stored[/]")  # fmt: skip
    output_id = record_output(
        audit, kind="parts_fleet_signal",
        model="warranty life fits and vehicle-health remaining life -> parts per dealer",
        version=package_version("drivetrain"),
        params={"as_of": as_of, "months": months, "warranty": warranty_as is not None,
                "health": health_as is not None},
        inputs={}, sources=sources + parts.sources(), principal=as_, purpose=PURPOSE,
    )  # fmt: skip
    by_part = (
        out.group_by("source", "part_number")
        .agg(pl.col("expected").sum(), pl.col("location_id").n_unique())
        .sort("source", "part_number")
        if out.height
        else pl.DataFrame(
            schema={
                "source": pl.String,
                "part_number": pl.String,
                "expected": pl.Float64,
                "location_id": pl.UInt32,
            }
        )
    )
    if as_json:
        print_json({**summary, "unplaced_markets": sorted(set(unplaced)), "rows": out.height,
                    "by_part": by_part.to_dicts(), "output_id": output_id})  # fmt: skip
        return
    print_table(
        f"the fleet signal stored: units foreseen over the next {months} months",
        ("source", "part", "units foreseen", "dealers"),
        [
            (r["source"], r["part_number"], f"{r['expected']:.1f}", r["location_id"])
            for r in by_part.iter_rows(named=True)
        ],
    )
    for key, value in summary.items():
        console.print(f"{key.replace('_', ' ')}: {value}", highlight=False)
    console.print(f"[dim]how it was produced: drivetrain explain {output_id}[/]")
