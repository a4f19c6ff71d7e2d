"""The API's routers, one per capability; ``create_api`` includes every one of ``ROUTERS``."""

from fastapi import APIRouter

from drivetrain.api.routers import (
    audit,
    auth,
    campaigns,
    cockpit,
    copilot,
    fleet,
    governance,
    health,
    ingest,
    lake,
    maintenance,
    ota,
    parts,
    quality,
    reports,
    warranty,
)

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    fleet.router,
    lake.router,
    audit.router,
    health.router,
    maintenance.router,
    campaigns.router,
    ingest.router,
    governance.router,
    warranty.router,
    parts.router,
    quality.router,
    copilot.router,
    cockpit.router,
    ota.router,
    reports.router,
)
