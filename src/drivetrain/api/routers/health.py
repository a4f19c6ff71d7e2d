"""``/api/v1/health``: the fleet's health ranking, a vehicle's signals, DTCs and diagnosis.

The fleet scan (:func:`drivetrain.health.scan.fleet_scan`) runs once per
principal and lake state and is then served from memory: the overview is what
the console's first page shows, so it must answer in milliseconds. A new
telemetry version starts a new scan on the next request.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

import polars as pl
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from drivetrain.api.auth import Caller, require, services_of
from drivetrain.api.context import access_context
from drivetrain.api.problems import PROBLEM_RESPONSES
from drivetrain.api.routers.fleet import one_vehicle, visible_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.governance.governed_read import governed_read
from drivetrain.health.dtc import interpret_dtc
from drivetrain.health.scan import ScanReport, diagnose_vehicle, fleet_scan
from drivetrain.lake.frames import polars_frame

router = APIRouter(prefix="/api/v1/health", tags=["health"], responses=PROBLEM_RESPONSES)
HealthCaller = Annotated[Caller, Depends(require("health:read"))]
PURPOSE = "vehicle_health"
MAX_SIGNALS = 12
MAX_POINTS = 2000


class RankedVehicle(BaseModel):
    vehicle_id: str
    brand: str
    model_name: str
    market: str
    region: str
    health: float = Field(description="100 = nothing found; lower is worse.")
    attention: float = Field(description="Urgency-weighted sum of the findings.")
    findings: int
    top_finding: str | None
    first_onset: date | None


class MarketHealth(BaseModel):
    market: str
    region: str
    vehicles: int
    needing_attention: int
    mean_health: float


class Overview(BaseModel):
    vehicles: int
    needing_attention: int
    anomalies: int
    days: int
    scanned_at_versions: dict[str, int]
    output_id: str | None = Field(description="The scan's provenance record (explain it).")
    markets: list[MarketHealth]
    ranking: list[RankedVehicle]


def fleet_report(request: Request, context: AccessContext) -> ScanReport:
    """The fleet scan of the vehicles ``context`` may read, cached per lake state."""
    services = services_of(request)
    fleet = visible_vehicles(request, context)
    return services.cached(
        ("scan", context.principal, context.purpose),
        lambda: fleet_scan(services.lake, context, fleet, audit=services.audit),
    )


def _overview(request: Request, context: AccessContext, top: int) -> Overview:
    services = services_of(request)
    report = fleet_report(request, context)
    fleet = {v.vehicle_id: v for v in visible_vehicles(request, context)}
    scored = {r["vehicle_id"]: r for r in report.ranking.to_dicts()}
    rows: list[RankedVehicle] = []
    for vehicle_id, v in fleet.items():
        r: dict[str, Any] = scored.get(vehicle_id, {})
        rows.append(
            RankedVehicle(
                vehicle_id=vehicle_id,
                brand=v.brand,
                model_name=v.model_name,
                market=v.market,
                region=v.region,
                health=float(r.get("health", 100.0)),
                attention=float(r.get("attention", 0.0)),
                findings=int(r.get("findings", 0)),
                top_finding=r.get("top_finding"),
                first_onset=r.get("first_onset"),
            )
        )
    rows.sort(key=lambda x: (-x.attention, x.vehicle_id))
    markets: dict[tuple[str, str], list[RankedVehicle]] = {}
    for row in rows:
        markets.setdefault((row.market, row.region), []).append(row)
    return Overview(
        vehicles=len(rows),
        needing_attention=sum(1 for r in rows if r.findings),
        anomalies=report.detection.anomalies.height,
        days=report.days,
        scanned_at_versions=dict(services.lake_state()),
        output_id=report.output_id,
        markets=[
            MarketHealth(
                market=m,
                region=g,
                vehicles=len(group),
                needing_attention=sum(1 for r in group if r.findings),
                mean_health=round(sum(r.health for r in group) / len(group), 1),
            )
            for (m, g), group in sorted(markets.items())
        ],
        ranking=rows[:top],
    )


def fleet_overview(request: Request, context: AccessContext, top: int = 50) -> Overview:
    """The overview, itself cached (the console's first page)."""
    return services_of(request).cached(
        ("overview", context.principal, context.purpose, top),
        lambda: _overview(request, context, top),
    )


@router.get("/overview", response_model=Overview, summary="Fleet health: ranking and markets")
def overview(
    request: Request,
    caller: HealthCaller,
    top: Annotated[int, Query(ge=1, le=1000, description="Vehicles in the ranking.")] = 50,
) -> Overview:
    return fleet_overview(request, access_context(request, caller, PURPOSE), top)


class Point(BaseModel):
    ts: datetime
    value: float


class SignalSeries(BaseModel):
    signal: str
    points: list[Point]
    min: float
    max: float


class Signals(BaseModel):
    vehicle_id: str
    since: date | None
    until: date | None
    every_s: int = Field(description="Each point is the mean of this many seconds.")
    series: list[SignalSeries]
    available: list[str] = Field(description="Every signal of the vehicle in the range.")


def _bounds(since: date | None, until: date | None) -> pc.Expression | None:
    expr: pc.Expression | None = None
    if since is not None:
        expr = pc.field("ts") >= datetime.combine(since, time(), UTC)
    if until is not None:
        end = pc.field("ts") < datetime.combine(until, time(), UTC) + _DAY
        expr = end if expr is None else expr & end
    return expr


_DAY = datetime(2000, 1, 2) - datetime(2000, 1, 1)


@router.get("/vehicles/{vehicle_id}/signals", response_model=Signals, summary="A vehicle's signals")
def signals(
    vehicle_id: str,
    request: Request,
    caller: HealthCaller,
    signal: Annotated[
        list[str] | None, Query(max_length=MAX_SIGNALS, description="VSS paths (repeatable).")
    ] = None,
    since: Annotated[date | None, Query(description="First day (UTC).")] = None,
    until: Annotated[date | None, Query(description="Last day (UTC), inclusive.")] = None,
    points: Annotated[int, Query(ge=10, le=MAX_POINTS, description="Points per signal.")] = 300,
) -> Signals:
    context = access_context(request, caller, PURPOSE)
    vehicle = one_vehicle(request, context, vehicle_id)
    services = services_of(request)
    where = pc.field("vehicle_id") == vehicle_id
    if (bounds := _bounds(since, until)) is not None:
        where = where & bounds
    table = governed_read(
        services.lake,
        "telemetry",
        context,
        [vehicle],
        ["ts", "signal", "value"],
        audit=services.audit,
        filter=where,
    )
    frame = polars_frame(table)
    available = sorted(frame["signal"].unique().to_list()) if frame.height else []
    wanted = signal or available[:4]
    frame = frame.filter(pl.col("signal").is_in(wanted))
    every = 60
    if frame.height:
        span = (frame["ts"].max() - frame["ts"].min()).total_seconds()  # type: ignore[operator, union-attr]
        every = max(60, int(span / points) + 1)
    series: list[SignalSeries] = []
    for name in wanted:
        one = frame.filter(pl.col("signal") == name).sort("ts")
        if one.is_empty():
            continue
        binned = one.group_by_dynamic("ts", every=f"{every}s").agg(pl.col("value").mean())
        series.append(
            SignalSeries(
                signal=name,
                points=[Point(ts=t, value=v) for t, v in binned.iter_rows()],
                min=float(one["value"].min()),  # type: ignore[arg-type]
                max=float(one["value"].max()),  # type: ignore[arg-type]
            )
        )
    return Signals(
        vehicle_id=vehicle_id,
        since=since,
        until=until,
        every_s=every,
        series=series,
        available=available,
    )


class Dtc(BaseModel):
    ts: datetime
    dtc: str
    ecu: str
    status: str
    description: str | None
    severity: str
    system: str


@router.get("/vehicles/{vehicle_id}/dtcs", response_model=list[Dtc], summary="A vehicle's DTCs")
def dtcs(vehicle_id: str, request: Request, caller: HealthCaller) -> list[Dtc]:
    context = access_context(request, caller, PURPOSE)
    vehicle = one_vehicle(request, context, vehicle_id)
    services = services_of(request)
    table = governed_read(
        services.lake,
        "dtc_events",
        context,
        [vehicle],
        ["ts", "dtc", "ecu", "status"],
        audit=services.audit,
        filter=pc.field("vehicle_id") == vehicle_id,
    )
    out = []
    for row in sorted(table.to_pylist(), key=lambda r: r["ts"], reverse=True)[:500]:
        meaning = interpret_dtc(row["dtc"])
        out.append(
            Dtc(
                **row,
                description=meaning.description,
                severity=meaning.severity,
                system=meaning.system,
            )
        )
    return out


class Cause(BaseModel):
    cause_id: str
    name: str
    system: str
    action: str
    advice: str
    score: float
    evidence: list[str]
    codes: list[str]
    fleet_pattern: int


class Diagnosis(BaseModel):
    vehicle_id: str
    action: str = Field(description="stop_safely, book_service or drive_on")
    causes: list[Cause]
    output_id: str | None


@router.post(
    "/vehicles/{vehicle_id}/diagnosis",
    response_model=Diagnosis,
    summary="Diagnose a vehicle (recorded with provenance)",
)
def diagnosis(vehicle_id: str, request: Request, caller: HealthCaller) -> Diagnosis:
    context = access_context(request, caller, PURPOSE)
    vehicle = one_vehicle(request, context, vehicle_id)
    services = services_of(request)
    found = diagnose_vehicle(
        services.lake, context, vehicle, fleet_report(request, context), audit=services.audit
    )
    return Diagnosis(
        vehicle_id=vehicle_id,
        action=found.action,
        causes=[
            Cause(
                cause_id=c.cause_id,
                name=c.name,
                system=c.system,
                action=c.action,
                advice=c.advice,
                score=round(c.score, 2),
                evidence=c.evidence,
                codes=c.codes,
                fleet_pattern=c.fleet_pattern,
            )
            for c in found.causes
        ],
        output_id=found.output_id,
    )
