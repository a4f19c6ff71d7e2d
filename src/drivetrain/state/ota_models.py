"""Control-plane tables of over-the-air campaigns: releases, campaigns, waves, rollout state.

* ``ota_releases`` — a signed image as a campaign ships it: which ECU and
  hardware it is for, whether it is a safety update, and the versions the
  vehicle's *other* ECUs must (``requires``) or must not (``conflicts``) run.
* ``ota_campaigns`` — who gets a release (brand, model, market, current
  software version, hardware revision), its gates and its status.
* ``ota_waves`` — the staged shares (cumulative, 1 % → 10 % → 50 % → 100 %) with
  each wave's success/error thresholds and minimum soak time.
* ``ota_rollout_vehicles`` — per vehicle of a campaign: the wave it falls in,
  where its update stands, and the version it last reported.
* ``ota_install_history`` — every install, failure and rollback of an ECU
  (vehicle, ECU, from → to, when, outcome); the UNECE R156 records read it.
  It has no foreign key to ``vehicles``: a regulatory record outlives the
  registry entry.
* ``ota_rollout_decisions`` — the campaign's decisions, each with the id of its
  provenance record in the audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from drivetrain.state.models import Base, UTCDateTime

OTA_CAMPAIGN_STATUSES: tuple[str, ...] = (
    "draft",
    "running",
    "paused",
    "rolled_back",
    "completed",
)
OTA_WAVE_STATUSES: tuple[str, ...] = ("pending", "offered", "passed", "failed")
OTA_VEHICLE_STATUSES: tuple[str, ...] = (
    "pending",
    "offered",
    "installing",
    "installed",
    "failed",
    "rolled_back",
)
OTA_INSTALL_OUTCOMES: tuple[str, ...] = ("installed", "failed", "rolled_back")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class OtaReleaseRow(Base):
    """A release: one signed image for one ECU, with its dependencies on other ECUs."""

    __tablename__ = "ota_releases"
    __table_args__ = (Index("ix_ota_releases_hardware_id", "hardware_id"),)

    release_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ecu: Mapped[str] = mapped_column(String(32))
    hardware_id: Mapped[str] = mapped_column(String(64))
    image_path: Mapped[str] = mapped_column(String(256), unique=True)
    version: Mapped[str] = mapped_column(String(64))
    release_counter: Mapped[int] = mapped_column(Integer)
    safety: Mapped[bool] = mapped_column(Boolean)
    requires: Mapped[dict[str, str]] = mapped_column(JSON)  # ECU -> version range
    conflicts: Mapped[dict[str, str]] = mapped_column(JSON)  # ECU -> version range
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OtaCampaignRow(Base):
    """An update campaign: one release, its targeting, gates and status."""

    __tablename__ = "ota_campaigns"
    __table_args__ = (
        CheckConstraint(_one_of("status", OTA_CAMPAIGN_STATUSES), name="status"),
        Index("ix_ota_campaigns_status", "status"),
    )

    campaign_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    release_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("ota_releases.release_id", ondelete="RESTRICT")
    )
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12))
    status_reason: Mapped[str] = mapped_column(Text, default="")
    target_brands: Mapped[list[str]] = mapped_column(JSON)
    target_models: Mapped[list[str]] = mapped_column(JSON)
    target_markets: Mapped[list[str]] = mapped_column(JSON)
    target_versions: Mapped[list[str]] = mapped_column(JSON)
    target_hardware: Mapped[list[str]] = mapped_column(JSON)
    gates: Mapped[dict[str, Any]] = mapped_column(JSON)  # health-gate and precondition settings
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class OtaWaveRow(Base):
    """One stage of a campaign: the cumulative share it reaches and its thresholds."""

    __tablename__ = "ota_waves"
    __table_args__ = (
        CheckConstraint(_one_of("status", OTA_WAVE_STATUSES), name="status"),
        CheckConstraint("share > 0 AND share <= 1", name="share"),
    )

    campaign_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("ota_campaigns.campaign_id", ondelete="CASCADE"), primary_key=True
    )
    wave: Mapped[int] = mapped_column(Integer, primary_key=True)
    share: Mapped[float] = mapped_column(Float)  # cumulative fraction of the targeted vehicles
    max_error_rate: Mapped[float] = mapped_column(Float)
    min_success_rate: Mapped[float] = mapped_column(Float)
    min_soak_s: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(8))
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class OtaRolloutVehicleRow(Base):
    """Where one targeted vehicle's update stands in a campaign."""

    __tablename__ = "ota_rollout_vehicles"
    __table_args__ = (
        CheckConstraint(_one_of("status", OTA_VEHICLE_STATUSES), name="status"),
        Index("ix_ota_rollout_vehicles_vehicle_id", "vehicle_id"),
        Index("ix_ota_rollout_vehicles_campaign_id_wave", "campaign_id", "wave"),
    )

    campaign_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("ota_campaigns.campaign_id", ondelete="CASCADE"), primary_key=True
    )
    vehicle_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("vehicles.vehicle_id", ondelete="CASCADE"), primary_key=True
    )
    ecu: Mapped[str] = mapped_column(String(32))
    wave: Mapped[int] = mapped_column(Integer)
    bucket: Mapped[float] = mapped_column(Float)  # the deterministic hash position in [0, 1)
    status: Mapped[str] = mapped_column(String(12))
    from_version: Mapped[str] = mapped_column(String(64))
    reported_version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    installed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OtaInstallHistoryRow(Base):
    """One change (or failed change) of the software on a vehicle's ECU."""

    __tablename__ = "ota_install_history"
    __table_args__ = (
        CheckConstraint(_one_of("outcome", OTA_INSTALL_OUTCOMES), name="outcome"),
        Index("ix_ota_install_history_vehicle_id_ecu", "vehicle_id", "ecu"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vehicle_id: Mapped[str] = mapped_column(String(64))
    ecu: Mapped[str] = mapped_column(String(32))
    hardware_id: Mapped[str] = mapped_column(String(64))
    from_version: Mapped[str] = mapped_column(String(64))
    to_version: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    outcome: Mapped[str] = mapped_column(String(12))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class OtaRolloutDecisionRow(Base):
    """A decision of a campaign (start, advance, pause, rollback, complete, exclusion)."""

    __tablename__ = "ota_rollout_decisions"
    __table_args__ = (Index("ix_ota_rollout_decisions_campaign_id", "campaign_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("ota_campaigns.campaign_id", ondelete="CASCADE")
    )
    decision: Mapped[str] = mapped_column(String(16))
    wave: Mapped[int | None] = mapped_column(Integer, nullable=True)
    output_id: Mapped[str] = mapped_column(String(40))  # the provenance record's id
    summary: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
