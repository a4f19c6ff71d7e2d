"""The lake: atomic appends, time travel, merges, erasure of a vehicle, schema checks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pds
import pytest

from drivetrain.errors import InputError, NotFound, SchemaMismatch
from drivetrain.lake import TABLES, Lake

from .helpers import T0, telemetry


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


def test_append_returns_versions_and_reads_back(lake: Lake) -> None:
    assert lake.append("telemetry", telemetry(["a", "b"], [1.0, 2.0])) == 0
    assert lake.append("telemetry", telemetry(["c"], [3.0])) == 1
    table = lake.read("telemetry")
    assert sorted(table["vehicle_id"].to_pylist()) == ["a", "b", "c"]
    assert table.schema.field("ts").type == pa.timestamp("us", tz="UTC")


def test_date_partition_is_derived_from_utc_timestamp(lake: Lake, tmp_path: Path) -> None:
    lake.append("telemetry", telemetry(["a"], [1.0]))
    assert lake.read("telemetry")["date"].to_pylist() == [T0.date()]
    assert (tmp_path / "lake" / "telemetry" / "date=2026-10-01").is_dir()


def test_pinned_version_reads_old_data(lake: Lake) -> None:
    lake.append("telemetry", telemetry(["a"], [1.0]))
    lake.append("telemetry", telemetry(["b"], [2.0]))
    assert lake.read("telemetry", version=0)["vehicle_id"].to_pylist() == ["a"]
    assert lake.read("telemetry", version=1).num_rows == 2
    with pytest.raises(NotFound, match="no version 9"):
        lake.read("telemetry", version=9)


def test_delete_vehicle_removes_its_rows_in_every_table(lake: Lake) -> None:
    lake.append("telemetry", telemetry(["a", "b", "a"], [1.0, 2.0, 3.0]))
    lake.append(
        "dtc_events",
        pa.table(
            {
                "vehicle_id": ["a", "b"],
                "ts": pa.array([T0, T0], pa.timestamp("us", tz="UTC")),
                "dtc": ["P0128", "P0300"],
                "ecu": ["ECM", "ECM"],
                "status": ["confirmed", "confirmed"],
            }
        ),
    )
    deleted = lake.delete_vehicle("a")
    assert deleted == {"telemetry": 2, "dtc_events": 1}
    assert lake.read("telemetry")["vehicle_id"].to_pylist() == ["b"]
    assert lake.read("dtc_events")["vehicle_id"].to_pylist() == ["b"]
    # the old version still holds them until vacuum: erasure must vacuum too
    assert lake.read("telemetry", version=0).num_rows == 3


def test_delete_vehicle_rejects_predicate_injection(lake: Lake) -> None:
    lake.append("telemetry", telemetry(["a"], [1.0]))
    with pytest.raises(InputError):
        lake.delete_vehicle("a' OR '1'='1")
    assert lake.read("telemetry").num_rows == 1


def test_vacuum_after_delete_removes_the_rows_from_the_files(lake: Lake, tmp_path: Path) -> None:
    lake.append("telemetry", telemetry(["secret-car", "b"], [1.0, 2.0]))
    lake.delete_vehicle("secret-car")
    lake.vacuum("telemetry", retention_hours=0)
    on_disk = pds.dataset(tmp_path / "lake" / "telemetry", format="parquet").to_table()
    assert "secret-car" not in on_disk["vehicle_id"].to_pylist()


def test_merge_upserts_on_the_table_key(lake: Lake) -> None:
    lake.append("telemetry", telemetry(["a", "b"], [1.0, 2.0]))
    lake.merge("telemetry", telemetry(["a", "c"], [10.0, 30.0]))
    got = dict(
        zip(
            *lake.read("telemetry", columns=["vehicle_id", "value"]).to_pydict().values(),
            strict=True,
        )
    )
    assert got == {"a": 10.0, "b": 2.0, "c": 30.0}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (telemetry(["a"], [1.0]).drop_columns(["value"]), "missing column\\(s\\) value"),
        (telemetry(["a"], [1.0]).append_column("vin", pa.array(["X"])), "unexpected column"),
        (
            telemetry(["a"], [1.0]).set_column(3, "value", pa.array(["fast"])),
            "'value' .* type string, expected double",
        ),
        (
            telemetry(["a"], [1.0]).set_column(
                1, "ts", pa.array([datetime(2026, 1, 1)], pa.timestamp("us"))
            ),
            "not UTC",
        ),
        (
            telemetry(["a"], [1.0]).set_column(0, "vehicle_id", pa.array([None], pa.string())),
            "null value",
        ),
    ],
)
def test_wrong_schema_is_rejected_and_nothing_is_written(
    lake: Lake, data: pa.Table, message: str
) -> None:
    lake.append("telemetry", telemetry(["a"], [1.0]))
    with pytest.raises(SchemaMismatch, match=message):
        lake.append("telemetry", data)
    assert lake.version("telemetry") == 0


def test_a_stream_that_fails_midway_commits_nothing(lake: Lake) -> None:
    lake.append("telemetry", telemetry(["a"], [1.0]))

    def batches() -> Iterator[pa.RecordBatch]:
        yield from telemetry(["b"] * 1000, [2.0] * 1000).to_batches()
        raise RuntimeError("the source died")

    with pytest.raises(RuntimeError):
        lake.append("telemetry", batches())
    assert lake.version("telemetry") == 0
    assert lake.read("telemetry").num_rows == 1


def test_dictionary_encoded_strings_are_accepted(lake: Lake) -> None:
    data = telemetry(["a", "b", "a"], [1.0, 2.0, 3.0])
    data = data.set_column(0, "vehicle_id", pc.dictionary_encode(data["vehicle_id"]))
    lake.append("telemetry", data)
    assert lake.read("telemetry").schema.field("vehicle_id").type == pa.string()


def test_unknown_table_and_unwritten_table(lake: Lake) -> None:
    with pytest.raises(NotFound, match="known tables"):
        lake.append("nope", telemetry(["a"], [1.0]))
    assert lake.read("trips").num_rows == 0
    assert {i.name for i in lake.tables()} == set(TABLES)


def test_history_carries_the_run_id(lake: Lake) -> None:
    lake.append("telemetry", telemetry(["a"], [1.0]), run_id="run-42")
    assert lake.history("telemetry")[0]["drivetrain.run_id"] == "run-42"


def test_a_bad_batch_late_in_a_stream_raises_schema_mismatch(lake: Lake) -> None:
    def batches() -> Iterator[pa.RecordBatch]:
        yield from telemetry(["a"], [1.0]).to_batches()
        yield from telemetry(["b"], [2.0]).drop_columns(["value"]).to_batches()

    with pytest.raises(SchemaMismatch, match="missing column"):
        lake.append("telemetry", batches())
    assert not lake.exists("telemetry")


def test_compact_merges_small_files_and_keeps_rows(lake: Lake) -> None:
    for i in range(6):
        lake.append("telemetry", telemetry([f"v{i}"], [float(i)]))
    before = lake.read("telemetry").sort_by("vehicle_id")
    result = lake.compact("telemetry")
    assert result["files_removed"] == 6 and result["files_added"] == 1
    assert lake.read("telemetry").sort_by("vehicle_id").equals(before)
    assert lake.version("telemetry") == 6
