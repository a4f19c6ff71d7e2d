"""The campaigns page: the data-collection campaigns, what each collects, why and how long.

The list is the API's ``/api/v1/campaigns`` route called as a function with the
page's caller, so the console shows what the API answers to the same scope
(``campaigns:read``). Campaigns are not personal data; starting and stopping them
stays with the API and the CLI.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from drivetrain.api.context import PageParams
from drivetrain.api.routers import campaigns as campaigns_api
from drivetrain.api.routers.campaigns import CampaignReader
from drivetrain.web.pages import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@router.get("/campaigns")
def campaign_list(
    request: Request,
    caller: CampaignReader,
    active: Annotated[bool, Query(description="Only active campaigns.")] = False,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """The campaigns, oldest first: purpose, status, signals, targets, retention."""
    page = campaigns_api.campaigns(
        request, caller, PageParams(limit=PAGE_SIZE, offset=offset), active
    )
    return render(request, "campaigns.html", {"page": page, "active": active, "query": _query})


def _query(active: bool, offset: int) -> str:
    """The query string of a page of the list."""
    return urlencode({"active": "true", "offset": offset} if active else {"offset": offset})
