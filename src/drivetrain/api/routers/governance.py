"""``/api/v1/governance``: regional policies, data subjects, consent, access and erasure.

Who may see what (decided here, as the CLI leaves it to whoever runs it):

* a region's policy (legal bases, residency, rights) is public law, not personal
  data: any caller with ``governance:read``;
* everything about a data subject — the record (a display name), the vehicles
  linked to them, the consent history and receipt, the access export — is
  personal data, for the data protection officer only (role
  ``data_protection_officer``), read for the purpose ``legal_obligation`` and
  only for the subjects of the regions the officer is scoped to. Anyone else
  gets 403 ``policy-denied``; a subject outside the officer's regions is "not
  found" (a refusal does not confirm that it exists);
* recording consent given or withdrawn (``governance:write``) is the officer's
  too (e.g. a withdrawal by letter), audited as the CLI does (one ``consent``
  entry per event, naming the caller);
* erasure (``governance:write``) cannot be undone: it needs ``confirm: true``,
  and is audited by the erasure itself and by an ``admin`` entry naming the caller.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from datetime import datetime
from enum import StrEnum
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from drivetrain.api.auth import Caller, require, services_of
from drivetrain.api.context import Page, PageParams, access_context, page_params, paginate
from drivetrain.api.problems import PROBLEM_RESPONSES, ApiProblem
from drivetrain.api.routers.audit import sees_everything
from drivetrain.errors import NotFound, PolicyDenied
from drivetrain.governance.changes import record_admin_change, record_consent_events
from drivetrain.governance.consent import (
    ConsentRecord,
    consent_history,
    consent_receipt,
    consent_state,
    give_consent,
    withdraw_consent,
)
from drivetrain.governance.keys import Keyring
from drivetrain.governance.policies import DATA_CATEGORIES, REGIONS, region_policy
from drivetrain.governance.purposes import PURPOSES
from drivetrain.governance.subject_rights import compact_state, erase_subject, export_subject
from drivetrain.governance.subjects import DataSubject, get_subject, links_of_subject, list_subjects
from drivetrain.state.governance_models import LEGAL_BASES

router = APIRouter(prefix="/api/v1/governance", tags=["governance"], responses=PROBLEM_RESPONSES)
GovernanceReader = Annotated[Caller, Depends(require("governance:read"))]
GovernanceWriter = Annotated[Caller, Depends(require("governance:write"))]
OVERSIGHT = "legal_obligation"
SubjectId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]
Region = StrEnum("Region", {r: r for r in REGIONS})  # type: ignore[misc]
DataPurpose = StrEnum("DataPurpose", {p: p for p in PURPOSES})  # type: ignore[misc]
Category = StrEnum("Category", {c: c for c in DATA_CATEGORIES})  # type: ignore[misc]
Basis = StrEnum("Basis", {b: b for b in LEGAL_BASES})  # type: ignore[misc]


def officer(request: Request, caller: Caller) -> None:
    """Refuse anyone but the data protection officer; log the purpose legal_obligation."""
    access_context(request, caller, OVERSIGHT)
    if not sees_everything(caller):
        raise PolicyDenied(
            f"principal {caller.principal_id!r} may not read data subjects' records: they are "
            "personal data, for the data protection officer (role data_protection_officer, "
            "purpose legal_obligation)",
            hint="ask your data-protection officer",
        )


def subject_of(session: Session, caller: Caller, subject_id: str) -> DataSubject:
    """The subject, if within the officer's regions; else NotFound, as for no subject."""
    subject = get_subject(session, subject_id)
    if not caller.principal.attributes.covers_region(subject.region):
        raise NotFound(f"data subject {subject_id!r} is not registered in your regions")
    return subject


class Right(BaseModel):
    name: str
    law: str
    description: str
    deadline_days: int | None
    deadline_note: str


class BasisRule(BaseModel):
    purpose: str
    category: str
    basis: str


class RegionPolicyOut(BaseModel):
    region: str
    name: str
    laws: list[str]
    default_basis: str
    bases: list[BasisRule]
    no_subject_categories: list[str] = Field(description="Collected without a known subject…")
    no_subject_bases: list[str] = Field(description="…under these legal bases.")
    readable_from: list[str] = Field(description="Countries that may read it; empty: anywhere.")
    rights: list[Right]


@router.get("/policies/{region}", response_model=RegionPolicyOut, summary="A region's policy")
def policy(region: Region, caller: GovernanceReader) -> RegionPolicyOut:
    p = region_policy(region.value)
    return RegionPolicyOut(
        region=p.region,
        name=p.name,
        laws=list(p.laws),
        default_basis=p.default_basis,
        bases=[BasisRule(purpose=u, category=c, basis=b) for (u, c), b in sorted(p.bases.items())],
        no_subject_categories=sorted(p.no_subject_categories),
        no_subject_bases=sorted(p.no_subject_bases),
        readable_from=sorted(p.readable_from),
        rights=[Right.model_validate(dataclasses.asdict(r)) for r in p.rights.values()],
    )


