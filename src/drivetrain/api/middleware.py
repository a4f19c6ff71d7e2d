"""What wraps every request: an id, a body limit, security headers, the access log.

Pure ASGI middleware (no ``BaseHTTPMiddleware``), so streaming and background
tasks behave, and a body over the limit is refused while it arrives rather
than after it has been read into memory.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from drivetrain.api.problems import problem_response
from drivetrain.api.services import Services
from drivetrain.governance.audit import PendingEntry

#: Strict by default: only our own scripts, styles and images, no framing, no plugins.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=()"),
)
# The interactive docs load their own inline script; they get a looser policy.
_DOCS_PATHS = ("/api/docs", "/api/redoc")


class GuardMiddleware:
    """Request id, body-size limit and security headers."""

    def __init__(self, app: ASGIApp, *, max_body: int, hsts: bool) -> None:
        self.app, self.max_body, self.hsts = app, max_body, hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await self._refuse(scope, receive, _with_headers(send, scope, request_id, self.hsts))
            return
        received = 0
        too_large = False
        replaced = False

        async def limited_receive() -> Message:
            # A body without a Content-Length is counted as it arrives; past the limit
            # the app sees the client go away, and its answer is replaced by the 413.
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal replaced
            if too_large:
                if not replaced:
                    replaced = True
                    await self._refuse(scope, receive, send_with_headers_raw)
                return
            await send_with_headers_raw(message)

        send_with_headers_raw = _with_headers(send, scope, request_id, self.hsts)

        await self.app(scope, limited_receive, send_with_headers)
        if too_large and not replaced:
            await self._refuse(scope, receive, send_with_headers_raw)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            Request(scope),
            413,
            "payload-too-large",
            f"the request body is larger than {self.max_body:,} bytes",
            hint="send less at a time (or raise max_body_bytes on the server)",
        )
        await response(scope, receive, send)


def _with_headers(send: Send, scope: Scope, request_id: str, hsts: bool) -> Send:
    """``send`` adding the security headers and the request id to the response's start."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            extra = [*SECURITY_HEADERS, (b"x-request-id", request_id.encode())]
            path = scope.get("path", "")
            if not path.startswith(_DOCS_PATHS):
                extra.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
            if hsts:
                extra.append((b"strict-transport-security", b"max-age=31536000"))
            if path.startswith("/api/") or path == "/login":
                extra.append((b"cache-control", b"no-store"))
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped


class AccessLogMiddleware:
    """One ``api_request`` audit entry per request: who, why, what, and the answer."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app, self.services = app, services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(("/static/",)):
            await self.app(scope, receive, send)
            return
        status = 500
        began = time.perf_counter()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            self.services.auditor.record(_entry(scope, status, time.perf_counter() - began))


def _entry(scope: Scope, status: int, elapsed: float) -> PendingEntry:
    state: dict[str, Any] = scope.get("state", {})
    caller = state.get("caller")
    principal = getattr(caller, "principal_id", None) or "anonymous"
    route = scope.get("route")
    client = scope.get("client")
    details = {
        "method": scope.get("method", ""),
        "path": scope.get("path", "")[:512],
        "route": getattr(route, "path", None),
        "status": status,
        "ms": round(elapsed * 1000, 2),
        "request_id": state.get("request_id"),
        "client": client[0] if client else None,
        "auth": getattr(caller, "method", None),
    }
    return PendingEntry("api_request", principal, state.get("purpose") or "unspecified", details)
