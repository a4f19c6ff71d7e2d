"""The collection write path: good rows stored, bad rows quarantined with reasons."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from drivetrain.errors import SchemaMismatch
from drivetrain.ingest import CollectionContext, write_telemetry
from drivetrain.lake import Lake

TS = datetime(2026, 10, 2, 8, 0, tzinfo=UTC)


def rows(*records: tuple[str | None, str, float | None]) -> pa.Table:
    return pa.table(
        {
            "vehicle_id": pa.array([r[0] for r in records], pa.string()),
            "ts": pa.array([TS] * len(records), pa.timestamp("us", tz="UTC")),
            "signal": [r[1] for r in records],
            "value": pa.array([r[2] for r in records], pa.float64()),
        }
    )


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


@pytest.fixture
def context() -> CollectionContext:
    return CollectionContext(source="test", purpose="vehicle_health", run_id="run-test")


def test_good_rows_are_stored_bad_rows_quarantined(lake: Lake, context: CollectionContext) -> None:
    data = rows(
        ("v1", "Vehicle.Speed", 50.0),
        ("v1", "Vehicle.NoSuchThing", 1.0),
        ("v1", "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", 140.0),
        ("v1", "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", 80.0),
        ("v1", "Vehicle.Speed", float("nan")),
        (None, "Vehicle.Speed", 3.0),
        ("v2", "Vehicle.Speed", None),
    )
    report = write_telemetry(lake, data, context)
    assert report.rows_written == 2
    assert report.rows_quarantined == 5
    assert report.reasons == {
        "signal is not in the catalog": 1,
        "value is above the VSS maximum of the signal": 1,
        "value is NaN or infinite": 1,
        "vehicle_id is missing": 1,
        "value is missing": 1,
    }
    stored = lake.read("telemetry").to_pydict()
    assert sorted(stored["value"]) == [50.0, 80.0]
    quarantined = lake.read("quarantine").to_pylist()
    assert {q["location"] for q in quarantined} == {"row 1", "row 2", "row 4", "row 5", "row 6"}
    assert all(q["run_id"] == "run-test" and q["target_table"] == "telemetry" for q in quarantined)
    unknown = next(q for q in quarantined if q["reason"] == "signal is not in the catalog")
    assert json.loads(unknown["record"])["signal"] == "Vehicle.NoSuchThing"


def test_locations_count_across_batches(lake: Lake, context: CollectionContext) -> None:
    def batches() -> Iterator[pa.RecordBatch]:
        yield from rows(("v1", "Vehicle.Speed", 1.0), ("v1", "Vehicle.Speed", 2.0)).to_batches()
        yield from rows(("v1", "Vehicle.Speed", 3.0), ("v1", "Bogus", 4.0)).to_batches()

    report = write_telemetry(lake, batches(), context)
    assert report.rows_written == 3
    assert lake.read("quarantine")["location"].to_pylist() == ["row 3"]


def test_dictionary_encoded_signals_are_checked_too(lake: Lake, context: CollectionContext) -> None:
    data = rows(("v1", "Vehicle.Speed", 1.0), ("v1", "Bogus", 2.0), ("v1", "Bogus", 3.0))
    data = data.set_column(2, "signal", data["signal"].dictionary_encode())
    report = write_telemetry(lake, data, context)
    assert (report.rows_written, report.rows_quarantined) == (1, 2)


def test_structural_errors_raise_and_write_nothing(lake: Lake, context: CollectionContext) -> None:
    with pytest.raises(SchemaMismatch):
        write_telemetry(lake, rows(("v1", "Vehicle.Speed", 1.0)).drop_columns(["ts"]), context)
    assert not lake.exists("telemetry")
    assert not lake.exists("quarantine")


class NoLocationAfter:
    """A LegalBasis that refuses location data from ``cutoff_us`` on (a withdrawal)."""

    def __init__(self, cutoff_us: int) -> None:
        self.cutoff_us = cutoff_us

    def allowed(self, vehicle_id, ts_us, category):  # type: ignore[no-untyped-def]
        refused = (category == "location") & (ts_us >= self.cutoff_us)
        reasons = np.where(refused, "no legal basis for location (consent withdrawn)", "")
        return ~refused, reasons


def test_rows_without_legal_basis_are_dropped_and_counted(
    lake: Lake, context: CollectionContext
) -> None:
    ts_us = int(TS.timestamp() * 1_000_000)
    data = rows(
        ("v1", "Vehicle.CurrentLocation.Latitude", 48.1),
        ("v1", "Vehicle.Speed", 50.0),
    )
    later = data.set_column(
        1, "ts", pa.array([TS.replace(hour=9)] * 2, pa.timestamp("us", tz="UTC"))
    )
    report = write_telemetry(
        lake,
        pa.concat_tables([data, later]),
        context,
        legal_basis=NoLocationAfter(ts_us + 1),
    )
    assert report.rows_written == 3
    assert report.dropped == {"no legal basis for location (consent withdrawn)": 1}
    stored = lake.read("telemetry").to_pylist()
    assert sorted((r["signal"], r["ts"].hour) for r in stored) == [
        ("Vehicle.CurrentLocation.Latitude", 8),
        ("Vehicle.Speed", 8),
        ("Vehicle.Speed", 9),
    ]


def test_legal_basis_sees_nanosecond_input_at_its_real_time(
    lake: Lake, context: CollectionContext
) -> None:
    cutoff_us = int(TS.timestamp() * 1_000_000) + 1
    before = rows(("v1", "Vehicle.CurrentLocation.Latitude", 48.1))
    before = before.set_column(1, "ts", before["ts"].cast(pa.timestamp("ns", tz="UTC")))
    report = write_telemetry(lake, before, context, legal_basis=NoLocationAfter(cutoff_us))
    assert report.rows_written == 1 and not report.dropped


def test_legal_basis_with_dictionary_signals_and_a_quarantined_path(
    lake: Lake, context: CollectionContext
) -> None:
    data = rows(("v1", "Vehicle.Speed", 1.0), ("v1", "Vehicle.Bogus", 2.0))
    data = data.set_column(2, "signal", data["signal"].dictionary_encode())
    report = write_telemetry(lake, data, context, legal_basis=NoLocationAfter(0))
    assert (report.rows_written, report.rows_quarantined) == (1, 1)
    assert lake.read("quarantine").num_rows == 1


def test_timestamps_from_a_wrong_clock_are_quarantined(
    lake: Lake, context: CollectionContext
) -> None:
    now = datetime.now(UTC)
    stamps = [
        TS,
        datetime(2000, 1, 1, tzinfo=UTC),  # plausible to ingestion; the health scan judges it
        datetime(1970, 1, 1, 0, 0, 5, tzinfo=UTC),  # an epoch counter restarted
        now + timedelta(hours=12),  # within a day of drift: kept
        now + timedelta(days=3),  # the future
    ]
    data = pa.table(
        {
            "vehicle_id": ["v1"] * 5,
            "ts": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "signal": ["Vehicle.Speed"] * 5,
            "value": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    report = write_telemetry(lake, data, context)
    assert sorted(lake.read("telemetry")["value"].to_pylist()) == [1.0, 2.0, 4.0]
    reasons = {q["location"]: q["reason"] for q in lake.read("quarantine").to_pylist()}
    assert set(reasons) == {"row 2", "row 4"}
    assert reasons["row 2"].startswith("timestamp is before 1996")
    assert reasons["row 4"].startswith("timestamp is more than a day in the future")
    assert report.rows_quarantined == 2
