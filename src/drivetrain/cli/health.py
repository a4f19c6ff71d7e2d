"""``drivetrain health …`` — vehicle health: DTCs, anomalies, diagnosis and predictive maintenance."""

from __future__ import annotations

import dataclasses
from datetime import date
from importlib.metadata import version as package_version
from typing import Annotated, Any

import numpy as np
import polars as pl
import typer

from drivetrain.cli.output import (
    console,
    handle_errors,
    print_json,
    print_table,
    progress_bar,
    settings_of,
)
from drivetrain.demo.health_eval import evaluate_health
from drivetrain.demo.health_tour import HealthTour
from drivetrain.demo.ranking_eval import TRAINING as RANKING_TRAINING
from drivetrain.demo.ranking_eval import evaluate_ranking
from drivetrain.demo.simulator import SimulationConfig
from drivetrain.errors import NotFound
from drivetrain.fleet import VehicleRecord, list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import principal_named
from drivetrain.governance.provenance import record_output
from drivetrain.health.dtc import DtcInterpretation, interpret_dtc
from drivetrain.health.scan import WEAK_PACK_Z, ScanReport, diagnose_vehicle, fleet_scan
from drivetrain.lake import Lake
from drivetrain.settings import Settings
from drivetrain.state import migrate, session_scope

PURPOSE = "vehicle_health"

app = typer.Typer(
    help="Vehicle health: DTCs, anomalies, diagnosis and predictive maintenance.",
    no_args_is_help=True,
)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]

_NOT_DESCRIBED = {
    "manufacturer_specific": "(manufacturer-specific: see the manufacturer's service information)",
    "generic_not_described": "(generic SAE code, not described here)",
}


@app.command("dtc")
@handle_errors
def dtc(
    codes: Annotated[
        list[str], typer.Argument(help="SAE J2012 trouble codes, e.g. P0301 P0A7F U0100.")
    ],
    as_json: AsJson = False,
) -> None:
    """Explain diagnostic trouble codes: system, meaning, severity and typical causes.

    Generic (SAE-defined) codes are described; manufacturer-specific ones
    (P1xxx, P30xx-P33xx, C1/C2, B1/B2, U1/U2) are named as such, never guessed.
    Severity: stop_safely, service_soon, monitor (or unknown when not described).
    Example: drivetrain health dtc P0301 P0A7F U0100 --json
    """
    found = [interpret_dtc(code) for code in codes]
    if as_json:
        print_json([_as_json(r) for r in found])
        return
    print_table(
        None,
        ("code", "severity", "defined by", "description"),
        (
            (r.code, r.severity, r.defined_by, r.description or _NOT_DESCRIBED[r.coverage])
            for r in found
        ),
    )
    for r in found:
        where = r.system if r.subsystem is None else f"{r.system} · {r.subsystem}"
        console.print(f"[bold]{r.code}[/] {where}", highlight=False)
        console.print(f"  {r.severity}: {r.severity_reason}", highlight=False)
        if r.causes:
            console.print(f"  typical causes: {'; '.join(r.causes)}", highlight=False)


def _as_json(record: DtcInterpretation) -> dict[str, object]:
    return {**dataclasses.asdict(record), "generic": record.generic}


# -- fleet scan, diagnosis, evaluation ----------------------------------------------------

AsPrincipal = Annotated[
    str,
    typer.Option(
        "--as", help="Principal the scan reads as (principals_file); purpose vehicle_health."
    ),
]


def _scan(
    settings: Settings,
    principal: str,
    vehicles: list[VehicleRecord],
    *,
    quiet: bool,
    since: date | None = None,
) -> ScanReport:
    context = AccessContext(principal_named(settings.resolved_principals_file, principal), PURPOSE)
    lake, audit = Lake(settings.lake_dir), AuditLog(settings.data_dir)
    if quiet:
        return fleet_scan(lake, context, vehicles, audit=audit, since=since)
    with progress_bar() as bar:
        task = bar.add_task(f"scanning {len(vehicles)} vehicles, day by day")
        return fleet_scan(
            lake,
            context,
            vehicles,
            audit=audit,
            since=since,
            on_progress=lambda done, total: bar.update(task, completed=done, total=total),
        )


def _fleet(settings: Settings) -> list[VehicleRecord]:
    url = settings.resolved_state_url
    migrate(url)
    with session_scope(url) as session:
        return list_vehicles(session)


