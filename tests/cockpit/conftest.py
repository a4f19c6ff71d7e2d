"""Shared fixtures of the cockpit tests: the default understanding model, trained once."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivetrain.cockpit.nlu import NluModel, default_model
from drivetrain.settings import load_settings


@pytest.fixture(scope="session")
def models_dir() -> Path:
    """The run's model cache (tests/conftest.py), as the product's settings resolve it."""
    return load_settings().resolved_models_dir


@pytest.fixture(scope="session")
def nlu_model(models_dir: Path) -> NluModel:
    """The product's default model (trained on the generated training split, then cached)."""
    return default_model(models_dir)
