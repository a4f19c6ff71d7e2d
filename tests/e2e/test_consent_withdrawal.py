"""A subject withdraws location consent: later location signals are not stored, the rest is."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pyarrow.compute as pc
import pytest

from drivetrain.demo import SimulationConfig
from drivetrain.demo.run import run_demo
from drivetrain.fleet import list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.governance.governed_read import governed_read
from drivetrain.governance.keys import Keyring
from drivetrain.governance.principals import Principal
from drivetrain.governance.sealing import state_opener
from drivetrain.lake import Lake
from drivetrain.settings import load_settings
from drivetrain.state import session_scope

LOCATION = "Vehicle.CurrentLocation.Latitude"
NAVIGATOR = Principal.of(
    "nav", kind="service", roles=["location_service"], brands=["*"], regions=["*"], country="DE"
)


@pytest.mark.slow
def test_withdrawal_stops_location_but_not_technical_data(tmp_path: Path) -> None:
    config = SimulationConfig(
        vehicles=30, days=4, seed=3, start=date(2026, 3, 9), models=("tesla-model-3", "peugeot-308")
    )
    data_dir = tmp_path / "demo"
    settings, report, _, story = run_demo(data_dir, config, load_settings(data_dir=data_dir))
    assert story.withdrawn_vehicle and story.withdrawn_at
    url = settings.resolved_state_url
    with session_scope(url) as session:
        fleet = list_vehicles(session)
    lake = Lake(data_dir / "lake")
    # positions are never in the clear in the lake: only sealed
    assert lake.read("telemetry", filter=pc.field("signal") == LOCATION).num_rows == 0
    opened = governed_read(
        lake,
        "telemetry",
        AccessContext(NAVIGATOR, "location_services"),
        fleet,
        opener=state_opener(url, Keyring.load_or_create(data_dir)),
    )
    tel = pl.from_arrow(opened)
    assert isinstance(tel, pl.DataFrame)
    mine = tel.filter(pl.col("vehicle_id") == story.withdrawn_vehicle)
    cut = pl.lit(story.withdrawn_at).dt.replace_time_zone("UTC")
    location = mine.filter(pl.col("signal") == LOCATION)
    assert location.height > 0 and (location["ts"] < story.withdrawn_at).all()
    others = tel.filter(
        (pl.col("vehicle_id") != story.withdrawn_vehicle)
        & (pl.col("signal") == LOCATION)
        & (pl.col("ts") >= cut)
    )
    assert others.height > 0  # the other owners' consent still holds
    plain = pl.from_arrow(lake.read("telemetry"))
    assert isinstance(plain, pl.DataFrame)
    mine_plain = plain.filter(pl.col("vehicle_id") == story.withdrawn_vehicle)
    assert mine_plain.filter((pl.col("signal") == "Vehicle.Speed") & (pl.col("ts") >= cut)).height
    refused = {r: n for r, n in report.telemetry.dropped.items() if "no legal basis" in r}
    assert refused and all("location" in r for r in refused)
    assert report.telemetry.rows_sealed == lake.read("telemetry_sealed").num_rows > 0