@app.command("scan")
@handle_errors
def scan(
    ctx: typer.Context,
    as_: AsPrincipal,
    top: Annotated[int, typer.Option(help="Vehicles to list.", min=1)] = 20,
    as_json: AsJson = False,
) -> None:
    """Scan the whole fleet for anomalies and wear; rank the vehicles that need attention.

    One governed, audited read per day of telemetry (purpose vehicle_health): only the
    vehicles the principal may read are scanned. Each vehicle's daily condition
    indicators are judged against its own baseline and its model's peers (combined
    Shewhart-CUSUM), wear items get days left, and the scan is recorded for
    `drivetrain explain`.
    Example: drivetrain health scan --as fleet-health --top 10
    """
    settings = settings_of(ctx)
    report = _scan(settings, as_, _fleet(settings), quiet=as_json)
    summary = {
        "vehicles_scanned": report.vehicles,
        "days": report.days,
        "rows_read": report.rows_read,
        "rows_per_s": round(report.rows_per_s),
        "anomalies": report.detection.anomalies.height,
        "vehicles_needing_attention": report.ranking.height,
        "insufficient_data": report.detection.insufficient.height,
        "stuck_sensor_days": report.stuck.height,
        "clock_jump_days": report.clock.select("vehicle_id", "day").n_unique(),
        "output_id": report.output_id,
    }
    if as_json:
        print_json({**summary, "ranking": report.ranking.head(top).to_dicts()})
        return
    print_table(
        f"{report.ranking.height} of {report.vehicles} vehicles need attention (top {top})",
        ("vehicle", "model", "health", "attention", "findings", "top finding", "since"),
        report.ranking.head(top).iter_rows(),
    )
    console.print(
        f"{report.rows_read:,} rows over {report.days} days in {report.elapsed_s:.1f} s "
        f"({report.rows_per_s:,.0f} rows/s); {summary['insufficient_data']} vehicle-indicator "
        "series had too little history for a baseline (judged against peers only); "
        f"{report.stuck.height} vehicle-day signals read one value all day (stuck: not scored); "
        f"{summary['clock_jump_days']} vehicle-days had inconsistent timestamps (clock jump: "
        "not scored)"
    )
    if report.output_id:
        console.print(f"[dim]how it was produced: drivetrain explain {report.output_id}[/]")


@app.command("diagnose")
@handle_errors
def diagnose_command(
    ctx: typer.Context,
    vehicle: Annotated[str, typer.Argument(help="The vehicle's pseudonym (veh_…).")],
    as_: AsPrincipal,
    as_json: AsJson = False,
) -> None:
    """Likely causes for one vehicle, ranked, with the evidence and what to do.

    Scans the vehicle with the other vehicles of its model (so that it is judged
    against its peers), reads its DTC episodes, and combines anomalies, wear and
    trouble codes through the diagnosis knowledge base. Recorded for `explain`.
    Example: drivetrain health diagnose veh_3fa9c01b2e7d4a10 --as fleet-health
    """
    settings = settings_of(ctx)
    fleet = _fleet(settings)
    target = next((v for v in fleet if v.vehicle_id == vehicle), None)
    if target is None:
        raise NotFound(f"no registered vehicle {vehicle}", hint="drivetrain fleet list")
    peers = [v for v in fleet if v.model_id == target.model_id]
    report = _scan(settings, as_, peers, quiet=True)
    context = AccessContext(principal_named(settings.resolved_principals_file, as_), PURPOSE)
    found = diagnose_vehicle(
        Lake(settings.lake_dir), context, target, report, audit=AuditLog(settings.data_dir)
    )
    causes, output_id = found.causes, found.output_id
    action = found.action
    pack = report.battery.filter(pl.col("vehicle_id") == vehicle)
    if as_json:
        print_json(
            {
                "vehicle": vehicle,
                "action": action,
                "causes": [dataclasses.asdict(c) for c in causes],
                "traction_battery": pack.to_dicts()[0] if pack.height else None,
                "output_id": output_id,
            }
        )
        return
    colour = {"stop_safely": "bold red", "book_service": "yellow", "drive_on": "green"}[action]
    console.print(f"[bold]{vehicle}[/] ({target.model_name}): [{colour}]{action}[/]")
    if not causes:
        console.print("nothing found: no anomaly, no wear item due, no trouble code")
    for rank, c in enumerate(causes[:5], start=1):
        console.print(
            f"{rank}. [bold]{c.name}[/] ({c.system}) — score {c.score:.1f}, {c.action}",
            highlight=False,
        )
        for line in c.evidence:
            console.print(f"     {line}", highlight=False)
        if c.fleet_pattern:
            console.print(
                f"     {c.fleet_pattern} other {target.model_name} show the same pattern",
                highlight=False,
            )
        console.print(f"     [dim]{c.advice}[/]", highlight=False)
    if pack.height:
        console.print(_pack_line(pack.row(0, named=True)), highlight=False)
    console.print(f"[dim]how it was produced: drivetrain explain {output_id}[/]")


