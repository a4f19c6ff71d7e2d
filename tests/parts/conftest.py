"""The real carparts data (../shared/data/carparts), read in place."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

CARPARTS = Path(__file__).parents[2].parent / "shared/data/carparts/carparts_long.csv"
IN_CI = os.environ.get("CI", "").strip().lower() == "true"


@pytest.fixture(scope="session")
def carparts() -> pl.DataFrame:
    """The 2,674 monthly series in long format (unique_id, ds, y; y null where unknown)."""
    if not CARPARTS.is_file():
        reason = f"the carparts data is not at {CARPARTS}"
        if IN_CI:
            pytest.fail(f"{reason} (CI=true, so this does not skip)")
        pytest.skip(reason)
    raw = pl.read_csv(CARPARTS, schema_overrides={"unique_id": pl.String})
    return raw.rename({"month": "ds"})
