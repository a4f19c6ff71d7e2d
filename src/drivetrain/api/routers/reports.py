"""``/api/v1/reports``: the reports there are, and one built on demand as HTML or PDF.

A report is built as the *caller's* principal, for the report's own purpose
(``vehicle_health``, ``manufacturing_quality`` or ``warranty``): what the
caller may not read is refused (403 ``policy-denied``) and never rendered.
Each report built is recorded with its provenance; its id is in the
document's footer and in the ``X-Drivetrain-Output-Id`` header.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from drivetrain.api.auth import Caller, require, services_of
from drivetrain.api.context import access_context
from drivetrain.api.problems import PROBLEM_RESPONSES
from drivetrain.api.routers.fleet import visible_vehicles
from drivetrain.reports import MEDIA_TYPES, REPORTS, ReportInputs, build_report, report_definition

router = APIRouter(prefix="/api/v1/reports", tags=["reports"], responses=PROBLEM_RESPONSES)
ReportsCaller = Annotated[Caller, Depends(require("reports:read"))]
OUTPUT_HEADER = "X-Drivetrain-Output-Id"


class ReportFormat(StrEnum):
    html = "html"
    pdf = "pdf"


class ReportInfo(BaseModel):
    name: str
    title: str
    description: str
    purpose: str = Field(description="What the report's reads are for.")
    period: str = Field(description="What since/until mean for it.")


@router.get("", response_model=list[ReportInfo], summary="The reports there are")
def list_reports(caller: ReportsCaller) -> list[ReportInfo]:
    return [
        ReportInfo(
            name=d.name,
            title=d.title,
            description=d.description,
            purpose=d.purpose,
            period=d.period,
        )
        for d in REPORTS.values()
    ]


@router.get(
    "/{name}",
    summary="Build a report (recorded with provenance) as HTML or PDF",
    response_class=Response,
    responses={
        200: {
            "content": {"text/html": {}, "application/pdf": {}},
            "description": "The report; its provenance record is in X-Drivetrain-Output-Id.",
        }
    },
)
def get_report(
    name: Annotated[str, Path(description=f"One of {', '.join(REPORTS)}.")],
    request: Request,
    caller: ReportsCaller,
    fmt: Annotated[
        ReportFormat, Query(alias="format", description="html or pdf.")
    ] = ReportFormat.html,
    since: Annotated[date | None, Query(description="First day (UTC).")] = None,
    until: Annotated[date | None, Query(description="Last day (UTC), inclusive.")] = None,
    top: Annotated[int, Query(ge=1, le=1000, description="Vehicles in a ranking.")] = 20,
) -> Response:
    definition = report_definition(name)
    context = access_context(request, caller, definition.purpose)
    services = services_of(request)
    settings = services.settings
    inputs = ReportInputs(
        lake=services.lake,
        audit=services.audit,
        vehicles=visible_vehicles(request, context),
        since=since,
        until=until,
        top=top,
        currency=settings.warranty_currency,
        warranty_months=settings.warranty_months,
    )
    built = build_report(definition.name, inputs, context, fmt=fmt.value)
    disposition = "inline" if built.format == "html" else "attachment"
    return Response(
        content=built.content,
        media_type=MEDIA_TYPES[built.format],
        headers={
            "Content-Disposition": f'{disposition}; filename="{built.filename}"',
            OUTPUT_HEADER: built.report.output_id or "",
        },
    )
