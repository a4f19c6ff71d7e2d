"""``/api/v1/campaigns``: the data-collection campaigns, and starting and stopping them.

A campaign says which signals of which vehicles are collected, how often, why
and for how long; ingestion stores only what an active campaign asks for.
Campaigns are not personal data: any caller with ``campaigns:read`` may list
them (they are the record of what is collected).

Creating or stopping one (``campaigns:write``) is audited like the CLI's
(``admin`` entries ``campaign_create`` / ``campaign_stop``, naming the caller)
and is allowed only to a principal who may use what it collects: the access
policy must let the caller read ``telemetry`` for the campaign's purpose, and a
principal scoped to some brands must target only those brands. No role, no
collection.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from drivetrain.api.auth import Caller, require, services_of
from drivetrain.api.context import Page, PageParams, Purpose, page_params, paginate
from drivetrain.api.problems import PROBLEM_RESPONSES
from drivetrain.errors import PolicyDenied
from drivetrain.governance.access import AccessContext, denial
from drivetrain.governance.changes import record_admin_change
from drivetrain.governance.governed_read import default_enforcer
from drivetrain.ingest import Campaign, create_campaign, get_campaign, list_campaigns, stop_campaign

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"], responses=PROBLEM_RESPONSES)
CampaignReader = Annotated[Caller, Depends(require("campaigns:read"))]
CampaignWriter = Annotated[Caller, Depends(require("campaigns:write"))]
CampaignId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
#: The table whose read the policy must grant for the campaign's purpose.
COLLECTED_TABLE = "telemetry"
_NAME = Annotated[str, Field(min_length=1, max_length=128)]


class CampaignOut(BaseModel):
    campaign_id: str
    purpose: str
    status: str = Field(description="active or stopped")
    description: str
    signals: list[str] = Field(description="VSS paths, or prefixes ending in *.")
    target_brands: list[str]
    target_models: list[str]
    target_markets: list[str]
    period_s: float | None = Field(description="At most one value per this many seconds.")
    condition: str | None = Field(description="Collect only around moments this holds.")
    pre_trigger_s: float
    post_trigger_s: float
    retention_days: int
    location_precision: int | None = Field(description="Geohash characters kept of positions.")
    created_at: datetime
    stopped_at: datetime | None


class CampaignRequest(BaseModel):
    campaign_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", examples=["overheat"])
    purpose: Purpose
    signals: list[_NAME] = Field(
        min_length=1, max_length=64, examples=[["Vehicle.Powertrain.CombustionEngine.*"]]
    )
    description: str = Field(default="", max_length=1000)
    target_brands: list[_NAME] = Field(default_factory=list, max_length=64)
    target_models: list[_NAME] = Field(default_factory=list, max_length=64)
    target_markets: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(
        default_factory=list, max_length=64
    )
    period_s: float | None = Field(default=None, gt=0, le=86_400)
    condition: str | None = Field(default=None, min_length=1, max_length=500)
    pre_trigger_s: float = Field(default=0.0, ge=0, le=86_400)
    post_trigger_s: float = Field(default=0.0, ge=0, le=86_400)
    retention_days: int = Field(default=30, ge=1, le=36_500)
    location_precision: int | None = Field(default=None, ge=1, le=12)


def campaign_out(c: Campaign) -> CampaignOut:
    return CampaignOut(
        campaign_id=c.campaign_id,
        purpose=c.purpose,
        status=c.status,
        description=c.description,
        signals=list(c.signals),
        target_brands=list(c.target_brands),
        target_models=list(c.target_models),
        target_markets=list(c.target_markets),
        period_s=c.period_s,
        condition=c.condition,
        pre_trigger_s=c.pre_trigger_s,
        post_trigger_s=c.post_trigger_s,
        retention_days=c.retention_days,
        location_precision=c.location_precision,
        created_at=c.created_at,
        stopped_at=c.stopped_at,
    )


def check_may_collect(caller: Caller, purpose: str, brands: tuple[str, ...]) -> None:
    """Refuse (PolicyDenied) a caller who may not use what a campaign collects."""
    context = AccessContext(caller.principal, purpose)
    decision = default_enforcer().decide(context, "read", COLLECTED_TABLE, None)
    if not decision.allowed:
        raise denial(context, "read", COLLECTED_TABLE, None, decision)
    attributes = caller.principal.attributes
    if "*" in attributes.brands:
        return
    outside = [b for b in brands if not attributes.covers_brand(b)] if brands else ["every brand"]
    if outside:
        raise PolicyDenied(
            f"principal {caller.principal_id!r} works on {', '.join(attributes.brands)} only "
            f"and may not collect from {', '.join(outside)}",
            hint="set target_brands to brands you are scoped to",
        )


def _audit(request: Request, caller: Caller, action: str, details: dict[str, Any]) -> None:
    audit = services_of(request).audit
    record_admin_change(audit, action, details, principal=caller.principal_id)


@router.get("", response_model=Page[CampaignOut], summary="Campaigns, oldest first")
def campaigns(
    request: Request,
    caller: CampaignReader,
    page: Annotated[PageParams, Depends(page_params)],
    active: Annotated[bool, Query(description="Only active campaigns.")] = False,
) -> Page[CampaignOut]:
    with services_of(request).session() as session:
        found = list_campaigns(session, active_only=active)
    return paginate([campaign_out(c) for c in found], page)


@router.get("/{campaign_id}", response_model=CampaignOut, summary="One campaign")
def campaign(campaign_id: CampaignId, request: Request, caller: CampaignReader) -> CampaignOut:
    with services_of(request).session() as session:
        return campaign_out(get_campaign(session, campaign_id))


@router.post(
    "",
    response_model=CampaignOut,
    status_code=201,
    summary="Start a campaign (audited; only for a purpose your role may read)",
)
def create(body: CampaignRequest, request: Request, caller: CampaignWriter) -> CampaignOut:
    request.state.purpose = body.purpose.value
    check_may_collect(caller, body.purpose.value, tuple(body.target_brands))
    wanted = Campaign(
        campaign_id=body.campaign_id,
        purpose=body.purpose.value,
        signals=tuple(body.signals),
        retention_days=body.retention_days,
        description=body.description,
        target_brands=tuple(body.target_brands),
        target_models=tuple(body.target_models),
        target_markets=tuple(body.target_markets),
        period_s=body.period_s,
        condition=body.condition,
        pre_trigger_s=body.pre_trigger_s,
        post_trigger_s=body.post_trigger_s,
        location_precision=body.location_precision,
    )
    with services_of(request).session() as session:
        stored = create_campaign(session, wanted)
    details = json.loads(json.dumps(dataclasses.asdict(stored), default=str))
    _audit(request, caller, "campaign_create", details)
    return campaign_out(stored)


@router.post(
    "/{campaign_id}/stop",
    response_model=CampaignOut,
    summary="Stop a campaign (audited); stored data keeps its retention",
)
def stop(campaign_id: CampaignId, request: Request, caller: CampaignWriter) -> CampaignOut:
    services = services_of(request)
    with services.session() as session:
        current = get_campaign(session, campaign_id)
        request.state.purpose = current.purpose
        check_may_collect(caller, current.purpose, current.target_brands)
        stopped = stop_campaign(session, campaign_id)
    _audit(request, caller, "campaign_stop", {"campaign": campaign_id})
    return campaign_out(stopped)
