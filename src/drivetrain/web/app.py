"""The console app: the API's app with the console's pages and static files added.

``create_app(settings)`` is what ``drivetrain serve`` runs. The pages are
server-rendered (Jinja2, SVG charts and map drawn on the server) and need no
script to work; ``static/console.js`` only adds conveniences. The API's
Content-Security-Policy applies to the pages too, so nothing is inline: styles
are in ``static/console.css`` and scripts in ``static/console.js``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from drivetrain.api import create_api
from drivetrain.settings import Settings
from drivetrain.web import (
    audit,
    campaigns,
    cockpit,
    copilot,
    fleet,
    governance,
    login,
    parts,
    quality,
    reports,
    warranty,
)
from drivetrain.web.nav import served_nav
from drivetrain.web.problems import install_page_handlers

#: The console's pages; a new page's router goes here and its link in nav.NAV.
PAGE_ROUTERS = (
    login.router,
    fleet.router,
    warranty.router,
    parts.router,
    quality.router,
    copilot.router,
    cockpit.router,
    campaigns.router,
    reports.router,
    governance.router,
    audit.router,
)


def create_app(settings: Settings) -> FastAPI:
    """The HTTP API (``/api/v1``) and the web console (every other path) over one data dir."""
    app = create_api(settings)
    for router in PAGE_ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(packages=[("drivetrain.web", "static")]), name="static")
    install_page_handlers(app)
    app.state.console_nav = served_nav(PAGE_ROUTERS)
    return app
