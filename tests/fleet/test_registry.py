"""The fleet registry over the state store, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError as DbIntegrityError

from drivetrain.errors import InputError, NotFound
from drivetrain.fleet import (
    EcuSoftware,
    VehicleRecord,
    delete_vehicle,
    fleet_counts,
    get_vehicle,
    list_vehicles,
    make_vin,
    register_vehicles,
    software_inventory,
)
from drivetrain.state import EcuSoftwareRow, VehicleRow, session_scope

T0 = datetime(2024, 1, 15, 8, 0, tzinfo=UTC)
BRANDS = {
    # brand: (wmi, model_id, model_name, platform, powertrain)
    "Ridgeway": ("1RW", "ridgeway-coach", "Coach", "RC1", "ice"),
    "Voltan": ("WV9", "voltan-e3", "E3", "EVP", "bev"),
}
REGION = {"US": "us", "DE": "eu", "FR": "eu", "CN": "cn"}


def vehicle(
    n: int, brand: str = "Ridgeway", market: str = "US", *, ecus: Sequence[str] = ("ECM", "BCM")
) -> VehicleRecord:
    """A valid vehicle record, distinct for each ``n``."""
    wmi, model_id, model_name, platform, powertrain = BRANDS[brand]
    return VehicleRecord(
        vehicle_id=f"veh_{n:012x}",
        vin=make_vin(wmi, "AB12C", 2022 + n % 3, "K", f"{n:06d}"),
        brand=brand,
        model_id=model_id,
        model_name=model_name,
        model_year=2022 + n % 3,
        platform=platform,
        market=market,
        region=REGION[market],
        powertrain=powertrain,
        software=tuple(
            EcuSoftware(ecu, f"{wmi}-{ecu}-1000", f"1.{n % 7}.0", T0 - timedelta(days=30))
            for ecu in ecus
        ),
        registered_at=T0,
    )


def count(url: str, table: type[VehicleRow | EcuSoftwareRow]) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def test_register_then_get_round_trips_every_field(migrated_url: str) -> None:
    record = vehicle(1, ecus=("BCM", "ECM"))  # in the order the registry returns them
    with session_scope(migrated_url) as session:
        assert register_vehicles(session, [record]) == 1
    with session_scope(migrated_url) as session:
        assert get_vehicle(session, record.vehicle_id) == record


def test_registered_at_defaults_to_now_in_utc(migrated_url: str) -> None:
    before = datetime.now(UTC)
    with session_scope(migrated_url) as session:
        register_vehicles(session, [replace(vehicle(1), registered_at=None)])
    with session_scope(migrated_url) as session:
        registered = get_vehicle(session, vehicle(1).vehicle_id).registered_at
    assert registered is not None
    assert registered.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= registered <= datetime.now(UTC) + timedelta(seconds=1)


def test_list_filters_orders_and_limits(migrated_url: str) -> None:
    records = [
        vehicle(3, "Ridgeway", "US"),
        vehicle(1, "Ridgeway", "US"),
        vehicle(2, "Ridgeway", "CN"),
        vehicle(4, "Voltan", "DE"),
        vehicle(5, "Voltan", "FR"),
        vehicle(6, "Voltan", "DE"),
    ]
    with session_scope(migrated_url) as session:
        register_vehicles(session, records)
    with session_scope(migrated_url) as session:
        every = list_vehicles(session)
        assert [v.vehicle_id for v in every] == sorted(r.vehicle_id for r in records)
        assert all(len(v.software) == 2 for v in every)
        assert {v.vehicle_id for v in list_vehicles(session, brand="Voltan")} == {
            vehicle(n).vehicle_id for n in (4, 5, 6)
        }
        de = list_vehicles(session, brand="Voltan", market="DE")
        assert [v.vehicle_id for v in de] == [vehicle(4).vehicle_id, vehicle(6).vehicle_id]
        assert len(list_vehicles(session, model_id="ridgeway-coach")) == 3
        assert list_vehicles(session, brand="Ridgeway", market="DE") == []
        assert [v.vehicle_id for v in list_vehicles(session, limit=2)] == [
            vehicle(1).vehicle_id,
            vehicle(2).vehicle_id,
        ]
        assert list_vehicles(session, limit=0) == []
        with pytest.raises(InputError, match="limit"):
            list_vehicles(session, limit=-1)
        assert fleet_counts(session) == [
            ("Ridgeway", "CN", 1),
            ("Ridgeway", "US", 2),
            ("Voltan", "DE", 2),
            ("Voltan", "FR", 1),
        ]


def test_software_inventory_is_ordered_and_in_utc(migrated_url: str) -> None:
    record = replace(
        vehicle(1),
        software=(
            EcuSoftware("TCU", "1RW-TCU-7", "3.1.0", T0 - timedelta(days=2)),
            EcuSoftware("BCM", "1RW-BCM-1", "2.0.1", T0),
            EcuSoftware("BCM", "1RW-BCM-1", "2.0.0", T0 - timedelta(days=90)),
        ),
    )
    with session_scope(migrated_url) as session:
        register_vehicles(session, [record])
    with session_scope(migrated_url) as session:
        inventory = software_inventory(session, record.vehicle_id)
        assert [(s.ecu, s.software_version) for s in inventory] == [
            ("BCM", "2.0.0"),
            ("BCM", "2.0.1"),
            ("TCU", "3.1.0"),
        ]
        assert all(s.installed_at.utcoffset() == timedelta(0) for s in inventory)
        with pytest.raises(NotFound, match="veh_nobody"):
            software_inventory(session, "veh_nobody")


def test_unknown_vehicle_is_not_found(migrated_url: str) -> None:
    with session_scope(migrated_url) as session:
        with pytest.raises(NotFound, match="veh_000000000bad") as caught:
            get_vehicle(session, "veh_000000000bad")
        assert caught.value.hint is not None
        with pytest.raises(NotFound):
            delete_vehicle(session, "veh_000000000bad")


def test_delete_cascades_to_software(migrated_url: str) -> None:
    with session_scope(migrated_url) as session:
        register_vehicles(session, [vehicle(1), vehicle(2)])
    assert count(migrated_url, EcuSoftwareRow) == 4
    with session_scope(migrated_url) as session:
        delete_vehicle(session, vehicle(1).vehicle_id)
    assert count(migrated_url, VehicleRow) == 1
    assert count(migrated_url, EcuSoftwareRow) == 2
    with session_scope(migrated_url) as session:
        # The cascade is the database's, not the ORM's: plain SQL triggers it too.
        session.execute(
            text("DELETE FROM vehicles WHERE vehicle_id = :v"), {"v": "veh_000000000002"}
        )
    assert count(migrated_url, EcuSoftwareRow) == 0


def test_software_of_an_unknown_vehicle_violates_the_foreign_key(migrated_url: str) -> None:
    row = {
        "vehicle_id": "veh_nobody",
        "ecu": "ECM",
        "hardware_part": "X",
        "software_version": "1",
        "installed_at": T0,
    }
    with pytest.raises(DbIntegrityError), session_scope(migrated_url) as session:
        session.execute(insert(EcuSoftwareRow), [row])


def test_duplicate_vin_in_a_batch_writes_nothing(migrated_url: str) -> None:
    clash = replace(vehicle(2), vin=vehicle(1).vin)
    with session_scope(migrated_url) as session:
        with pytest.raises(InputError, match=vehicle(1).vin) as caught:
            register_vehicles(session, [vehicle(0), vehicle(1), clash])
        assert "nothing was registered" in caught.value.message
    assert count(migrated_url, VehicleRow) == 0
    assert count(migrated_url, EcuSoftwareRow) == 0


def test_already_registered_vin_or_id_writes_nothing(migrated_url: str) -> None:
    with session_scope(migrated_url) as session:
        register_vehicles(session, [vehicle(1)])
    same_vin = replace(vehicle(3), vin=vehicle(1).vin)
    same_id = replace(vehicle(4), vehicle_id=vehicle(1).vehicle_id)
    for clash, name in ((same_vin, vehicle(1).vin), (same_id, vehicle(1).vehicle_id)):
        with session_scope(migrated_url) as session:
            with pytest.raises(InputError, match=f"duplicate .*{name}.*already registered"):
                register_vehicles(session, [vehicle(2), clash])
            # The savepoint kept the caller's transaction usable.
            assert len(list_vehicles(session)) == 1
    assert count(migrated_url, VehicleRow) == 1
    assert count(migrated_url, EcuSoftwareRow) == 2


def test_bad_check_digit_names_vin_and_expected_digit(migrated_url: str) -> None:
    good = vehicle(1)
    wrong = "0" if good.vin[8] != "0" else "1"
    bad = replace(vehicle(2), vin=good.vin[:8] + wrong + good.vin[9:])
    with session_scope(migrated_url) as session, pytest.raises(InputError) as caught:
        register_vehicles(session, [vehicle(3), bad])
    assert bad.vin in caught.value.message
    assert f"expected {good.vin[8]!r}" in caught.value.message
    assert count(migrated_url, VehicleRow) == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"vin": "1M8GDM9AXKP04278O"}, "I, O or Q"),
        ({"market": "usa"}, "ISO 3166-1"),
        ({"region": "EU"}, "lower case"),
        ({"powertrain": "steam"}, "powertrain 'steam'"),
        ({"model_year": 1901}, "model_year"),
        ({"brand": ""}, "brand must be a non-empty string"),
        ({"model_name": "x" * 200}, "longer than 128"),
        ({"registered_at": datetime(2024, 1, 1)}, "registered_at must be a timezone-aware"),
        (
            {"software": (EcuSoftware("ECM", "P", "1", datetime(2024, 1, 1)),)},
            "installed_at must be a timezone-aware",
        ),
        (
            {"software": (EcuSoftware("ECM", "P", "1", T0), EcuSoftware("ECM", "P", "1", T0))},
            "listed twice",
        ),
    ],
)
def test_malformed_records_are_rejected(
    migrated_url: str, change: dict[str, object], message: str
) -> None:
    record = replace(vehicle(1), **change)  # type: ignore[arg-type]
    with session_scope(migrated_url) as session, pytest.raises(InputError, match=message) as caught:
        register_vehicles(session, [vehicle(2), record])
    assert "veh_000000000001" in caught.value.message
    assert count(migrated_url, VehicleRow) == 0


def test_many_problems_are_summarised(migrated_url: str) -> None:
    bad = [replace(vehicle(n), powertrain="steam") for n in range(12)]
    with (
        session_scope(migrated_url) as session,
        pytest.raises(InputError, match=r"12 problem\(s\) in 12 .*and 7 more"),
    ):
        register_vehicles(session, bad)


def test_empty_batch_registers_nothing(migrated_url: str) -> None:
    with session_scope(migrated_url) as session:
        assert register_vehicles(session, []) == 0


@pytest.mark.slow
def test_ten_thousand_vehicles_in_one_batch(migrated_url: str) -> None:
    ecus = ("ECM", "TCM", "BCM", "ABS", "TCU", "HCU", "OBC")
    brands_markets = [("Ridgeway", "US"), ("Ridgeway", "CN"), ("Voltan", "DE"), ("Voltan", "FR")]
    records = [vehicle(n, *brands_markets[n % 4], ecus=ecus) for n in range(10_000)]
    started = time.perf_counter()
    with session_scope(migrated_url) as session:
        assert register_vehicles(session, records) == 10_000
    elapsed = time.perf_counter() - started
    assert elapsed < 30, f"bulk registration took {elapsed:.1f} s"
    assert count(migrated_url, VehicleRow) == 10_000
    assert count(migrated_url, EcuSoftwareRow) == 70_000
    with session_scope(migrated_url) as session:
        assert fleet_counts(session) == [
            ("Ridgeway", "CN", 2_500),
            ("Ridgeway", "US", 2_500),
            ("Voltan", "DE", 2_500),
            ("Voltan", "FR", 2_500),
        ]
        assert len(list_vehicles(session, brand="Voltan", market="FR")) == 2_500
