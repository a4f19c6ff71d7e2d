"""The raw path: simulated telemetry through CAN and OBD-II logs, decoded back, is unchanged."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from drivetrain.demo import SimulationConfig, simulate_fleet
from drivetrain.demo.raw_pipeline import RawRoute
from drivetrain.demo.run import DEMO_CAMPAIGN
from drivetrain.lake import Lake

CONFIG = SimulationConfig(vehicles=30, days=2, seed=4, start=date(2026, 5, 4))
COLUMNS = ["vehicle_id", "ts", "signal", "value"]


def telemetry(lake: Lake) -> pl.DataFrame:
    df = pl.from_arrow(lake.read("telemetry").select(COLUMNS))
    assert isinstance(df, pl.DataFrame)
    return df.sort("vehicle_id", "ts", "signal")


def test_the_lake_holds_the_same_data_either_way(tmp_path: Path) -> None:
    route = RawRoute(tmp_path / "raw")
    raw = simulate_fleet(CONFIG, Lake(tmp_path / "a"), campaigns=[DEMO_CAMPAIGN], route=route)
    direct = simulate_fleet(CONFIG, Lake(tmp_path / "b"), campaigns=[DEMO_CAMPAIGN])
    assert raw.telemetry.dropped == direct.telemetry.dropped
    a, b = telemetry(Lake(tmp_path / "a")), telemetry(Lake(tmp_path / "b"))
    assert a.select(COLUMNS[:3]).equals(b.select(COLUMNS[:3]))
    assert (a["value"] - b["value"]).abs().max() < 1e-6
    stats = route.stats
    assert stats.can_logs and stats.obd_logs and stats.can_frames and stats.obd_responses
    assert not stats.rejected
    assert stats.decoded_signals + stats.native_signals == raw.telemetry.rows_written + sum(
        raw.telemetry.dropped.values()
    )
    logs = sorted(p.suffix for p in (tmp_path / "raw").rglob("*.*"))
    assert set(logs) == {".log", ".obd"}
    first = next((tmp_path / "raw").rglob("*.log")).read_text().splitlines()[0]
    assert first.startswith("(") and " can0 " in first and "#" in first  # candump -L
