"""The data-subject pages: the data protection officer's list of subjects and one subject.

Both are the API's governance routes called as functions with the page's
caller, so the rule is theirs: a subject's record is personal data, for the data
protection officer only (anyone else gets the "Not allowed" page), and only for
the subjects of the officer's regions (others are "not found"). The Art. 15
access export is the API's own route, linked from the subject's page.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from drivetrain.api.context import PageParams
from drivetrain.api.routers import governance as governance_api
from drivetrain.api.routers.governance import GovernanceReader, Region, SubjectId
from drivetrain.errors import InputError
from drivetrain.web.pages import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
API_PATH = "/api/v1/governance/subjects"


@router.get("/governance/subjects")
def subject_list(
    request: Request,
    caller: GovernanceReader,
    region: Annotated[str | None, Query(max_length=8)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """The data subjects of the officer's regions, each with their consent now."""
    # an empty select means "any": the form sends it as region=
    wanted = _region(region) if region else None
    page = governance_api.subjects(
        request, caller, PageParams(limit=PAGE_SIZE, offset=offset), wanted
    )
    details = [governance_api.subject(s.subject_id, request, caller) for s in page.items]
    return render(
        request,
        "subjects.html",
        {
            "page": page,
            "subjects": details,
            "region": region or None,
            "regions": [r.value for r in Region],
            "query": _query,
        },
    )


def _region(value: str) -> Region:
    """A region from the list's select."""
    try:
        return Region(value)
    except ValueError:
        raise InputError(
            f"{value!r} is not a region",
            hint=f"pick one of the regions the list offers: {', '.join(r.value for r in Region)}",
        ) from None


def _query(region: str | None, offset: int) -> str:
    """The query string of a page of the list."""
    return urlencode({"region": region, "offset": offset} if region else {"offset": offset})


@router.get("/governance/subjects/{subject_id}")
def subject_page(subject_id: SubjectId, request: Request, caller: GovernanceReader) -> Response:
    """A subject: the record, linked vehicles, consent now and its history, the export link."""
    found = governance_api.subject(subject_id, request, caller)
    events = governance_api.history(subject_id, request, caller)
    return render(
        request,
        "subject.html",
        {"subject": found, "events": events, "export_url": f"{API_PATH}/{subject_id}/export"},
    )
