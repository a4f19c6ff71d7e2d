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
            "ts": pa.array(
                [NOW - timedelta(days=d) for d in days_ago], pa.timestamp("us", tz="UTC")
            ),
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


def test_sealed_signals_and_old_quarantine_rows_are_deleted_too(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    latitude = rows("Vehicle.CurrentLocation.Latitude", [1, 40])
    sealed = (
        latitude.drop_columns(["value"])
        .append_column("key_id", pa.array(["dk_1"] * 2))
        .append_column("sealed", pa.array([b"x" * 36] * 2, pa.binary()))
    )
    lake.append("telemetry_sealed", sealed)
    refused = [NOW - timedelta(days=d) for d in (2, 45)]
    lake.append(
        "quarantine",
        pa.table(
            {
                "run_id": ["r", "r"],
                "ts": pa.array(refused, pa.timestamp("us", tz="UTC")),
                "target_table": ["telemetry"] * 2,
                "source": ["test"] * 2,
                "location": ["row 0", "row 1"],
                "reason": ["value is NaN or infinite"] * 2,
                "record": ["{}"] * 2,
                "vehicle_id": ["v1", "v1"],
            }
        ),
    )
    campaigns = [
        Campaign("short", "location_services", ("Vehicle.CurrentLocation.*",), retention_days=30)
    ]
    report = enforce_retention(lake, campaigns, now=NOW, quarantine_days=30)
    kept = lake.read("telemetry_sealed")["ts"].to_pylist()
    assert [(NOW - t).days for t in kept] == [1]
    assert [(NOW - t).days for t in lake.read("quarantine")["ts"].to_pylist()] == [2]
    assert report.deleted == {30: 1} and report.quarantine_deleted == 1
    assert report.files_removed >= 2  # the old files of both tables were vacuumed


def test_quarantine_retention_below_a_day_is_refused(tmp_path: Path) -> None:
    import pytest

    from drivetrain.errors import InputError

    with pytest.raises(InputError, match="at least one day"):
        enforce_retention(Lake(tmp_path / "lake"), [], now=NOW, quarantine_days=0)
