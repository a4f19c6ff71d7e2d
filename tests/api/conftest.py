"""A small demo data directory and an API client over it, shared by the API tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient

from drivetrain.api import create_api
from drivetrain.demo import SimulationConfig
from drivetrain.demo.console_logins import create_console_logins
from drivetrain.demo.governance_tour import DEMO_PRINCIPALS
from drivetrain.demo.run import run_demo
from drivetrain.governance.identity import issue_api_key
from drivetrain.settings import Settings, load_settings
from drivetrain.state import session_scope


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
    data_dir = tmp_path_factory.mktemp("api-demo")
    config = SimulationConfig(
        vehicles=30,
        days=3,
        seed=3,
        start=date(2026, 4, 13),
        models=("peugeot-308", "tesla-model-3", "ram-1500"),
    )
    settings, _, _, _ = run_demo(data_dir, config, load_settings(data_dir=data_dir))
    (data_dir / "principals.toml").write_text(DEMO_PRINCIPALS, encoding="utf-8")
    return DemoServer(settings, create_console_logins(settings))


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
