"""After delete, merge and compaction the lake stays readable with filters (delta-rs#4579)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from drivetrain.lake import Lake
from drivetrain.lake.view_types import file_paths


def rows(day: int, vehicles: int = 3, n: int = 12) -> pa.Table:
    return pa.table(
        {
            "vehicle_id": [f"veh_{i % vehicles:012d}" for i in range(n)],
            "ts": pa.array(
                [datetime(2026, 1, day, 0, 0, i, tzinfo=UTC) for i in range(n)],
                pa.timestamp("us", tz="UTC"),
            ),
            "signal": ["Vehicle.Speed"] * n,
            "value": [float(i) for i in range(n)],
        }
    )


def view_typed(lake: Lake, name: str) -> list[str]:
    root = lake.path(name)
    return [
        p
        for p in file_paths(lake.table(name))
        if any(pa.types.is_string_view(f.type) for f in pq.read_schema(root / p))
    ]


@pytest.mark.parametrize("operation", ["delete", "merge", "compact"])
def test_rewritten_files_keep_plain_strings_and_filtered_reads_work(
    tmp_path: Path, operation: str
) -> None:
    lake = Lake(tmp_path)
    for day in (1, 2, 3):
        lake.append("telemetry", rows(day))
    lake.append("telemetry", rows(1, n=5))  # a second small file in day 1, for compaction
    if operation == "delete":
        deleted = lake.delete_vehicle("veh_000000000001")
        assert deleted["telemetry"] == 4 * 3 + 2
    elif operation == "merge":
        lake.merge("telemetry", rows(4))
    else:
        lake.compact("telemetry")
    assert view_typed(lake, "telemetry") == []
    speed = lake.read("telemetry", filter=pc.field("signal") == "Vehicle.Speed")
    mine = lake.read("telemetry", filter=pc.field("vehicle_id").isin(["veh_000000000000"]))
    assert speed.num_rows == lake.read("telemetry").num_rows > 0
    assert mine.num_rows > 0 and set(mine["vehicle_id"].to_pylist()) == {"veh_000000000000"}


def test_an_unpartitioned_table_is_rewritten_whole(tmp_path: Path) -> None:
    lake = Lake(tmp_path)
    trips = pa.table(
        {
            "trip_id": ["a", "b", "c"],
            "vehicle_id": ["veh_000000000001", "veh_000000000002", "veh_000000000001"],
            "start_ts": pa.array(
                [datetime(2026, 1, 1, tzinfo=UTC)] * 3, pa.timestamp("us", tz="UTC")
            ),
            "end_ts": pa.array(
                [datetime(2026, 1, 1, 1, tzinfo=UTC)] * 3, pa.timestamp("us", tz="UTC")
            ),
            "distance_m": [1.0, 2.0, 3.0],
            "max_speed_kmh": [50.0, 60.0, 70.0],
            "fuel_used_l": [0.1, 0.2, 0.3],
            "energy_used_kwh": pa.array([None, None, None], pa.float64()),
        }
    )
    lake.append("trips", trips)
    assert lake.delete_where("trips", "vehicle_id = 'veh_000000000001'") == 2
    assert view_typed(lake, "trips") == []
    left = lake.read("trips", filter=pc.field("vehicle_id") == "veh_000000000002")
    assert left["trip_id"].to_pylist() == ["b"]
