"""Data subjects, their links to vehicles, and the append-only consent history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from drivetrain.state.models import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``data_subjects``, ``vehicle_subjects`` and ``consent_events``."""
    op.create_table(
        "data_subjects",
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('owner', 'driver', 'household')", name=op.f("ck_data_subjects_kind")
        ),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_data_subjects")),
    )
    op.create_table(
        "vehicle_subjects",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("vehicle_id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("valid_to", UTCDateTime(), nullable=True),
        sa.CheckConstraint("role IN ('owner', 'driver')", name=op.f("ck_vehicle_subjects_role")),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["data_subjects.subject_id"],
            name=op.f("fk_vehicle_subjects_subject_id_data_subjects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"],
            ["vehicles.vehicle_id"],
            name=op.f("fk_vehicle_subjects_vehicle_id_vehicles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicle_subjects")),
    )
    op.create_index(
        "ix_vehicle_subjects_vehicle_id_valid_from",
        "vehicle_subjects",
        ["vehicle_id", "valid_from"],
    )
    op.create_index("ix_vehicle_subjects_subject_id", "vehicle_subjects", ["subject_id"])
    op.create_table(
        "consent_events",
        sa.Column("event_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("data_category", sa.String(32), nullable=False),
        sa.Column("legal_basis", sa.String(24), nullable=False),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("notice_version", sa.String(32), nullable=False),
        sa.Column("action", sa.String(12), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "legal_basis IN ('consent', 'contract', 'legitimate_interest', 'legal_obligation')",
            name=op.f("ck_consent_events_legal_basis"),
        ),
        sa.CheckConstraint(
            "action IN ('given', 'withdrawn')", name=op.f("ck_consent_events_action")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["data_subjects.subject_id"],
            name=op.f("fk_consent_events_subject_id_data_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_consent_events")),
    )
    op.create_index(
        "ix_consent_events_subject_id_purpose", "consent_events", ["subject_id", "purpose"]
    )


def downgrade() -> None:
    """Drop the consent history, the vehicle links and the subjects."""
    op.drop_index("ix_consent_events_subject_id_purpose", table_name="consent_events")
    op.drop_table("consent_events")
    op.drop_index("ix_vehicle_subjects_subject_id", table_name="vehicle_subjects")
    op.drop_index("ix_vehicle_subjects_vehicle_id_valid_from", table_name="vehicle_subjects")
    op.drop_table("vehicle_subjects")
    op.drop_table("data_subjects")
