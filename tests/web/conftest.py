"""A small demo data directory, the console over it in-process, and the same app under uvicorn.

``console`` builds the data once per session (30 vehicles, 3 days) with the demo's
principals and a fresh password for each console user; ``analytics`` is a copy
with warranty claims, parts, a plant and the copilot's documents added
(:mod:`tests.demo_data`). ``client`` is one TestClient
over one app for the whole session (its fleet scans are cached, so pages answer in
milliseconds after the first), with its cookies cleared before every test.
``live_server`` runs another app on a free loopback port for the browser tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from drivetrain.governance.identity import issue_api_key
from drivetrain.settings import Settings
from drivetrain.state import session_scope
from drivetrain.web import create_app
from tests.demo_data import add_analytics, build_demo, copy_data, serve

# Every test signs in from the same address; the rate limit has its own test.
TEST_LOGIN_RATE = "10000/minute"


@dataclass(frozen=True)
class Console:
    """The demo data directory the console tests run on, and its users' passwords."""

    settings: Settings
    passwords: dict[str, str]

    def app_settings(self, **overrides: object) -> Settings:
        return self.settings.model_copy(update={"login_rate": TEST_LOGIN_RATE, **overrides})

    def client(self, **overrides: object) -> TestClient:
        """A TestClient over a new app (enter it with ``with``)."""
        return TestClient(
            create_app(self.app_settings(**overrides)),
            raise_server_exceptions=False,
            follow_redirects=False,
        )

    def key(self, principal: str) -> str:
        with session_scope(self.settings.resolved_state_url) as session:
            _, token = issue_api_key(session, principal, ["*"], label="web test")
        return token


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Console:
    return Console(*build_demo(tmp_path_factory.mktemp("web-demo")))


@pytest.fixture(scope="session")
def analytics(console: Console, tmp_path_factory: pytest.TempPathFactory) -> Console:
    """A copy of ``console`` with warranty claims, parts, a plant and the copilot's documents."""
    settings = copy_data(console.settings, tmp_path_factory.mktemp("web-analytics"))
    add_analytics(settings)
    return Console(settings, console.passwords)


@pytest.fixture(scope="session")
def analytics_session_client(analytics: Console) -> Iterator[TestClient]:
    with analytics.client() as client:
        yield client


@pytest.fixture
def analytics_client(analytics_session_client: TestClient) -> TestClient:
    """A client over :func:`analytics`, its cookies cleared."""
    analytics_session_client.cookies.clear()
    return analytics_session_client


@pytest.fixture(scope="session")
def session_client(console: Console) -> Iterator[TestClient]:
    with console.client() as client:
        yield client


@pytest.fixture
def client(session_client: TestClient) -> TestClient:
    session_client.cookies.clear()
    return session_client


def login_token(client: TestClient, next_path: str | None = None) -> str:
    """Open the sign-in form; returns its login-CSRF token (its cookie is now set)."""
    url = "/login" + (f"?next={next_path}" if next_path else "")
    page = client.get(url)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the sign-in form has no csrf_token field"
    return found.group(1)


def sign_in(client: TestClient, console: Console, principal: str) -> str:
    """Sign ``client`` in through the form; returns the session's CSRF token."""
    token = login_token(client)
    answer = client.post(
        "/login",
        data={
            "principal": principal,
            "password": console.passwords[principal],
            "csrf_token": token,
        },
    )
    assert answer.status_code == 303, answer.text
    return str(client.get("/api/v1/auth/me").json()["csrf_token"])


@pytest.fixture(scope="session")
def live_server(console: Console) -> Iterator[str]:
    """The console under uvicorn on a free loopback port; yields its base URL."""
    with serve(create_app(console.app_settings())) as base:
        yield base


@pytest.fixture(scope="session")
def analytics_server(analytics: Console) -> Iterator[str]:
    """The console over :func:`analytics` under uvicorn; yields its base URL."""
    with serve(create_app(analytics.app_settings())) as base:
        yield base
