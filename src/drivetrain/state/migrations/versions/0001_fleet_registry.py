"""Fleet registry: vehicles and the software installed on their ECUs.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``vehicles`` and ``ecu_software``."""
    op.create_table(
        "vehicles",
        sa.Column("vehicle_id", sa.String(64), nullable=False),
        sa.Column("vin", sa.String(17), nullable=False),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("model_year", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("market", sa.String(2), nullable=False),
        sa.Column("region", sa.String(16), nullable=False),
        sa.Column("powertrain", sa.String(8), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "powertrain IN ('ice', 'hev', 'phev', 'bev')", name=op.f("ck_vehicles_powertrain")
        ),
        sa.PrimaryKeyConstraint("vehicle_id", name=op.f("pk_vehicles")),
        sa.UniqueConstraint("vin", name=op.f("uq_vehicles_vin")),
    )
    op.create_index("ix_vehicles_brand_market", "vehicles", ["brand", "market"])
    op.create_index("ix_vehicles_model_id", "vehicles", ["model_id"])
    op.create_table(
        "ecu_software",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("vehicle_id", sa.String(64), nullable=False),
        sa.Column("ecu", sa.String(32), nullable=False),
        sa.Column("hardware_part", sa.String(64), nullable=False),
        sa.Column("software_version", sa.String(64), nullable=False),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["vehicle_id"],
            ["vehicles.vehicle_id"],
            name=op.f("fk_ecu_software_vehicle_id_vehicles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ecu_software")),
        sa.UniqueConstraint(
            "vehicle_id",
            "ecu",
            "software_version",
            name=op.f("uq_ecu_software_vehicle_id_ecu_software_version"),
        ),
    )


def downgrade() -> None:
    """Drop ``ecu_software`` and ``vehicles``."""
    op.drop_table("ecu_software")
    op.drop_index("ix_vehicles_model_id", table_name="vehicles")
    op.drop_index("ix_vehicles_brand_market", table_name="vehicles")
    op.drop_table("vehicles")
