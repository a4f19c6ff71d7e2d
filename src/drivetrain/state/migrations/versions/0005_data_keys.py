"""Per-subject data keys for sealing personal signals (erasure by crypto-shredding).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from drivetrain.state.models import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``data_keys`` and ``data_key_members``."""
    op.create_table(
        "data_keys",
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("members", sa.String(64), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_data_keys")),
        sa.UniqueConstraint("members", name=op.f("uq_data_keys_members")),
    )
    op.create_table(
        "data_key_members",
        sa.Column("key_id", sa.String(40), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["data_keys.key_id"],
            name=op.f("fk_data_key_members_key_id_data_keys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["data_subjects.subject_id"],
            name=op.f("fk_data_key_members_subject_id_data_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("key_id", "subject_id", name=op.f("pk_data_key_members")),
    )
    op.create_index("ix_data_key_members_subject_id", "data_key_members", ["subject_id"])


def downgrade() -> None:
    """Drop the key tables (every sealed value becomes unreadable)."""
    op.drop_index("ix_data_key_members_subject_id", table_name="data_key_members")
    op.drop_table("data_key_members")
    op.drop_table("data_keys")
