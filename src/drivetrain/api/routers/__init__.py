"""The API's routers, one per capability; ``create_api`` includes every one of ``ROUTERS``."""

from fastapi import APIRouter

from drivetrain.api.routers import audit, auth, fleet, health, lake

ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    fleet.router,
    lake.router,
    audit.router,
    health.router,
)
