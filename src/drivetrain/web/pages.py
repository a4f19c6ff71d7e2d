"""Rendering a page: the Jinja2 environment, the layout's context, the response headers.

Templates live in ``drivetrain/web/templates`` and are autoescaped (HTML and
the inline SVG alike); an undefined name is an error, not an empty string, so
a template mistake fails the tests instead of showing a blank.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from drivetrain.api.auth import Caller
from drivetrain.web.nav import NavItem
from drivetrain.web.session import csrf_token_of

SEVERITY_LABELS = {
    "stop_safely": "Stop safely",
    "service_soon": "Service soon",
    "book_service": "Book service",
    "monitor": "Monitor",
    "drive_on": "Drive on",
    "unknown": "Unknown",
}


def _when(value: datetime | date | str | None) -> str:
    """A timestamp as people read it: UTC, to the minute."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def sentence(text: str) -> str:
    """``text`` as a sentence: a capital first letter and a full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _compact_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(", ", ": "), default=str)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("drivetrain.web", "templates"),
        autoescape=select_autoescape(("html", "svg"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["compact_json"] = _compact_json
    env.filters["sentence"] = sentence
    env.filters["severity_label"] = lambda s: SEVERITY_LABELS.get(str(s), str(s))
    return env


TEMPLATES = Jinja2Templates(env=_environment())


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    caller: Caller | None = None,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """``template`` with the layout's context (nav, who is signed in, the CSRF token)."""
    if caller is None:
        cached = getattr(request.state, "caller", None)
        caller = cached if isinstance(cached, Caller) else None
    nav: tuple[NavItem, ...] = getattr(request.app.state, "console_nav", ())
    path = request.url.path
    full = {
        "caller": caller,
        "csrf_token": csrf_token_of(caller),
        "nav": [(item, item.is_current(path)) for item in nav],
        **(context or {}),
    }
    extra = dict(headers or {})
    if path != "/login":  # the API's middleware already marks /login no-store
        extra.setdefault("Cache-Control", "no-store")  # pages show fleet data
    response = TEMPLATES.TemplateResponse(
        request, template, full, status_code=status, headers=extra
    )
    assert isinstance(response, HTMLResponse)
    return response
