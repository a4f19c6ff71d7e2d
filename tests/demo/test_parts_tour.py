"""The demo's parts section: the fleet-informed backtest wins where the fleet foresees."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from drivetrain.demo.governance_tour import DEMO_PRINCIPALS
from drivetrain.demo.parts_tour import parts_tour
from drivetrain.demo.warranty_generator import WarrantyConfig, generate_warranty
from drivetrain.governance.audit import AuditLog
from drivetrain.settings import Settings


@pytest.mark.slow
def test_the_tour_stores_the_network_and_the_fleet_beats_history_on_the_waves(
    tmp_path: Path,
) -> None:
    (tmp_path / "principals.toml").write_text(DEMO_PRINCIPALS)
    settings = Settings(data_dir=tmp_path)
    history = generate_warranty(WarrantyConfig(per_model_month=150, as_of=date(2026, 10, 24)))
    tour = parts_tour(settings, history)
    assert tour.stored.rows["parts"] == 37 and tour.stored.rows["parts_fitment"] > 0
    rmse = dict(tour.scores.select("model", "rmse").iter_rows())
    assert rmse["auto+fleet"] < 0.8 * rmse["auto"] < rmse["Naive"]
    assert len(tour.origins) == 16
    # one plan row per series, both ways, and the fleet's plan is named so
    assert tour.plan.height == tour.plan_history.height == tour.series
    assert tour.plan["model"].str.ends_with("+fleet").all()
    assert not tour.plan_history["model"].str.ends_with("+fleet").any()
    # the planner's reads were audited for parts planning
    reads = [e for e in AuditLog(tmp_path).entries("access") if e.purpose == "parts_planning"]
    assert {e.details["table"] for e in reads} >= {"parts", "parts_demand", "parts_fleet_signal"}
    assert sum(tour.classes.values()) == tour.series
