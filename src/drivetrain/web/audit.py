"""The audit pages: the log with its verification, and how one AI output was produced.

Both are the API's audit routes called as functions, so the visibility rule is
theirs: the data protection officer sees every entry and every output, anyone
else only what was done under their own name.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from drivetrain.api.auth import services_of
from drivetrain.api.context import PageParams
from drivetrain.api.routers import audit as audit_api
from drivetrain.errors import InputError
from drivetrain.web.pages import render
from drivetrain.web.session import ConsoleCaller

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
KIND_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
DETAIL_CHARS = 160


@router.get("/audit")
def audit_log(
    request: Request,
    caller: ConsoleCaller,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    principal: Annotated[str | None, Query(max_length=128)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    seen: Annotated[int | None, Query(ge=0, le=10_000_000)] = None,
) -> Response:
    """The audit log, newest first, with the verification of the whole log above it.

    ``seen`` is how many entries the list had when the page linking here was drawn:
    the log grows at the top while one reads, so the offset is moved down by the
    entries added since, and "older entries" are the ones after those already shown.
    """
    # an empty select or field means "any": the form sends it as kind=
    kind = kind or None
    principal = principal or None
    if kind is not None and not re.fullmatch(KIND_PATTERN, kind):
        raise InputError(
            f"{kind!r} is not an audit entry kind",
            hint="pick one of the kinds the list offers, e.g. ai_output or login",
        )
    everyone = audit_api.sees_everything(caller)
    page = audit_api.entries(
        request, caller, PageParams(limit=PAGE_SIZE, offset=offset), kind, principal
    )
    if seen is not None and page.total > seen:
        moved = PageParams(limit=PAGE_SIZE, offset=offset + page.total - seen)
        page = audit_api.entries(request, caller, moved, kind, principal)
    verification = audit_api.verify(request, caller)
    kinds = sorted(
        {
            e.kind
            for e in services_of(request).audit.entries()
            if everyone or e.principal == caller.principal_id
        }
    )
    return render(
        request,
        "audit.html",
        {
            "page": page,
            "verification": verification,
            "kind": kind,
            "principal": principal,
            "kinds": kinds,
            "everyone": everyone,
            "detail_chars": DETAIL_CHARS,
            "query": _query,
        },
    )


def _query(**params: Any) -> str:
    """A query string of the non-empty ``params``."""
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


@router.get("/explain/{output_id}")
def explain(
    output_id: Annotated[str, Path(min_length=1, max_length=64)],
    request: Request,
    caller: ConsoleCaller,
) -> Response:
    """How an AI output was produced: model, parameters, inputs, and the proof of its record."""
    found = audit_api.explain(output_id, request, caller)
    return render(request, "explain.html", {"explained": found})
