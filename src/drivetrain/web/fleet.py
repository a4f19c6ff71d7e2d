"""The fleet pages: the overview (KPIs, market map, health ranking) and one vehicle.

Every number comes from the API's health and fleet routes, called as functions
with the page's caller, so the console shows what ``/api/v1/health`` answers
and the access policy decides the same way for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from drivetrain.api.auth import Caller
from drivetrain.api.context import access_context
from drivetrain.api.routers import health as health_api
from drivetrain.api.routers.fleet import one_vehicle
from drivetrain.api.routers.health import MAX_SIGNALS, Dtc
from drivetrain.errors import InputError
from drivetrain.web.charts import signal_panels
from drivetrain.web.pages import render
from drivetrain.web.session import ConsoleCaller, form_writer
from drivetrain.web.worldmap import country_of, health_band, market_map

router = APIRouter(include_in_schema=False)
PURPOSE = health_api.PURPOSE
TOP_CHOICES = (10, 25, 50, 100)
SIGNAL_POINTS = 300
VehicleId = Annotated[str, Path(min_length=1, max_length=128)]
SEVERITY_ORDER = ("stop_safely", "service_soon", "monitor", "unknown")
#: Charted when none are picked: the first DEFAULT_CHARTS of these that the vehicle has.
PREFERRED_SIGNALS = (
    "Vehicle.Speed",
    "Vehicle.Powertrain.CombustionEngine.Speed",
    "Vehicle.Powertrain.CombustionEngine.EngineCoolant.Temperature",
    "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current",
    "Vehicle.Powertrain.TractionBattery.Temperature.Average",
    "Vehicle.LowVoltageBattery.CurrentVoltage",
)
DEFAULT_CHARTS = 4


@router.get("/")
def overview(
    request: Request,
    caller: ConsoleCaller,
    top: Annotated[int, Query(ge=1, le=1000, description="Vehicles in the ranking.")] = 25,
) -> Response:
    """The fleet overview: KPIs, the map of markets, the health ranking."""
    found = health_api.fleet_overview(request, access_context(request, caller, PURPOSE), top)
    markets = [
        {
            "market": m.market,
            "name": country.name if (country := country_of(m.market)) else m.market,
            "region": m.region,
            "vehicles": m.vehicles,
            "needing_attention": m.needing_attention,
            "mean_health": m.mean_health,
            "band": health_band(m.mean_health),
        }
        for m in found.markets
    ]
    the_map = market_map(
        [(m.market, m.vehicles, m.needing_attention, m.mean_health) for m in found.markets]
    )
    return render(
        request,
        "fleet.html",
        {
            "overview": found,
            "markets": markets,
            "map": the_map,
            "top": top,
            "top_choices": sorted({*TOP_CHOICES, top}),
            "band": health_band,
        },
    )


@dataclass
class DtcRow:
    """One trouble code of the vehicle: what it means, how often it was set, when."""

    dtc: str
    ecu: str
    description: str | None
    severity: str
    system: str
    status: str
    count: int
    first: datetime
    last: datetime


def _dtc_summary(events: list[Dtc]) -> list[DtcRow]:
    """One row per code and ECU; the most severe first, then the most recently seen."""
    rows: dict[tuple[str, str], DtcRow] = {}
    for e in events:  # newest first, so the first event seen is the last set
        row = rows.get((e.dtc, e.ecu))
        if row is None:
            rows[e.dtc, e.ecu] = DtcRow(
                e.dtc, e.ecu, e.description, e.severity, e.system, e.status, 1, e.ts, e.ts
            )
        else:
            row.count += 1
            row.first = e.ts
    rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    return sorted(
        rows.values(), key=lambda r: (rank.get(r.severity, len(rank)), -r.last.timestamp())
    )


def _day(name: str, value: str | None) -> date | None:
    """A day from the signal form's date field; an empty field means no bound."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{name} {value!r} is not a day", hint="give it as YYYY-MM-DD, e.g. 2026-04-13"
        ) from None


@router.get("/vehicles/{vehicle_id}")
def vehicle(
    vehicle_id: VehicleId,
    request: Request,
    caller: ConsoleCaller,
    signal: Annotated[
        list[str] | None, Query(max_length=MAX_SIGNALS, description="VSS paths to chart.")
    ] = None,
    since: Annotated[str | None, Query(max_length=10, description="First day (UTC).")] = None,
    until: Annotated[str | None, Query(max_length=10, description="Last day, inclusive.")] = None,
) -> Response:
    """A vehicle: its facts, signals over time, DTCs, and the button to diagnose it."""
    first, last = _day("since", since), _day("until", until)
    record = one_vehicle(request, access_context(request, caller, PURPOSE), vehicle_id)
    wanted = [s for s in signal or [] if s] or None

    def read(names: list[str] | None) -> health_api.Signals:
        return health_api.signals(
            vehicle_id,
            request,
            caller,
            signal=names,
            since=first,
            until=last,
            points=SIGNAL_POINTS,
        )

    series = read(wanted or list(PREFERRED_SIGNALS))
    if wanted is None:
        if series.series:
            series.series = series.series[:DEFAULT_CHARTS]
        elif series.available:  # none of the usual ones: the API's own first few
            series = read(None)
    events = health_api.dtcs(vehicle_id, request, caller)
    shown = {s.signal for s in series.series}
    return render(
        request,
        "vehicle.html",
        {
            "vehicle": record,
            "signals": series,
            "panels": signal_panels(series.series, series.every_s),
            "shown": shown,
            "missing": [s for s in wanted or [] if s not in shown],
            "since": first,
            "until": last,
            "dtc_rows": _dtc_summary(events),
            "dtc_events": len(events),
        },
    )


@router.post("/vehicles/{vehicle_id}/diagnosis")
def diagnose(
    vehicle_id: VehicleId,
    request: Request,
    caller: Annotated[Caller, Depends(form_writer("health:read"))],
) -> Response:
    """Diagnose the vehicle (recorded with provenance) and show the ranked causes."""
    record = one_vehicle(request, access_context(request, caller, PURPOSE), vehicle_id)
    found = health_api.diagnosis(vehicle_id, request, caller)
    return render(request, "diagnosis.html", {"vehicle": record, "diagnosis": found})
