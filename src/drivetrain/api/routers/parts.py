"""``/api/v1/parts``: demand forecasts and stocking plans per part and location.

The lake's parts tables are read for the purpose ``parts_planning`` (parts
planners and fleet analysts; anyone else is refused with 403
``policy-denied``) and planned with :func:`drivetrain.parts.network.plan_network`
and :func:`~drivetrain.parts.network.forecast_network`, as ``drivetrain parts
plan`` and ``forecast`` do. A network's forecast takes seconds, so each result
is computed once per principal, parameters and lake state, recorded with its
provenance (``output_id``) and then served from memory, a page at a time.
"""

from __future__ import annotations

from datetime import date
from importlib.metadata import version as package_version
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from drivetrain.api.auth import Caller, require, services_of
from drivetrain.api.context import Page, PageParams, access_context, page_params, paginate
from drivetrain.api.problems import PROBLEM_RESPONSES
from drivetrain.api.routers.warranty import finite
from drivetrain.governance.access import AccessContext
from drivetrain.governance.provenance import record_output
from drivetrain.parts.data import PURPOSE, PartsData, load_parts_data
from drivetrain.parts.demand import NegativePolicy
from drivetrain.parts.inventory import Target
from drivetrain.parts.network import NetworkForecast, NetworkPlan, forecast_network, plan_network

router = APIRouter(prefix="/api/v1/parts", tags=["parts"], responses=PROBLEM_RESPONSES)
PartsReader = Annotated[Caller, Depends(require("parts:read"))]
MODEL = "drivetrain.parts (statsforecast models by demand class)"
PartNumber = Annotated[
    str | None, Query(min_length=1, max_length=64, description="Only this part.")
]
Location = Annotated[
    str | None, Query(min_length=1, max_length=64, description="Only this location.")
]
Fleet = Annotated[bool, Query(description="Add the change the fleet foresees.")]
Returns = Annotated[bool, Query(description="Count returns (negative demand) as no demand.")]


def parts_data(request: Request, context: AccessContext) -> PartsData:
    """The parts tables as ``context`` may read them, cached per lake state."""
    services = services_of(request)
    return services.cached(
        ("parts-data", context.principal),
        lambda: load_parts_data(services.lake, context, audit=services.audit),
    )


def _record(
    request: Request, context: AccessContext, kind: str, params: dict[str, Any], data: PartsData
) -> str:
    return record_output(
        services_of(request).audit,
        kind=kind,
        model=MODEL,
        version=package_version("drivetrain"),
        params=params,
        inputs=data.versions,
        sources=data.sources(),
        principal=context.principal.principal_id,
        purpose=context.purpose,
    )


def _split(frame: pl.DataFrame, part: str | None, location: str | None) -> list[dict[str, Any]]:
    """Rows with ``part_number`` and ``location_id`` of the series, filtered."""
    ids = pl.col("unique_id").str.splitn("@", 2)
    out = frame.with_columns(
        ids.struct.field("field_0").alias("part_number"),
        ids.struct.field("field_1").alias("location_id"),
    )
    if part is not None:
        out = out.filter(pl.col("part_number") == part)
    if location is not None:
        out = out.filter(pl.col("location_id") == location)
    return [finite(r) for r in out.to_dicts()]


class PlanRow(BaseModel):
    unique_id: str = Field(description="part_number@location_id")
    part_number: str
    location_id: str
    model: str | None = Field(description="The forecasting model (+fleet: fleet-informed).")
    method: str
    lead_time: int = Field(description="Months.")
    review_period: int = Field(description="Months.")
    mean_per_period: float | None = Field(description="Forecast units per month.")
    reorder_point: float | None
    order_up_to: float | None
    safety_stock: float | None
    expected_on_hand: float | None
    cycle_service: float | None
    fill_rate: float | None
    holding_cost: float | None = Field(description="Per year.")
    stock_value: float | None = Field(description="The order-up-to level at unit cost.")


