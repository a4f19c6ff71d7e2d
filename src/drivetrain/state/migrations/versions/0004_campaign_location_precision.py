"""Campaigns may keep positions coarsened to a geohash precision.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``campaigns.location_precision`` (NULL = exact positions)."""
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("location_precision", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Drop ``campaigns.location_precision``."""
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("location_precision")
