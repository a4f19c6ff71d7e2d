"""``/api/v1/fleet``: the vehicles a caller may see, by brand, market and model.

A vehicle is listed if the access policy lets the caller read its
``vehicles_snapshot`` rows for the purpose named: the same rule that decides
the lake's rows decides the registry's. VINs are never returned (the lake's
key is the pseudonym; re-identification is its own, audited, command).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from drivetrain.api.auth import Caller, require, services_of
from drivetrain.api.context import Page, PageParams, Purpose, access_context, page_params, paginate
from drivetrain.api.problems import PROBLEM_RESPONSES, ApiProblem
from drivetrain.fleet import VehicleRecord
from drivetrain.governance.access import AccessContext
from drivetrain.governance.governed_read import default_enforcer

router = APIRouter(prefix="/api/v1/fleet", tags=["fleet"], responses=PROBLEM_RESPONSES)
FleetCaller = Annotated[Caller, Depends(require("fleet:read"))]
REGISTRY_TABLE = "vehicles_snapshot"
PurposeQuery = Annotated[Purpose, Query(description="Why you read (an access purpose).")]


class Software(BaseModel):
    ecu: str
    hardware_part: str
    software_version: str
    installed_at: datetime


class Vehicle(BaseModel):
    vehicle_id: str
    brand: str
    model_id: str
    model_name: str
    model_year: int
    platform: str
    market: str
    region: str
    powertrain: str


class VehicleDetail(Vehicle):
    registered_at: datetime | None
    software: list[Software]


class FleetGroup(BaseModel):
    brand: str
    market: str
    region: str
    vehicles: int


def vehicle_out(v: VehicleRecord) -> Vehicle:
    return Vehicle(
        vehicle_id=v.vehicle_id,
        brand=v.brand,
        model_id=v.model_id,
        model_name=v.model_name,
        model_year=v.model_year,
        platform=v.platform,
        market=v.market,
        region=v.region,
        powertrain=v.powertrain,
    )


def visible_vehicles(request: Request, context: AccessContext) -> list[VehicleRecord]:
    """The registered vehicles ``context`` may read for its purpose."""
    services = services_of(request)
    fleet = services.vehicles()
    key = ("visible", context.principal, context.purpose)
    allowed = services.cached(
        key,
        lambda: default_enforcer().permitted_vehicles(context, REGISTRY_TABLE, fleet),
    )
    return [v for v in fleet if v.vehicle_id in allowed]


def one_vehicle(request: Request, context: AccessContext, vehicle_id: str) -> VehicleRecord:
    """A vehicle the caller may read, else 404 (a refusal does not confirm it exists)."""
    found = next(
        (v for v in visible_vehicles(request, context) if v.vehicle_id == vehicle_id), None
    )
    if found is None:
        raise ApiProblem(
            404,
            "not-found",
            f"no vehicle {vehicle_id!r} that you may read for {context.purpose}",
            hint="GET /api/v1/fleet/vehicles lists the ones you may",
        )
    return found


@router.get("/vehicles", response_model=Page[Vehicle], summary="Vehicles you may read")
def vehicles(
    request: Request,
    caller: FleetCaller,
    page: Annotated[PageParams, Depends(page_params)],
    purpose: PurposeQuery = Purpose.vehicle_health,  # type: ignore[attr-defined]
    brand: Annotated[str | None, Query(max_length=64)] = None,
    market: Annotated[str | None, Query(min_length=2, max_length=2)] = None,
    model: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[Vehicle]:
    context = access_context(request, caller, purpose.value)
    found = [
        vehicle_out(v)
        for v in visible_vehicles(request, context)
        if (brand is None or v.brand.casefold() == brand.casefold())
        and (market is None or v.market == market.upper())
        and (model is None or v.model_id == model)
    ]
    return paginate(found, page)


@router.get("/vehicles/{vehicle_id}", response_model=VehicleDetail, summary="One vehicle")
def vehicle(
    vehicle_id: str,
    request: Request,
    caller: FleetCaller,
    purpose: PurposeQuery = Purpose.vehicle_health,  # type: ignore[attr-defined]
) -> VehicleDetail:
    context = access_context(request, caller, purpose.value)
    v = one_vehicle(request, context, vehicle_id)
    return VehicleDetail(
        **vehicle_out(v).model_dump(),
        registered_at=v.registered_at,
        software=[
            Software(
                ecu=s.ecu,
                hardware_part=s.hardware_part,
                software_version=s.software_version,
                installed_at=s.installed_at,
            )
            for s in v.software
        ],
    )


@router.get("/summary", response_model=list[FleetGroup], summary="Vehicles by brand and market")
def summary(
    request: Request,
    caller: FleetCaller,
    purpose: PurposeQuery = Purpose.vehicle_health,  # type: ignore[attr-defined]
) -> list[FleetGroup]:
    context = access_context(request, caller, purpose.value)
    counts = Counter((v.brand, v.market, v.region) for v in visible_vehicles(request, context))
    return [
        FleetGroup(brand=b, market=m, region=r, vehicles=n)
        for (b, m, r), n in sorted(counts.items())
    ]


__all__ = ["Caller", "router"]
