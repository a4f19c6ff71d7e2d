"""``/api/v1/audit`` and ``/api/v1/explain``: the audit log, its verification, provenance.

The whole log is for the data protection officer (role
``data_protection_officer``); anyone else sees only the entries made under
their own name. ``explain`` shows how an AI output was produced, with the
Merkle inclusion proof that its record is in the signed log, to the principal
it was produced for and to the officer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from drivetrain.api.auth import Caller, require, services_of
from drivetrain.api.context import Page, PageParams, page_params, paginate
from drivetrain.api.problems import PROBLEM_RESPONSES, ApiProblem
from drivetrain.errors import DrivetrainError
from drivetrain.governance.provenance import explain as explain_output

router = APIRouter(prefix="/api/v1", tags=["audit"], responses=PROBLEM_RESPONSES)
AuditReader = Annotated[Caller, Depends(require("audit:read"))]
OFFICER_ROLES = frozenset({"data_protection_officer"})


def sees_everything(caller: Caller) -> bool:
    return bool(OFFICER_ROLES & set(caller.principal.roles))


class Entry(BaseModel):
    seq: int
    time: datetime
    kind: str
    principal: str
    purpose: str
    details: dict[str, Any]
    leaf_hash: str


@router.get("/audit/entries", response_model=Page[Entry], summary="Audit log entries, newest first")
def entries(
    request: Request,
    caller: AuditReader,
    page: Annotated[PageParams, Depends(page_params)],
    kind: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,39}$")] = None,
    principal: Annotated[str | None, Query(max_length=128)] = None,
) -> Page[Entry]:
    everyone = sees_everything(caller)
    if principal is not None and principal != caller.principal_id and not everyone:
        raise ApiProblem(403, "forbidden", "only a data protection officer reads others' entries")
    who = principal if everyone else caller.principal_id
    found = [
        Entry(
            seq=e.seq,
            time=e.time,
            kind=e.kind,
            principal=e.principal,
            purpose=e.purpose,
            details=e.details,
            leaf_hash=e.leaf_hash.hex(),
        )
        for e in reversed(services_of(request).audit.entries(kind))
        if who is None or e.principal == who
    ]
    return paginate(found, page)


class Verification(BaseModel):
    verified: bool
    entries: int
    tree_heads: int
    tree_size: int | None
    root_hash: str | None
    signed_at: datetime | None
    key_id: str
    uncovered: int = Field(description="Entries after the latest signed tree head.")
    problem: str | None = None


@router.get("/audit/verify", response_model=Verification, summary="Verify the whole log")
def verify(request: Request, caller: AuditReader) -> Verification:
    audit = services_of(request).audit
    try:
        report = audit.verify()
    except DrivetrainError as exc:
        return Verification(
            verified=False,
            entries=0,
            tree_heads=0,
            tree_size=None,
            root_hash=None,
            signed_at=None,
            key_id="",
            uncovered=0,
            problem=exc.message,
        )
    head = report.latest
    return Verification(
        verified=True,
        entries=report.entries,
        tree_heads=report.tree_heads,
        tree_size=head.tree_size if head else None,
        root_hash=head.root_hash.hex() if head else None,
        signed_at=head.time if head else None,
        key_id=report.key_id,
        uncovered=report.uncovered,
    )


@router.get("/explain/{output_id}", summary="How an AI output was produced, with its proof")
def explain(output_id: str, request: Request, caller: AuditReader) -> dict[str, Any]:
    found = explain_output(services_of(request).audit, output_id)
    if found.principal != caller.principal_id and not sees_everything(caller):
        raise ApiProblem(
            404,
            "not-found",
            f"no output {output_id!r} produced for you",
            hint="ask the principal it was produced for, or the data protection officer",
        )
    return found.to_dict()
