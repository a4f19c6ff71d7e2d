"""Identity: password hashes, scoped API keys, console sessions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from drivetrain.state.models import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``principal_passwords``, ``api_keys`` and ``console_sessions``."""
    op.create_table(
        "principal_passwords",
        sa.Column("principal_id", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("principal_id", name=op.f("pk_principal_passwords")),
    )
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("principal_id", sa.String(128), nullable=False),
        sa.Column("label", sa.String(128), nullable=False),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_api_keys")),
    )
    op.create_index("ix_api_keys_principal_id", "api_keys", ["principal_id"])
    op.create_table(
        "console_sessions",
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.Column("principal_id", sa.String(128), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_console_sessions")),
    )
    op.create_index("ix_console_sessions_principal_id", "console_sessions", ["principal_id"])


def downgrade() -> None:
    """Drop the identity tables (every password, key and session is gone)."""
    op.drop_index("ix_console_sessions_principal_id", table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_index("ix_api_keys_principal_id", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("principal_passwords")
