"""The simulated parts network in the lake, and what the demo shows of parts planning.

:func:`simulate_parts` generates the network of a warranty history's vehicles
(:mod:`drivetrain.demo.parts_generator`) and stores it as an ERP import would:
the parts master, the locations, the demand, and the fleet signal with its
vintages. :func:`parts_tour` then plans as the parts planner: a backtest of
history alone against fleet-informed forecasts where the fleet signal matters
(the thermostat wave, the caliper recall), and a stocking plan for the whole
network at a 95 % cycle service level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from drivetrain.demo.parts_generator import PartsConfig, PartsNetwork, generate_parts_network
from drivetrain.demo.warranty_generator import WarrantyConfig, WarrantyHistory, generate_warranty
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import principal_named
from drivetrain.governance.provenance import record_run
from drivetrain.ingest.parts_records import PartsImport, store_parts_tables
from drivetrain.ingest.sink import CollectionContext
from drivetrain.lake import Lake
from drivetrain.parts.backtest import AUTO, backtest, score
from drivetrain.parts.classify import classify
from drivetrain.parts.data import (
    PURPOSE,
    demand_series,
    latest_vintage,
    load_parts_data,
    signal_series,
    stocking_terms,
)
from drivetrain.parts.fleet_demand import FLEET_MENU, combine, informed_backtest
from drivetrain.parts.forecast import forecast_by_class
from drivetrain.parts.plan import plan_stock
from drivetrain.settings import Settings

PRINCIPAL = "parts"
SOURCE = "simulator"
WAVE_PARTS = ("TH-1004", "BRK-CAL-FL")  # the thermostat (supplier defect), the caliper (recall)


def store_network(lake: Lake, audit: AuditLog, network: PartsNetwork) -> PartsImport:
    """Write the network's four tables to the lake (merged on their keys), audited."""
    context = CollectionContext(source=SOURCE, purpose=PURPOSE)
    frames = {
        "parts": network.parts,
        "parts_locations": network.locations,
        "parts_demand": network.demand,
        "parts_fleet_signal": network.vintages,
        "parts_fitment": network.fitment,
    }
    result = store_parts_tables(lake, context, frames)
    record_run(
        audit, context.run_id, "ingest",
        {"source": SOURCE, "rows": result.rows, "rejected": 0, "tables": result.versions},
        principal=SOURCE, purpose=PURPOSE,
    )  # fmt: skip
    return result


def simulate_parts(
    lake: Lake,
    audit: AuditLog,
    *,
    history: WarrantyHistory | None = None,
    warranty: WarrantyConfig | None = None,
    config: PartsConfig | None = None,
) -> tuple[PartsNetwork, PartsImport]:
    """Generate the network (of ``history``, or of a fresh warranty history) and store it."""
    if history is None:
        history = generate_warranty(warranty or WarrantyConfig())
    network = generate_parts_network(history, config or PartsConfig())
    return network, store_network(lake, audit, network)


@dataclass(frozen=True, slots=True)
class PartsTour:
    """What the demo prints."""

    stored: PartsImport
    series: int
    classes: dict[str, int]
    superseded: int
    scores: pl.DataFrame  # model, rmse, sbias, ... on the wave parts' series
    wave_series: int
    origins: list[date]
    plan: pl.DataFrame
    plan_history: pl.DataFrame  # the same plan, from history alone


def parts_tour(settings: Settings, history: WarrantyHistory) -> PartsTour:
    """Simulate the network of the warranty history, then backtest and plan as the planner."""
    lake, audit = Lake(settings.lake_dir), AuditLog(settings.data_dir)
    _, stored = simulate_parts(lake, audit, history=history)
    context = AccessContext(principal_named(settings.resolved_principals_file, PRINCIPAL), PURPOSE)
    data = load_parts_data(lake, context, audit=audit)
    prepared = demand_series(data)
    series, signal = prepared.series, signal_series(data)
    classes = classify(series)
    # where the fleet signal matters: the series of the wave parts, 6 monthly origins
    wave = series.filter(pl.col("unique_id").str.splitn("@", 2).struct.field("field_0").is_in(WAVE_PARTS))  # fmt: skip
    result = backtest(wave, ["Naive", "IMAPA", AUTO], h=3, n_windows=16, step_size=1)
    result = informed_backtest(result, wave, signal)
    scores = score(result).sort("rmse")
    origins = sorted(result.predictions["cutoff"].unique().to_list())
    # the plan for the whole network: history alone, and fleet-informed
    ids = series["unique_id"].unique().sort().to_list()
    terms = stocking_terms(data, ids)
    ahead = int(terms.select((pl.col("lead_time") + pl.col("review_period")).max()).item() or 1)
    forecast = forecast_by_class(series, classes, h=ahead)
    level = forecast_by_class(series, classes, h=ahead, menu=FLEET_MENU)
    ends = series.group_by("unique_id").agg(pl.col("ds").max().alias("cutoff"))
    end = series.select(pl.col("ds").max()).item()
    informed = combine(level, latest_vintage(signal, end), ends)
    plans = [
        plan_stock(series, f.rename({"forecast": "mean"}), terms, target=0.95).join(
            f.select("unique_id", "model").unique(), on="unique_id", how="left"
        )
        for f in (informed, forecast)
    ]
    return PartsTour(
        stored=stored,
        series=series["unique_id"].n_unique(),
        classes=dict(classes["class"].value_counts().sort("class").iter_rows()),
        superseded=len(prepared.report.superseded),
        scores=scores,
        wave_series=wave["unique_id"].n_unique(),
        origins=origins,
        plan=plans[0],
        plan_history=plans[1],
    )
