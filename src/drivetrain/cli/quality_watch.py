"""``drivetrain quality watch`` (streaming alerts) and ``drivetrain quality trace`` (lot → field)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from drivetrain.cli.output import console, print_json, print_table, settings_of
from drivetrain.demo.quality_tour import QualityTour
from drivetrain.errors import InputError
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.governed_read import governed_read
from drivetrain.governance.principals import principal_named
from drivetrain.governance.provenance import record_output
from drivetrain.ingest.sink import CollectionContext, quarantine_records
from drivetrain.ingest.warranty_records import built_vehicles
from drivetrain.lake import Lake, polars_frame
from drivetrain.quality.data import PURPOSE, load_plant_data, measurement_subgroups
from drivetrain.quality.field import lot_field_rates
from drivetrain.quality.stream import QualityAlert, QualityWatch, provenance_recorder
from drivetrain.settings import Settings

Batch = tuple[pl.DataFrame, list[tuple[str, str, str]]]  # rows, refused (where, reason, raw)


def parse_ts(text: str | None, option: str) -> datetime | None:
    """An ISO 8601 time with a zone (or a date, midnight UTC) as UTC; None passes."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} {text!r} is not an ISO 8601 time", hint="e.g. 2024-02-01T00:00:00Z") from None  # fmt: skip
    if value.tzinfo is None:
        if len(text) > 10:
            raise InputError(f"{option} {text!r} has no time zone", hint="end it in Z for UTC")
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _when(text: str, option: str) -> datetime:
    value = parse_ts(text, option)
    assert value is not None
    return value


def _replay(
    settings: Settings, context: AccessContext, start: datetime, hours: int
) -> Iterator[Batch]:
    data = load_plant_data(Lake(settings.lake_dir), context, audit=AuditLog(settings.data_dir), start=start)  # fmt: skip
    live = data.measurements.sort("ts")
    if live.is_empty():
        raise InputError(f"no measurements from {start.isoformat()} on to replay", hint="move --phase1-until earlier")  # fmt: skip
    hour, last = start, live["ts"].max()
    assert isinstance(last, datetime)
    while hour <= last:
        end = hour + timedelta(hours=hours)
        yield live.filter(pl.col("ts").is_between(hour, end, closed="left")), []
        hour = end


def _mqtt(
    settings: Settings, topic: str, duration: float | None, max_messages: int | None
) -> Iterator[Batch]:
    from drivetrain.ingest.plant_stream import PlantStream

    with PlantStream(settings.mqtt_host, settings.mqtt_port, topic=topic) as stream:
        for batch in stream.batches(duration_s=duration, max_messages=max_messages):
            yield batch.frame, list(batch.rejected)


def _drop(directory: Path, duration: float | None, max_files: int | None) -> Iterator[Batch]:
    from drivetrain.ingest.plant_stream import drop_batches

    for batch in drop_batches(directory, duration_s=duration, max_files=max_files):
        yield batch.frame, list(batch.rejected)


def _raw(row: dict[str, Any]) -> str:
    return ",".join("" if v is None else str(v) for v in row.values())


