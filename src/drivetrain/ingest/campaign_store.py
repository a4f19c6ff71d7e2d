"""Campaigns in the control-plane store: create, list, stop, and the active set."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from drivetrain.errors import InputError, NotFound
from drivetrain.ingest.campaigns import Campaign
from drivetrain.state.models import CampaignRow


def _to_campaign(row: CampaignRow) -> Campaign:
    return Campaign(
        campaign_id=row.campaign_id,
        purpose=row.purpose,
        signals=tuple(row.signals),
        retention_days=row.retention_days,
        description=row.description,
        target_brands=tuple(row.target_brands),
        target_models=tuple(row.target_models),
        target_markets=tuple(row.target_markets),
        period_s=row.period_s,
        condition=row.condition,
        pre_trigger_s=row.pre_trigger_s,
        post_trigger_s=row.post_trigger_s,
        status=row.status,
        location_precision=row.location_precision,
        created_at=row.created_at,
        stopped_at=row.stopped_at,
    )


def create_campaign(session: Session, campaign: Campaign) -> Campaign:
    """Validate and store a new active campaign."""
    campaign.validate()
    if session.get(CampaignRow, campaign.campaign_id) is not None:
        raise InputError(
            f"campaign {campaign.campaign_id!r} already exists",
            hint="choose another id, or stop the old campaign first",
        )
    session.add(
        CampaignRow(
            campaign_id=campaign.campaign_id,
            description=campaign.description,
            purpose=campaign.purpose,
            status="active",
            signals=list(campaign.signals),
            target_brands=list(campaign.target_brands),
            target_models=list(campaign.target_models),
            target_markets=list(campaign.target_markets),
            period_s=campaign.period_s,
            condition=campaign.condition,
            pre_trigger_s=campaign.pre_trigger_s,
            post_trigger_s=campaign.post_trigger_s,
            retention_days=campaign.retention_days,
            location_precision=campaign.location_precision,
            created_at=campaign.created_at,
            stopped_at=None,
        )
    )
    session.flush()
    return get_campaign(session, campaign.campaign_id)


def get_campaign(session: Session, campaign_id: str) -> Campaign:
    row = session.get(CampaignRow, campaign_id)
    if row is None:
        raise NotFound(
            f"no campaign {campaign_id!r}", hint="list them with 'drivetrain campaign list'"
        )
    return _to_campaign(row)


def list_campaigns(session: Session, *, active_only: bool = False) -> list[Campaign]:
    query = select(CampaignRow).order_by(CampaignRow.created_at, CampaignRow.campaign_id)
    if active_only:
        query = query.where(CampaignRow.status == "active")
    return [_to_campaign(row) for row in session.scalars(query)]


def stop_campaign(session: Session, campaign_id: str) -> Campaign:
    """Stop collecting for ``campaign_id`` (data already stored keeps its retention)."""
    row = session.get(CampaignRow, campaign_id)
    if row is None:
        raise NotFound(f"no campaign {campaign_id!r}")
    if row.status == "stopped":
        raise InputError(f"campaign {campaign_id!r} is already stopped")
    row.status = "stopped"
    row.stopped_at = datetime.now(UTC)
    session.flush()
    return _to_campaign(row)