def _pack_line(row: dict[str, Any]) -> str:
    """The traction battery's state of health, in one line."""
    if row["status"] != "estimated":
        return f"traction battery: {row['status'].replace('_', ' ')} for a state of health"
    line = (
        f"traction battery: state of health {row['soh_pct']:.1f} % "
        f"({row['soh_low']:.1f}-{row['soh_high']:.1f}) from {row['trips']} trips"
    )
    if row.get("residual_z") is not None:
        years = row["years_to_70"]
        line += (
            f"; {row['residual_z']:+.1f} sd against the fleet's ageing law; "
            + ("beyond 40 years" if years == float("inf") else f"{years:.0f} years")
            + " to 70 %"
        )
    return line


@app.command("evaluate")
@handle_errors
def evaluate(
    ctx: typer.Context,
    vehicles: Annotated[int, typer.Option(help="Vehicles of the held-out fleet.", min=20)] = 400,
    days: Annotated[int, typer.Option(help="Days simulated.", min=10)] = 30,
    seed: Annotated[int, typer.Option(help="Seed of the held-out fleet.")] = 2026,
    fault_rate: Annotated[float, typer.Option(help="Share of vehicles given a fault.")] = 0.4,
    ranking: Annotated[
        bool,
        typer.Option(
            "--ranking",
            help="Also train the learned diagnosis ranking on a second simulated fleet "
            "(seed 101) and compare it with the rules on this one (about a minute more).",
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Score the detectors against a held-out simulated fleet with known injected faults.

    Per fault type: recall, precision, false alarms per 1,000 vehicle-days and median
    lead time before the fault's first DTC, for the fixed threshold rules and for the
    full method. The fleet is simulated in a scratch directory and thrown away.
    Example: drivetrain health evaluate --vehicles 400 --days 30 --seed 2026
    """
    config = SimulationConfig(vehicles=vehicles, days=days, seed=seed, fault_rate=fault_rate)
    if as_json:
        result = evaluate_health(config)
    else:
        with progress_bar() as bar:
            task = bar.add_task(f"simulating a held-out fleet of {vehicles} × {days} days")
            result = evaluate_health(
                config,
                on_progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    ranked = None
    if ranking:
        held_out = dataclasses.replace(RANKING_TRAINING, vehicles=vehicles, days=days, seed=seed,
                                       fault_rate=fault_rate)  # fmt: skip
        ranked = evaluate_ranking(dataclasses.replace(RANKING_TRAINING, days=days), held_out)
    settings = settings_of(ctx)
    output_id = record_output(
        AuditLog(settings.ensure_data_dir()),
        kind="health_evaluation",
        model="drivetrain.health.anomaly vs threshold rules",
        version=package_version("drivetrain"),
        params={
            **dataclasses.asdict(result.detector),
            "vehicles": vehicles,
            "days": days,
            "seed": seed,
            "fault_rate": fault_rate,
            "ranker": ranked.ranker.describe() if ranked is not None else None,
        },
        inputs={},
        sources=[f"simulated fleet seed {seed}: {result.signal_rows:,} signal rows"],
        principal="cli",
        purpose="product_improvement",
    )
    if as_json:
        print_json(
            {
                "metrics": result.metrics.to_dicts(),
                "battery_life": result.battery_life.to_dicts(),
                "traction_battery": result.traction_battery.to_dicts(),
                "ranking": ranked.metrics.to_dicts() if ranked is not None else None,
                "output_id": output_id,
            }
        )
        return
    print_table(
        f"held-out fleet: {vehicles} vehicles × {days} days, seed {seed}, "
        f"{result.vehicle_days:,} vehicle-days",
        (
            "fault",
            "method",
            "faults",
            "recall",
            "precision",
            "false alarms",
            "per 1,000 veh-days",
            "median lead (days)",
        ),
        (
            (
                r["fault"],
                r["method"],
                r["faults"] or "",
                _pct(r["recall"]),
                _pct(r["precision"]),
                r["false_alarms"],
                _fmt(r["false_alarms_per_1000_vehicle_days"]),
                _fmt(r["median_lead_days"]),
            )
            for r in result.metrics.sort("fault", "method").iter_rows(named=True)
        ),
    )
    print_table(
        "12 V battery: predicted days until P0562 (interval ±1 day) against the day it was set",
        ("days after onset", "batteries", "with a trend", "median error (days)", "coverage"),
        (
            (
                r["after_days"],
                r["batteries"],
                r["with_trend"],
                _fmt(r["median_abs_error_days"]),
                _pct(r["interval_coverage"]),
            )
            for r in result.battery_life.iter_rows(named=True)
        ),
    )
    tb = result.traction_battery.row(0, named=True)
    print_table(
        "Traction battery state of health against the simulator's truth",
        ("measure", "value"),
        (
            ("plug-ins / estimated", f"{tb['plug_ins']} / {tb['estimated']}"),
            ("mean absolute error (points)", _fmt(tb["mae_points"])),
            ("bias (points)", _fmt(tb["bias_points"])),
            ("truth inside the 90 % interval", _pct(tb["interval_coverage"])),
            ("weak packs found / present", f"{tb['weak_found']} / {tb['weak_packs']}"),
            ("healthy packs flagged weak", tb["false_weak"]),
            (
                "years to 70 %: median error (true median)",
                f"{_fmt(tb['years_median_abs_error'])} ({_fmt(tb['years_true_median'])})",
            ),
            ("years to 70 %: truth inside the interval", _pct(tb["years_interval_coverage"])),
        ),
    )
    if ranked is not None:
        print_table(
            f"Diagnosis ranking: rules against the learned ranking (trained on seed "
            f"{ranked.training.seed}, {ranked.training_cases} cases)",
            ("method", "diagnosed faulty", "top-1", "MRR", "Brier", "confident made-up first"),
            (
                (
                    r["method"],
                    f"{r['diagnosed']} of {r['faulty']}",
                    _pct(r["top1"]),
                    _fmt(r["mrr"]),
                    "n/a" if r["brier"] is None else f"{r['brier']:.4f}",
                    _pct(r["confident_false_first"]),
                )
                for r in ranked.metrics.iter_rows(named=True)
            ),
        )
    console.print(f"[dim]{result.elapsed_s:.0f} s; drivetrain explain {output_id}[/]")


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def print_health_tour(tour: HealthTour) -> None:
    """The demo's health section: the ranked fleet and the top vehicle's diagnosis."""
    scan = tour.scan
    print_table(
        f"{scan.ranking.height} of {scan.vehicles} vehicles need attention (top 5)",
        ("vehicle", "model", "health", "attention", "findings", "top finding", "since"),
        scan.ranking.head(5).iter_rows(),
    )
    console.print(
        f"{scan.rows_read:,} rows over {scan.days} days in {scan.elapsed_s:.1f} s; "
        f"{scan.detection.anomalies.height} anomalies; "
        f"[dim]drivetrain explain {scan.output_id}[/]"
    )
    packs = scan.battery.filter(pl.col("status") == "estimated")
    if packs.height:
        median = float(np.median(packs["soh_pct"].to_numpy()))
        weak = packs.filter(pl.col("residual_z") < -WEAK_PACK_Z).height
        console.print(
            f"traction batteries: {packs.height} of {scan.battery.height} plug-ins estimated "
            f"from their BMS counters, median state of health "
            f"{median:.1f} %, {weak} ageing faster than the fleet's law",
            highlight=False,
        )
    if tour.vehicle is None:
        return
    v = tour.vehicle
    console.print(
        f"[dim]$ drivetrain health diagnose {v.vehicle_id} --as fleet-health[/]\n"
        f"[bold]{v.vehicle_id}[/] ({v.model_name}): [bold]{tour.action}[/]"
    )
    for rank, c in enumerate(tour.causes[:2], start=1):
        console.print(f"{rank}. [bold]{c.name}[/] — score {c.score:.1f}", highlight=False)
        for line in c.evidence[:3]:
            console.print(f"     {line}", highlight=False)
        console.print(f"     [dim]{c.advice}[/]", highlight=False)
