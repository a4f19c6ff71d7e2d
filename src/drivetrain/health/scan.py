"""The fleet scan: one pass over the lake, day by day, to a ranked list of vehicles.

The scan reads telemetry through the access context (purpose
``vehicle_health``): each day is one governed, audited read of the signals the
condition indicators need, so memory stays bounded by a day of the fleet and a
principal only ever scans the vehicles it may read. The daily indicators of
all days are then scored (:mod:`drivetrain.health.anomaly`), the wear items'
remaining life estimated (:mod:`drivetrain.health.wear`), every vehicle gets an
*attention* score and a health score, and the fleet is ranked. The scan is recorded with the
provenance API: model, settings, the table version it read, who asked and why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from importlib.metadata import version as package_version

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from drivetrain.catalog import load_vehicle_models
from drivetrain.errors import InputError, PolicyDenied
from drivetrain.governance.access import AccessContext, AccessEnforcer, VehicleRecordLike
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.governed_read import governed_read
from drivetrain.governance.provenance import record_output
from drivetrain.health.anomaly import Detection, DetectorConfig, score_indicators
from drivetrain.health.battery import SIGNALS as BATTERY_SIGNALS
from drivetrain.health.battery import battery_health, capacity_sums
from drivetrain.health.clock import (
    ODOMETER,
    clock_faults,
    odometer_backwards_across_days,
    odometer_days,
)
from drivetrain.health.diagnosis import Candidate, diagnose, urgency
from drivetrain.health.episodes import derive_episodes
from drivetrain.health.features import (
    FEATURE_SCHEMA,
    INDICATORS,
    daily_indicators,
    long_frame,
    stuck_signals,
)
from drivetrain.health.wear import remaining_life
from drivetrain.lake import Lake

Progress = Callable[[int, int], None]
_LONG: dict[str, pl.DataType] = {
    "vehicle_id": pl.String(),
    "ts": pl.Datetime("us", "UTC"),
    "signal": pl.String(),
    "value": pl.Float64(),
}
_NO_ODO = odometer_days(pl.DataFrame(schema=_LONG))
SIGNALS = sorted({s for i in INDICATORS for s in i.signals} | {ODOMETER, *BATTERY_SIGNALS})
# How much an alarm on each indicator weighs when ranking vehicles: what it
# threatens if ignored (engine damage and breakdown first, comfort last).
URGENCY: dict[str, float] = {
    "rpm_jitter": 3.0,  # misfire: catalyst damage, loss of power
    "coolant_warm_c": 1.5,  # engine never warm: wear, consumption, weak heater
    "lv_min_v": 2.5,  # the car will not start
    "cell_spread_v": 2.0,  # range loss, then a battery fault
    "pad_wear_ratio_fl": 2.0,  # brake drag, overheating, uneven braking
    "tyre_fl_delta_kpa": 2.5,
    "tyre_fr_delta_kpa": 2.5,
    "tyre_rl_delta_kpa": 2.5,
    "tyre_rr_delta_kpa": 2.5,  # a leak ends flat
}
WEAR_URGENCY: dict[str, float] = {
    "lv_battery": 2.5,
    "brake_pads_front": 3.0,
    "tyre_fl": 2.5,
    "tyre_fr": 2.5,
    "tyre_rl": 2.5,
    "tyre_rr": 2.5,
    "traction_battery_balance": 2.0,
}
SOON_DAYS = 30.0
WEAK_PACK_Z = 4.0  # a traction battery this many standard deviations below its peers' law
CHUNK_ROWS = 2_000_000  # indicator computation works on at most about this many rows  # a wear item due within this many days adds to a vehicle's attention


@dataclass(frozen=True, slots=True)
class ScanReport:
    """What a fleet scan found, and how it was produced."""

    ranking: pl.DataFrame  # vehicle_id, model_id, health, attention, anomalies, …
    detection: Detection
    wear: pl.DataFrame  # remaining life per vehicle and wear item
    stuck: pl.DataFrame  # vehicle-days whose sensors read one value all day (not scored)
    clock: pl.DataFrame  # vehicle-days whose timestamps are inconsistent (not scored)
    battery: pl.DataFrame  # traction battery state of health and years to 70 %, per plug-in
    models: pl.DataFrame  # vehicle_id, model_id of the vehicles the scan was given
    features: pl.DataFrame
    days: int
    rows_read: int
    vehicles: int
    elapsed_s: float
    output_id: str | None

    @property
    def rows_per_s(self) -> float:
        return self.rows_read / self.elapsed_s if self.elapsed_s else 0.0


def _days(lake: Lake, version: int | None, since: date | None, until: date | None) -> list[date]:
    """The days of telemetry in ``[since, until]``, from the table's partitions."""
    if since is not None and until is not None and until < since:
        raise InputError(f"the scan window ends ({until}) before it starts ({since})")
    return [
        d
        for d in lake.partitions("telemetry", version)
        if (since is None or d >= since) and (until is None or d <= until)
    ]


