"""A small demo data directory and an API client over it, shared by the API tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from drivetrain.api import create_api
from drivetrain.copilot import DocumentIndex
from drivetrain.demo import SimulationConfig
from drivetrain.demo.console_logins import create_console_logins
from drivetrain.demo.governance_tour import DEMO_PRINCIPALS
from drivetrain.demo.parts_generator import PartsConfig
from drivetrain.demo.parts_tour import simulate_parts
from drivetrain.demo.plant_generator import PlantConfig
from drivetrain.demo.quality_tour import simulate_plant
from drivetrain.demo.run import run_demo
from drivetrain.demo.warranty_generator import WarrantyConfig
from drivetrain.demo.warranty_tour import import_files, simulate_warranty_files
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.identity import issue_api_key
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.lake import Lake
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


DATA_ENGINEER = """
[[principal]]
id = "data-engineer"
roles = ["data_engineer"]
brands = ["*"]
regions = ["eu", "us", "kr", "ca", "cn"]
country = "DE"
"""
#: The copilot documents of the analytics fixture: (file, labels, brand, text).
COPILOT_DOCS = (
    (
        "director.md",
        ("public",),
        None,
        (
            "# Director repository\n\nThe Director repository signs the targets metadata for each "
            "vehicle and decides which images a vehicle installs.\n"
        ),
    ),
    (
        "tsb-thermostat.md",
        ("service",),
        "Fiat",
        (
            "# Thermostat bulletin\n\nReplace the thermostat of lot LOT-TH-2402-B when the engine "
            "warms up slowly and code P0128 is stored.\n"
        ),
    ),
    (
        "brake-test.md",
        ("engineering",),
        None,
        (
            "# Brake test report\n\nThe front caliper reached 650 degrees at the end of the fade "
            "test; the pad wear stayed within limits.\n"
        ),
    ),
)


def copy_server(server: DemoServer, into: Path) -> DemoServer:
    """A private copy of ``server``'s data directory (for tests that write or erase)."""
    target = into / "data"
    shutil.copytree(server.settings.data_dir, target)
    return DemoServer(server.settings.model_copy(update={"data_dir": target}), server.passwords)


@pytest.fixture(scope="session")
def analytics_server(
    demo_server: DemoServer, tmp_path_factory: pytest.TempPathFactory
) -> DemoServer:
    """The demo data plus warranty claims, a parts network, a plant and a document index.

    Built on a copy, so the demo fixture stays as it is: two warranty programs of 40
    vehicles a month (the thermostat defect in the Tipo), their parts network, the
    Bursa plant, three documents (public, service, engineering) indexed with BM25 and
    MiniLM vectors (the copilot's answers need both), and a data engineer among the
    principals.
    """
    server = copy_server(demo_server, tmp_path_factory.mktemp("api-analytics"))
    settings = server.settings
    with settings.resolved_principals_file.open("a", encoding="utf-8") as out:
        out.write(DATA_ENGINEER)
    config = WarrantyConfig(
        per_model_month=40, models=("fiat-tipo", "hyundai-i30"), as_of=date(2026, 4, 15)
    )
    files = simulate_warranty_files(settings, settings.data_dir / "warranty", config, dirty=True)
    import_files(settings, files)
    lake, audit = Lake(settings.lake_dir), AuditLog(settings.data_dir)
    simulate_parts(lake, audit, history=files.history, config=PartsConfig(dealers_per_market=1))
    keys = PseudonymKey.load_or_create(settings.data_dir)
    plant = settings.data_dir / "plant"
    simulate_plant(lake, audit, keys, files.history.production, plant, PlantConfig())
    docs = settings.data_dir / "docs"
    index = DocumentIndex.open(settings.copilot_dir)
    for name, labels, brand, text in COPILOT_DOCS:
        (docs / labels[0]).mkdir(parents=True, exist_ok=True)
        path = docs / labels[0] / name
        path.write_text(text, encoding="utf-8")
        index.add([path], labels=labels, brand=brand)
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
