"""The demo's plant: simulate, import, chart, watch the stream, and follow the lot to the field.

As the quality engineer (principal ``quality``): the plant's clean January
weeks set each characteristic's limits (Phase I) and capability; the first
days of February are fed to the ``QualityWatch`` hour by hour as a stream, and
its alerts are recorded with their provenance; the end-of-line defects and the
supplier lots are summarised. Then the warranty engineer (principal
``warranty``) follows the lot of the alert into the field: the vehicles built
with it, and how many of them came back for the part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from drivetrain.demo.plant_generator import (  # fmt: skip
    THERMOSTAT,
    PlantConfig,
    PlantHistory,
    generate_plant,
    write_plant_csv,
)
from drivetrain.demo.warranty_generator import WarrantyHistory
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.governed_read import governed_read
from drivetrain.governance.principals import principal_named
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.ingest.quality_records import QualityImport, import_quality_files
from drivetrain.ingest.warranty_records import built_vehicles
from drivetrain.lake import Lake, polars_frame
from drivetrain.quality.capability import capability_table
from drivetrain.quality.data import PURPOSE, PlantData, load_plant_data, measurement_subgroups
from drivetrain.quality.defects import lot_trend, pareto
from drivetrain.quality.field import lot_field_rates
from drivetrain.quality.plots import control_chart_plot
from drivetrain.quality.stream import QualityAlert, QualityWatch, provenance_recorder
from drivetrain.settings import Settings

PRINCIPAL, FIELD_PRINCIPAL = "quality", "warranty"
WATCH_RULES = "limits"  # the in-control false-alarm rate measured in docs/quality.md


@dataclass(slots=True)
class QualityTour:
    """What the demo prints."""

    imported: QualityImport
    parameters: pl.DataFrame  # Phase I limits, every characteristic
    capability: pl.DataFrame
    alerts: list[QualityAlert]
    streamed: int  # measurements fed to the watch
    subgroups: int  # subgroups it judged
    lot_switch: datetime | None
    drift_start: datetime | None
    pareto_before: pl.DataFrame
    pareto_after: pl.DataFrame
    flagged_lots: pl.DataFrame
    field_rates: pl.DataFrame | None
    charts: list[Path] = field(default_factory=list)


def simulate_plant(
    lake: Lake,
    audit: AuditLog,
    pseudonyms: PseudonymKey,
    production: pl.DataFrame,
    out_dir: Path,
    config: PlantConfig | None = None,
) -> tuple[PlantHistory, QualityImport]:
    """Generate the plant's exports for the vehicles of ``production`` (with their VINs),
    write them to ``out_dir`` and import them."""
    history = generate_plant(
        config or PlantConfig(), production.select("vin", "model_id", "build_date")
    )
    files = write_plant_csv(history, out_dir)
    return history, import_quality_files(lake, audit, pseudonyms, files)


def _limits(characteristics: pl.DataFrame) -> pl.DataFrame:
    return characteristics.select(
        pl.col("characteristic_id").alias("characteristic"), "lsl", "usl",
        pl.col("nominal").alias("target"),
    )  # fmt: skip


def phase1_capability(data: PlantData, cutoff: datetime) -> pl.DataFrame:
    """Capability of every characteristic on its Phase I measurements."""
    grouped = measurement_subgroups(
        data.measurements.filter(pl.col("ts") < cutoff), data.characteristics
    )
    frame = grouped.select(
        pl.col("characteristic_id").alias("characteristic"), "subgroup", "value"
    ).join(_limits(data.characteristics), on="characteristic", how="left")
    return capability_table(frame)


def quality_tour(
    settings: Settings, history: WarrantyHistory, out: Path | None = None
) -> QualityTour:
    """Run the plant story on the warranty programs' vehicles (``history.production``)."""
    lake, audit = Lake(settings.lake_dir), AuditLog(settings.data_dir)
    pseudonyms = PseudonymKey.load_or_create(settings.ensure_data_dir())
    out = out or settings.data_dir / "plant"
    config = PlantConfig()
    plant, imported = simulate_plant(lake, audit, pseudonyms, history.production, out, config)
    who = principal_named(settings.resolved_principals_file, PRINCIPAL)
    context = AccessContext(who, PURPOSE)
    data = load_plant_data(lake, context, audit=audit)
    cutoff = config.monitor_from
    phase1 = measurement_subgroups(
        data.measurements.filter(pl.col("ts") < cutoff), data.characteristics
    )
    watch = QualityWatch.from_history(phase1, data.characteristics, rules=WATCH_RULES)
    watch.recorder = provenance_recorder(
        audit,
        principal=PRINCIPAL,
        inputs=data.versions,
        sources=data.sources(),
        charts=watch.charts,
    )
    live = data.measurements.filter(pl.col("ts") >= cutoff).sort("ts")
    alerts: list[QualityAlert] = []
    subgroups, hour = 0, cutoff
    while hour < cutoff + timedelta(hours=config.monitor_hours):  # the stream, an hour at a time
        batch = live.filter(pl.col("ts").is_between(hour, hour + timedelta(hours=1), closed="left"))
        step = watch.feed(batch)
        alerts += step.alerts
        subgroups += step.subgroups
        hour += timedelta(hours=1)
    parameters = pl.concat([c.parameters for c in watch.charts.values()], how="vertical")
    inspections = data.inspections if data.inspections is not None else pl.DataFrame()
    failed = inspections.filter(pl.col("result") == "fail")
    before = pareto(failed.filter(pl.col("ts") < cutoff), "defect_code")
    after = pareto(failed.filter(pl.col("ts") >= cutoff), "defect_code")
    lots = data.lots if data.lots is not None else pl.DataFrame()
    flagged = lot_trend(lots, lot="lot_id").flagged() if lots.height else pl.DataFrame()
    tour = QualityTour(
        imported, parameters, phase1_capability(data, cutoff), alerts, live.height, subgroups,
        plant.lot_switch, config.drift_start, before, after, flagged,
        field_rates=_field(settings, lake, audit, alerts),
    )  # fmt: skip
    tour.charts = _charts(watch, tour, out)
    return tour


def _field(
    settings: Settings, lake: Lake, audit: AuditLog, alerts: list[QualityAlert]
) -> pl.DataFrame | None:
    """The warranty engineer's view of the alerted lots: vehicles built with them, claims."""
    lots = sorted({lot for a in alerts for lot in a.lots})
    if not lots or not lake.exists("warranty_claims"):
        return None
    who = principal_named(settings.resolved_principals_file, FIELD_PRINCIPAL)
    context = AccessContext(who, "warranty")
    scope = built_vehicles(lake)
    genealogy = polars_frame(
        governed_read(lake, "vehicle_build_parts", context, scope, audit=audit)
    )
    claims = polars_frame(
        governed_read(
            lake, "warranty_claims", context, scope, ["vehicle_id", "part_number"], audit=audit
        )
    )
    rates = lot_field_rates(genealogy, claims, part_number=THERMOSTAT)
    return rates.with_columns(pl.col("lot_id").is_in(lots).alias("alerted"))


def _charts(watch: QualityWatch, tour: QualityTour, out: Path) -> list[Path]:
    """The control charts of the first two alerts, Phase I and the streamed Phase II."""
    paths: list[Path] = []
    for alert in tour.alerts[:2]:
        path = out / f"{alert.characteristic_id.lower()}-chart.png"
        title = f"{alert.characteristic_id} at {alert.station_id}"
        paths.append(control_chart_plot(watch.points(alert.characteristic_id), path, title=title))
    return paths
