"""What the demo shows of warranty: the simulated programs' history imported, an alert on
the injected supplier defect with its evidence, when it was first raised, and the charts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from drivetrain.demo.warranty_eval import month_ends
from drivetrain.demo.warranty_generator import (
    WarrantyConfig,
    WarrantyHistory,
    generate_warranty,
    write_claims_csv,
    write_production_csv,
)
from drivetrain.fleet import VehicleRecord, list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import principal_named
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.ingest.warranty_records import RecordImport, import_warranty_file
from drivetrain.lake import Lake
from drivetrain.settings import Settings
from drivetrain.state import migrate, session_scope
from drivetrain.warranty import (
    DetectorConfig,
    WarrantyAlert,
    WarrantyData,
    claims_per_thousand,
    emerging_issues,
    fit_component,
    life_sample,
    load_warranty_data,
    warranty_alerts,
    with_build_month,
)
from drivetrain.warranty.claims_table import DAYS_PER_MONTH
from drivetrain.warranty.plots import claims_per_thousand_plot, weibull_probability_plot

PRINCIPAL = "warranty"
PURPOSE = "warranty"


@dataclass(slots=True)
class WarrantyFiles:
    """The exports the simulator wrote, and the history behind them (ground truth)."""

    production: Path
    claims: Path
    history: WarrantyHistory


def simulate_warranty_files(
    settings: Settings,
    out_dir: Path,
    config: WarrantyConfig,
    *,
    dirty: bool = False,
) -> WarrantyFiles:
    """Write the production and claims exports of the simulated programs, with the
    registered (connected) fleet among the vehicles and its injected faults as claims."""
    migrate(settings.resolved_state_url)
    with session_scope(settings.resolved_state_url) as session:
        fleet = list_vehicles(session)
    lake = Lake(settings.lake_dir)
    faults = None
    if lake.exists("sim_faults"):  # the simulator's own ground truth
        table = pl.from_arrow(lake.read("sim_faults", columns=["vehicle_id", "fault", "onset_ts"]))
        assert isinstance(table, pl.DataFrame)
        faults = table
    history = generate_warranty(
        config,
        connected=fleet,
        faults=faults,
        pseudonyms=PseudonymKey.load_or_create(settings.ensure_data_dir()),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    return WarrantyFiles(
        write_production_csv(history, out_dir / "production.csv"),
        write_claims_csv(history, out_dir / "claims.csv", dirty=dirty),
        history,
    )


def import_files(settings: Settings, files: WarrantyFiles) -> tuple[RecordImport, RecordImport]:
    """Import the production records first (claims are checked against them), then claims."""
    lake, audit = Lake(settings.lake_dir), AuditLog(settings.data_dir)
    pseudonyms = PseudonymKey.load_or_create(settings.data_dir)
    made, _ = import_warranty_file(
        lake, audit, pseudonyms, files.production, production=True,
        currency=settings.warranty_currency,
    )  # fmt: skip
    claimed, _ = import_warranty_file(
        lake, audit, pseudonyms, files.claims, production=False,
        currency=settings.warranty_currency,
    )  # fmt: skip
    return made, claimed


@dataclass(slots=True)
class WarrantyTour:
    """What the demo prints."""

    production: RecordImport
    claims: RecordImport
    as_of: date
    alerts: list[WarrantyAlert]
    first_raised: date | None  # replaying month by month: when the defect alert first fired
    first_raised_mis: int | None
    truth: str
    charts: list[Path] = field(default_factory=list)
    fit_output: str | None = None
    history: WarrantyHistory | None = None  # the simulated programs (the parts demo's fleet)


def warranty_tour(
    settings: Settings, sim_end: date, *, anomalies: pl.DataFrame | None = None
) -> WarrantyTour:
    """Simulate, import and analyse the programs' warranty history as the warranty engineer;
    ``anomalies`` are vehicle health's alarms on the connected fleet (the health tour's scan)."""
    config = WarrantyConfig(as_of=sim_end)
    out = settings.data_dir / "warranty"
    files = simulate_warranty_files(settings, out, config, dirty=True)
    made, claimed = import_files(settings, files)
    context = AccessContext(principal_named(settings.resolved_principals_file, PRINCIPAL), PURPOSE)
    lake, audit = Lake(settings.lake_dir), AuditLog(settings.data_dir)
    with session_scope(settings.resolved_state_url) as session:
        fleet: list[VehicleRecord] = list_vehicles(session)
    data = load_warranty_data(lake, context, fleet=fleet, audit=audit)
    alerts = warranty_alerts(
        data,
        context,
        sim_end,
        currency=settings.warranty_currency,
        audit=audit,
        anomalies=None if anomalies is None else anomalies.select("vehicle_id", "indicator"),
    )
    defect = config.defect
    truth = (
        f"injected: {defect.supplier_lot}, {defect.component} of {defect.model_id} built "
        f"{defect.build_from} to {defect.build_to}, {defect.defective_share:.1%} defective"
        if defect
        else "no defect injected"
    )
    tour = WarrantyTour(made, claimed, sim_end, alerts, None, None, truth, history=files.history)
    if defect is None:
        return tour
    # replay month by month: when would the engineer first have seen it?
    for when in month_ends(defect.build_from, sim_end):
        hits = [
            i
            for i in emerging_issues(data.claims, data.production, when, DetectorConfig())
            if i.causal_part == defect.component and i.model_id == defect.model_id
        ]
        if hits:
            window = data.production.filter(
                (pl.col("model_id") == defect.model_id)
                & pl.col("build_date").is_between(defect.build_from, defect.build_to)
            )
            first_sale = window["sale_date"].min()
            tour.first_raised = when
            if isinstance(first_sale, date):
                tour.first_raised_mis = int((when - first_sale).days / DAYS_PER_MONTH)
            break
    top = next((a for a in alerts if a.issue.causal_part == defect.component), None)
    if top is not None:
        tour.charts, tour.fit_output = _charts(data, context, top, sim_end, out, audit)
    return tour


def _charts(
    data: WarrantyData, context: AccessContext, alert: WarrantyAlert, as_of: date, out: Path,
    audit: AuditLog,
) -> tuple[list[Path], str | None]:  # fmt: skip
    issue = alert.issue
    vehicles = with_build_month(data.production).filter(pl.col("model_id") == issue.model_id)
    claims = data.claims.filter(pl.col("causal_part") == issue.causal_part)
    table = claims_per_thousand(claims, vehicles, as_of, cohort="build_month")
    curves = claims_per_thousand_plot(
        table,
        out / f"claims-per-thousand-{issue.model_id}-{issue.causal_part}.png",
        title=f"{issue.causal_part} claims per 1,000 {issue.model_id} by build month",
        highlight=issue.build_months,
    )
    sample = life_sample(
        data,
        issue.causal_part,
        as_of,
        model_id=issue.model_id,
        region=issue.region,
        build_from=issue.build_months[0],
        build_to=issue.build_months[-1],
    )
    fits, output_id = fit_component(
        sample, context, data=data, distributions=("weibull", "weibull_ds"), audit=audit
    )
    paper = weibull_probability_plot(
        sample.failures,
        sample.running,
        fits,
        out / f"weibull-{issue.model_id}-{issue.causal_part}.png",
        title=f"Weibull plot: {sample.description}",
        warranty_end=36 * 365.25 / 12,
    )
    return [curves, paper], output_id
