"""The demo's health section: the fleet scan and the top vehicle's diagnosis."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from drivetrain.demo import SimulationConfig
from drivetrain.demo.governance_tour import DEMO_PRINCIPALS
from drivetrain.demo.health_tour import health_tour
from drivetrain.demo.run import run_demo
from drivetrain.lake import Lake
from drivetrain.settings import load_settings


def test_the_demo_scans_the_fleet_and_diagnoses_its_top_vehicle(tmp_path: Path) -> None:
    config = SimulationConfig(vehicles=60, days=12, seed=9, start=date(2026, 4, 1), fault_rate=0.5)
    settings, _, _, _ = run_demo(tmp_path, config, load_settings(data_dir=tmp_path))
    settings.resolved_principals_file.write_text(DEMO_PRINCIPALS)
    tour = health_tour(settings)
    assert tour.scan.vehicles > 0 and tour.scan.output_id is not None
    assert tour.vehicle is not None and tour.causes
    faults = pl.from_arrow(Lake(settings.lake_dir).read("sim_faults"))
    assert isinstance(faults, pl.DataFrame)
    assert tour.vehicle.vehicle_id in faults["vehicle_id"].to_list()  # the top one is faulty
    assert tour.action in ("drive_on", "book_service", "stop_safely")
