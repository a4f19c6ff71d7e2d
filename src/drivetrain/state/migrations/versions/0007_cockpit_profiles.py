"""Cockpit profiles: driver identifiers, households, preference events, learned preferences.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-14
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from drivetrain.state.models import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_IDENTIFIER_KINDS = ("key", "phone", "seat")
_HOUSEHOLD_ROLES = ("owner", "member")
_PREFERENCE_KINDS = (
    "climate_temperature",
    "fan_speed",
    "seat_heating",
    "seat_position",
    "volume",
    "media_genre",
    "media_artist",
    "destination",
)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    """Create the driver-profile and household tables."""
    op.create_table(
        "driver_identifiers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.Column("vehicle_id", sa.String(64), nullable=True),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("enrolled_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            _one_of("kind", _IDENTIFIER_KINDS), name=op.f("ck_driver_identifiers_kind")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["data_subjects.subject_id"],
            name=op.f("fk_driver_identifiers_subject_id_data_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_driver_identifiers")),
        sa.UniqueConstraint("kind", "digest", name=op.f("uq_driver_identifiers_kind_digest")),
    )
    op.create_index("ix_driver_identifiers_subject_id", "driver_identifiers", ["subject_id"])
    op.create_table(
        "households",
        sa.Column("household_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_households")),
    )
    op.create_table(
        "household_members",
        sa.Column("household_id", sa.String(64), nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("joined_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            _one_of("role", _HOUSEHOLD_ROLES), name=op.f("ck_household_members_role")
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.household_id"],
            name=op.f("fk_household_members_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["data_subjects.subject_id"],
            name=op.f("fk_household_members_subject_id_data_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("household_id", "subject_id", name=op.f("pk_household_members")),
    )
    op.create_index("ix_household_members_subject_id", "household_members", ["subject_id"])
    op.create_table(
        "household_vehicles",
        sa.Column("household_id", sa.String(64), nullable=False),
        sa.Column("vehicle_id", sa.String(64), nullable=False),
        sa.Column("shared_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.household_id"],
            name=op.f("fk_household_vehicles_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"],
            ["vehicles.vehicle_id"],
            name=op.f("fk_household_vehicles_vehicle_id_vehicles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("household_id", "vehicle_id", name=op.f("pk_household_vehicles")),
    )
    op.create_table(
        "household_places",
        sa.Column("household_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("added_by", sa.String(64), nullable=True),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.household_id"],
            name=op.f("fk_household_places_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["data_subjects.subject_id"],
            name=op.f("fk_household_places_added_by_data_subjects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("household_id", "name", name=op.f("pk_household_places")),
    )
    op.create_table(
        "preference_events",
        sa.Column("event_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("vehicle_id", sa.String(64), nullable=False),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("target", sa.String(32), nullable=False),
        sa.Column("number", sa.Float(), nullable=True),
        sa.Column("text", sa.String(128), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            _one_of("kind", _PREFERENCE_KINDS), name=op.f("ck_preference_events_kind")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["data_subjects.subject_id"],
            name=op.f("fk_preference_events_subject_id_data_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_preference_events")),
    )
    op.create_index(
        "ix_preference_events_subject_id_kind_at",
        "preference_events",
        ["subject_id", "kind", "at"],
    )
    op.create_table(
        "learned_preferences",
        sa.Column("subject_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("learned_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["data_subjects.subject_id"],
            name=op.f("fk_learned_preferences_subject_id_data_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subject_id", "kind", "key", name=op.f("pk_learned_preferences")),
    )


def downgrade() -> None:
    """Drop the profile tables (every identifier, household and preference is gone)."""
    op.drop_table("learned_preferences")
    op.drop_index("ix_preference_events_subject_id_kind_at", table_name="preference_events")
    op.drop_table("preference_events")
    op.drop_table("household_places")
    op.drop_table("household_vehicles")
    op.drop_index("ix_household_members_subject_id", table_name="household_members")
    op.drop_table("household_members")
    op.drop_table("households")
    op.drop_index("ix_driver_identifiers_subject_id", table_name="driver_identifiers")
    op.drop_table("driver_identifiers")
