"""A small simulated fleet with faults, registered and in a lake, shared by the health tests."""

from __future__ import annotations

from datetime import date

import pytest

from drivetrain.demo import SimulationConfig
from drivetrain.demo.run import run_simulation
from drivetrain.governance.principals import Principal
from drivetrain.settings import Settings, load_settings

CONFIG = SimulationConfig(
    vehicles=80, days=16, seed=31, start=date(2026, 2, 2), fault_rate=0.5,
    models=("peugeot-308", "alfa-romeo-giulia", "tesla-model-3", "ram-1500"),
)  # fmt: skip
EVERYWHERE = Principal.of(
    "hana", roles=["fleet_analyst"], brands=["*"], regions=["eu", "us"], country="DE"
)
PEUGEOT = Principal.of(
    "paul", roles=["fleet_analyst"], brands=["Peugeot"], regions=["eu"], country="FR"
)


@pytest.fixture(scope="session")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("health-fleet")
    settings = load_settings(data_dir=data_dir)
    run_simulation(settings, CONFIG)
    return settings
