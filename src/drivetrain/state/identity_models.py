"""Control-plane tables of identity: passwords, scoped API keys and console sessions.

Only digests are stored. A password is kept as its argon2id hash (PHC string);
an API key or a session token is a 256-bit random secret, so a SHA-256 digest
is enough to check it and useless to a thief of the database. The principal
itself (roles, brands, regions, country) stays in the principals file: a
credential only says *who* is calling, never what they may do.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from drivetrain.state.models import Base, UTCDateTime


class PasswordRow(Base):
    """The argon2id hash of one principal's password."""

    __tablename__ = "principal_passwords"

    principal_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiKeyRow(Base):
    """A scoped API key of a service or user: its id, digest, scopes and life."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_principal_id", "principal_id"),)

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    principal_id: Mapped[str] = mapped_column(String(128))
    label: Mapped[str] = mapped_column(String(128))
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ConsoleSessionRow(Base):
    """A signed-in console session: the token's digest, its CSRF token and expiry."""

    __tablename__ = "console_sessions"
    __table_args__ = (Index("ix_console_sessions_principal_id", "principal_id"),)

    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    principal_id: Mapped[str] = mapped_column(String(128))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


__all__ = ["ApiKeyRow", "ConsoleSessionRow", "PasswordRow"]