def _battery_facts(
    vehicles: Sequence[VehicleRecordLike], last_day: date | None
) -> tuple[dict[str, float], dict[str, float]]:
    """Capacity when new (from the model's manifest) and years in service, per plug-in."""
    catalog = load_vehicle_models()
    nominal: dict[str, float] = {}
    age: dict[str, float] = {}
    for v in vehicles:
        model = catalog.get(str(getattr(v, "model_id", "")))
        year = getattr(v, "model_year", None)
        if model is None or model.battery_net_kwh is None:
            continue
        nominal[v.vehicle_id] = model.battery_net_kwh
        if isinstance(year, int) and last_day is not None:
            now = last_day.year + (last_day.timetuple().tm_yday - 1) / 365.25
            age[v.vehicle_id] = max(now - year, 0.1)  # a model year's cars: built from 1 January
    return nominal, age


def rank_vehicles(
    detection: Detection,
    wear: pl.DataFrame,
    models: pl.DataFrame,
    battery: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Vehicles ordered by attention, with a health score from 100 (nothing found) down.

    Attention adds, per alarm, its indicator's urgency × score (capped at 10),
    per wear item at its limit or due within :data:`SOON_DAYS`, the item's
    urgency × 5 × how close it is, and for a traction battery far below what its
    age and use predict (``residual_z`` under -:data:`WEAK_PACK_Z`), 2 × its
    distance in standard deviations (capped at 10). Health = 100 × exp(-attention / 20).
    """
    weights = pl.DataFrame({"indicator": list(URGENCY), "urgency": list(URGENCY.values())})
    alarms = detection.anomalies.join(weights, on="indicator", how="left").select(
        "vehicle_id",
        pl.col("indicator").alias("finding"),
        (pl.col("urgency").fill_null(1.0) * pl.col("score").clip(upper_bound=10.0)).alias("weight"),
        pl.col("onset_day"),
    )
    items = pl.DataFrame({"item": list(WEAR_URGENCY), "urgency": list(WEAR_URGENCY.values())})
    due = (
        wear.filter(pl.col("status").is_in(["trend", "at_limit"]))
        .filter(pl.col("days_left") <= SOON_DAYS)
        .join(items, on="item", how="left")
        .select(
            "vehicle_id",
            (pl.lit("wear:") + pl.col("item")).alias("finding"),
            (pl.col("urgency") * 5 * (1 - pl.col("days_left") / SOON_DAYS)).alias("weight"),
            pl.lit(None, dtype=pl.Date).alias("onset_day"),
        )
    )
    weak = (
        battery.filter(pl.col("residual_z") < -WEAK_PACK_Z).select(
            "vehicle_id",
            pl.lit("battery:ageing_fast").alias("finding"),
            (2.0 * (-pl.col("residual_z")).clip(upper_bound=10.0)).alias("weight"),
            pl.lit(None, dtype=pl.Date).alias("onset_day"),
        )
        if battery is not None and "residual_z" in battery.columns
        else alarms.clear()
    )
    findings = pl.concat([alarms, due, weak])
    ranked = (
        findings.sort("weight", descending=True)
        .group_by("vehicle_id")
        .agg(
            pl.col("weight").sum().round(2).alias("attention"),
            pl.len().alias("findings"),
            pl.col("finding").first().alias("top_finding"),
            pl.col("onset_day").min().alias("first_onset"),
        )
        .join(models.select("vehicle_id", "model_id"), on="vehicle_id", how="left")
        .with_columns((100 * (-pl.col("attention") / 20).exp()).round(0).alias("health"))
    )
    return ranked.sort("attention", descending=True).select(
        "vehicle_id", "model_id", "health", "attention", "findings", "top_finding", "first_onset"
    )


def fleet_scan(
    lake: Lake,
    context: AccessContext,
    vehicles: Sequence[VehicleRecordLike],
    *,
    audit: AuditLog | None = None,
    since: date | None = None,
    until: date | None = None,
    config: DetectorConfig | None = None,
    enforcer: AccessEnforcer | None = None,
    on_progress: Progress | None = None,
) -> ScanReport:
    """Scan the fleet's telemetry of ``[since, until]`` (whole table by default)."""
    cfg = (config or DetectorConfig()).validate()
    began = time.perf_counter()
    telemetry_version = lake.version("telemetry")
    days = _days(lake, telemetry_version, since, until)
    wanted = pc.field("signal").isin(pa.array(SIGNALS, pa.string()))
    parts: list[pl.DataFrame] = []
    stuck: list[pl.DataFrame] = []
    clock: list[pl.DataFrame] = []
    odometer: list[pl.DataFrame] = []
    battery_sums: list[pl.DataFrame] = []
    rows = 0
    for n, day in enumerate(days, start=1):
        table = governed_read(
            lake,
            "telemetry",
            context,
            vehicles,
            columns=["vehicle_id", "ts", "signal", "value"],
            audit=audit,
            enforcer=enforcer,
            version=telemetry_version,
            filter=(pc.field("date") == pa.scalar(day, pa.date32())) & wanted,
        )
        rows += table.num_rows
        for piece in _vehicle_chunks(table):
            chunk = long_frame(piece)  # one conversion to polars for every function below
            parts.append(daily_indicators(chunk))
            stuck.append(stuck_signals(chunk))
            clock.append(clock_faults(chunk))
            odometer.append(odometer_days(chunk))
            battery_sums.append(capacity_sums(chunk))
        del table
        pa.default_memory_pool().release_unused()  # give the day's buffers back to the OS
        if on_progress is not None:
            on_progress(n, len(days))
    features = pl.concat(parts) if parts else pl.DataFrame(schema=FEATURE_SCHEMA)
    untrusted = pl.concat(
        [*clock, odometer_backwards_across_days(pl.concat(odometer) if odometer else _NO_ODO)]
    ).unique(["vehicle_id", "day", "check"], maintain_order=True)
    features = features.join(untrusted, on=["vehicle_id", "day"], how="anti")
    models = pl.DataFrame(
        {
            "vehicle_id": [v.vehicle_id for v in vehicles],
            "model_id": [str(getattr(v, "model_id", "")) for v in vehicles],
        }
    )
    scanned = models.join(features.select("vehicle_id").unique(), on="vehicle_id", how="semi")
    detection = score_indicators(features, models, cfg)
    wear = remaining_life(features, detection.anomalies)
    battery = battery_health(
        pl.concat(battery_sums).join(untrusted, on=["vehicle_id", "day"], how="anti")
        if battery_sums
        else capacity_sums(pl.DataFrame(schema=_LONG)),
        *_battery_facts(vehicles, days[-1] if days else None),
    )
    ranking = rank_vehicles(detection, wear, models, battery)
    elapsed = time.perf_counter() - began
    output_id = None
    if audit is not None:
        output_id = record_output(
            audit,
            kind="health_scan",
            model="drivetrain.health.anomaly (fleet- and baseline-relative CUSUM), "
            "drivetrain.health.battery (state of health)",
            version=package_version("drivetrain"),
            params={
                **asdict(cfg),
                "since": str(days[0]) if days else None,
                "until": str(days[-1]) if days else None,
                "indicators": [i.name for i in INDICATORS],
            },
            inputs={"telemetry": telemetry_version} if telemetry_version is not None else {},
            sources=_sources(ranking["vehicle_id"].head(20).to_list()),
            principal=context.principal.principal_id,
            purpose=context.purpose,
        )
    return ScanReport(
        ranking=ranking,
        detection=detection,
        wear=wear,
        stuck=pl.concat(stuck) if stuck else stuck_signals(pl.DataFrame(schema=_LONG)),
        clock=untrusted.sort("vehicle_id", "day", "check"),
        battery=battery,
        features=features,
        models=models,
        days=len(days),
        rows_read=rows,
        vehicles=scanned.height,
        elapsed_s=elapsed,
        output_id=output_id,
    )


def _vehicle_chunks(table: pa.Table, rows: int = CHUNK_ROWS) -> list[pa.Table]:
    """A day's rows split by vehicle into pieces of about ``rows`` rows (indicators are per
    vehicle-day, so each piece is computed alone and working memory stays bounded)."""
    if table.num_rows <= rows:
        return [table] if table.num_rows else []
    vehicles = pc.unique(table.column("vehicle_id")).sort()
    pieces = -(-table.num_rows // rows)
    size = -(-len(vehicles) // pieces)
    return [
        table.filter(pc.is_in(table.column("vehicle_id"), value_set=vehicles[i : i + size]))
        for i in range(0, len(vehicles), size)
    ]


def _sources(vehicle_ids: Iterable[str]) -> list[str]:
    return [f"vehicle {v}" for v in vehicle_ids]


@dataclass(frozen=True, slots=True)
class VehicleDiagnosis:
    """A vehicle's ranked likely causes, its recommended action, and the output's record."""

    vehicle_id: str
    causes: list[Candidate]
    action: str
    output_id: str | None


def diagnose_vehicle(
    lake: Lake,
    context: AccessContext,
    vehicle: VehicleRecordLike,
    scan: ScanReport,
    *,
    audit: AuditLog | None = None,
    enforcer: AccessEnforcer | None = None,
) -> VehicleDiagnosis:
    """Diagnose ``vehicle`` from a scan that included it and its peers, plus its DTC episodes.

    The trouble codes and the workshop records are governed reads (audited; the
    records are left out where the principal may not read them); the diagnosis
    is recorded with the provenance API when ``audit`` is given.
    """
    vehicle_id = vehicle.vehicle_id

    def rows_of(table: str) -> pa.Table:
        return governed_read(
            lake,
            table,
            context,
            [vehicle],
            audit=audit,
            enforcer=enforcer,
            filter=pc.field("vehicle_id") == vehicle_id,
        )

    episodes = pl.from_arrow(derive_episodes(rows_of("dtc_events")))
    assert isinstance(episodes, pl.DataFrame)
    try:  # the workshop's records, where the principal may read them for this purpose
        service = pl.from_arrow(rows_of("service_events"))
        assert isinstance(service, pl.DataFrame)
    except PolicyDenied:
        service = None
    anomalies = scan.detection.anomalies
    causes = diagnose(
        vehicle_id,
        anomalies,
        scan.wear,
        episodes,
        fleet_anomalies=anomalies,
        models=scan.models,
        service=service,
    )
    output_id = None
    if audit is not None:
        output_id = record_output(
            audit,
            kind="health_diagnosis",
            model="drivetrain.health.diagnosis (knowledge-base rules)",
            version=package_version("drivetrain"),
            params={"vehicle": vehicle_id, "scan": scan.output_id},
            inputs={
                t: v for t in ("telemetry", "dtc_events") if (v := lake.version(t)) is not None
            },
            sources=[f"{c.cause_id}: {c.score:.1f}" for c in causes[:5]],
            principal=context.principal.principal_id,
            purpose=context.purpose,
        )
    return VehicleDiagnosis(vehicle_id, causes, urgency(causes), output_id)
