"""Who is using the console, and the checks on what their browser sends.

A page runs as the principal of the ``dt_session`` cookie (or, for scripts, of
an API key or OIDC token: the API's :func:`~drivetrain.api.auth.authenticate`
decides). Without one the page answers 303 to ``/login?next=…``
(:mod:`drivetrain.web.problems`).

CSRF: the API wants a cookie session's token in the ``X-CSRF-Token`` header,
which a plain HTML form cannot send; the console's forms carry it in a hidden
``csrf_token`` field instead, checked here with :func:`hmac.compare_digest`.
So the console authenticates a form post as the read it is not, then checks
the form's token itself (:func:`form_caller`); the session is looked up the
same way either way. Bearer credentials are not sent by a browser on its own,
so requests made with them need no token.

The sign-in form has no session yet: it gets its own random token, in a
``dt_login_csrf`` cookie (HttpOnly, SameSite=Strict, path ``/login``) and in a
hidden field, compared on post (login CSRF: a third site must not sign a
browser in as someone else).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Form, Request, Response

from drivetrain.api.auth import Caller, authenticate, check_scope, services_of
from drivetrain.api.problems import ApiProblem

LOGIN_CSRF_COOKIE = "dt_login_csrf"
LOGIN_PATH = "/login"
CSRF_FIELD = "csrf_token"
MAX_NEXT = 2000


def console_caller(request: Request) -> Caller:
    """The signed-in caller of a page; a 401 problem (redirect to sign-in) otherwise."""
    if request.method in {"GET", "HEAD"}:
        return authenticate(request)
    # The API would refuse a cookie session's post for want of the CSRF header; the
    # form's own token is checked by form_caller instead.
    return authenticate(Request({**request.scope, "method": "GET"}))


def form_caller(request: Request, csrf_token: Annotated[str, Form(max_length=256)] = "") -> Caller:
    """The caller of a form post, refused (403) unless the form carries its session's token."""
    caller = console_caller(request)
    check_csrf(caller, csrf_token)
    return caller


def form_writer(scope: str) -> Callable[[Request, str], Caller]:
    """A dependency: :func:`form_caller`, refused (403) too if its API key lacks ``scope``.

    The API's routes check their scope in their own dependency, which a page that
    calls them as functions skips; a form that changes something names the scope
    the API's route would have wanted.
    """

    def dependency(
        request: Request, csrf_token: Annotated[str, Form(max_length=256)] = ""
    ) -> Caller:
        return check_scope(form_caller(request, csrf_token), scope)

    dependency.__name__ = f"form_writer_{scope.replace(':', '_')}"
    return dependency


ConsoleCaller = Annotated[Caller, Depends(console_caller)]
FormCaller = Annotated[Caller, Depends(form_caller)]


def check_csrf(caller: Caller, token: str) -> None:
    """Refuse a console session's post whose token is not the session's."""
    if caller.session is None:
        return  # an API key or OIDC token: not ambient, a third site cannot send it
    if not token or not hmac.compare_digest(token.encode(), caller.session.csrf_token.encode()):
        raise ApiProblem(
            403,
            "csrf-failed",
            "this form did not carry your session's CSRF token, so it was not sent",
            hint="reload the page and submit the form again",
        )


def csrf_token_of(caller: Caller | None) -> str:
    """The token a page puts in its forms ('' when the caller has no session)."""
    return caller.session.csrf_token if caller is not None and caller.session else ""


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this site, else ``/`` (no open redirect).

    A local path starts with one ``/``: not ``//host`` nor ``/\\host`` (which browsers
    read as another host), no scheme, no control characters.
    """
    if not value or len(value) > MAX_NEXT or not value.startswith("/"):
        return "/"
    if value.startswith("//") or "\\" in value or any(ord(c) < 0x20 or c == "\x7f" for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith(LOGIN_PATH):
        return "/"
    return value


def set_login_token(request: Request, response: Response, token: str) -> None:
    """Set the sign-in form's token (:func:`secrets.token_urlsafe`) in its cookie."""
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        secure=secure_cookies(request),
        samesite="strict",
        path=LOGIN_PATH,
    )


def login_token_matches(request: Request, token: str) -> bool:
    """Whether the sign-in form's token is the one its cookie holds."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(cookie and token) and hmac.compare_digest(cookie.encode(), token.encode())


def secure_cookies(request: Request) -> bool:
    """Mark cookies Secure as the session cookie is (settings cookie_secure, else https)."""
    settings = services_of(request).settings
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return (settings.public_url or "").startswith("https://")
