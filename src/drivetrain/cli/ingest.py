"""``drivetrain ingest …`` — bring vehicle data in through the collection choke point."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from drivetrain.catalog import VehicleModel, get_vehicle_model
from drivetrain.cli.output import console, handle_errors, print_json, print_table, progress_bar
from drivetrain.errors import InputError
from drivetrain.fleet import get_vehicle, list_vehicles
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.keys import Keyring
from drivetrain.governance.provenance import record_run
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.ingest import CampaignFilter, CollectionContext, list_campaigns
from drivetrain.ingest.campaigns import targets_of
from drivetrain.ingest.can_ingest import ingest_can_log
from drivetrain.ingest.can_logs import read_can_log
from drivetrain.ingest.fingerprint import identify
from drivetrain.ingest.gate import collection_gate
from drivetrain.ingest.obd_log import ingest_obd_log
from drivetrain.ingest.service_records import ingest_service_records
from drivetrain.lake import Lake
from drivetrain.settings import Settings
from drivetrain.state import migrate, session_scope

app = typer.Typer(help="Bring vehicle data in: CAN logs and OBD-II logs.", no_args_is_help=True)

LogArgument = Annotated[Path, typer.Argument(help="CAN log: .log (candump), .asc, .blf or .mf4.")]
VehicleOption = Annotated[str, typer.Option(help="Registered vehicle id the log came from.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@dataclasses.dataclass(frozen=True, slots=True)
class _Source:
    """What ingesting a log of one registered vehicle needs."""

    lake: Lake
    audit: AuditLog
    model: VehicleModel
    campaigns: CampaignFilter
    active_campaigns: int


ModelOption = Annotated[
    str | None,
    typer.Option(help="Vehicle model id; checked against the registry (default: registered)."),
]


def _source(ctx: typer.Context, vehicle: str, model_id: str | None = None) -> _Source:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    url = settings.resolved_state_url
    migrate(url)
    with session_scope(url) as session:
        record = get_vehicle(session, vehicle)
        campaigns = list_campaigns(session, active_only=True)
        keyring = Keyring.load_or_create(settings.ensure_data_dir())
        gate = collection_gate(session, keyring, campaigns, targets_of([record]))
    if model_id is not None and model_id != record.model_id:
        raise InputError(
            f"vehicle {vehicle} is registered as a {record.model_id}, not a {model_id}",
            hint="drop --model, or pass the vehicle the log really came from",
        )
    return _Source(
        Lake(settings.lake_dir),
        AuditLog(settings.data_dir),
        get_vehicle_model(record.model_id),
        gate,
        len(campaigns),
    )


def _show(title: str, summary: dict[str, object], source: _Source, as_json: bool) -> None:
    if as_json:
        print_json(summary)
        return
    print_table(title, ("", "count"), ((k, v) for k, v in summary.items()))
    if not source.active_campaigns:
        console.print(
            "[yellow]no active campaign: nothing was stored[/] (drivetrain campaign create …)"
        )


@app.command("obd")
@handle_errors
def obd(
    ctx: typer.Context,
    log: Annotated[Path, typer.Argument(help="OBD-II response log (see docs/ingest.md).")],
    vehicle: VehicleOption,
    model: ModelOption = None,
    as_json: JsonOption = False,
) -> None:
    """Decode an OBD-II log (service 01 PIDs, service 03/07 DTCs) into the lake.

    Only what an active campaign asks for is stored; unreadable lines are
    quarantined with their line number; re-ingesting a log stores nothing twice.
    Example: drivetrain ingest obd trip.log --vehicle veh_3fa9c01b2e7d
    """
    source = _source(ctx, vehicle, model)
    context = CollectionContext(source=f"obd:{log.name}", purpose="vehicle_health")
    report = ingest_obd_log(
        source.lake,
        log,
        vehicle_id=vehicle,
        model=source.model,
        context=context,
        campaigns=source.campaigns,
        audit=source.audit,
    )
    summary: dict[str, object] = {
        "run_id": context.run_id,
        "signals_stored": report.telemetry.rows_written,
        "signals_dropped": dict(report.telemetry.dropped),
        "signals_quarantined": report.telemetry.rows_quarantined,
        "signals_already_stored": report.duplicates,
        "dtc_events": report.dtc_events,
        "lines_rejected": report.rejected_lines,
    }
    _show("OBD-II log ingested", summary, source, as_json)


@app.command("can")
@handle_errors
def can(
    ctx: typer.Context,
    log: LogArgument,
    vehicle: VehicleOption,
    model: ModelOption = None,
    as_json: JsonOption = False,
) -> None:
    """Decode a CAN log with the vehicle model's DBC files and manifest into the lake.

    Signals become VSS paths with the manifest's unit conversion; only what an
    active campaign asks for is stored. Unknown frame ids, short frames and
    unreadable records are quarantined with their location; re-ingesting a log
    stores nothing twice.
    Example: drivetrain ingest can drive.blf --vehicle veh_3fa9c01b2e7d --model hyundai-i30
    """
    source = _source(ctx, vehicle, model)
    context = CollectionContext(source=f"can:{log.name}", purpose="vehicle_health")
    with progress_bar() as bar:
        bar.add_task(f"decoding {log.name} with {', '.join(source.model.dbc_files)}", total=None)
        report = ingest_can_log(
            source.lake,
            log,
            vehicle_id=vehicle,
            model=source.model,
            context=context,
            campaigns=source.campaigns,
            audit=source.audit,
        )
    assert report.telemetry is not None
    summary: dict[str, object] = {
        "run_id": context.run_id,
        "frames": report.frames,
        "frames_decoded": report.frames_decoded,
        "frames_not_bound": report.frames_not_bound,
        "frames_rejected": dict(report.rejected),
        "counter_values_checked": report.integrity["counter values checked"],
        "counter_gaps": report.integrity["counter gaps"],
        "signals_stored": report.telemetry.rows_written,
        "signals_dropped": dict(report.telemetry.dropped),
        "signals_quarantined": report.telemetry.rows_quarantined,
        "signals_already_stored": report.duplicates,
    }
    _show("CAN log ingested", summary, source, as_json)


@app.command("identify")
@handle_errors
def identify_command(
    log: LogArgument,
    all_dbcs: Annotated[
        bool, typer.Option("--all-dbcs", help="Rank every opendbc DBC file too.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Guess the vehicle model of an unknown CAN log from its frame ids and lengths.

    Example: drivetrain ingest identify mystery.log --all-dbcs
    """
    frames = pa.concat_tables([chunk.frames for chunk in read_can_log(log)])
    matches = identify(frames, all_dbcs=all_dbcs)
    if as_json:
        print_json([dataclasses.asdict(m) for m in matches])
        return
    print_table(
        f"best matches for {log.name} ({frames.num_rows:,} frames)",
        ("candidate", "kind", "score", "ids known", "wrong length", "coverage"),
        (
            (
                m.candidate,
                m.kind,
                f"{m.score:.2f}",
                m.known_ids,
                m.wrong_length,
                f"{m.coverage:.0%}",
            )
            for m in matches
        ),
    )


