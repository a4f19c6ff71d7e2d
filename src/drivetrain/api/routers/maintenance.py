"""``/api/v1/health/vehicles/{id}/maintenance`` and ``…/bookings``: service suggestions, booked.

The suggestions (:func:`drivetrain.health.service_booking.suggest_maintenance`)
rest on the fleet scan the health router caches and a fresh diagnosis of the
vehicle, with slots at the embedded workshop network (seed 0); each is recorded
with provenance. Bookings are kept in the data directory's ``bookings.json``
(:class:`~drivetrain.health.booking_file.JsonFileBookingStore`), shared with
the CLI; a slot someone else took first is a 409 ``slot-taken`` problem.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, BaseModel, Field

from drivetrain.api.auth import Caller, require, services_of
from drivetrain.api.context import access_context
from drivetrain.api.problems import MEDIA_TYPE, PROBLEM_RESPONSES, ApiProblem, Problem
from drivetrain.api.routers.fleet import one_vehicle
from drivetrain.api.routers.health import fleet_report
from drivetrain.health.booking_file import JsonFileBookingStore, bookings_path
from drivetrain.health.scan import diagnose_vehicle
from drivetrain.health.service_booking import (
    PURPOSE,
    Booking,
    MaintenancePlan,
    VehicleHealth,
    book_slot,
    suggest_maintenance,
)
from drivetrain.health.workshop_calendar import SlotTaken
from drivetrain.health.workshops import WorkshopNetwork, generate_workshop_network

router = APIRouter(prefix="/api/v1/health", tags=["health"], responses=PROBLEM_RESPONSES)
ReadCaller = Annotated[Caller, Depends(require("health:read"))]
WriteCaller = Annotated[Caller, Depends(require("health:write"))]
NETWORK_SEED = 0
ID = r"^[A-Za-z0-9_:.\-]{1,64}$"


@cache
def workshop_network() -> WorkshopNetwork:
    """The embedded workshop network the API offers slots at."""
    return generate_workshop_network(NETWORK_SEED)


class SlotOut(BaseModel):
    workshop_id: str
    workshop_name: str
    start: datetime = Field(description="UTC.")
    end: datetime
    local_start: datetime = Field(description="The workshop's wall-clock time.")
    distance_km: float = Field(description="From the market's home point.")
    late: bool = Field(description="After the latest date: nothing was free before it.")


class SuggestionOut(BaseModel):
    job_id: str
    job: str
    capability: str
    urgency: str = Field(description="immediate, soon or planned")
    latest_date: date
    reason: str
    evidence: list[str]
    findings: list[str] = Field(description="wear:<item>, cause:<id>, dtc:<code>, battery:…")
    slots: list[SlotOut]
    note: str
    summary: str
    output_id: str | None = Field(description="The suggestion's provenance record.")


class MaintenanceOut(BaseModel):
    vehicle_id: str
    horizon_days: int
    nothing_due: bool
    summary: str
    suggestions: list[SuggestionOut]
    output_id: str | None = Field(description='The "nothing due" record, if nothing is.')
    network: str


class BookingIn(BaseModel):
    workshop_id: str = Field(pattern=ID, description="A workshop a suggestion offered.")
    start: AwareDatetime = Field(description="The slot's start, with its offset (e.g. …Z).")
    job_id: str = Field(pattern=ID, description="The suggestion's job_id.")
    suggestion_id: str | None = Field(
        default=None, pattern=ID, description="The suggestion's output_id."
    )


class BookingOut(BaseModel):
    booking_id: str
    workshop_id: str
    vehicle_id: str
    job_id: str
    start: datetime
    end: datetime
    suggestion_id: str | None


def _plan_out(plan: MaintenancePlan, network: str) -> MaintenanceOut:
    data = plan.to_dict()
    return MaintenanceOut(
        **{k: data[k] for k in ("vehicle_id", "horizon_days", "nothing_due", "summary")},
        suggestions=[
            SuggestionOut(**{k: v for k, v in s.items() if k not in ("vehicle_id",)})
            for s in data["suggestions"]
        ],
        output_id=plan.output_id,
        network=network,
    )


def _store(request: Request) -> JsonFileBookingStore:
    return JsonFileBookingStore(bookings_path(services_of(request).data_dir))


@router.get(
    "/vehicles/{vehicle_id}/maintenance",
    response_model=MaintenanceOut,
    summary="Maintenance a vehicle needs, with free workshop slots (recorded with provenance)",
)
def maintenance(
    vehicle_id: str,
    request: Request,
    caller: ReadCaller,
    horizon_days: Annotated[
        int, Query(ge=0, le=3650, description="Suggest wear items due within this many days.")
    ] = 90,
    slots: Annotated[int, Query(ge=1, le=20, description="Slots per suggestion.")] = 3,
) -> MaintenanceOut:
    context = access_context(request, caller, PURPOSE)
    vehicle = one_vehicle(request, context, vehicle_id)
    services = services_of(request)
    scan = fleet_report(request, context)
    diagnosis = diagnose_vehicle(services.lake, context, vehicle, scan, audit=services.audit)
    network = workshop_network()
    plan = suggest_maintenance(
        vehicle,
        VehicleHealth.from_health(scan, diagnosis),
        network=network,
        store=_store(request),
        horizon_days=horizon_days,
        slots=slots,
        audit=services.audit,
        context=context,
    )
    return _plan_out(plan, network.name)


@router.post(
    "/vehicles/{vehicle_id}/bookings",
    response_model=BookingOut,
    status_code=201,
    summary="Book a workshop slot for a vehicle's job",
    responses={
        409: {
            "model": Problem,
            "content": {MEDIA_TYPE: {}},
            "description": "Every bay of the workshop is taken at some time of the slot",
        }
    },
)
def bookings(vehicle_id: str, body: BookingIn, request: Request, caller: WriteCaller) -> BookingOut:
    context = access_context(request, caller, PURPOSE)
    vehicle = one_vehicle(request, context, vehicle_id)
    try:
        booking: Booking = book_slot(
            workshop_network(),
            _store(request),
            workshop_id=body.workshop_id,
            start=body.start,
            job_id=body.job_id,
            vehicle_id=vehicle.vehicle_id,
            suggestion_id=body.suggestion_id,
        )
    except SlotTaken as exc:
        raise ApiProblem(409, exc.code, exc.message, hint=exc.hint) from None
    return BookingOut(**booking.to_dict())
