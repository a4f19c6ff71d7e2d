"""The data-subject pages: the data protection officer's list of subjects and one subject.

Both are the API's governance routes called as functions with the page's
caller, so the rule is theirs: a subject's record is personal data, for the data
protection officer only (anyone else gets the "Not allowed" page), and only for
the subjects of the officer's regions (others are "not found"). The Art. 15
access export is the API's own route, linked from the subject's page.

The subject's page has the officer's two writes as forms: recording consent
given or withdrawn (e.g. a withdrawal by letter) and erasure. Both post to this
router, which checks the form's CSRF token and the ``governance:write`` scope
and calls the API's routes, so they are audited as the API audits them. Erasure
cannot be undone: the form wants the subject's id typed again, and a mismatch
erases nothing.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from drivetrain.api.auth import Caller
from drivetrain.api.context import PageParams
from drivetrain.api.routers import governance as governance_api
from drivetrain.api.routers.governance import (
    Basis,
    Category,
    ConsentGiven,
    ConsentWithdrawn,
    DataPurpose,
    ErasureRequest,
    GovernanceReader,
    Region,
    SubjectId,
)
from drivetrain.errors import InputError
from drivetrain.web.pages import render
from drivetrain.web.session import form_writer

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
API_PATH = "/api/v1/governance/subjects"
GovernanceForm = Annotated[Caller, Depends(form_writer("governance:write"))]
ACTIONS = ("given", "withdrawn")


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
        {
            "subject": found,
            "events": events,
            "export_url": f"{API_PATH}/{subject_id}/export",
            "recorded": request.query_params.get("recorded", ""),
            "purposes": [p.value for p in DataPurpose],
            "categories": [c.value for c in Category],
            "bases": [b.value for b in Basis],
        },
    )


@router.post("/governance/subjects/{subject_id}/consents")
def record_consent(
    subject_id: SubjectId,
    request: Request,
    caller: GovernanceForm,
    action: Annotated[str, Form(max_length=16)],
    purpose: Annotated[DataPurpose, Form()],
    categories: Annotated[list[Category], Form(min_length=1, max_length=16)],
    notice_version: Annotated[str, Form(max_length=32)] = "",
    legal_basis: Annotated[Basis, Form()] = Basis.consent,  # type: ignore[attr-defined]
) -> Response:
    """Record consent given or withdrawn (audited), then back to the subject's page."""
    if action == "given":
        if not notice_version.strip():
            raise InputError(
                "consent given needs the version of the notice the subject saw",
                hint="fill in the notice version, e.g. 2026-03",
            )
        given = ConsentGiven(
            purpose=purpose,
            categories=categories,
            notice_version=notice_version.strip(),
            legal_basis=legal_basis,
        )
        events = governance_api.give(subject_id, given, request, caller)
    elif action == "withdrawn":
        withdrawn = ConsentWithdrawn(purpose=purpose, categories=categories)
        events = governance_api.withdraw(subject_id, withdrawn, request, caller)
    else:
        raise InputError(
            f"{action!r} is not a consent action", hint=f"pick one of {', '.join(ACTIONS)}"
        )
    recorded = urlencode({"recorded": f"{action}:{len(events)}"})
    return RedirectResponse(f"/governance/subjects/{subject_id}?{recorded}", status_code=303)


@router.post("/governance/subjects/{subject_id}/erasure")
def erase_subject(
    subject_id: SubjectId,
    request: Request,
    caller: GovernanceForm,
    confirm_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Erase the subject once their id is typed again; the page says what was erased."""
    if confirm_id.strip() != subject_id:
        raise InputError(
            f"the id typed to confirm the erasure is not {subject_id}; nothing was erased",
            hint=f"type {subject_id} exactly into the confirmation field to erase",
        )
    done = governance_api.erase(subject_id, ErasureRequest(confirm=True), request, caller)
    return render(request, "erased.html", {"erasure": done})
