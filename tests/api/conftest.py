"""A small demo data directory and an API client over it, shared by the API tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from drivetrain.api import create_api
from drivetrain.governance.identity import issue_api_key
from drivetrain.settings import Settings
from drivetrain.state import session_scope
from tests.demo_data import add_analytics, build_demo, copy_data


@dataclass(frozen=True)
class DemoServer:
    settings: Settings
    passwords: dict[str, str]

    def key(self, principal: str, *scopes: str) -> str:
        with session_scope(self.settings.resolved_state_url) as session:
            _, token = issue_api_key(session, principal, scopes or ("*",), label="test")
        return token

    def client(self, **overrides: object) -> TestClient:
        settings = self.settings.model_copy(update=overrides) if overrides else self.settings
        return TestClient(create_api(settings), raise_server_exceptions=False)


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> DemoServer:
    return DemoServer(*build_demo(tmp_path_factory.mktemp("api-demo")))


@pytest.fixture
def client(demo_server: DemoServer) -> Iterator[TestClient]:
    with demo_server.client() as c:
        yield c


def login(client: TestClient, server: DemoServer, principal: str) -> str:
    """Sign ``client`` in as ``principal``; returns the session's CSRF token."""
    response = client.post(
        "/api/v1/auth/login",
        json={"principal": principal, "password": server.passwords[principal]},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


def copy_server(server: DemoServer, into: Path) -> DemoServer:
    """A private copy of ``server``'s data directory (for tests that write or erase)."""
    return DemoServer(copy_data(server.settings, into), server.passwords)


@pytest.fixture(scope="session")
def analytics_server(
    demo_server: DemoServer, tmp_path_factory: pytest.TempPathFactory
) -> DemoServer:
    """The demo data plus warranty claims, a parts network, a plant and a document index.

    Built on a copy, so the demo fixture stays as it is (:func:`tests.demo_data.add_analytics`).
    """
    server = copy_server(demo_server, tmp_path_factory.mktemp("api-analytics"))
    add_analytics(server.settings)
    return server


@pytest.fixture
def analytics(analytics_server: DemoServer) -> Iterator[TestClient]:
    with analytics_server.client() as c:
        yield c


PROBLEM = "application/problem+json"


def bearer(server: DemoServer, principal: str, *scopes: str) -> dict[str, str]:
    """The Authorization header of a new API key of ``principal`` (every scope by default)."""
    return {"Authorization": f"Bearer {server.key(principal, *scopes)}"}


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """``response`` as the problem+json it must be: its status, media type and code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = dict(response.json())
    assert body["code"] == code, body
    return body
