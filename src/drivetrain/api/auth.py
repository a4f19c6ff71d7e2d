"""Who is calling, and may they: sessions, API keys and OIDC bearer tokens.

Three ways in, tried in this order:

1. ``Authorization: Bearer dtk_…`` — a scoped API key (:mod:`drivetrain.governance.identity`);
2. ``Authorization: Bearer <JWT>`` — an OIDC access token from the configured issuer
   (:mod:`drivetrain.api.oidc`), its principal named by ``oidc_principal_claim``;
3. the ``dt_session`` cookie of a console sign-in; a state-changing request with it
   must also carry the session's CSRF token (header ``X-CSRF-Token``).

Whichever it is, the principal must exist in the principals file: its roles
and attributes decide what it may read, as on the command line. A key's scopes
only narrow that further.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from fastapi import Request

from drivetrain.api.problems import ApiProblem
from drivetrain.api.services import Services
from drivetrain.governance.identity import (
    KEY_PREFIX,
    ApiKey,
    ConsoleSession,
    authenticate_api_key,
    find_session,
)
from drivetrain.governance.principals import Principal

SESSION_COOKIE = "dt_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Method = Literal["session", "api_key", "oidc"]
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="drivetrain"'}


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated request's principal, how it signed in, and what its key allows."""

    principal: Principal
    method: Method
    key: ApiKey | None = None
    session: ConsoleSession | None = None

    @property
    def principal_id(self) -> str:
        return self.principal.principal_id

    def allows(self, scope: str) -> bool:
        return self.key is None or self.key.allows(scope)


def services_of(request: Request) -> Services:
    services = request.app.state.services
    assert isinstance(services, Services)
    return services


def unauthenticated(detail: str, hint: str | None = None) -> ApiProblem:
    return ApiProblem(401, "unauthenticated", detail, hint=hint, headers=_CHALLENGE)


def _principal(services: Services, principal_id: str, how: str) -> Principal:
    principal = services.principals().get(principal_id)
    if principal is None:
        raise unauthenticated(
            f"{how} names principal {principal_id!r}, which is not in the principals file",
            hint="an administrator adds it to principals.toml with its roles and attributes",
        )
    return principal


def authenticate(request: Request) -> Caller:
    """The request's caller, or a 401 problem."""
    cached = getattr(request.state, "caller", None)
    if isinstance(cached, Caller):
        return cached
    services = services_of(request)
    caller = _from_header(request, services) or _from_cookie(request, services)
    if caller is None:
        raise unauthenticated(
            "this request carries no credentials",
            hint="sign in at /login, or send 'Authorization: Bearer <API key or OIDC token>'",
        )
    request.state.caller = caller
    return caller


def _from_header(request: Request, services: Services) -> Caller | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthenticated("the Authorization header must be 'Bearer <token>'")
    if token.startswith(KEY_PREFIX):
        key = services.credential("api_key", token, lambda: _check_key(services, token))
        if key is not None and not key.active:  # expired while remembered
            services.forget_credentials()
            key = None
        if key is None:
            raise unauthenticated(
                "the API key is not valid (unknown, revoked or expired)",
                hint="create a new one with 'drivetrain auth key-create'",
            )
        return Caller(_principal(services, key.principal_id, "the API key"), "api_key", key=key)
    verifier = request.app.state.oidc
    if verifier is None:
        raise unauthenticated(
            "bearer tokens other than drivetrain API keys need OIDC, which is not configured",
            hint="set oidc_issuer, oidc_audience and oidc_jwks_url",
        )
    claims_principal = verifier.principal_of(token)
    return Caller(_principal(services, claims_principal, "the OIDC token"), "oidc")


def _from_cookie(request: Request, services: Services) -> Caller | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    found = services.credential("session", token, lambda: _check_session(services, token))
    if found is not None and found.expires_at <= datetime.now(UTC):
        found = None
    if found is None:
        raise unauthenticated("the console session has expired", hint="sign in again at /login")
    if request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != found.csrf_token:
        raise ApiProblem(
            403,
            "csrf-failed",
            "a state-changing request from the console must carry its CSRF token",
            hint=f"send the session's token in the {CSRF_HEADER} header",
        )
    return Caller(_principal(services, found.principal_id, "the session"), "session", session=found)


def _check_key(services: Services, token: str) -> ApiKey | None:
    with services.session() as session:
        return authenticate_api_key(session, token)


def _check_session(services: Services, token: str) -> ConsoleSession | None:
    with services.session() as session:
        return find_session(session, token)


def check_scope(caller: Caller, scope: str) -> Caller:
    """``caller``, or a 403 problem if its API key lacks ``scope``."""
    if not caller.allows(scope):
        assert caller.key is not None
        raise ApiProblem(
            403,
            "insufficient-scope",
            f"API key {caller.key.key_id} does not have scope {scope!r}",
            hint=f"its scopes are {', '.join(caller.key.scopes)}; issue a key with {scope}",
        )
    return caller


def require(scope: str) -> Callable[[Request], Caller]:
    """A dependency: the authenticated caller, refused (403) if its key lacks ``scope``."""

    def dependency(request: Request) -> Caller:
        return check_scope(authenticate(request), scope)

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return dependency
