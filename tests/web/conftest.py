"""A small demo data directory, the console over it in-process, and the same app under uvicorn.

``console`` builds the data once per session (30 vehicles, 3 days) with the demo's
principals and a fresh password for each console user. ``client`` is one TestClient
over one app for the whole session (its fleet scans are cached, so pages answer in
milliseconds after the first), with its cookies cleared before every test.
``live_server`` runs another app on a free loopback port for the browser tests.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from drivetrain.demo import SimulationConfig
from drivetrain.demo.console_logins import create_console_logins
from drivetrain.demo.governance_tour import DEMO_PRINCIPALS
from drivetrain.demo.run import run_demo
from drivetrain.governance.identity import issue_api_key
from drivetrain.settings import Settings, load_settings
from drivetrain.state import session_scope
from drivetrain.web import create_app

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
    data_dir = tmp_path_factory.mktemp("web-demo")
    config = SimulationConfig(
        vehicles=30,
        days=3,
        seed=3,
        start=date(2026, 4, 13),
        models=("peugeot-308", "tesla-model-3", "ram-1500"),
    )
    settings, _, _, _ = run_demo(data_dir, config, load_settings(data_dir=data_dir))
    (data_dir / "principals.toml").write_text(DEMO_PRINCIPALS, encoding="utf-8")
    return Console(settings, create_console_logins(settings))


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


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="session")
def live_server(console: Console) -> Iterator[str]:
    """The console under uvicorn on a free loopback port; yields its base URL."""
    sock = _free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(console.app_settings()),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="console-server", daemon=True
    )
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(base + "/api/v1/livez", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            pytest.fail(f"the console did not start on {base} within 30 s")
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
