"""Errors on the console's pages: an HTML page that says what happened and what to do.

The API answers errors with problem+json (:mod:`drivetrain.api.problems`). For
every path outside ``/api/`` the console takes over the same exceptions: not
signed in becomes a redirect to the sign-in form, a policy refusal a "not
allowed" page naming the rule, and anything else a page with the problem's
code, detail and hint. Paths under ``/api/`` keep the API's answers.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from drivetrain.api.auth import SESSION_COOKIE
from drivetrain.api.problems import ApiProblem, status_of
from drivetrain.errors import DrivetrainError
from drivetrain.web.pages import render
from drivetrain.web.session import LOGIN_PATH, console_caller, safe_next

log = logging.getLogger("drivetrain.web")
Handler = Callable[[Request, Exception], Response | Awaitable[Response]]
TITLES = {
    400: "That request is not valid",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not available this way",
    409: "Could not be verified",
    413: "Too large",
    422: "That request is not valid",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Storage unavailable",
}


def is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def sign_in_redirect(request: Request) -> RedirectResponse:
    """303 to the sign-in form, coming back here afterwards if this was a page read."""
    target = LOGIN_PATH
    if request.method in {"GET", "HEAD"}:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if safe_next(here) != "/":
            target += "?next=" + quote(here, safe="/")
    response = RedirectResponse(target, status_code=303)
    if request.cookies.get(SESSION_COOKIE):
        response.delete_cookie(SESSION_COOKIE, path="/")  # expired or unknown: forget it
    return response


def problem_page(
    request: Request,
    status: int,
    code: str,
    detail: str,
    hint: str | None = None,
    *,
    errors: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The error page of a console request."""
    return render(
        request,
        "problem.html",
        {
            "status": status,
            "title": TITLES.get(status, "Something went wrong"),
            "code": code,
            "detail": detail,
            "hint": hint,
            "errors": errors or [],
            "request_id": getattr(request.state, "request_id", None),
        },
        status=status,
        headers=headers,
    )


def _page_for(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ApiProblem):
        if exc.status == 401:
            return sign_in_redirect(request)
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "retry-after"}
        return problem_page(request, exc.status, exc.code, exc.detail, exc.hint, headers=headers)
    if isinstance(exc, DrivetrainError):
        status = status_of(exc)
        if status >= 500:
            log.error("page %s failed: %s", request.url.path, exc)
        return problem_page(request, status, exc.code, exc.message, exc.hint)
    if isinstance(exc, RequestValidationError):
        errors = [
            f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg', '')}"
            for err in exc.errors()
        ][:20]
        return problem_page(
            request,
            422,
            "validation-error",
            "some of what was sent is not valid",
            "correct the fields below and try again",
            errors=errors,
        )
    if isinstance(exc, StarletteHTTPException):
        _who_is_asking(request)  # no route ran, so nobody has looked at the cookie yet
        detail = (
            str(exc.detail) if exc.status_code != 404 else f"there is no page at {request.url.path}"
        )
        return problem_page(request, exc.status_code, "http-error", detail, "use the menu above")
    log.exception("unexpected error in %s %s", request.method, request.url.path, exc_info=exc)
    return problem_page(
        request,
        500,
        "internal-error",
        "the server failed to show this page",
        "try again; if it keeps failing, the server log has the details under this request id",
    )


def _who_is_asking(request: Request) -> None:
    """Authenticate the request if it can be, so the page shows the nav; never refuse."""
    with contextlib.suppress(ApiProblem, DrivetrainError):
        console_caller(request)


def install_page_handlers(app: FastAPI) -> None:
    """Answer the console's errors with pages, leaving ``/api/`` to the API's handlers."""
    for exc_class in (
        DrivetrainError,
        ApiProblem,
        RequestValidationError,
        StarletteHTTPException,
        Exception,
    ):
        api_handler: Handler = app.exception_handlers[exc_class]

        async def handler(
            request: Request, exc: Exception, api_handler: Handler = api_handler
        ) -> Response:
            if is_api(request.url.path):
                answer = api_handler(request, exc)
                return await answer if isinstance(answer, Awaitable) else answer
            return _page_for(request, exc)

        app.add_exception_handler(exc_class, handler)
