"""A subject withdraws location consent: later location signals are not stored, the rest is."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from drivetrain.demo import SimulationConfig
from drivetrain.demo.run import run_demo
from drivetrain.lake import Lake
from drivetrain.settings import load_settings

LOCATION = "Vehicle.CurrentLocation.Latitude"


@pytest.mark.slow
def test_withdrawal_stops_location_but_not_technical_data(tmp_path: Path) -> None:
    config = SimulationConfig(vehicles=30, days=4, seed=3, start=date(2026, 3, 9),
                              models=("tesla-model-3", "peugeot-308"))
    data_dir = tmp_path / "demo"
    _, report, _, story = run_demo(data_dir, config, load_settings(data_dir=data_dir))
    assert story.withdrawn_vehicle and story.withdrawn_at
    tel = pl.from_arrow(Lake(data_dir / "lake").read("telemetry"))
    assert isinstance(tel, pl.DataFrame)
    mine = tel.filter(pl.col("vehicle_id") == story.withdrawn_vehicle)
    cut = pl.lit(story.withdrawn_at).dt.replace_time_zone("UTC")
    location = mine.filter(pl.col("signal") == LOCATION)
    assert location.height > 0 and (location["ts"] < story.withdrawn_at).all()
    assert mine.filter((pl.col("signal") == "Vehicle.Speed") & (pl.col("ts") >= cut)).height > 0
    others = tel.filter(
        (pl.col("vehicle_id") != story.withdrawn_vehicle)
        & (pl.col("signal") == LOCATION)
        & (pl.col("ts") >= cut)
    )
    assert others.height > 0  # the other owners' consent still holds
    refused = {r: n for r, n in report.telemetry.dropped.items() if "no legal basis" in r}
    assert refused and all("location" in r for r in refused)