class PlanTotals(BaseModel):
    series: int
    expected_on_hand: float | None
    stock_value: float | None
    fill_rate: float | None = Field(description="Mean over the series.")
    cycle_service: float | None = Field(description="Mean over the series.")


class PartsPlan(Page[PlanRow]):
    target: float
    kind: str
    fleet: bool
    classes: dict[str, int] = Field(description="Series per demand class.")
    totals: PlanTotals = Field(description="Of the whole network, not only this page.")
    output_id: str


@router.get("/plan", response_model=PartsPlan, summary="Reorder points and order-up-to levels")
def plan(
    request: Request,
    caller: PartsReader,
    page: Annotated[PageParams, Depends(page_params)],
    service_level: Annotated[float, Query(ge=0.5, le=0.999, description="The target.")] = 0.95,
    fill_rate: Annotated[
        bool, Query(description="Target the fill rate, not cycle service.")
    ] = False,
    fleet: Fleet = False,
    returns_as_zero: Returns = False,
    part_number: PartNumber = None,
    location_id: Location = None,
) -> PartsPlan:
    context = access_context(request, caller, PURPOSE)
    data = parts_data(request, context)
    kind: Target = "fill_rate" if fill_rate else "cycle_service"
    negative: NegativePolicy = "zero" if returns_as_zero else "error"

    def compute() -> tuple[NetworkPlan, str]:
        made = plan_network(data, target=service_level, kind=kind, fleet=fleet, negative=negative)
        params = {"target": service_level, "kind": kind, "fleet": fleet, "api": True}
        return made, _record(request, context, "parts_plan", params, data)

    made, output_id = services_of(request).cached(
        ("parts-plan", context.principal, service_level, kind, fleet, negative), compute
    )
    rows = [PlanRow.model_validate(r) for r in _split(made.plan, part_number, location_id)]
    return PartsPlan(
        **paginate(rows, page).model_dump(),
        target=service_level,
        kind=kind,
        fleet=fleet,
        classes=made.forecast.classes,
        totals=PlanTotals.model_validate(finite(made.totals())),
        output_id=output_id,
    )


class ForecastRow(BaseModel):
    unique_id: str
    part_number: str
    location_id: str
    ds: date = Field(description="The month (its first day).")
    model: str
    demand_class: str
    forecast: float | None = Field(description="Units.")
    adjustment: float | None = Field(default=None, description="What the fleet added.")


class PartsForecast(Page[ForecastRow]):
    horizon: int
    fleet: bool
    classes: dict[str, int]
    output_id: str


@router.get("/forecast", response_model=PartsForecast, summary="Monthly demand forecasts")
def forecast(
    request: Request,
    caller: PartsReader,
    page: Annotated[PageParams, Depends(page_params)],
    horizon: Annotated[int, Query(ge=1, le=36, description="Months ahead.")] = 12,
    fleet: Fleet = False,
    returns_as_zero: Returns = False,
    part_number: PartNumber = None,
    location_id: Location = None,
) -> PartsForecast:
    context = access_context(request, caller, PURPOSE)
    data = parts_data(request, context)
    negative: NegativePolicy = "zero" if returns_as_zero else "error"

    def compute() -> tuple[NetworkForecast, str]:
        made = forecast_network(data, horizon=horizon, fleet=fleet, negative=negative)
        params = {"horizon": horizon, "fleet": fleet, "api": True}
        return made, _record(request, context, "parts_forecast", params, data)

    made, output_id = services_of(request).cached(
        ("parts-forecast", context.principal, horizon, fleet, negative), compute
    )
    frame = made.forecast.rename({"class": "demand_class"})
    rows = [ForecastRow.model_validate(r) for r in _split(frame, part_number, location_id)]
    return PartsForecast(
        **paginate(rows, page).model_dump(),
        horizon=horizon,
        fleet=fleet,
        classes=made.classes,
        output_id=output_id,
    )
