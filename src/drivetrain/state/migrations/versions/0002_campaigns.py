"""Data-collection campaigns.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from drivetrain.state.models import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``campaigns``."""
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.Column("target_brands", sa.JSON(), nullable=False),
        sa.Column("target_models", sa.JSON(), nullable=False),
        sa.Column("target_markets", sa.JSON(), nullable=False),
        sa.Column("period_s", sa.Float(), nullable=True),
        sa.Column("condition", sa.Text(), nullable=True),
        sa.Column("pre_trigger_s", sa.Float(), nullable=False),
        sa.Column("post_trigger_s", sa.Float(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("stopped_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('active', 'stopped')", name=op.f("ck_campaigns_status")),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_campaigns")),
    )
    op.create_index(op.f("ix_campaigns_status"), "campaigns", ["status"])


def downgrade() -> None:
    """Drop ``campaigns``."""
    op.drop_index(op.f("ix_campaigns_status"), table_name="campaigns")
    op.drop_table("campaigns")
