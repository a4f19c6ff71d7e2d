"""Password sign-in for the console and the API, rate-limited per client and per user.

The limiter is the ``limits`` library's moving window, on the storage the
settings name (``memory://`` for one process; ``redis://…`` so that several
workers share the counts). Both the client address and the principal named are
counted, so neither spraying one user from many addresses nor many users from
one address gets more than ``login_rate`` tries. Every attempt, failed or not,
goes into the audit log.
"""

from __future__ import annotations

import time
from datetime import timedelta

from fastapi import Request, Response
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from drivetrain.api.auth import SESSION_COOKIE, Caller, services_of, unauthenticated
from drivetrain.api.problems import ApiProblem
from drivetrain.errors import ConfigError
from drivetrain.governance.identity import check_password, open_session
from drivetrain.settings import Settings


class LoginGate:
    """Counts sign-in attempts; refuses with 429 once a client or a user is over the rate."""

    def __init__(self, settings: Settings) -> None:
        try:
            self.rate = parse(settings.login_rate)
            self._limiter = MovingWindowRateLimiter(
                storage_from_string(settings.rate_limit_storage)
            )
        except (ValueError, ConfigError) as exc:
            raise ConfigError(
                f"login_rate {settings.login_rate!r} or rate_limit_storage "
                f"{settings.rate_limit_storage!r} is not valid: {exc}",
                hint="e.g. login_rate = '5/minute', rate_limit_storage = 'memory://'",
            ) from exc

    def admit(self, client: str, principal: str) -> None:
        ok_client = self._limiter.hit(self.rate, "login-client", client)
        ok_user = self._limiter.hit(self.rate, "login-user", principal.casefold())
        if not (ok_client and ok_user):
            stats = self._limiter.get_window_stats(self.rate, "login-client", client)
            retry = max(1, int(stats.reset_time - time.time()))
            raise ApiProblem(
                429,
                "rate-limited",
                f"too many sign-in attempts; at most {self.rate} per address and per user",
                hint=f"wait {retry} s before trying again",
                headers={"Retry-After": str(retry)},
            )


def sign_in(
    request: Request, response: Response, gate: LoginGate, principal_id: str, password: str
) -> Caller:
    """Check the password, open a session and set its cookie; 401/429 otherwise."""
    services = services_of(request)
    client = request.client.host if request.client else "unknown"
    gate.admit(client, principal_id)
    principal = services.principals().get(principal_id)
    with services.session() as session:
        ok = check_password(session, principal_id, password) and principal is not None
        opened = None
        if ok:
            ttl = timedelta(hours=services.settings.session_hours)
            opened, token = open_session(session, principal_id, ttl)
    services.audit.append(
        "login",
        principal=principal_id if principal is not None else "anonymous",
        purpose="unspecified",
        details={"ok": ok, "client": client},
    )
    if not ok or opened is None or principal is None:
        raise unauthenticated(
            "the principal or the password is wrong",
            hint="the demo prints its users' passwords; an administrator sets them with "
            "'drivetrain auth set-password'",
        )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(services.settings.session_hours * 3600),
        httponly=True,
        secure=_secure(services.settings),
        samesite="lax",
        path="/",
    )
    caller = Caller(principal, "session", session=opened)
    request.state.caller = caller
    return caller


def _secure(settings: Settings) -> bool:
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return (settings.public_url or "").startswith("https://")
