"""Retention per campaign: old rows go, signals no campaign covers are reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from drivetrain.governance import AuditLog
from drivetrain.governance.retention import enforce_retention
from drivetrain.ingest import Campaign
from drivetrain.lake import Lake

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def rows(signal: str, days_ago: list[int]) -> pa.Table:
    return pa.table(
        {
            "vehicle_id": ["v1"] * len(days_ago),
            "ts": pa.array([NOW - timedelta(days=d) for d in days_ago],
                           pa.timestamp("us", tz="UTC")),
            "signal": [signal] * len(days_ago),
            "value": [1.0] * len(days_ago),
        }
    )


def test_each_signal_keeps_its_longest_campaign_retention(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    lake.append("telemetry", rows("Vehicle.Speed", [1, 20, 40, 400]))
    lake.append("telemetry", rows("Vehicle.CurrentLocation.Latitude", [1, 20, 40]))
    lake.append("telemetry", rows("Vehicle.Exterior.AirTemperature", [500]))
    campaigns = [
        Campaign("short", "location_services", ("Vehicle.CurrentLocation.*",), retention_days=30),
        Campaign("health", "vehicle_health", ("Vehicle.Speed",), retention_days=365),
        Campaign("also-speed", "warranty", ("Vehicle.Speed",), retention_days=30),
    ]
    report = enforce_retention(lake, campaigns, now=NOW, audit=AuditLog(tmp_path))
    kept = lake.read("telemetry").to_pylist()
    ages = sorted((r["signal"], (NOW - r["ts"]).days) for r in kept)
    assert ages == [
        ("Vehicle.CurrentLocation.Latitude", 1),
        ("Vehicle.CurrentLocation.Latitude", 20),
        ("Vehicle.Exterior.AirTemperature", 500),  # no campaign asks for it: reported, kept
        ("Vehicle.Speed", 1),
        ("Vehicle.Speed", 20),
        ("Vehicle.Speed", 40),  # the 365-day campaign still needs it
    ]
    assert report.deleted == {30: 1, 365: 1}
    assert report.uncovered_signals == ["Vehicle.Exterior.AirTemperature"]
    assert [e.kind for e in AuditLog(tmp_path).entries()] == ["retention"]
