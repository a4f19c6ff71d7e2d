"""Vehicles' install reports: status, install history and the fleet registry's inventory."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from drivetrain.ota.campaigns import get_campaign
from drivetrain.ota.decisions import RolloutContext, record_decision
from drivetrain.ota.rollout_errors import CampaignStateError, ImpossibleVersion
from drivetrain.ota.targeting import known_versions
from drivetrain.state.models import EcuSoftwareRow
from drivetrain.state.ota_models import OtaInstallHistoryRow, OtaRolloutVehicleRow


def report_install(
    ctx: RolloutContext,
    campaign_id: str,
    vehicle_id: str,
    *,
    version: str,
    outcome: str,
    at: datetime,
) -> None:
    """A vehicle's report: ``installing``, ``installed`` or ``failed``, with the version it runs.

    A version the image repository never signed for the ECU's hardware is
    refused (:class:`ImpossibleVersion`) and the refusal recorded.
    """
    campaign = get_campaign(ctx.session, campaign_id)
    row = ctx.session.get(OtaRolloutVehicleRow, (campaign_id, vehicle_id))
    if row is None:
        raise CampaignStateError(f"vehicle {vehicle_id} is not part of campaign {campaign_id}")
    if outcome not in ("installing", "installed", "failed"):
        raise CampaignStateError(f"unknown outcome {outcome!r}; use installing|installed|failed")
    hardware = campaign.release.hardware_id
    if version not in known_versions(ctx.session, ctx.image, hardware):
        reason = (
            f"vehicle {vehicle_id} reports {row.ecu} {version}, which was never released "
            f"for {hardware}"
        )
        record_decision(
            ctx,
            campaign,
            "refusal",
            row.wave,
            at,
            reason,
            {"vehicle_id": vehicle_id, "ecu": row.ecu, "reported_version": version},
        )
        raise ImpossibleVersion(
            reason, hint="check the vehicle's version manifest; do not trust it"
        )
    row.reported_version, row.updated_at = version, at
    if outcome == "installing":
        row.status = "installing" if row.status != "rolled_back" else row.status
        ctx.session.flush()
        return
    rolled_back = row.status == "rolled_back"
    if outcome == "installed" and not rolled_back:
        row.status, row.installed_at = "installed", at
    elif outcome == "failed" and not rolled_back:
        row.status = "failed"
    before = _registry_version(ctx.session, vehicle_id, row.ecu) or row.from_version
    history = "rolled_back" if rolled_back and outcome == "installed" else outcome
    ctx.session.add(
        OtaInstallHistoryRow(
            vehicle_id=vehicle_id,
            ecu=row.ecu,
            hardware_id=hardware,
            from_version=before,
            to_version=version,
            campaign_id=campaign_id,
            outcome=history,
            at=at,
        )
    )
    if outcome == "installed":
        _record_in_registry(ctx.session, vehicle_id, row.ecu, hardware, version, at)
    ctx.session.flush()


def _registry_version(session: Session, vehicle_id: str, ecu: str) -> str | None:
    query = (
        select(EcuSoftwareRow.software_version)
        .where(EcuSoftwareRow.vehicle_id == vehicle_id, EcuSoftwareRow.ecu == ecu)
        .order_by(EcuSoftwareRow.installed_at.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def _record_in_registry(
    session: Session, vehicle_id: str, ecu: str, hardware: str, version: str, at: datetime
) -> None:
    """Keep the fleet registry's software inventory current (it targets later campaigns)."""
    existing = session.scalars(
        select(EcuSoftwareRow).where(
            EcuSoftwareRow.vehicle_id == vehicle_id,
            EcuSoftwareRow.ecu == ecu,
            EcuSoftwareRow.software_version == version,
        )
    ).first()
    if existing is not None:
        existing.installed_at = max(at, existing.installed_at + timedelta(microseconds=1))
        return
    session.add(
        EcuSoftwareRow(
            vehicle_id=vehicle_id,
            ecu=ecu,
            hardware_part=hardware,
            software_version=version,
            installed_at=at,
        )
    )
