"""The small demo data directories the API and console tests run on, built one way.

``build_demo`` is the connected fleet (``run_demo``: 30 vehicles, 3 days, three
models) with the demo's principals and a fresh password for each console user.
``add_analytics`` adds, as ``drivetrain demo`` does, two warranty programs (the
thermostat defect in the Tipo), their parts network, the Bursa plant and three
documents indexed for the copilot. ``copy_data`` gives a test its own copy to
write to or erase from. ``serve`` runs an app under uvicorn on a free loopback
port for tests that need a real server (the browser, load).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

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
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.lake import Lake
from drivetrain.settings import Settings, load_settings

DEMO_CONFIG = SimulationConfig(
    vehicles=30,
    days=3,
    seed=3,
    start=date(2026, 4, 13),
    models=("peugeot-308", "tesla-model-3", "ram-1500"),
)
WARRANTY_CONFIG = WarrantyConfig(
    per_model_month=40, models=("fiat-tipo", "hyundai-i30"), as_of=date(2026, 4, 15)
)
DATA_ENGINEER = """
[[principal]]
id = "data-engineer"
roles = ["data_engineer"]
brands = ["*"]
regions = ["eu", "us", "kr", "ca", "cn"]
country = "DE"
"""
#: The copilot documents of the analytics data: (file, labels, brand, text).
COPILOT_DOCS = (
    (
        "director.md",
        ("public",),
        None,
        (
            "# Director repository\n\n## Role\n\nThe Director repository signs the targets "
            "metadata for each vehicle and decides which images a vehicle installs.\n\n## Keys"
            "\n\nThe Director's online keys sign the targets metadata; its root keys are kept "
            "offline.\n"
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


def build_demo(data_dir: Path) -> tuple[Settings, dict[str, str]]:
    """The demo fleet in ``data_dir``, its principals, and each console user's password."""
    settings, _, _, _ = run_demo(data_dir, DEMO_CONFIG, load_settings(data_dir=data_dir))
    (data_dir / "principals.toml").write_text(DEMO_PRINCIPALS, encoding="utf-8")
    return settings, create_console_logins(settings)


def copy_data(settings: Settings, into: Path) -> Settings:
    """A private copy of ``settings``' data directory (for tests that write or erase)."""
    target = into / "data"
    shutil.copytree(settings.data_dir, target)
    return settings.model_copy(update={"data_dir": target})


def add_analytics(settings: Settings) -> None:
    """Warranty claims, a parts network, a plant, the copilot's documents, a data engineer."""
    with settings.resolved_principals_file.open("a", encoding="utf-8") as out:
        out.write(DATA_ENGINEER)
    warranty = settings.data_dir / "warranty"
    files = simulate_warranty_files(settings, warranty, WARRANTY_CONFIG, dirty=True)
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


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="test-server", daemon=True
    )
    thread.start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(base + "/api/v1/livez", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            pytest.fail(f"the server did not start on {base} within 30 s")
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
