"""The demo's governance tour: scoped reads, a residency refusal, an explained output."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.compute as pc

from drivetrain.demo import SimulationConfig
from drivetrain.demo.governance_tour import LATITUDE, governance_tour
from drivetrain.demo.run import run_demo
from drivetrain.lake import Lake
from drivetrain.settings import load_settings


def test_tour(tmp_path: Path) -> None:
    config = SimulationConfig(
        vehicles=40,
        days=2,
        seed=2,
        start=date(2026, 4, 13),
        models=("peugeot-308", "tesla-model-3"),
    )
    settings, report, _, _ = run_demo(tmp_path, config, load_settings(data_dir=tmp_path))
    lake = Lake(settings.lake_dir)
    outside_cn = [v.vehicle_id for v in report.vehicles if v.region != "cn"]
    latitudes = pc.field("signal") == LATITUDE
    sealed = lake.read("telemetry_sealed", filter=latitudes).num_rows
    sealed_outside_cn = lake.read(
        "telemetry_sealed", filter=latitudes & pc.field("vehicle_id").isin(outside_cn)
    ).num_rows
    tour = governance_tour(settings)
    peugeots = {v.vehicle_id for v in report.vehicles if v.brand == "Peugeot"}
    assert 0 < tour.analyst_vehicles <= len(peugeots) and tour.analyst_brands == ["Peugeot"]
    assert "pipl_residency" in tour.refused and "dpo-eu" in tour.refused
    assert tour.explanation.model == "duckdb"
    # the version the tour read: the simulation's append, then one clustering commit a day
    assert tour.explanation.inputs["telemetry"] == config.days
    assert tour.audit.entries >= 4  # ingest run, read, denial, output
    # the charging service (regions eu, us, kr, ca) opens every sealed latitude outside
    # China (PIPL residency); the fleet analyst, whose role may not read telemetry_sealed,
    # sees none
    assert sealed > tour.positions_opened == sealed_outside_cn > 0
    assert tour.positions_seen_by_analyst == 0
    assert tour.erasure is not None and tour.erasure.keys_destroyed
    assert 0 < tour.positions_shredded == tour.erasure.rows_deleted["telemetry_sealed"]
