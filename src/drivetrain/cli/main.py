"""``drivetrain`` — the command line. Commands read ``drivetrain <noun> <verb>``."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from drivetrain.catalog import get_vehicle_model, use_imported_catalog
from drivetrain.cli import assistant as assistant_cli
from drivetrain.cli import audit as audit_cli
from drivetrain.cli import auth as auth_cli
from drivetrain.cli import campaign as campaign_cli
from drivetrain.cli import catalog as catalog_cli
from drivetrain.cli import copilot as copilot_cli
from drivetrain.cli import gateway as gateway_cli
from drivetrain.cli import governance as governance_cli
from drivetrain.cli import health as health_cli
from drivetrain.cli import ingest as ingest_cli
from drivetrain.cli import maintenance as maintenance_cli
from drivetrain.cli import ota as ota_cli
from drivetrain.cli import ota_release
from drivetrain.cli import parts as parts_cli
from drivetrain.cli import quality as quality_cli
from drivetrain.cli import recommend as recommend_cli
from drivetrain.cli import report as report_cli
from drivetrain.cli import serve as serve_cli
from drivetrain.cli import warranty as warranty_cli
from drivetrain.cli.assistant import print_cockpit_tour
from drivetrain.cli.audit import print_explanation
from drivetrain.cli.copilot import print_copilot_tour
from drivetrain.cli.health import print_health_tour
from drivetrain.cli.output import (
    console,
    handle_errors,
    print_arrow,
    print_json,
    print_table,
    progress_bar,
    settings_of,
)
from drivetrain.cli.parts_lake import print_parts_tour
from drivetrain.cli.quality_watch import print_quality_tour
from drivetrain.cli.warranty_alerts import print_warranty_tour
from drivetrain.demo import SimulationConfig, SimulationReport, run_simulation
from drivetrain.demo.can_export import export_vehicle_log
from drivetrain.demo.cockpit_tour import cockpit_tour
from drivetrain.demo.consent_story import CHARGING_CAMPAIGN
from drivetrain.demo.console_logins import create_console_logins
from drivetrain.demo.copilot_tour import copilot_tour
from drivetrain.demo.governance_tour import SAMPLE_QUERY, governance_tour
from drivetrain.demo.health_tour import health_tour
from drivetrain.demo.parts_tour import parts_tour
from drivetrain.demo.quality_tour import quality_tour
from drivetrain.demo.run import DEMO_CAMPAIGN, publish_simulation, run_demo
from drivetrain.demo.simulator import end_of
from drivetrain.demo.warranty_tour import warranty_tour
from drivetrain.errors import InputError
from drivetrain.fleet import get_vehicle, list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.governed_read import governed_query
from drivetrain.governance.keys import Keyring
from drivetrain.governance.principals import load_principals, principal_named
from drivetrain.governance.provenance import record_run
from drivetrain.governance.sealing import state_opener
from drivetrain.ingest import new_run_id
from drivetrain.lake import Lake, query
from drivetrain.logs import configure_logging
from drivetrain.settings import Settings, load_settings
from drivetrain.state import migrate, session_scope

app = typer.Typer(
    name="drivetrain",
    help=(
        "drivetrain — an open, self-hostable AI operating layer for vehicle programs and "
        "connected fleets.\n\nStart with: drivetrain demo"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
fleet_app = typer.Typer(
    help="The fleet: simulate vehicles, list the registry.", no_args_is_help=True
)
lake_app = typer.Typer(help="The versioned lake: list tables, query them.", no_args_is_help=True)
app.add_typer(fleet_app, name="fleet")
app.add_typer(lake_app, name="lake")
app.add_typer(campaign_cli.app, name="campaign")
app.add_typer(catalog_cli.app, name="catalog")
app.add_typer(ingest_cli.app, name="ingest")
app.add_typer(gateway_cli.app, name="gateway")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(auth_cli.app, name="auth")
app.add_typer(governance_cli.app, name="governance")
app.add_typer(health_cli.app, name="health")
app.add_typer(warranty_cli.app, name="warranty")
app.add_typer(parts_cli.app, name="parts")
app.add_typer(quality_cli.app, name="quality")
app.add_typer(report_cli.app, name="report")
app.add_typer(assistant_cli.app, name="assistant")
recommend_cli.app.command("maintenance")(maintenance_cli.maintenance)
app.add_typer(recommend_cli.app, name="recommend")
ota_cli.app.command("init")(ota_release.init)
ota_cli.app.command("release")(ota_release.release)
ota_cli.app.command("images")(ota_release.images)
app.add_typer(ota_cli.app, name="ota")
app.add_typer(copilot_cli.docs_app, name="docs")
app.add_typer(copilot_cli.copilot_app, name="copilot")
app.command("ask")(copilot_cli.ask)
app.command("explain")(audit_cli.explain)
app.command("serve")(serve_cli.serve)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@app.callback()
@handle_errors
def _main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="TOML settings file (default: ./drivetrain.toml)."),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Data directory (default: ./.drivetrain)."),
    ] = None,
) -> None:
    overrides = {"data_dir": data_dir} if data_dir else {}
    settings = load_settings(config, **overrides)
    configure_logging(settings.log_level)
    if settings.imported_catalog.is_file():
        use_imported_catalog(settings.imported_catalog)
    ctx.obj = settings


# -- fleet --------------------------------------------------------------------------------


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"--start must be a date like 2026-10-01, got {value!r}") from None


@fleet_app.command("simulate")
@handle_errors
def fleet_simulate(
    ctx: typer.Context,
    vehicles: Annotated[int, typer.Option(help="Number of vehicles.")] = 200,
    days: Annotated[int, typer.Option(help="Days to simulate.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same fleet.")] = 7,
    start: Annotated[
        str, typer.Option(help="First simulated day (UTC), YYYY-MM-DD.")
    ] = "2026-10-01",
    period: Annotated[int, typer.Option(help="Logging period of each signal, seconds.")] = 10,
    fault_rate: Annotated[float, typer.Option(help="Share of vehicles given a fault.")] = 0.2,
    brand: Annotated[
        list[str] | None, typer.Option(help="Only this brand (repeatable), e.g. Peugeot.")
    ] = None,
    model: Annotated[
        list[str] | None, typer.Option(help="Only this model id (repeatable), e.g. ram-1500.")
    ] = None,
    campaign: Annotated[
        list[str] | None,
        typer.Option(help="Collect for this campaign (repeatable); default: all active ones."),
    ] = None,
    publish: Annotated[
        bool,
        typer.Option(
            "--publish",
            help="Publish telemetry as VSS JSON to the MQTT broker (for 'gateway run') "
            "instead of writing the lake.",
        ),
    ] = False,
    window: Annotated[float, typer.Option(help="With --publish: seconds per message.")] = 60.0,
    as_json: JsonOption = False,
) -> None:
    """Simulate a multi-brand fleet into the lake and register it.

    Telemetry passes the campaigns' minimisation filter like any ingestion; with
    no campaign defined, everything simulated is stored.
    Example: drivetrain fleet simulate --vehicles 50 --days 7 --brand Tesla
    """
    config = SimulationConfig(
        vehicles=vehicles,
        days=days,
        seed=seed,
        start=_parse_date(start),
        period_s=period,
        fault_rate=fault_rate,
        brands=tuple(brand) if brand else None,
        models=tuple(model) if model else None,
    )
    config.validate()
    if publish:
        published = publish_simulation(settings_of(ctx), config, window_s=window)
        result = {
            "messages": published.messages,
            "signals": published.signals,
            "elapsed_s": round(published.elapsed_s, 2),
            "messages_per_s": round(published.messages_per_s),
        }
        if as_json:
            print_json(result)
        else:
            print_table("published over MQTT", ("", "value"), result.items())
        return
    report = _simulate(settings_of(ctx), config, quiet=as_json, campaign_ids=campaign)
    if as_json:
        print_json(_report_json(report))
    else:
        _print_report(report)


def _simulate(
    settings: Settings,
    config: SimulationConfig,
    *,
    quiet: bool,
    campaign_ids: list[str] | None = None,
) -> SimulationReport:
    if quiet:
        return run_simulation(settings, config, campaign_ids=campaign_ids)
    with progress_bar() as bar:
        task = bar.add_task(f"simulating {config.vehicles} vehicles × {config.days} days")

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return run_simulation(settings, config, campaign_ids=campaign_ids, on_progress=advance)


def _report_json(report: SimulationReport) -> dict[str, object]:
    return {
        "run_id": report.run_id,
        "vehicles": len(report.vehicles),
        "rows": report.rows,
        "versions": report.versions,
        "quarantined": report.telemetry.rows_quarantined,
        "dropped_by_campaigns": dict(report.telemetry.dropped),
        "faults": dict(report.faults),
        "elapsed_s": round(report.elapsed_s, 2),
    }


def _print_report(report: SimulationReport) -> None:
    by = Counter((v.brand, v.market) for v in report.vehicles)
    print_table(
        "Vehicles by brand and market",
        ("brand", "market", "vehicles"),
        ((b, m, n) for (b, m), n in sorted(by.items())),
    )
    print_table(
        "Rows written",
        ("table", "rows", "version"),
        ((t, f"{n:,}", report.versions.get(t, "")) for t, n in report.rows.items()),
    )
    print_table(
        "Faults injected (ground truth in table sim_faults)",
        ("fault", "vehicles"),
        sorted(report.faults.items()),
    )
    if report.telemetry.dropped:
        print_table(
            "Not collected: no campaign asked for it, or no legal basis (minimisation)",
            ("reason", "rows"),
            ((r, f"{n:,}") for r, n in report.telemetry.dropped.most_common()),
        )
    quarantined = report.telemetry.rows_quarantined
    rate = report.rows.get("telemetry", 0) / max(report.elapsed_s, 1e-9)
    console.print(
        f"run [bold]{report.run_id}[/]: {len(report.vehicles)} vehicles, "
        f"{report.rows.get('telemetry', 0):,} signal rows in {report.elapsed_s:.1f} s "
        f"({rate:,.0f} rows/s), {quarantined} quarantined"
    )


@fleet_app.command("export-log")
@handle_errors
def fleet_export_log(
    ctx: typer.Context,
    vehicle: Annotated[str, typer.Argument(help="Registered vehicle id.")],
    out: Annotated[Path, typer.Argument(help="Log to write: .log (candump), .asc, .blf, .mf4.")],
    day: Annotated[str | None, typer.Option(help="Only this day (UTC), YYYY-MM-DD.")] = None,
) -> None:
    """Write a simulated vehicle's raw bus data as a log, encoded with its real DBC files.

    OBD-II-only vehicles get a log of service 01 responses instead. Feed the
    result to 'drivetrain ingest can' or 'drivetrain ingest obd'.
    Example: drivetrain fleet export-log veh_3fa9c01b2e7d drive.blf --day 2026-10-01
    """
    settings = settings_of(ctx)
    url = settings.resolved_state_url
    migrate(url)
    with session_scope(url) as session:
        record = get_vehicle(session, vehicle)
    count = export_vehicle_log(
        Lake(settings.lake_dir),
        vehicle,
        get_vehicle_model(record.model_id),
        out,
        day=_parse_date(day) if day else None,
    )
    console.print(f"wrote {count:,} records of {record.brand} {record.model_name} to {out}")


@fleet_app.command("list")
@handle_errors
def fleet_list(
    ctx: typer.Context,
    brand: Annotated[str | None, typer.Option(help="Only this brand.")] = None,
    market: Annotated[str | None, typer.Option(help="Only this market (ISO country code).")] = None,
    model: Annotated[str | None, typer.Option(help="Only this model id.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many vehicles.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List registered vehicles.

    Example: drivetrain fleet list --brand Ram --market US --json
    """
    settings = settings_of(ctx)
    url = settings.resolved_state_url
    migrate(url)
    with session_scope(url) as session:
        vehicles = list_vehicles(session, brand=brand, market=market, model_id=model, limit=limit)
    if as_json:
        print_json([dataclasses.asdict(v) for v in vehicles])
        return
    print_table(
        f"{len(vehicles)} vehicle(s)",
        ("vehicle_id", "vin", "brand", "model", "year", "market", "powertrain"),
        (
            (v.vehicle_id, v.vin, v.brand, v.model_name, v.model_year, v.market, v.powertrain)
            for v in vehicles
        ),
    )


