"""The FastAPI application: routers, problem+json errors, authentication, the access log.

``create_api(settings)`` builds one app over one data directory. Routes live
under ``/api/v1/<capability>``; the OpenAPI document is ``/api/openapi.json``
and the interactive docs ``/api/docs``. The web console (``drivetrain.web``)
adds its pages to this same app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI
from pydantic import BaseModel

from drivetrain.api.login import LoginGate
from drivetrain.api.middleware import AccessLogMiddleware, GuardMiddleware
from drivetrain.api.oidc import OidcVerifier
from drivetrain.api.problems import install_problem_handlers
from drivetrain.api.routers import ROUTERS
from drivetrain.api.services import Services
from drivetrain.settings import Settings

API_PREFIX = "/api/v1"
DESCRIPTION = """\
The HTTP API of drivetrain. Every request runs as a principal (an API key, an OIDC
bearer token, or a console session) for a purpose, is checked by the access policy
and written to the audit log. Errors are RFC 9457 problem details with a stable `code`.
"""


class Liveness(BaseModel):
    status: str
    version: str


def create_api(settings: Settings) -> FastAPI:
    """The API app over ``settings.data_dir`` (migrates the state store if needed)."""
    services = Services(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            services.close()

    app = FastAPI(
        title="drivetrain",
        version=version("drivetrain"),
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.oidc = OidcVerifier.from_settings(settings)
    app.state.login_gate = LoginGate(settings)
    install_problem_handlers(app)
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/api/v1/livez", response_model=Liveness, tags=["meta"], summary="Is it up")
    def livez() -> Liveness:
        return Liveness(status="ok", version=version("drivetrain"))

    app.add_middleware(AccessLogMiddleware, services=services)
    hsts = (settings.public_url or "").startswith("https://")
    app.add_middleware(GuardMiddleware, max_body=settings.max_body_bytes, hsts=hsts)
    return app