class Subject(BaseModel):
    subject_id: str
    kind: str = Field(description="owner, driver or household")
    display_name: str
    region: str
    created_at: datetime


class Link(BaseModel):
    vehicle_id: str
    role: str
    valid_from: datetime
    valid_to: datetime | None


class ConsentEvent(BaseModel):
    event_id: int
    purpose: str
    data_category: str
    legal_basis: str
    region: str
    notice_version: str
    action: str = Field(description="given or withdrawn")
    at: datetime
    recorded_at: datetime


class ConsentNow(BaseModel):
    purpose: str
    data_category: str
    active: bool = Field(description="The latest event is 'given'.")
    legal_basis: str
    since: datetime


class SubjectDetail(Subject):
    vehicles: list[Link]
    consents: list[ConsentNow] = Field(description="Now, per purpose and category named.")


def _subject(s: DataSubject) -> Subject:
    return Subject.model_validate(dataclasses.asdict(s))


def _event(r: ConsentRecord) -> ConsentEvent:
    return ConsentEvent.model_validate(dataclasses.asdict(r))


@router.get("/subjects", response_model=Page[Subject], summary="Data subjects (officer)")
def subjects(
    request: Request,
    caller: GovernanceReader,
    page: Annotated[PageParams, Depends(page_params)],
    region: Annotated[Region | None, Query(description="Only this region.")] = None,
) -> Page[Subject]:
    officer(request, caller)
    with services_of(request).session() as session:
        found = list_subjects(session)
    covers = caller.principal.attributes.covers_region
    shown = [
        _subject(s)
        for s in found
        if covers(s.region) and (region is None or s.region == region.value)
    ]
    return paginate(shown, page)


@router.get(
    "/subjects/{subject_id}", response_model=SubjectDetail, summary="A subject, now (officer)"
)
def subject(subject_id: SubjectId, request: Request, caller: GovernanceReader) -> SubjectDetail:
    officer(request, caller)
    with services_of(request).session() as session:
        found = subject_of(session, caller, subject_id)
        links = links_of_subject(session, subject_id)
        named = dict.fromkeys(
            (e.purpose, e.data_category) for e in consent_history(session, subject_id)
        )
        states = [consent_state(session, subject_id, p, c) for p, c in named]
    return SubjectDetail(
        **_subject(found).model_dump(),
        vehicles=[Link.model_validate(dataclasses.asdict(k)) for k in links],
        consents=[
            ConsentNow(
                purpose=s.purpose,
                data_category=s.data_category,
                active=s.active,
                legal_basis=s.last_event.legal_basis,
                since=s.last_event.at,
            )
            for s in states
            if s.last_event is not None
        ],
    )


@router.get(
    "/subjects/{subject_id}/consents",
    response_model=list[ConsentEvent],
    summary="A subject's consent history, in effect order (officer)",
)
def history(
    subject_id: SubjectId, request: Request, caller: GovernanceReader
) -> list[ConsentEvent]:
    officer(request, caller)
    with services_of(request).session() as session:
        subject_of(session, caller, subject_id)
        return [_event(r) for r in consent_history(session, subject_id)]


class ReceiptPurpose(BaseModel):
    purpose: str
    purposeCategory: list[str]
    consentType: str
    piiCategory: list[str]
    primaryPurpose: bool
    termination: str
    thirdPartyDisclosure: bool
    noticeVersion: str


class ReceiptService(BaseModel):
    service: str
    purposes: list[ReceiptPurpose]


class ConsentReceipt(BaseModel):
    """The Kantara Initiative Consent Receipt v1.1 structure."""

    version: str
    jurisdiction: str
    consentTimestamp: int
    collectionMethod: str
    consentReceiptID: str
    language: str
    piiPrincipalId: str
    piiControllers: list[dict[str, Any]]
    policyUrl: str
    services: list[ReceiptService]
    sensitive: bool
    spiCat: list[str]


@router.get(
    "/subjects/{subject_id}/receipt",
    response_model=ConsentReceipt,
    summary="A subject's consent receipt (officer)",
)
def receipt(subject_id: SubjectId, request: Request, caller: GovernanceReader) -> ConsentReceipt:
    officer(request, caller)
    with services_of(request).session() as session:
        subject_of(session, caller, subject_id)
        return ConsentReceipt.model_validate(consent_receipt(session, subject_id))


