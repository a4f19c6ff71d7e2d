"""RFC 9457 problem details: every error the API returns, with a stable code.

A ``DrivetrainError`` keeps its ``code`` (``not-found``, ``policy-denied``…) as the
problem type, so a client can branch on ``type`` without parsing messages::

    HTTP/1.1 403 Forbidden
    Content-Type: application/problem+json

    {"type": "https://drivetrain.dev/problems/policy-denied", "title": "Policy denied",
     "status": 403, "detail": "…names the rule…", "code": "policy-denied", "hint": "…"}

Unexpected exceptions become a 500 whose body says nothing of the internals (the
log has the traceback, under the request id the body repeats).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from drivetrain.errors import (
    ConfigError,
    DrivetrainError,
    InputError,
    IntegrityError,
    NotFound,
    PolicyDenied,
    SchemaMismatch,
    StorageError,
)

PROBLEM_BASE = "https://drivetrain.dev/problems/"
MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("drivetrain.api")

# Most specific first: the first class an error is an instance of decides.
STATUS: tuple[tuple[type[DrivetrainError], int], ...] = (
    (SchemaMismatch, 422),
    (InputError, 400),
    (NotFound, 404),
    (PolicyDenied, 403),
    (IntegrityError, 409),
    (StorageError, 503),
    (ConfigError, 500),
)
_HTTP_CODES = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "validation-error",
    429: "rate-limited",
}


class Problem(BaseModel):
    """An RFC 9457 problem; ``code`` repeats the last part of ``type``."""

    type: str = Field(description="A URI naming the kind of problem.")
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable machine-readable code.")
    hint: str | None = Field(default=None, description="What to do about it.")
    instance: str | None = Field(default=None, description="The request path.")
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Per-field problems of a request that failed validation."
    )


class ApiProblem(Exception):
    """Raised by the faces for HTTP-level problems (unauthenticated, rate-limited…)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.hint = status, code, detail, hint
        self.headers = headers or {}


def status_of(exc: DrivetrainError) -> int:
    return next((status for cls, status in STATUS if isinstance(exc, cls)), 400)


def problem_response(
    request: Request,
    status: int,
    code: str,
    detail: str,
    *,
    hint: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    problem = Problem(
        type=PROBLEM_BASE + code,
        title=code.replace("-", " ").capitalize(),
        status=status,
        detail=detail,
        code=code,
        hint=hint,
        instance=request.url.path,
        request_id=getattr(request.state, "request_id", None),
        errors=errors,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only where and what: never echo the input back (it may be a secret or huge).
    return [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ][:50]


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error a problem+json response."""

    @app.exception_handler(DrivetrainError)
    async def _drivetrain(request: Request, exc: DrivetrainError) -> JSONResponse:
        status = status_of(exc)
        if status >= 500:
            log.error("request %s failed: %s", request.url.path, exc)
        return problem_response(request, status, exc.code, exc.message, hint=exc.hint)

    @app.exception_handler(ApiProblem)
    async def _api(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(
            request, exc.status, exc.code, exc.detail, hint=exc.hint, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(
            request,
            422,
            "validation-error",
            "the request does not match the API's schema",
            hint="see /api/openapi.json for this operation's parameters and body",
            errors=_validation_errors(exc),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http-error")
        return problem_response(
            request,
            exc.status_code,
            code,
            str(exc.detail),
            headers=dict(exc.headers) if exc.headers else None,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        return problem_response(
            request,
            500,
            "internal-error",
            "the server failed to answer this request",
            hint="the server log has the details under this request id",
        )


#: For ``responses=`` of routes: the problem schema on the usual error statuses.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {MEDIA_TYPE: {}}, "description": description}
    for status, description in (
        (400, "Bad input"),
        (401, "Not signed in, or the credentials are not valid"),
        (403, "Refused by the access policy or the key's scopes"),
        (404, "No such thing"),
        (413, "Request body too large"),
        (422, "Request does not match the schema"),
        (429, "Too many attempts"),
    )
}