def watch_command(
    ctx: typer.Context,
    principal: Annotated[
        str, typer.Option("--as", help="Principal who reads the plant tables (a quality engineer).")
    ],
    phase1_until: Annotated[
        str, typer.Option(help="Limits from the measurements before this time (Phase I).")
    ] = "2024-02-01T00:00:00Z",
    replay: Annotated[
        bool,
        typer.Option(
            help="Feed the lake's measurements from --phase1-until on, --hours at a time."
        ),
    ] = False,
    mqtt: Annotated[
        bool,
        typer.Option(
            help="Subscribe to plants/+/+/measurements on the broker (mqtt_host, mqtt_port)."
        ),
    ] = False,
    drop: Annotated[
        Path | None, typer.Option(help="Watch a folder for measurement CSV files.")
    ] = None,
    topic: Annotated[str, typer.Option(help="MQTT topic filter.")] = "plants/+/+/measurements",
    rules: Annotated[
        str, typer.Option(help="Run rules: limits, western_electric, nelson, or ids.")
    ] = "limits",
    hours: Annotated[int, typer.Option(min=1, help="Replay batch length in hours.")] = 1,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    max_messages: Annotated[
        int | None, typer.Option(help="MQTT: stop after this many messages.")
    ] = None,
    max_files: Annotated[
        int | None, typer.Option(help="Drop folder: stop after this many files.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the alerts as JSON at the end.")
    ] = False,
) -> None:
    """Judge measurements as they arrive: each characteristic's subgroup is charted the
    moment it is complete, against limits from the history before --phase1-until; an alert
    (rule, characteristic, station, lot, first violating subgroup) is printed and recorded
    with its provenance. Refused measurements go to the quarantine table.
    Example: drivetrain quality watch --as quality --replay
    """
    sources = [replay, mqtt, drop is not None]
    if sum(sources) != 1:
        raise InputError("choose one source: --replay, --mqtt or --drop FOLDER")
    settings = settings_of(ctx)
    cutoff = _when(phase1_until, "--phase1-until")
    context = AccessContext(principal_named(settings.resolved_principals_file, principal), PURPOSE)
    lake, audit = Lake(settings.lake_dir), AuditLog(settings.ensure_data_dir())
    history = load_plant_data(lake, context, audit=audit, end=cutoff)
    grouped = measurement_subgroups(history.measurements, history.characteristics)
    if grouped.is_empty():
        raise InputError(f"no measurements before {phase1_until} for the limits", hint="move --phase1-until later")  # fmt: skip
    rule_ids = [r.strip() for r in rules.split(",")] if "," in rules else rules
    watch = QualityWatch.from_history(grouped, history.characteristics, rules=rule_ids, keep_points=False)  # fmt: skip
    watch.recorder = provenance_recorder(audit, principal=principal, inputs=history.versions, sources=history.sources(), charts=watch.charts)  # fmt: skip
    batches = (
        _replay(settings, context, cutoff, hours) if replay
        else _mqtt(settings, topic, duration, max_messages) if mqtt
        else _drop(drop, duration, max_files) if drop is not None else iter(())
    )  # fmt: skip
    alerts: list[QualityAlert] = []
    quarantine = CollectionContext(source=f"quality-watch:{'replay' if replay else 'mqtt' if mqtt else drop}", purpose=PURPOSE)  # fmt: skip
    counts = {"measurements": 0, "subgroups": 0, "refused": 0, "repeats": 0}
    with console.status("watching …") if not as_json else nullcontext():
        for frame, refused in batches:
            step = watch.feed(frame) if frame.height else None
            records = list(refused)
            if step is not None:
                records += [("watch", reason, _raw(row)) for row, reason in step.rejected]
                counts["measurements"] += step.measurements
                counts["subgroups"] += step.subgroups
                counts["repeats"] += len(step.repeats)
                for alert in step.alerts:
                    alerts.append(alert)
                    if not as_json:
                        console.print(f"[bold red]ALERT[/] {alert.first_ts:%Y-%m-%d %H:%M} {alert.summary()} [dim]{alert.alert_id}[/]", highlight=False)  # fmt: skip
            if records:
                counts["refused"] += len(records)
                quarantine_records(lake, quarantine, "quality_measurements", records)
    if as_json:
        print_json({"counts": counts, "alerts": [_alert_json(a) for a in alerts]})
        return
    print_table("watch", ("", "value"), [(k, f"{v:,}") for k, v in counts.items()] + [("alerts", len(alerts))])  # fmt: skip


def _alert_json(alert: QualityAlert) -> dict[str, Any]:
    return {
        "alert_id": alert.alert_id, "characteristic_id": alert.characteristic_id,
        "station_id": alert.station_id, "chart": alert.chart, "statistic": alert.statistic,
        "rules": list(alert.rules), "reason": alert.reason, "subgroup": alert.subgroup,
        "first_ts": alert.first_ts, "last_ts": alert.last_ts, "value": alert.value,
        "lcl": alert.lcl, "ucl": alert.ucl, "lots": list(alert.lots), "repeats": alert.repeats,
    }  # fmt: skip