class ConsentGiven(BaseModel):
    purpose: DataPurpose
    categories: list[Category] = Field(min_length=1, max_length=len(DATA_CATEGORIES))
    notice_version: str = Field(min_length=1, max_length=32, examples=["2026-03"])
    legal_basis: Basis = Field(default=Basis.consent)  # type: ignore[attr-defined]
    at: AwareDatetime | None = Field(default=None, description="When (default: now).")


class ConsentWithdrawn(BaseModel):
    purpose: DataPurpose
    categories: list[Category] = Field(min_length=1, max_length=len(DATA_CATEGORIES))
    at: AwareDatetime | None = Field(default=None, description="From when (default: now).")


def _record_consent(
    request: Request, caller: Caller, records: list[ConsentRecord]
) -> list[ConsentEvent]:
    record_consent_events(services_of(request).audit, records, principal=caller.principal_id)
    return [_event(r) for r in records]


@router.post(
    "/subjects/{subject_id}/consents",
    response_model=list[ConsentEvent],
    status_code=201,
    summary="Record consent given (officer; audited)",
)
def give(
    subject_id: SubjectId, body: ConsentGiven, request: Request, caller: GovernanceWriter
) -> list[ConsentEvent]:
    officer(request, caller)
    with services_of(request).session() as session:
        subject_of(session, caller, subject_id)
        records = give_consent(
            session,
            subject_id,
            body.purpose.value,
            [c.value for c in body.categories],
            notice_version=body.notice_version,
            legal_basis=body.legal_basis.value,
            at=body.at,
        )
    return _record_consent(request, caller, records)


@router.post(
    "/subjects/{subject_id}/consents/withdrawals",
    response_model=list[ConsentEvent],
    status_code=201,
    summary="Record consent withdrawn or an objection (officer; audited)",
)
def withdraw(
    subject_id: SubjectId, body: ConsentWithdrawn, request: Request, caller: GovernanceWriter
) -> list[ConsentEvent]:
    officer(request, caller)
    with services_of(request).session() as session:
        subject_of(session, caller, subject_id)
        records = withdraw_consent(
            session, subject_id, body.purpose.value, [c.value for c in body.categories], at=body.at
        )
    return _record_consent(request, caller, records)


@router.get(
    "/subjects/{subject_id}/export",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}, "description": "The export (zip)"}},
    summary="Access export: subject.json and one Parquet file per table (officer; audited)",
)
def export(subject_id: SubjectId, request: Request, caller: GovernanceReader) -> FileResponse:
    officer(request, caller)
    services = services_of(request)
    folder = FilePath(tempfile.mkdtemp(prefix="dt-export-"))
    out = folder / f"{subject_id}.zip"
    try:
        with services.session() as session:
            subject_of(session, caller, subject_id)
            keyring = Keyring.load_or_create(services.data_dir)
            data = export_subject(session, services.lake, subject_id, out, keyring)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    services.audit.append(
        "export",
        principal=caller.principal_id,
        purpose=OVERSIGHT,
        details={"subject": subject_id, "rows": data.rows},
    )
    return FileResponse(
        out,
        media_type="application/zip",
        filename=out.name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


class ErasureRequest(BaseModel):
    confirm: bool = Field(description="Must be true: an erasure cannot be undone.")


class Erasure(BaseModel):
    subject_id: str
    rows_deleted: dict[str, int]
    files_removed: int
    vehicles: list[str]
    keys_destroyed: int = Field(description="Data keys destroyed (crypto-shredding).")


@router.post(
    "/subjects/{subject_id}/erasure",
    response_model=Erasure,
    summary="Erase a subject: keys, lake rows (vacuumed), records (officer; confirm; audited)",
)
def erase(
    subject_id: SubjectId, body: ErasureRequest, request: Request, caller: GovernanceWriter
) -> Erasure:
    officer(request, caller)
    if not body.confirm:
        raise ApiProblem(
            400,
            "confirmation-required",
            f"erasing {subject_id} cannot be undone",
            hint='send {"confirm": true} to erase',
        )
    services = services_of(request)
    with services.session() as session:
        subject_of(session, caller, subject_id)
        report = erase_subject(session, services.lake, subject_id, audit=services.audit)
        compact_state(session)
    services.forget()
    details = {"subject": subject_id, "rows_deleted": report.rows_deleted}
    record_admin_change(services.audit, "subject_erase", details, principal=caller.principal_id)
    return Erasure(
        subject_id=report.subject_id,
        rows_deleted=report.rows_deleted,
        files_removed=report.files_removed,
        vehicles=report.vehicles,
        keys_destroyed=len(report.keys_destroyed),
    )
