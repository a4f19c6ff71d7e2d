"""The rollout's context and how its decisions are recorded (provenance + decision table)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import record_output
from drivetrain.ota.campaigns import Campaign
from drivetrain.ota.health_gates import HealthSignals
from drivetrain.ota.preconditions import ConsentCheck, VehicleConditionsProvider
from drivetrain.ota.repository import DirectorRepository, ImageRepository
from drivetrain.state.ota_models import OtaRolloutDecisionRow, OtaRolloutVehicleRow

DECISION_KIND = "rollout_decision"
MODEL = "drivetrain.ota.rollout"
MODEL_VERSION = "1"
OFFERED = ("offered", "installing", "installed", "failed")


@dataclass
class RolloutContext:
    """What the decision engine works with; ``consent`` defaults to governance's records."""

    session: Session
    image: ImageRepository
    director: DirectorRepository
    audit: AuditLog
    health: HealthSignals
    conditions: VehicleConditionsProvider
    principal: str = "ota-rollout"
    purpose: str = "vehicle_health"
    consent: ConsentCheck | None = None


@dataclass(frozen=True)
class GateEvaluation:
    """What :func:`tick` found: ``hold``, ``advance``, ``complete`` or ``rollback``/``pause``."""

    campaign_id: str
    wave: int
    outcome: str
    evidence: dict[str, Any] = field(default_factory=dict)
    decision_id: str | None = None


def record_decision(
    ctx: RolloutContext,
    campaign: Campaign,
    decision: str,
    wave: int | None,
    at: datetime,
    summary: str,
    evidence: dict[str, Any],
) -> str:
    output_id = record_output(
        ctx.audit,
        kind=DECISION_KIND,
        model=MODEL,
        version=MODEL_VERSION,
        params={
            "campaign_id": campaign.campaign_id,
            "release_id": campaign.release.release_id,
            "decision": decision,
            "wave": wave,
            "at": at.isoformat(),
            "summary": summary,
            "evidence": evidence,
        },
        inputs=ctx.health.inputs(),
        sources=[
            f"ota_campaign:{campaign.campaign_id}",
            f"ota_release:{campaign.release.release_id}",
        ],
        principal=ctx.principal,
        purpose=ctx.purpose,
    )
    ctx.session.add(
        OtaRolloutDecisionRow(
            campaign_id=campaign.campaign_id,
            decision=decision,
            wave=wave,
            output_id=output_id,
            summary=summary,
            at=at,
        )
    )
    ctx.session.flush()
    return output_id


def rollout_vehicles(session: Session, campaign_id: str) -> list[OtaRolloutVehicleRow]:
    query = select(OtaRolloutVehicleRow).where(OtaRolloutVehicleRow.campaign_id == campaign_id)
    return list(session.scalars(query.order_by(OtaRolloutVehicleRow.vehicle_id)))