def trace_command(
    ctx: typer.Context,
    lot: Annotated[str, typer.Argument(help="The supplier lot, e.g. LOT-TH-2402-B.")],
    principal: Annotated[
        str,
        typer.Option(
            "--as",
            help="Principal who reads genealogy and claims for warranty (a warranty engineer).",
        ),
    ],
    part: Annotated[str, typer.Option(help="The lot's part number.")] = "TH-1004",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Follow a supplier lot into the field: the vehicles built with it (genealogy) and how
    many came back for the part (warranty claims), against the part's other lots.
    Example: drivetrain quality trace LOT-TH-2402-B --as warranty
    """
    settings = settings_of(ctx)
    lake, audit = Lake(settings.lake_dir), AuditLog(settings.data_dir)
    for table in ("vehicle_build_parts", "warranty_claims"):
        if not lake.exists(table):
            raise InputError(f"the lake has no {table} table", hint="import the plant's build_parts.csv and the warranty claims")  # fmt: skip
    context = AccessContext(
        principal_named(settings.resolved_principals_file, principal), "warranty"
    )
    scope = built_vehicles(lake)
    genealogy = polars_frame(
        governed_read(lake, "vehicle_build_parts", context, scope, audit=audit)
    )
    claims = polars_frame(governed_read(lake, "warranty_claims", context, scope, ["vehicle_id", "part_number"], audit=audit))  # fmt: skip
    rates = lot_field_rates(genealogy, claims, part_number=part)
    mine = rates.filter(pl.col("lot_id") == lot)
    if mine.is_empty():
        raise InputError(f"no vehicle was built with lot {lot} of {part}", hint="check the lot id (drivetrain quality suppliers)")  # fmt: skip
    row = mine.row(0, named=True)
    output = record_output(
        audit, kind="quality_trace", model="drivetrain.quality.field", version="1",
        params={"lot_id": lot, "part_number": part, **{k: row[k] for k in ("vehicles", "claimed", "per_thousand", "others_per_thousand", "rate_ratio")}},
        inputs={t: v for t in ("vehicle_build_parts", "warranty_claims") if (v := lake.version(t)) is not None},
        sources=[f"lot:{lot}"], principal=principal, purpose="warranty",
    )  # fmt: skip
    if as_json:
        print_json({"output_id": output, "lot": row, "lots": rates.to_dicts()})
        return
    print_field(rates, {lot})
    console.print(f"recorded as {output}")


def print_field(rates: pl.DataFrame, alerted: set[str]) -> None:
    rows = [
        (("▶ " if r["lot_id"] in alerted else "") + r["lot_id"], r["vehicles"], r["claimed"],
         f"{r['per_thousand']:.1f} ({r['per_thousand_low']:.1f}–{r['per_thousand_high']:.1f})",
         "—" if r["others_per_thousand"] is None else f"{r['others_per_thousand']:.1f}",
         "—" if r["rate_ratio"] is None else f"×{r['rate_ratio']:.1f}")
        for r in rates.head(6).iter_rows(named=True)
    ]  # fmt: skip
    print_table("vehicles built with each lot and their thermostat claims", ("lot", "vehicles", "claimed", "per 1000 (95 %)", "other lots", "ratio"), rows)  # fmt: skip


def print_quality_tour(tour: QualityTour) -> None:
    """The demo's plant section."""
    stored = sum(tour.imported.rows.values())
    console.print(f"imported the Bursa engine line's exports: {stored:,} rows in {len(tour.imported.rows)} tables, {tour.imported.rejected} refused")  # fmt: skip
    caps = {r["characteristic"]: r for r in tour.capability.iter_rows(named=True)}

    def index(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    rows = []
    for p in tour.parameters.sort("characteristic_id").iter_rows(named=True):
        c = caps.get(p["characteristic_id"], {})
        rows.append((p["characteristic_id"], f"{p['center']:.5g}", f"{p['sigma']:.3g}", p["removed"],
                     c.get("method") or c.get("error") or "—", index(c.get("cpk")), index(c.get("ppk"))))  # fmt: skip
    print_table(
        "Phase I (22–31 Jan 2024): limits and capability",
        ("characteristic", "centre", "sigma", "removed", "method", "Cpk", "Ppk"),
        rows,
    )
    console.print(f"streamed {tour.streamed:,} measurements of 1–2 Feb hour by hour: {tour.subgroups} subgroups judged, {len(tour.alerts)} alert(s)")  # fmt: skip
    for alert in tour.alerts:
        console.print(f"  [bold red]ALERT[/] {alert.first_ts:%d %b %H:%M} {alert.summary()}", highlight=False)  # fmt: skip
    truth = []
    if tour.lot_switch is not None:
        truth.append(f"bad thermostat lot fitted from {tour.lot_switch:%d %b %H:%M}")
    if tour.drift_start is not None:
        truth.append(f"torque tool drifting from {tour.drift_start:%d %b %H:%M}")
    console.print(f"  [dim]injected: {'; '.join(truth)}[/]")
    top = tour.pareto_after.head(3)
    console.print("end-of-line findings on 1–2 Feb, vital few: " + ", ".join(f"{r['defect_code']} {r['share']:.0%}" for r in top.iter_rows(named=True)))  # fmt: skip
    for r in tour.flagged_lots.iter_rows(named=True):
        console.print(f"incoming inspection: lot {r['lot_id']} of {r['supplier']} at {r['ppm']:,.0f} PPM, above its limit of {r['ucl_ppm']:,.0f}")  # fmt: skip
    if tour.field_rates is not None:
        print_field(
            tour.field_rates, set(tour.field_rates.filter(pl.col("alerted"))["lot_id"].to_list())
        )
    for path in tour.charts:
        console.print(f"chart: {path}")
