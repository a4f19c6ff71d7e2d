"""Suite-wide setup: one cache of trained models for every data directory the tests build.

Training the cockpit's understanding model takes about a minute; each test data
directory would otherwise train its own. ``DRIVETRAIN_MODELS_DIR`` points every
``Settings`` of the run at one temporary cache (removed at the end), unless the
caller set it already.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

MODELS_ENV = "DRIVETRAIN_MODELS_DIR"
_made: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get(MODELS_ENV):
        _made.append(tempfile.mkdtemp(prefix="drivetrain-test-models-"))
        os.environ[MODELS_ENV] = _made[0]


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _made:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(MODELS_ENV, None)