# -- lake ---------------------------------------------------------------------------------


@lake_app.command("tables")
@handle_errors
def lake_tables(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the lake's tables with their current version, rows and files.

    Example: drivetrain lake tables --json
    """
    infos = Lake(settings_of(ctx).lake_dir).tables()
    if as_json:
        print_json([dataclasses.asdict(i) for i in infos])
        return
    print_table(
        "Lake tables",
        ("table", "version", "rows", "files", "partitioned by", "description"),
        (
            (
                i.name,
                "—" if i.version is None else i.version,
                f"{i.rows:,}",
                i.files,
                ", ".join(i.partition_by),
                i.description,
            )
            for i in infos
        ),
    )


@lake_app.command("compact")
@handle_errors
def lake_compact(
    ctx: typer.Context,
    table: Annotated[list[str] | None, typer.Argument(help="Tables (default: all).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Merge each table's small files into large ones (a new version, same rows).

    Telemetry is also sorted by vehicle and time in small row groups, so that
    one vehicle's read skips the others' rows. Run it now and then under a
    long-running gateway, which writes one small file per batch and day, and
    after importing logs; a table already compacted is left as it is.
    Example: drivetrain lake compact telemetry
    """
    lake = Lake(settings_of(ctx).lake_dir)
    names = table or [i.name for i in lake.tables()]
    result = {name: lake.compact(name) for name in names}
    if as_json:
        print_json(result)
        return
    print_table(
        "compaction",
        ("table", "files removed", "files added"),
        ((n, r["files_removed"], r["files_added"]) for n, r in result.items()),
    )


def _parse_pins(pins: list[str] | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for pin in pins or []:
        name, sep, version = pin.partition("=")
        if not sep or not version.isdigit():
            raise InputError(
                f"--version takes TABLE=N, got {pin!r}", hint="e.g. --version telemetry=3"
            )
        out[name] = int(version)
    return out


@lake_app.command("query")
@handle_errors
def lake_query(
    ctx: typer.Context,
    sql: Annotated[str, typer.Argument(help="One read-only SQL statement (DuckDB dialect).")],
    version: Annotated[
        list[str] | None,
        typer.Option("--version", help="Pin a table to a version: TABLE=N (repeatable)."),
    ] = None,
    as_: Annotated[
        str | None,
        typer.Option("--as", help="Read as this principal (access control applies)."),
    ] = None,
    purpose: Annotated[
        str | None, typer.Option(help="Why the principal reads (with --as).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run read-only SQL over the lake's tables.

    With --as and --purpose the query sees only the rows that principal may read
    for that purpose (principals from principals_file); refusals name the rule.
    Example: drivetrain lake query "SELECT signal, count(*) FROM telemetry GROUP BY 1"
    --as analyst-peugeot --purpose vehicle_health
    """
    settings = settings_of(ctx)
    lake = Lake(settings.lake_dir)
    pins = _parse_pins(version)
    audit = AuditLog(settings.data_dir)
    if as_ is None:
        if purpose is not None:
            raise InputError("--purpose needs --as PRINCIPAL")
        result = query(lake, sql, versions=pins)
        record_run(
            audit,
            new_run_id("query"),
            "query",
            {"sql": sql, "versions": lake.versions() | pins, "rows": result.num_rows},
            principal="cli",
            purpose="unspecified",
        )
        print_arrow(result, as_json=as_json)
        return
    if purpose is None:
        raise InputError("--as needs --purpose", hint="e.g. --purpose vehicle_health")
    principal = principal_named(settings.resolved_principals_file, as_)
    url = settings.resolved_state_url
    migrate(url)
    with session_scope(url) as session:
        vehicles = list_vehicles(session)
    context = AccessContext(principal, purpose)
    opener = state_opener(url, Keyring.load_or_create(settings.ensure_data_dir()))
    result = governed_query(lake, sql, context, vehicles, versions=pins, audit=audit, opener=opener)
    print_arrow(result, as_json=as_json)


# -- demo ---------------------------------------------------------------------------------


@app.command("demo")
@handle_errors
def demo(
    ctx: typer.Context,
    vehicles: Annotated[int, typer.Option(help="Number of vehicles.")] = 200,
    days: Annotated[int, typer.Option(help="Days to simulate.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    docs: Annotated[
        bool,
        typer.Option(
            "--docs/--no-docs",
            help="Index the documentation and answer two questions (about a minute).",
        ),
    ] = True,
    serve: Annotated[
        bool,
        typer.Option("--serve", help="Then serve the console on the demo's data (Ctrl-C stops)."),
    ] = False,
) -> None:
    """Show what drivetrain does, end to end, in a fresh data directory.

    Uses --data-dir if given, else ./.drivetrain/demo (replaced on each run).
    Example: drivetrain --data-dir /tmp/dt-demo demo --vehicles 50 --days 7
    """
    settings = settings_of(ctx)
    explicit = ctx.find_root().params.get("data_dir") is not None
    data_dir = settings.data_dir if explicit else settings.data_dir / "demo"
    if not explicit and settings.models_dir is None:  # trained models outlive a redone demo
        settings = settings.model_copy(update={"models_dir": settings.data_dir / "models"})
    console.rule("[bold]drivetrain demo")
    console.print(f"data directory: [bold]{data_dir}[/]  (started {datetime.now():%H:%M:%S})")
    for campaign in (DEMO_CAMPAIGN, CHARGING_CAMPAIGN):
        console.print(
            f"campaign [bold]{campaign.campaign_id}[/] ({campaign.purpose}): {campaign.description}"
        )
    config = SimulationConfig(vehicles=vehicles, days=days, seed=seed)
    with progress_bar() as bar:
        task = bar.add_task(f"simulating {vehicles} vehicles × {days} days")
        demo_settings, report, raw, story = run_demo(
            data_dir,
            config,
            settings,
            on_progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    console.print(
        f"raw path: {raw.can_logs:,} CAN logs ({raw.can_frames:,} frames, real DBC files) and "
        f"{raw.obd_logs:,} OBD-II logs ({raw.obd_responses:,} responses), "
        f"{raw.log_bytes / 2**20:,.0f} MiB under {data_dir / 'raw'}, decoded back into "
        f"{raw.decoded_signals:,} signals (+{raw.native_signals:,} reported as VSS), "
        f"{sum(raw.rejected.values())} rejected"
    )
    _print_report(report)
    withdrawn = sum(n for r, n in report.telemetry.dropped.items() if "no legal basis" in r)
    console.print(
        f"consent: {story.owners} owners registered; {story.location_consents} consented to "
        "location services for charging analysis"
    )
    if story.withdrawn_by and story.withdrawn_at:
        console.print(
            f"{story.withdrawn_by} ({story.withdrawn_vehicle}) withdrew that consent on "
            f"{story.withdrawn_at:%Y-%m-%d %H:%M} UTC: {withdrawn:,} later location rows of "
            "that car were not stored; its technical signals still were"
        )
    tour = governance_tour(demo_settings)
    console.rule("[bold]the lake answers questions — and records how")
    console.print(f'[dim]$ drivetrain lake query "{SAMPLE_QUERY}"[/]')
    print_arrow(tour.sample, as_json=False)
    console.print(f"[dim]$ drivetrain explain {tour.explanation.output_id}[/]")
    print_explanation(tour.explanation)
    console.rule("[bold]governance")
    console.print(
        f"analyst-peugeot (fleet_analyst; Peugeot; eu) reading for vehicle_health sees "
        f"{tour.analyst_vehicles} of {tour.fleet_vehicles} vehicles "
        f"(brands: {', '.join(tour.analyst_brands) or 'none'})"
    )
    console.print(f"[bold red]refused:[/] {tour.refused}", highlight=False)
    console.print(
        f"positions are sealed per owner (AES-GCM, {report.telemetry.rows_sealed:,} rows in "
        f"telemetry_sealed): charging-service (location_services) opens "
        f"{tour.positions_opened:,} latitudes; the analyst sees {tour.positions_seen_by_analyst}"
    )
    if tour.erasure is not None:
        erased = tour.erasure
        console.print(
            f"erasure (GDPR Art. 17) of {erased.subject_id}: data key destroyed first, so "
            f"{tour.positions_shredded:,} sealed positions are unreadable in any copy; then "
            + ", ".join(f"{t} {n:,} rows" for t, n in erased.rows_deleted.items() if n)
            + f" deleted, {erased.files_removed} files vacuumed, subject records removed "
            f"($ drivetrain governance erase {erased.subject_id} --yes)"
        )
    console.rule("[bold]vehicle health")
    console.print("[dim]$ drivetrain health scan --as fleet-health[/]")
    health = health_tour(demo_settings)
    print_health_tour(health)
    console.rule("[bold]warranty early warning")
    console.print(
        "[dim]$ drivetrain warranty import production.csv --production; "
        "drivetrain warranty import claims.csv; drivetrain warranty alerts --as warranty[/]"
    )
    with console.status("simulating the programs' warranty history and replaying it …"):
        warranty = warranty_tour(
            demo_settings,
            (end_of(config) - timedelta(days=1)).date(),
            anomalies=health.scan.detection.anomalies,
        )
    print_warranty_tour(warranty)
    console.rule("[bold]parts planning")
    console.print(
        "[dim]$ drivetrain parts simulate; drivetrain parts backtest --as parts --fleet; "
        "drivetrain parts plan --as parts --fleet --service-level 0.95[/]"
    )
    assert warranty.history is not None
    with console.status("simulating the parts network, backtesting and planning …"):
        parts = parts_tour(demo_settings, warranty.history)
    print_parts_tour(parts)
    console.rule("[bold]manufacturing quality")
    console.print(
        "[dim]$ drivetrain quality simulate; drivetrain quality capability --as quality; "
        "drivetrain quality watch --as quality --replay; "
        "drivetrain quality trace LOT-TH-2402-B --as warranty[/]"
    )
    with console.status("charting the plant, watching its stream, tracing the lot …"):
        quality = quality_tour(demo_settings, warranty.history)
    print_quality_tour(quality)
    console.rule("[bold]knowledge copilot")
    if docs:
        with console.status("indexing the documentation (all-MiniLM-L6-v2 embeddings) …"):
            print_copilot_tour(copilot_tour(demo_settings))
    else:
        console.print("skipped (--no-docs)")
    console.rule("[bold]in-car assistant")
    console.print(
        '[dim]$ drivetrain assistant chat --vehicle V --say "set the temperature to 22 degrees" …[/]'
    )
    with console.status("loading the understanding model (trained on first use) …"):
        cockpit = cockpit_tour(
            demo_settings,
            service_advice=lambda v: assistant_cli.service_advice(demo_settings, v, "fleet-health"),
        )
    print_cockpit_tour(cockpit)
    verified = AuditLog(demo_settings.data_dir).verify()
    latest = verified.latest
    console.print(
        f"audit log: {verified.entries} entries under {verified.tree_heads} signed tree "
        f"heads (latest root {latest.root_hash.hex()[:16] if latest else '—'}…), "
        "[bold green]verified[/] ($ drivetrain audit verify)"
    )
    console.print(
        f"Next: [bold]drivetrain --data-dir {data_dir} lake tables[/], "
        f"[bold]drivetrain --data-dir {data_dir} fleet list[/], "
        f"[bold]drivetrain --data-dir {data_dir} audit log[/]"
    )
    _print_console_logins(demo_settings, data_dir, serve=serve)
    if serve:
        serve_cli.run_server(demo_settings, demo_settings.api_host, demo_settings.api_port)


def _print_console_logins(settings: Settings, data_dir: Path, *, serve: bool) -> None:
    """The web console's address and the demo users' new passwords."""
    console.rule("[bold]web console")
    passwords = create_console_logins(settings)
    roles = {p.principal_id: ", ".join(p.roles) for p in load_principals(
        settings.resolved_principals_file).values()}  # fmt: skip
    print_table(
        "sign in with (new random passwords on every demo run)",
        ("user", "roles", "password"),
        ((user, roles.get(user, ""), password) for user, password in passwords.items()),
    )
    url = serve_cli.console_url(settings)
    if serve:
        console.print(f"serving the console at [bold]{url}/[/] — Ctrl-C stops it")
    else:
        console.print(
            f"open the console: [bold]drivetrain --data-dir {data_dir} serve[/], then "
            f"[bold]{url}/[/] (or run [bold]make demo SERVE=1[/])"
        )


def main() -> None:
    """Console-script entry point."""
    app()
