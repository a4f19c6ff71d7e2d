"""The parts tables read as a planner may, and shaped for forecasting and planning."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from drivetrain.errors import InputError, NotFound, PolicyDenied
from drivetrain.governance.access import AccessContext, Principal
from drivetrain.governance.audit import AuditLog
from drivetrain.ingest.parts_records import store_parts_tables
from drivetrain.ingest.sink import CollectionContext
from drivetrain.lake import Lake
from drivetrain.parts.data import (
    PartsData,
    demand_series,
    load_parts_data,
    signal_series,
    stocking_terms,
)

PLANNER = Principal.of("pat", roles=["parts_planner"], brands=["*"], regions=["eu"], country="DE")
MONTHS = [date(2025, m, 1) for m in range(1, 13)] + [date(2026, m, 1) for m in range(1, 4)]


def _data() -> dict[str, pl.DataFrame]:
    parts = pl.DataFrame(
        {
            "part_number": ["A-1", "A-2", "A-3", "B-1"],
            "description": ["a", "a", "a", "b"],
            "component": ["cabin_filter"] * 3 + ["thermostat"],
            "supersedes": [None, "A-1", "A-2", None],
            "unit_cost": [10.0, 11.0, 12.0, 80.0],
            "lead_time_days": [0, 10, 31, 45],
            "criticality": ["C", "C", "C", "A"],
        },
        schema_overrides={"lead_time_days": pl.Int32},
    )
    locations = pl.DataFrame(
        {"location_id": ["C", "D1"], "kind": ["central", "dealer"], "parent_id": [None, "C"],
         "market": ["DE", "DE"], "region": ["eu", "eu"], "name": [None, None]}
    )  # fmt: skip
    # A-1 for 5 months, A-2 for 5, A-3 for 5 at D1: one series A-3@D1 of 15 months
    rows = [(f"A-{1 + i // 5}", "D1", m, float(i % 3)) for i, m in enumerate(MONTHS)]
    rows += [("B-1", "D1", m, 1.0) for m in MONTHS]
    demand = pl.DataFrame(rows, schema=["part_number", "location_id", "month", "quantity"], orient="row")  # fmt: skip
    signal = pl.DataFrame(
        [(p, "D1", m, issued, src, 0.5, 0.25) for p in ("A-2", "B-1") for m in MONTHS[-3:]
         for issued in (MONTHS[0], MONTHS[6]) for src in ("repair", "campaign")],
        schema=["part_number", "location_id", "month", "issued", "source", "expected", "variance"],
        orient="row",
    )  # fmt: skip
    return {"parts": parts, "parts_locations": locations, "parts_demand": demand,
            "parts_fleet_signal": signal}  # fmt: skip


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    lake = Lake(tmp_path / "lake")
    store_parts_tables(lake, CollectionContext(source="test", purpose="parts_planning"), _data())
    return lake


def test_a_planner_reads_every_table_and_each_read_is_audited(lake: Lake, tmp_path: Path) -> None:
    audit = AuditLog(tmp_path)
    data = load_parts_data(lake, AccessContext(PLANNER, "parts_planning"), audit=audit)
    assert (data.parts.height, data.locations.height, data.demand.height) == (4, 2, 30)
    assert data.signal is not None and data.signal.height == 24
    assert data.sources() == [f"lake:{t}@v0" for t in sorted(_data())]
    reads = [e.details["table"] for e in audit.entries("access")]
    assert sorted(reads) == sorted(_data())


def test_another_purpose_or_role_is_refused(lake: Lake) -> None:
    with pytest.raises(PolicyDenied):
        load_parts_data(lake, AccessContext(PLANNER, "warranty"))
    engineer = Principal.of("eng", roles=["product_engineer"], brands=["*"], regions=["eu"], country="DE")  # fmt: skip
    with pytest.raises(PolicyDenied):
        load_parts_data(lake, AccessContext(engineer, "parts_planning"))


def test_an_empty_lake_says_how_to_fill_it(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="parts import") as caught:
        load_parts_data(Lake(tmp_path / "lake"), AccessContext(PLANNER, "parts_planning"))
    assert "parts simulate" in (caught.value.hint or "")


def _frames() -> PartsData:
    d = _data()
    return PartsData(d["parts"], d["parts_locations"], d["parts_demand"], d["parts_fleet_signal"], {})  # fmt: skip


def test_a_supersession_chain_is_one_series_under_the_newest_number() -> None:
    prepared = demand_series(_frames())
    series = prepared.series
    assert sorted(series["unique_id"].unique()) == ["A-3@D1", "B-1@D1"]
    chain = series.filter(pl.col("unique_id") == "A-3@D1").sort("ds")
    assert chain["ds"].to_list() == MONTHS
    assert chain["y"].to_list() == [float(i % 3) for i in range(15)]
    assert prepared.report.superseded == {"A-1@D1": "A-3@D1", "A-2@D1": "A-3@D1"}


def test_the_signal_follows_the_chain_and_sums_its_sources_per_vintage() -> None:
    signal = signal_series(_frames())
    assert set(signal["unique_id"]) == {"A-3@D1", "B-1@D1"}
    assert signal.height == 2 * 3 * 2  # series x months x vintages
    assert signal["expected"].to_list() == [1.0] * 12  # repair + campaign
    assert signal["variance"].to_list() == [0.5] * 12


def test_no_signal_is_said() -> None:
    d = _frames()
    with pytest.raises(NotFound, match="no fleet signal"):
        signal_series(PartsData(d.parts, d.locations, d.demand, None, {}))


def test_lead_times_are_whole_months_rounded_up_and_costs_come_from_the_master() -> None:
    ids = ["A-1@D1", "A-2@D1", "A-3@D1", "B-1@D1"]
    terms = stocking_terms(_frames(), ids, review_period=2, holding_rate=0.3).sort("unique_id")
    assert terms["lead_time"].to_list() == [0, 1, 2, 2]  # 0, 10, 31 and 45 days
    assert terms["unit_cost"].to_list() == [10.0, 11.0, 12.0, 80.0]
    assert set(terms["review_period"]) == {2} and set(terms["holding_rate"]) == {0.3}
    with pytest.raises(InputError, match="not in the parts master"):
        stocking_terms(_frames(), ["Z-9@D1"])


def test_a_vintage_is_each_sources_newest_signal_by_its_date() -> None:
    d = _frames()
    assert d.signal is not None
    late = pl.DataFrame(
        [("B-1", "D1", MONTHS[-1], MONTHS[9], "warranty", 2.0, 1.0)],
        schema=d.signal.columns, orient="row",
    )  # fmt: skip
    signal = signal_series(PartsData(d.parts, d.locations, d.demand, pl.concat([d.signal, late]), {}))  # fmt: skip
    b = signal.filter(pl.col("unique_id") == "B-1@D1", pl.col("ds") == MONTHS[-1])
    # at month 9 the warranty source adds to the simulator's newest vintage (month 6)
    assert dict(b.select("issued", "expected").iter_rows()) == {MONTHS[0]: 1.0, MONTHS[6]: 1.0, MONTHS[9]: 3.0}  # fmt: skip
    assert b.filter(pl.col("issued") == MONTHS[9])["variance"][0] == 1.5
