"""The console's navigation: one list, so adding a page to the nav is one line here.

An item is shown once one of the console's page routers (``PAGE_ROUTERS`` in
:mod:`drivetrain.web.app`) serves a ``GET`` route at its path, so an item
whose page is not there (yet, or in a trimmed build) stays out of the way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.routing import APIRoute


@dataclass(frozen=True, slots=True)
class NavItem:
    """A nav link: its text, its path, and the paths below it that also mark it current."""

    label: str
    path: str

    def is_current(self, path: str) -> bool:
        if self.path == "/":
            return path == "/" or path.startswith(("/vehicles/", "/explain/"))
        return path == self.path or path.startswith(self.path + "/")


NAV: tuple[NavItem, ...] = (
    NavItem("Fleet", "/"),
    NavItem("Warranty", "/warranty"),
    NavItem("Parts", "/parts"),
    NavItem("Quality", "/quality"),
    NavItem("Copilot", "/copilot"),
    NavItem("Cockpit", "/cockpit"),
    NavItem("Campaigns", "/campaigns"),
    NavItem("Reports", "/reports"),
    NavItem("Data subjects", "/governance/subjects"),
    NavItem("Audit", "/audit"),
)


def served_nav(routers: Iterable[APIRouter]) -> tuple[NavItem, ...]:
    """The items of :data:`NAV` whose path one of ``routers`` answers with a page."""
    served = {
        route.path
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute) and "GET" in (route.methods or set())
    }
    return tuple(item for item in NAV if item.path in served)
