"""The access context of a request: its caller (principal) and purpose, and pages of results.

Every route that reads vehicle data takes a ``purpose`` (query parameter, one of
the governance purposes, with the capability's own as default) and builds an
:class:`~drivetrain.governance.access.AccessContext` from it; the purpose also
goes into the request's access-log entry.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Generic, TypeVar

from fastapi import Query, Request
from pydantic import BaseModel, Field

from drivetrain.api.auth import Caller
from drivetrain.governance.access import AccessContext, access_purposes

#: The purposes a request may name (an enum, so the OpenAPI document lists them).
Purpose = StrEnum("Purpose", {name: name for name in access_purposes()})  # type: ignore[misc]

T = TypeVar("T")
MAX_LIMIT = 1000


def access_context(request: Request, caller: Caller, purpose: str) -> AccessContext:
    """The access context of ``caller`` reading for ``purpose``; logged with the request."""
    request.state.purpose = purpose
    return AccessContext(caller.principal, purpose)


class PageParams(BaseModel):
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


class Page(BaseModel, Generic[T]):
    """One page of a longer list; ``next_offset`` is null on the last page."""

    items: list[T]
    total: int = Field(description="Items in the whole list.")
    limit: int
    offset: int
    next_offset: int | None


def paginate(items: list[T], params: PageParams) -> Page[T]:
    end = params.offset + params.limit
    return Page[T](
        items=items[params.offset : end],
        total=len(items),
        limit=params.limit,
        offset=params.offset,
        next_offset=end if end < len(items) else None,
    )
