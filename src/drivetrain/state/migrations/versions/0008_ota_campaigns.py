"""OTA campaigns: releases, campaigns, waves, per-vehicle rollout state, install history.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from drivetrain.state.models import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CAMPAIGN_STATUSES = ("draft", "running", "paused", "rolled_back", "completed")
_WAVE_STATUSES = ("pending", "offered", "passed", "failed")
_VEHICLE_STATUSES = ("pending", "offered", "installing", "installed", "failed", "rolled_back")
_OUTCOMES = ("installed", "failed", "rolled_back")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _campaign_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["campaign_id"],
        ["ota_campaigns.campaign_id"],
        name=op.f(f"fk_{table}_campaign_id_ota_campaigns"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    """Create the OTA campaign tables."""
    op.create_table(
        "ota_releases",
        sa.Column("release_id", sa.String(64), nullable=False),
        sa.Column("ecu", sa.String(32), nullable=False),
        sa.Column("hardware_id", sa.String(64), nullable=False),
        sa.Column("image_path", sa.String(256), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("release_counter", sa.Integer(), nullable=False),
        sa.Column("safety", sa.Boolean(), nullable=False),
        sa.Column("requires", sa.JSON(), nullable=False),
        sa.Column("conflicts", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("release_id", name=op.f("pk_ota_releases")),
        sa.UniqueConstraint("image_path", name=op.f("uq_ota_releases_image_path")),
    )
    op.create_index("ix_ota_releases_hardware_id", "ota_releases", ["hardware_id"])
    op.create_table(
        "ota_campaigns",
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("release_id", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("target_brands", sa.JSON(), nullable=False),
        sa.Column("target_models", sa.JSON(), nullable=False),
        sa.Column("target_markets", sa.JSON(), nullable=False),
        sa.Column("target_versions", sa.JSON(), nullable=False),
        sa.Column("target_hardware", sa.JSON(), nullable=False),
        sa.Column("gates", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            _one_of("status", _CAMPAIGN_STATUSES), name=op.f("ck_ota_campaigns_status")
        ),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["ota_releases.release_id"],
            name=op.f("fk_ota_campaigns_release_id_ota_releases"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_ota_campaigns")),
    )
    op.create_index("ix_ota_campaigns_status", "ota_campaigns", ["status"])
    op.create_table(
        "ota_waves",
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("max_error_rate", sa.Float(), nullable=False),
        sa.Column("min_success_rate", sa.Float(), nullable=False),
        sa.Column("min_soak_s", sa.Float(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("offered_at", UTCDateTime(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(_one_of("status", _WAVE_STATUSES), name=op.f("ck_ota_waves_status")),
        sa.CheckConstraint("share > 0 AND share <= 1", name=op.f("ck_ota_waves_share")),
        _campaign_fk("ota_waves"),
        sa.PrimaryKeyConstraint("campaign_id", "wave", name=op.f("pk_ota_waves")),
    )
    op.create_table(
        "ota_rollout_vehicles",
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("vehicle_id", sa.String(64), nullable=False),
        sa.Column("ecu", sa.String(32), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.Float(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("from_version", sa.String(64), nullable=False),
        sa.Column("reported_version", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("offered_at", UTCDateTime(), nullable=True),
        sa.Column("installed_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            _one_of("status", _VEHICLE_STATUSES), name=op.f("ck_ota_rollout_vehicles_status")
        ),
        _campaign_fk("ota_rollout_vehicles"),
        sa.ForeignKeyConstraint(
            ["vehicle_id"],
            ["vehicles.vehicle_id"],
            name=op.f("fk_ota_rollout_vehicles_vehicle_id_vehicles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "vehicle_id", name=op.f("pk_ota_rollout_vehicles")),
    )
    op.create_index("ix_ota_rollout_vehicles_vehicle_id", "ota_rollout_vehicles", ["vehicle_id"])
    op.create_index(
        "ix_ota_rollout_vehicles_campaign_id_wave", "ota_rollout_vehicles", ["campaign_id", "wave"]
    )
    op.create_table(
        "ota_install_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("vehicle_id", sa.String(64), nullable=False),
        sa.Column("ecu", sa.String(32), nullable=False),
        sa.Column("hardware_id", sa.String(64), nullable=False),
        sa.Column("from_version", sa.String(64), nullable=False),
        sa.Column("to_version", sa.String(64), nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            _one_of("outcome", _OUTCOMES), name=op.f("ck_ota_install_history_outcome")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ota_install_history")),
    )
    op.create_index(
        "ix_ota_install_history_vehicle_id_ecu", "ota_install_history", ["vehicle_id", "ecu"]
    )
    op.create_table(
        "ota_rollout_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=True),
        sa.Column("output_id", sa.String(40), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        _campaign_fk("ota_rollout_decisions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ota_rollout_decisions")),
    )
    op.create_index(
        "ix_ota_rollout_decisions_campaign_id", "ota_rollout_decisions", ["campaign_id"]
    )


def downgrade() -> None:
    """Drop the OTA campaign tables."""
    for table in (
        "ota_rollout_decisions",
        "ota_install_history",
        "ota_rollout_vehicles",
        "ota_waves",
        "ota_campaigns",
        "ota_releases",
    ):
        op.drop_table(table)