@app.command("service")
@handle_errors
def service(
    ctx: typer.Context,
    records: Annotated[Path, typer.Argument(help="Workshop records, CSV (see docs/ingest.md).")],
    as_json: JsonOption = False,
) -> None:
    """Import workshop records (repairs, replacements, codes cleared) keyed by VIN.

    VINs become pseudonyms on the way in; rows with a bad VIN, an unregistered
    vehicle, an unknown operation or an unreadable date are quarantined with
    their line; importing the same file twice stores it once. Diagnosis reads
    these records (a repair that did not help, a part replaced last week).
    Example: drivetrain ingest service dealer-2026-10.csv
    """
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    url = settings.resolved_state_url
    migrate(url)
    with session_scope(url) as session:
        registered = {v.vehicle_id for v in list_vehicles(session)}
    data_dir = settings.ensure_data_dir()
    context = CollectionContext(source=f"service:{records.name}", purpose="vehicle_health")
    result = ingest_service_records(
        Lake(settings.lake_dir),
        records,
        PseudonymKey.load_or_create(data_dir),
        registered,
        context,
    )
    record_run(
        AuditLog(data_dir),
        context.run_id,
        "ingest",
        {
            "source": context.source,
            "rows": result.rows,
            "rejected": len(result.rejects),
            "tables": {"service_events": result.stored_version},
        },
        principal=context.source,
        purpose=context.purpose,
    )
    summary = {
        "run_id": context.run_id,
        "records_stored": result.rows,
        "records_quarantined": len(result.rejects),
    }
    if as_json:
        print_json(summary)
        return
    print_table("service records imported", ("", "count"), summary.items())
    for where, reason, _ in result.rejects[:10]:
        console.print(f"[yellow]{where}[/]: {reason}", highlight=False)
