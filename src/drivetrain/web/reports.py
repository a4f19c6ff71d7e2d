"""The reports page: the reports there are, each a link to build it as HTML or PDF.

The list is the API's ``/api/v1/reports`` route called as a function; the links
go to ``/api/v1/reports/{name}``, which builds the report as the signed-in
caller for the report's own purpose (refused, and never rendered, where the
access policy does not allow it) and records it with its provenance.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from drivetrain.api.routers import reports as reports_api
from drivetrain.api.routers.reports import ReportFormat, ReportsCaller
from drivetrain.web.pages import render

router = APIRouter(include_in_schema=False)
API_PATH = "/api/v1/reports"


@router.get("/reports")
def report_list(request: Request, caller: ReportsCaller) -> Response:
    """The reports, with what each shows, its purpose and period, and its download links."""
    return render(
        request,
        "reports.html",
        {
            "reports": reports_api.list_reports(caller),
            "formats": [f.value for f in ReportFormat],
            "api_path": API_PATH,
        },
    )
