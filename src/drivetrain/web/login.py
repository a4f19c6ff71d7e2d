"""Signing in to the console and out of it: ``/login`` and ``/logout``.

The password check, the rate limit, the session and its cookie, and the audit
entry are the API's (:func:`drivetrain.api.login.sign_in`); this module is the
HTML form around them and its login-CSRF token (:mod:`drivetrain.web.session`).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from drivetrain.api.auth import SESSION_COOKIE, Caller, authenticate, services_of
from drivetrain.api.login import LoginGate, sign_in
from drivetrain.api.problems import ApiProblem
from drivetrain.governance.identity import close_session
from drivetrain.web.pages import render, sentence
from drivetrain.web.problems import problem_page
from drivetrain.web.session import (
    LOGIN_CSRF_COOKIE,
    LOGIN_PATH,
    FormCaller,
    login_token_matches,
    safe_next,
    set_login_token,
)

router = APIRouter(include_in_schema=False)


def _signed_in(request: Request) -> Caller | None:
    try:
        return authenticate(request)
    except ApiProblem:
        return None


def _form(
    request: Request,
    next_path: str,
    *,
    principal: str = "",
    error: str | None = None,
    hint: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The sign-in form with a fresh login-CSRF token (in the page and in its cookie)."""
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {
            "next": next_path,
            "principal": principal,
            "error": error,
            "hint": hint,
            "login_token": token,
        },
        status=status,
        headers=headers,
    )
    set_login_token(request, response, token)
    return response


@router.get(LOGIN_PATH)
def login_form(
    request: Request, next: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    """The sign-in form (or straight on, for someone already signed in)."""
    target = safe_next(next)
    if _signed_in(request) is not None:
        return RedirectResponse(target, status_code=303)
    return _form(request, target)


@router.post(LOGIN_PATH)
def login_submit(
    request: Request,
    principal: Annotated[str, Form(min_length=1, max_length=128)],
    password: Annotated[str, Form(min_length=1, max_length=1024)],
    csrf_token: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the form's token, then the password; on success 303 to ``next``."""
    target = safe_next(next)
    if not login_token_matches(request, csrf_token):
        return _form(
            request,
            target,
            principal=principal,
            error="This sign-in form has expired or did not come from this site.",
            hint="Sign in again with the form below.",
            status=403,
        )
    gate: LoginGate = request.app.state.login_gate
    response = RedirectResponse(target, status_code=303)
    try:
        sign_in(request, response, gate, principal, password)
    except ApiProblem as exc:
        retry = {k: v for k, v in exc.headers.items() if k.lower() == "retry-after"}
        return _form(
            request,
            target,
            principal=principal,
            error=sentence(exc.detail),
            hint=exc.hint,
            status=exc.status,
            headers=retry,
        )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=LOGIN_PATH)
    return response


@router.post("/logout")
def logout(request: Request, caller: FormCaller) -> Response:
    """End the session (the form carries its CSRF token) and go back to the sign-in form."""
    services = services_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    if caller.session is None or not token:
        return problem_page(
            request,
            400,
            "not-a-session",
            "this request is not signed in with a console session, so there is none to end",
        )
    with services.session() as session:
        close_session(session, token)
    services.forget_credentials()
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
