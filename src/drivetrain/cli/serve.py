"""``drivetrain serve`` — the HTTP API and the web console, with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from drivetrain.cli.output import console, handle_errors, print_table, settings_of
from drivetrain.settings import Settings


def console_url(settings: Settings, host: str | None = None, port: int | None = None) -> str:
    """Where people open the console."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return f"http://{host or settings.api_host}:{port or settings.api_port}"


def run_server(settings: Settings, host: str, port: int) -> None:
    """Serve ``settings.data_dir`` until interrupted (one process; see docs/api.md)."""
    # Imported here: the other commands need neither the web stack nor its start-up time.
    import uvicorn

    from drivetrain.web import create_app

    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        server_header=False,
        access_log=False,  # every request is in the audit log instead
        proxy_headers=settings.public_url is not None,
    )
    uvicorn.Server(config).run()


@handle_errors
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to bind (default api_host).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default api_port, 8000).")] = None,
) -> None:
    """Serve the HTTP API (/api/v1, OpenAPI at /api/openapi.json) and the web console.

    Sign in with a principal's password (drivetrain auth set-password; the demo prints
    its users'), or call the API with an API key (drivetrain auth key-create) or an
    OIDC bearer token (settings oidc_issuer, oidc_audience, oidc_jwks_url).
    Example: drivetrain --data-dir .drivetrain/demo serve --port 8000
    """
    settings = settings_of(ctx)
    host = host or settings.api_host
    port = port or settings.api_port
    url = console_url(settings, host, port)
    print_table(
        None,
        ("", ""),
        [
            ("console", url + "/"),
            ("API", url + "/api/v1"),
            ("OpenAPI", url + "/api/openapi.json"),
            ("data directory", str(settings.data_dir)),
        ],
    )
    console.print("[dim]stop with Ctrl-C[/]")
    run_server(settings, host, port)
