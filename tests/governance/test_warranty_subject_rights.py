"""Warranty claims and production records under erasure and access: day-valued time columns
(``repair_date``, ``sale_date``) belong to the period that starts on their day."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session

from drivetrain.fleet import VehicleRecord, make_vin, register_vehicles
from drivetrain.governance.keys import Keyring
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.governance.subject_rights import erase_subject, export_subject, subject_data
from drivetrain.governance.subjects import link_vehicle, register_subject
from drivetrain.ingest.sink import CollectionContext
from drivetrain.ingest.warranty_records import (
    CLAIM_COLUMNS,
    PRODUCTION_COLUMNS,
    ingest_claims,
    ingest_production,
)
from drivetrain.lake import Lake, table_spec
from drivetrain.state import session_scope

KEY = PseudonymKey(bytes(range(32)))
VIN_A = make_vin("ZFA", "AB12C", 2024, "B", "000001")
VIN_B = make_vin("ZFA", "AB12C", 2024, "B", "000002")
A, B = KEY.vehicle_id(VIN_A), KEY.vehicle_id(VIN_B)
SOLD = date(2024, 1, 15)
# claim id suffix -> repair day; both vehicles have one claim on each day
REPAIRS = {
    "1": date(2024, 2, 10),
    "2": date(2024, 5, 31),  # the day before the handover
    "3": date(2024, 6, 1),  # the handover day: the new owner's
    "4": date(2024, 9, 30),
    "5": date(2024, 12, 1),  # the day a deletion period ends: not in it
    "6": date(2025, 1, 10),
}


def _csv(path: Path, header: tuple[str, ...], rows: list[dict[str, str]]) -> Path:
    lines = [",".join(header)] + [",".join(r[c] for c in header) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    """Production of A and B (sold on SOLD) and one claim of each on every day of REPAIRS."""
    lake = Lake(tmp_path / "lake")
    context = CollectionContext(source="test", purpose="warranty")
    production = [
        {
            "vin": vin,
            "brand": "Fiat",
            "model_id": "fiat-tipo",
            "model_year": "2024",
            "plant": "Cassino",
            "build_date": "2024-01-02",
            "sale_date": SOLD.isoformat(),
            "market": "IT",
            "region": "eu",
        }
        for vin in (VIN_A, VIN_B)
    ]
    path = _csv(tmp_path / "production.csv", PRODUCTION_COLUMNS, production)
    assert ingest_production(lake, path, KEY, context).rows == 2
    claims = [
        {
            "claim_id": f"{name}{n}",
            "vin": vin,
            "repair_date": day.isoformat(),
            "claim_date": (day + timedelta(days=2)).isoformat(),
            "mileage_km": "1000",
            "labour_code": "L-ENG-07",
            "part_number": "IGN-C-330",
            "causal_part": "ignition_coil",
            "failure_code": "P0302",
            "cost": "100.00",
            "currency": "EUR",
            "dealer": "Officina Rossi",
            "comment": "",
        }
        for name, vin in (("A", VIN_A), ("B", VIN_B))
        for n, day in REPAIRS.items()
    ]
    path = _csv(tmp_path / "claims.csv", CLAIM_COLUMNS, claims)
    assert ingest_claims(lake, path, KEY, context, currency="EUR").rows == 12
    return lake


def _claim_ids(lake: Lake) -> set[str]:
    return set(lake.read("warranty_claims", columns=["claim_id"])["claim_id"].to_pylist())


def _production_of(lake: Lake, vehicle_id: str) -> int:
    table = lake.read("vehicle_production", filter=pc.field("vehicle_id") == vehicle_id)
    return int(table.num_rows)


ALL_B = {f"B{n}" for n in REPAIRS}


@pytest.mark.parametrize(
    ("since", "until"),
    [
        pytest.param(
            datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 12, 1, tzinfo=UTC), id="midnight"
        ),
        pytest.param(
            datetime(2024, 6, 1, 15, 30, tzinfo=UTC),
            datetime(2024, 12, 1, 9, 0, tzinfo=UTC),
            id="mid-day",
        ),
        pytest.param(
            # 2024-06-01T18:00+08:00 is 10:00 UTC, the same UTC day
            datetime(2024, 6, 1, 18, 0, tzinfo=timezone(timedelta(hours=8))),
            datetime(2024, 12, 1, 18, 0, tzinfo=timezone(timedelta(hours=8))),
            id="other-time-zone",
        ),
    ],
)
def test_delete_vehicle_deletes_the_claims_repaired_within_the_period(
    lake: Lake, since: datetime, until: datetime
) -> None:
    deleted = lake.delete_vehicle(A, since=since, until=until)
    assert deleted["warranty_claims"] == 2
    assert "vehicle_production" not in deleted  # exempt: kept for recalls
    assert _claim_ids(lake) == {"A1", "A2", "A5", "A6"} | ALL_B
    assert _production_of(lake, A) == 1


def test_a_period_is_a_utc_day_range(lake: Lake) -> None:
    # 2024-06-01T01:00+02:00 is 2024-05-31T23:00 UTC: the period starts on 31 May
    since = datetime(2024, 6, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert lake.delete_vehicle(A, since=since)["warranty_claims"] == 5
    assert _claim_ids(lake) == {"A1"} | ALL_B


def test_delete_vehicle_until_a_day_takes_the_claims_before_it_not_the_production_record(
    lake: Lake,
) -> None:
    deleted = lake.delete_vehicle(A, until=datetime(2024, 6, 1, 12, 0, tzinfo=UTC))
    assert deleted["warranty_claims"] == 2
    assert _claim_ids(lake) == {"A3", "A4", "A5", "A6"} | ALL_B
    # the production record is exempt from erasure (recalls, type approval)
    assert (_production_of(lake, A), _production_of(lake, B)) == (1, 1)
    assert table_spec("vehicle_production").erasure_exempt


def test_a_sale_on_the_first_day_of_a_period_belongs_to_it(lake: Lake, migrated_url: str) -> None:
    # the period starts at noon on the day of the sale: the sale (a day) is in its export
    with session_scope(migrated_url) as session:
        _owners(session)
    with session_scope(migrated_url) as session:
        noon = subject_data(session, lake, "first")
    assert noon.tables["vehicle_production"]["sale_date"].to_pylist() == [SOLD]


HANDOVER = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def _owners(session: Session) -> None:
    """``first`` owns A from its sale (at 10:00) to HANDOVER, ``second`` from HANDOVER on."""
    register_vehicles(
        session,
        [
            VehicleRecord(
                vehicle_id=vehicle_id,
                vin=vin,
                brand="Fiat",
                model_id="fiat-tipo",
                model_name="Tipo",
                model_year=2024,
                platform="SCCS",
                market="IT",
                region="eu",
                powertrain="ice",
            )
            for vehicle_id, vin in ((A, VIN_A), (B, VIN_B))
        ],
    )
    for subject in ("first", "second"):
        register_subject(session, subject, kind="owner", display_name=subject, region="eu")
    sold = datetime(SOLD.year, SOLD.month, SOLD.day, 10, 0, tzinfo=UTC)
    link_vehicle(session, "first", A, "owner", sold, HANDOVER)
    link_vehicle(session, "second", A, "owner", HANDOVER)


def test_each_owner_gets_the_claims_of_their_period(lake: Lake, migrated_url: str) -> None:
    with session_scope(migrated_url) as session:
        _owners(session)
    with session_scope(migrated_url) as session:
        first = subject_data(session, lake, "first")
        second = subject_data(session, lake, "second")
    ids = {
        who: sorted(data.tables["warranty_claims"]["claim_id"].to_pylist())
        for who, data in (("first", first), ("second", second))
    }
    assert ids == {"first": ["A1", "A2"], "second": ["A3", "A4", "A5", "A6"]}
    # the sale, on the first day of the first owner's period, is theirs; not the next owner's
    assert first.tables["vehicle_production"]["vehicle_id"].to_pylist() == [A]
    assert first.tables["vehicle_production"]["sale_date"].to_pylist() == [SOLD]
    assert second.rows["vehicle_production"] == 0


def test_the_access_export_holds_the_claims_of_the_link_period(
    lake: Lake, migrated_url: str, tmp_path: Path
) -> None:
    with session_scope(migrated_url) as session:
        _owners(session)
    out = tmp_path / "second.zip"
    with session_scope(migrated_url) as session:
        export_subject(session, lake, "second", out, Keyring.load_or_create(tmp_path))
    with zipfile.ZipFile(out) as archive:
        document = json.loads(archive.read("subject.json"))
        claims = pq.read_table(archive.open("warranty_claims.parquet"))
        production = pq.read_table(archive.open("vehicle_production.parquet"))
    assert sorted(claims["claim_id"].to_pylist()) == ["A3", "A4", "A5", "A6"]
    assert set(claims["vehicle_id"].to_pylist()) == {A}
    assert production.num_rows == 0
    tables = document["tables"]
    assert (tables["warranty_claims"], tables["vehicle_production"]) == (4, 0)


def test_erasing_an_owner_deletes_the_claims_of_their_period_only(
    lake: Lake, migrated_url: str
) -> None:
    with session_scope(migrated_url) as session:
        _owners(session)
    with session_scope(migrated_url) as session:
        report = erase_subject(session, lake, "first")
    assert report.vehicles == [A]
    deleted = report.rows_deleted
    assert deleted["warranty_claims"] == 2 and "vehicle_production" not in deleted
    assert _claim_ids(lake) == {"A3", "A4", "A5", "A6"} | ALL_B
    # kept for recalls: the vehicle stays at risk, the next owner's claims still import
    assert (_production_of(lake, A), _production_of(lake, B)) == (1, 1)
    with session_scope(migrated_url) as session:
        second = subject_data(session, lake, "second")
    theirs = second.tables["warranty_claims"]["claim_id"].to_pylist()
    assert sorted(theirs) == ["A3", "A4", "A5", "A6"]
