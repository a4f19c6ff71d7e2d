"""Compaction clusters telemetry by vehicle: sorted, small row groups, the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pds
import pyarrow.parquet as pq
import pytest

from drivetrain.lake import Lake, clustering
from drivetrain.lake.clustering import clustered_range, partitions_to_cluster
from drivetrain.lake.schemas import table_spec
from drivetrain.lake.view_types import file_paths

VEHICLES = 12
ROWS_PER_GROUP = 50


def interleaved(day: int, rounds: int = 20) -> pa.Table:
    """Every vehicle's rows of a day, round-robin, as a gateway batch interleaves them."""
    start = datetime(2026, 3, day, tzinfo=UTC)
    n = VEHICLES * rounds
    return pa.table(
        {
            "vehicle_id": [f"veh_{i % VEHICLES:012d}" for i in range(n)],
            "ts": pa.array(
                [start + timedelta(seconds=i // VEHICLES) for i in range(n)],
                pa.timestamp("us", tz="UTC"),
            ),
            "signal": ["Vehicle.Speed"] * n,
            "value": [float(i) for i in range(n)],
        }
    )


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lake:
    monkeypatch.setattr(clustering, "ROW_GROUP_ROWS", ROWS_PER_GROUP)
    lake = Lake(tmp_path)
    for day in (1, 2):
        for _ in range(3):  # three gateway flushes a day
            lake.append("telemetry", interleaved(day))
    return lake


def _files(lake: Lake) -> list[Path]:
    root = lake.path("telemetry")
    return [root / p for p in sorted(file_paths(lake.table("telemetry")))]


def test_compact_sorts_each_day_into_small_ordered_row_groups(lake: Lake) -> None:
    spec = table_spec("telemetry")
    before = lake.read("telemetry")
    assert len(partitions_to_cluster(lake.path("telemetry"), spec)) == 2
    result = lake.compact("telemetry")
    assert result["files_removed"] == 6 and result["files_added"] >= 2
    after = lake.read("telemetry")
    key = [("vehicle_id", "ascending"), ("ts", "ascending"), ("value", "ascending")]
    assert after.sort_by(key).equals(before.sort_by(key))  # the same rows, no more, no fewer
    for path in _files(lake):
        metadata = pq.ParquetFile(path).metadata
        assert metadata.num_row_groups > 1
        assert all(
            metadata.row_group(i).num_rows <= ROWS_PER_GROUP for i in range(metadata.num_row_groups)
        )
        assert clustered_range(path, "vehicle_id") is not None
        data = pq.read_table(path)
        order = pc.sort_indices(data, sort_keys=[("vehicle_id", "ascending"), ("ts", "ascending")])
        assert order.equals(pa.array(range(data.num_rows), pa.uint64()))
        assert not any(pa.types.is_string_view(f.type) for f in data.schema)


def test_a_vehicle_read_scans_few_rows_after_compaction(lake: Lake) -> None:
    def rows_scanned(vehicle: str) -> int:
        """Rows in the row groups whose statistics may hold ``vehicle`` (what a scan decodes)."""
        scanned = 0
        for path in _files(lake):
            fragment = next(iter(pds.dataset(path).get_fragments()))
            kept = fragment.split_by_row_group(filter=pc.field("vehicle_id") == vehicle)
            scanned += sum(group.row_groups[0].num_rows for group in kept)
        return scanned

    vehicle, total = "veh_000000000005", lake.read("telemetry").num_rows
    assert rows_scanned(vehicle) == total  # interleaved: every row group holds every vehicle
    lake.compact("telemetry")
    # the vehicle's 60 rows a day span at most 3 groups of 50 rows in each of the 2 days
    assert rows_scanned(vehicle) <= 2 * 3 * ROWS_PER_GROUP < total / 4
    assert lake.read("telemetry", filter=pc.field("vehicle_id") == vehicle).num_rows == 120


def test_compacting_a_clustered_table_does_nothing_and_new_data_redoes_its_day(
    lake: Lake,
) -> None:
    lake.compact("telemetry")
    version = lake.version("telemetry")
    assert lake.compact("telemetry") == {"files_removed": 0, "files_added": 0}
    assert lake.version("telemetry") == version
    lake.append("telemetry", interleaved(2, rounds=2))
    assert partitions_to_cluster(lake.path("telemetry"), table_spec("telemetry")) == [
        datetime(2026, 3, 2).date()
    ]
    lake.compact("telemetry")
    assert partitions_to_cluster(lake.path("telemetry"), table_spec("telemetry")) == []


def test_tables_without_cluster_columns_are_only_compacted(tmp_path: Path) -> None:
    assert table_spec("dtc_events").cluster_by == ()
    lake = Lake(tmp_path)
    assert partitions_to_cluster(tmp_path, table_spec("dtc_events")) == []
    assert lake.compact("dtc_events") == {"files_removed": 0, "files_added": 0}
