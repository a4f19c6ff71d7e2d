"""The demo's governance tour: scoped reads, a residency refusal, an explained output."""

from __future__ import annotations

from pathlib import Path

from drivetrain.demo import SimulationConfig
from drivetrain.demo.governance_tour import governance_tour
from drivetrain.demo.run import run_simulation
from drivetrain.settings import load_settings


def test_tour(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    config = SimulationConfig(vehicles=40, days=1, seed=2, models=("peugeot-308", "tesla-model-3"))
    report = run_simulation(settings, config)
    tour = governance_tour(settings)
    peugeots = {v.vehicle_id for v in report.vehicles if v.brand == "Peugeot"}
    assert 0 < tour.analyst_vehicles <= len(peugeots) and tour.analyst_brands == ["Peugeot"]
    assert "pipl_residency" in tour.refused and "dpo-eu" in tour.refused
    assert tour.explanation.model == "duckdb" and tour.explanation.inputs["telemetry"] == 0
    assert tour.audit.entries >= 4  # ingest run, read, denial, output
