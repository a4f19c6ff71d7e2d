"""Who is calling: passwords (argon2id), scoped API keys and console sessions.

A credential proves *who* a caller is; the principals file still says what
that principal may do. Three kinds, all stored as digests only
(:mod:`drivetrain.state.identity_models`):

- a **password**, hashed with argon2id (argon2-cffi's RFC 9106 low-memory
  profile), for people signing in to the console;
- an **API key** ``dtk_<key id>_<secret>`` for services, limited to scopes
  (``fleet:read``, ``lake:query``…) on top of the principal's roles, with an
  optional expiry and revocation;
- a **console session**: a random token in an HttpOnly cookie, with the CSRF
  token its forms must echo, for a limited time.

Checking a password for an unknown principal still runs one argon2 verify, so
the time a failed login takes does not tell whether the user exists.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from drivetrain.errors import InputError, NotFound
from drivetrain.state.identity_models import ApiKeyRow, ConsoleSessionRow, PasswordRow

#: What an API key may be limited to: ``<area>:read`` or ``<area>:write``, or ``*``.
SCOPE_AREAS: tuple[str, ...] = (
    "fleet",
    "lake",
    "ingest",
    "campaigns",
    "governance",
    "audit",
    "health",
    "warranty",
    "parts",
    "quality",
    "copilot",
    "cockpit",
    "ota",
    "reports",
)
SCOPES: frozenset[str] = frozenset(
    {"*"} | {f"{area}:{act}" for area in SCOPE_AREAS for act in ("read", "write")}
)
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
KEY_PREFIX = "dtk_"
LAST_USED_RESOLUTION = timedelta(minutes=1)
_KEY = re.compile(r"^dtk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")
_HASHER = PasswordHasher()
# Verified against when the principal has no password, so that a miss costs the same.
_DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


# -- passwords ----------------------------------------------------------------------------


def set_password(session: Session, principal_id: str, password: str) -> None:
    """Store (or replace) the argon2id hash of ``principal_id``'s password."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InputError(
            f"a password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters, "
            f"this one has {len(password)}",
            hint="use a passphrase of several words",
        )
    row = session.get(PasswordRow, principal_id)
    hashed = _HASHER.hash(password)
    if row is None:
        session.add(PasswordRow(principal_id=principal_id, password_hash=hashed, updated_at=_now()))
    else:
        row.password_hash, row.updated_at = hashed, _now()


def check_password(session: Session, principal_id: str, password: str) -> bool:
    """Whether ``password`` is ``principal_id``'s; rehashes if the parameters have grown."""
    if len(password) > MAX_PASSWORD:
        return False
    row = session.get(PasswordRow, principal_id)
    try:
        _HASHER.verify(row.password_hash if row else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if row is None:
        return False
    if _HASHER.check_needs_rehash(row.password_hash):
        row.password_hash, row.updated_at = _HASHER.hash(password), _now()
    return True


def has_password(session: Session, principal_id: str) -> bool:
    return session.get(PasswordRow, principal_id) is not None


# -- API keys -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key's record (never its secret)."""

    key_id: str
    principal_id: str
    label: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def allows(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes or _write_implies_read(self, scope)

    @property
    def active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > _now())


def _write_implies_read(key: ApiKey, scope: str) -> bool:
    area, _, act = scope.partition(":")
    return act == "read" and f"{area}:write" in key.scopes


def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """Validate scope names; InputError lists the known ones."""
    wanted = tuple(dict.fromkeys(scopes))
    bad = sorted(set(wanted) - SCOPES)
    if bad or not wanted:
        raise InputError(
            f"unknown or missing scope(s): {', '.join(bad) or '(none given)'}",
            hint=f"scopes are * or <area>:read|write with area one of {', '.join(SCOPE_AREAS)}",
        )
    return wanted


def issue_api_key(
    session: Session,
    principal_id: str,
    scopes: Iterable[str],
    *,
    label: str = "",
    expires_in: timedelta | None = None,
) -> tuple[ApiKey, str]:
    """Create an API key; returns its record and the token, which is shown only once."""
    granted = check_scopes(scopes)
    if expires_in is not None and expires_in <= timedelta(0):
        raise InputError("an API key's lifetime must be positive")
    key_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
    secret = secrets.token_urlsafe(32)
    now = _now()
    row = ApiKeyRow(
        key_id=key_id,
        principal_id=principal_id,
        label=label[:128],
        digest=_digest(secret),
        scopes=list(granted),
        created_at=now,
        expires_at=now + expires_in if expires_in else None,
    )
    session.add(row)
    session.flush()
    return _key(row), f"{KEY_PREFIX}{key_id}_{secret}"


def authenticate_api_key(session: Session, token: str) -> ApiKey | None:
    """The active key ``token`` is, or None (malformed, unknown, wrong, revoked or expired)."""
    match = _KEY.match(token)
    if match is None:
        return None
    row = session.get(ApiKeyRow, match.group(1))
    if row is None or not hmac.compare_digest(row.digest, _digest(match.group(2))):
        return None
    key = _key(row)
    if not key.active:
        return None
    now = _now()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        row.last_used_at = now  # a write at most once a minute per key, not per request
    return key


def revoke_api_key(session: Session, key_id: str) -> ApiKey:
    row = session.get(ApiKeyRow, key_id)
    if row is None:
        raise NotFound(f"no API key {key_id!r}", hint="drivetrain auth keys lists them")
    if row.revoked_at is None:
        row.revoked_at = _now()
    return _key(row)


def list_api_keys(session: Session, principal_id: str | None = None) -> list[ApiKey]:
    stmt = select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.key_id)
    if principal_id is not None:
        stmt = stmt.where(ApiKeyRow.principal_id == principal_id)
    return [_key(r) for r in session.scalars(stmt)]


def _key(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        key_id=row.key_id,
        principal_id=row.principal_id,
        label=row.label,
        scopes=tuple(row.scopes),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


# -- console sessions ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A signed-in console session (the token itself is only in the browser's cookie)."""

    principal_id: str
    csrf_token: str
    expires_at: datetime


def open_session(session: Session, principal_id: str, ttl: timedelta) -> tuple[ConsoleSession, str]:
    """Start a console session; returns it and the cookie token."""
    token = secrets.token_urlsafe(32)
    now = _now()
    row = ConsoleSessionRow(
        digest=_digest(token),
        principal_id=principal_id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(row)
    # Expired sessions of anyone are dropped as new ones start: the table stays small.
    session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_at <= now))
    return ConsoleSession(principal_id, row.csrf_token, row.expires_at), token


def find_session(session: Session, token: str) -> ConsoleSession | None:
    """The live session of cookie ``token``, or None."""
    if not token or len(token) > 128:
        return None
    row = session.get(ConsoleSessionRow, _digest(token))
    if row is None or row.expires_at <= _now():
        return None
    return ConsoleSession(row.principal_id, row.csrf_token, row.expires_at)


def close_session(session: Session, token: str) -> None:
    session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.digest == _digest(token)))


def close_sessions_of(session: Session, principal_id: str) -> int:
    """End every session of a principal (after a password change); returns how many."""
    result = session.execute(
        delete(ConsoleSessionRow).where(ConsoleSessionRow.principal_id == principal_id)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
