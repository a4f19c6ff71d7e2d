"""Driver profiles: identification, keyed digests, consent gating, learning, other cars, erasure."""

from __future__ import annotations

import json
import random
import statistics
import zipfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from drivetrain.cockpit.cabin import SimulatedVehicle
from drivetrain.cockpit.profiles import IdentifierKey, enrol_identifier, identify_driver
from drivetrain.cockpit.profiles_households import (
    create_household,
    get_household,
    households_of,
    join_household,
    leave_household,
    share_place,
    share_vehicle,
    shared_vehicles,
)
from drivetrain.cockpit.profiles_learning import (
    FAVOURITE_HALF_LIFE,
    learn,
    record_event,
    withdraw_personalisation,
)
from drivetrain.cockpit.profiles_settings import settings_for
from drivetrain.errors import InputError, PolicyDenied
from drivetrain.governance.consent import give_consent, withdraw_consent
from drivetrain.governance.keys import Keyring
from drivetrain.governance.subject_rights import compact_state, erase_subject, export_subject
from drivetrain.governance.subjects import register_subject
from drivetrain.lake import Lake
from drivetrain.state import VehicleRow, session_scope
from drivetrain.state.cockpit_models import (
    DriverIdentifierRow,
    HouseholdMemberRow,
    HouseholdPlaceRow,
    HouseholdRow,
    HouseholdVehicleRow,
    LearnedPreferenceRow,
    PreferenceEventRow,
)

from .._services import migrated_url, state_url

__all__ = ["migrated_url", "state_url"]

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday
NOW = T0 + timedelta(days=40)
PHONE = "+39 333 123-4567"
FOB = "fob-7Q2X-99"
ANNA, BEN = "drv-anna", "drv-ben"
VEHICLES = {"veh_ram": "ram-1500", "veh_tipo": "fiat-tipo", "veh_tesla": "tesla-model-3"}
ZONE_TEMP = "Vehicle.Cabin.HVAC.Station.{}.Temperature"


@pytest.fixture
def key(tmp_path: Path) -> IdentifierKey:
    return IdentifierKey.load_or_create(tmp_path / "data")


def _setup(session: Session, *, consent: tuple[str, ...] = ("cabin", "location")) -> None:
    for vehicle_id, model_id in VEHICLES.items():
        session.add(
            VehicleRow(
                vehicle_id=vehicle_id,
                vin=f"ZFA{vehicle_id[-4:].upper():0>14}"[:17],
                brand="Test",
                model_id=model_id,
                model_name=model_id,
                model_year=2024,
                platform="P1",
                market="IT",
                region="eu",
                powertrain="ice",
                registered_at=T0 - timedelta(days=400),
            )
        )
    session.flush()
    for subject, name in ((ANNA, "Anna"), (BEN, "Ben")):
        register_subject(
            session, subject, kind="driver", display_name=name, region="eu", created_at=T0
        )
    if consent:
        give_consent(session, ANNA, "personalisation", consent, notice_version="2026-03", at=T0)


def _car(vehicle_id: str) -> SimulatedVehicle:
    return SimulatedVehicle.parked(vehicle_id, VEHICLES[vehicle_id])


def _count(session: Session, model: type, subject_id: str = ANNA) -> int:
    column = model.__table__.c.subject_id  # type: ignore[attr-defined]
    return int(session.scalar(select(func.count()).where(column == subject_id)) or 0)


# --- identification --------------------------------------------------------------------


def test_a_driver_is_identified_by_key_phone_or_seat_on_any_car(
    migrated_url: str, key: IdentifierKey
) -> None:
    with session_scope(migrated_url) as session:
        _setup(session)
        enrol_identifier(session, key, ANNA, "phone", PHONE)
        enrol_identifier(session, key, ANNA, "key", FOB)
        enrol_identifier(session, key, ANNA, "seat", 2, vehicle_id="veh_ram")
        enrol_identifier(session, key, BEN, "key", "FOB-BEN-0001")

        by_phone = identify_driver(session, key, "veh_tipo", phone="+393331234567")
        assert by_phone is not None and (by_phone.subject_id, by_phone.by) == (ANNA, "phone")
        by_key = identify_driver(session, key, "veh_tesla", key_fob=FOB.lower())
        assert by_key is not None and (by_key.subject_id, by_key.by) == (ANNA, "key")
        by_seat = identify_driver(session, key, "veh_ram", seat="2")
        assert by_seat is not None and by_seat.subject_id == ANNA and by_seat.by == "seat"
        # a seat-memory slot means nothing in another car
        assert identify_driver(session, key, "veh_tipo", seat=2) is None
        assert identify_driver(session, key, "veh_ram", phone="+390000000000") is None
        # Ben's key, Anna's phone: the phone decides, the key is reported
        both = identify_driver(session, key, "veh_ram", phone=PHONE, key_fob="fob-ben-0001")
        assert both is not None and both.subject_id == ANNA and both.others == (BEN,)


def test_no_raw_identifier_is_stored(migrated_url: str, key: IdentifierKey, tmp_path: Path) -> None:
    with session_scope(migrated_url) as session:
        _setup(session)
        enrol_identifier(session, key, ANNA, "phone", PHONE, label="phone")
        enrol_identifier(session, key, ANNA, "key", FOB)
        enrol_identifier(session, key, ANNA, "phone", "a4:c3:f0:11:22:33")
    with session_scope(migrated_url) as session:
        rows = session.execute(text("SELECT * FROM driver_identifiers")).all()
    assert len(rows) == 3
    stored = " ".join(repr(v) for row in rows for v in row).upper()
    for raw in ("3331234567", "333 123", "7Q2X", "A4:C3", "A4C3F0"):
        assert raw not in stored
    digests = [row._mapping["digest"] for row in rows]
    assert all(len(bytes(d)) == 32 for d in digests)
    # keyed: another data directory's key gives another digest for the same phone
    other = IdentifierKey.load_or_create(tmp_path / "other")
    assert other.digest("phone", PHONE) != key.digest("phone", PHONE)
    assert key.digest("phone", PHONE) in {bytes(d) for d in digests}
    if migrated_url.startswith("sqlite"):
        database = Path(migrated_url.removeprefix("sqlite:///"))
        assert b"3331234567" not in database.read_bytes()


def test_an_identifier_belongs_to_one_driver_and_bad_ones_are_refused(
    migrated_url: str, key: IdentifierKey
) -> None:
    with session_scope(migrated_url) as session:
        _setup(session)
        first = enrol_identifier(session, key, ANNA, "phone", PHONE)
        assert enrol_identifier(session, key, ANNA, "phone", "+393331234567") == first
        with pytest.raises(InputError, match="already enrolled for another driver"):
            enrol_identifier(session, key, BEN, "phone", PHONE)
        with pytest.raises(InputError, match="Bluetooth address nor a phone number"):
            enrol_identifier(session, key, BEN, "phone", "call me")
        with pytest.raises(InputError, match="only in its own vehicle"):
            enrol_identifier(session, key, BEN, "seat", 1)
        with pytest.raises(InputError, match="seat-memory slot"):
            enrol_identifier(session, key, BEN, "seat", 12, vehicle_id="veh_ram")


# --- consent -----------------------------------------------------------------------------


def test_without_consent_nothing_is_stored_and_the_reason_is_given(migrated_url: str) -> None:
    ram = _car("veh_ram")
    with session_scope(migrated_url) as session:
        _setup(session, consent=("cabin",))
        result = record_event(
            session, BEN, ram, "climate_temperature", 22.0, target="Row1.Driver", at=T0
        )
        assert not result.stored and result.event_id is None
        assert result.reason is not None and "personalisation" in result.reason
        assert result.hint is not None and "give_consent" in result.hint
        # Anna consented to cabin data only: her destinations are not stored
        trip = record_event(
            session, ANNA, ram, "destination", "Work", latitude=45.1, longitude=7.6, at=T0
        )
        assert not trip.stored and trip.reason is not None and "location" in trip.reason
        # before her consent took effect, nothing of hers is stored either
        early = record_event(session, ANNA, ram, "volume", 30, at=T0 - timedelta(hours=1))
        assert not early.stored
        assert record_event(session, ANNA, ram, "volume", 30, at=T0).stored
        assert _count(session, PreferenceEventRow, BEN) == 0
        assert _count(session, PreferenceEventRow, ANNA) == 1
        nothing = learn(session, BEN, at=NOW)
        assert nothing.empty and nothing.reasons
        assert settings_for(ram, nothing).writes == ()  # no consent: the car is left alone
        # a bad value is the caller's error, not a consent question
        with pytest.raises(InputError, match="outside"):
            record_event(session, ANNA, ram, "volume", 130, at=T0)
        with pytest.raises(InputError, match="target"):
            record_event(session, ANNA, ram, "climate_temperature", 21.0, target="Row3", at=T0)


# --- learning ---------------------------------------------------------------------------


def _seed(session: Session, rng: random.Random) -> dict[str, list[float]]:
    """Events of Anna in the Ram: returns what was set, per setting."""
    ram = _car("veh_ram")
    seen: dict[str, list[float]] = {"driver": [], "passenger": [], "heat": [], "volume": []}
    for day in range(30):
        at = T0 + timedelta(days=day, hours=1)
        driver = rng.choice([20.5, 21.0, 21.0, 21.5, 22.0, 27.5])
        passenger = rng.choice([19.0, 19.5, 20.0])
        heat = rng.choice([0, 30, 30, 60])
        volume = rng.randint(20, 40)
        record_event(session, ANNA, ram, "climate_temperature", driver, target="Row1.Driver", at=at)
        record_event(
            session, ANNA, ram, "climate_temperature", passenger, target="Row1.Passenger", at=at
        )
        record_event(session, ANNA, ram, "seat_heating", heat, target="DriverSide", at=at)
        record_event(session, ANNA, ram, "volume", volume, at=at)
        seen["driver"].append(driver)
        seen["passenger"].append(passenger)
        seen["heat"].append(heat)
        seen["volume"].append(volume)
    return seen


def test_learning_gives_the_medians_modes_and_favourites_of_the_history(
    migrated_url: str,
) -> None:
    rng = random.Random(11)
    ram = _car("veh_ram")
    with session_scope(migrated_url) as session:
        _setup(session)
        seen = _seed(session, rng)
        # jazz: many plays long ago; techno: fewer, recent; polka: too few to count
        plays = [("jazz", 35 - d) for d in range(6)] + [("techno", d) for d in (1, 2, 3, 4)]
        plays += [("polka", 1), ("polka", 2)]
        for genre, days_ago in plays:
            record_event(
                session, ANNA, ram, "media_genre", genre, at=NOW - timedelta(days=days_ago)
            )
        prefs = learn(session, ANNA, at=NOW)

    driver = prefs.setting("climate_temperature", "Row1.Driver")
    assert driver is not None and driver.events == 30
    assert driver.value == statistics.median(seen["driver"])
    expected_mad = statistics.median(abs(v - driver.value) for v in seen["driver"])
    assert driver.spread == pytest.approx(expected_mad)
    passenger = prefs.setting("climate_temperature", "Row1.Passenger")
    assert passenger is not None and passenger.value == statistics.median(seen["passenger"])
    heat = prefs.setting("seat_heating", "DriverSide")
    counts = Counter(seen["heat"])
    assert heat is not None and counts[heat.value] == max(counts.values())
    assert heat.events == 30
    volume = prefs.setting("volume")
    assert volume is not None and volume.value == statistics.median(seen["volume"])

    def score(genre: str) -> float:
        ages = [timedelta(days=d) for g, d in plays if g == genre]
        return sum(0.5 ** (age / FAVOURITE_HALF_LIFE) for age in ages)

    genres = [f for f in prefs.favourites if f.kind == "media_genre"]
    assert [f.name for f in genres] == sorted(("jazz", "techno"), key=lambda g: -score(g))
    assert genres[0].name == "techno"  # recency beats the older, larger count
    assert [f.events for f in genres] == [4, 6]
    assert genres[0].score == pytest.approx(score("techno"), rel=1e-6)


def test_withdrawal_stops_learning_and_a_new_consent_does_not_revive_old_events(
    migrated_url: str,
) -> None:
    with session_scope(migrated_url) as session:
        _setup(session)
        _seed(session, random.Random(3))
        assert not learn(session, ANNA, at=NOW).empty
        assert _count(session, LearnedPreferenceRow) > 0
        withdraw_consent(session, ANNA, "personalisation", ("cabin", "location"), at=NOW)
        after = learn(session, ANNA, at=NOW + timedelta(minutes=1))
        assert after.empty and len(after.reasons) == 2
        assert _count(session, LearnedPreferenceRow) == 0
        # recording stops too
        late = record_event(session, ANNA, _car("veh_ram"), "volume", 25)
        assert not late.stored
        again = NOW + timedelta(days=1)
        give_consent(session, ANNA, "personalisation", "cabin", notice_version="2026-04", at=again)
        assert learn(session, ANNA, at=again + timedelta(hours=1)).empty
        # withdraw_personalisation deletes the events the old consent allowed
        assert _count(session, PreferenceEventRow) == 120
        assert withdraw_personalisation(session, ANNA, at=again + timedelta(hours=2)) == 120
        assert _count(session, PreferenceEventRow) == 0


# --- another vehicle --------------------------------------------------------------------


def test_a_profile_in_another_model_skips_what_that_car_lacks(migrated_url: str) -> None:
    ram, tesla = _car("veh_ram"), _car("veh_tesla")
    with session_scope(migrated_url) as session:
        _setup(session)
        for day in range(5):
            at = T0 + timedelta(days=day)
            record_event(
                session, ANNA, ram, "climate_temperature", 22.5, target="Row1.Driver", at=at
            )
            record_event(
                session, ANNA, ram, "climate_temperature", 23.5, target="Row2.Driver", at=at
            )
            record_event(session, ANNA, ram, "seat_heating", 60, target="DriverSide", at=at)
            record_event(session, ANNA, ram, "seat_position", 240, target="DriverSide", at=at)
            # 15 °C is within the Tesla's range, not the Tipo's
            record_event(
                session, ANNA, tesla, "climate_temperature", 15.0, target="Row1.Passenger", at=at
            )
        prefs = learn(session, ANNA, at=NOW)

    tipo = _car("veh_tipo")
    before = dict(tipo.values)
    plan = settings_for(tipo, prefs)
    writes = {w.path: w.value for w in plan.writes}
    skipped = {s.path: s.reason for s in plan.skipped}
    assert writes == {ZONE_TEMP.format("Row1.Driver"): 22.5}
    assert skipped == {
        ZONE_TEMP.format("Row2.Driver"): "this car has no climate zone for the rear driver side",
        ZONE_TEMP.format("Row1.Passenger"): "the climate control takes 16 to 28 °C",
        "Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling": "this car has no seat heating",
        "Vehicle.Cabin.Seat.Row1.DriverSide.Position": (
            "this car has no seat memory to move the seat to your position"
        ),
    }
    plan.apply(tipo)
    changed = {p for p in tipo.values if tipo.values[p] != before.get(p)}
    assert changed == set(writes)  # nothing skipped was clamped or half-applied
    assert tipo.values[ZONE_TEMP.format("Row1.Passenger")] == 21.0

    # a car with seat memory, but another model: the seat is not moved either
    peugeot = SimulatedVehicle.parked("veh_308", "peugeot-308")
    seat = "Vehicle.Cabin.Seat.Row1.DriverSide.Position"
    assert (
        "learned in a ram-1500"
        in {s.path: s.reason for s in settings_for(peugeot, prefs).skipped}[seat]
    )
    home = settings_for(_car("veh_ram"), prefs)
    assert {w.path: w.value for w in home.writes}[seat] == 240
    ram.drive(50.0)
    assert "moving" in {s.path: s.reason for s in settings_for(ram, prefs).skipped}[seat]


# --- households -------------------------------------------------------------------------


def test_a_household_shares_vehicles_and_places(migrated_url: str) -> None:
    with session_scope(migrated_url) as session:
        _setup(session)
        register_subject(session, "drv-cleo", kind="driver", display_name="Cleo", region="eu")
        house = create_household(session, ANNA, "The Rossis", household_id="hh-rossi", at=T0)
        join_household(session, "hh-rossi", BEN, added_by=ANNA, at=T0 + timedelta(days=1))
        with pytest.raises(PolicyDenied, match="not an owner"):
            join_household(session, "hh-rossi", "drv-cleo", added_by=BEN)
        with pytest.raises(PolicyDenied, match="not an owner"):
            share_vehicle(session, "hh-rossi", "veh_ram", by=BEN)
        share_vehicle(session, "hh-rossi", "veh_ram", by=ANNA)
        share_place(session, "hh-rossi", "Home", 45.07, 7.69, by=BEN)
        with pytest.raises(PolicyDenied, match="not a member"):
            share_place(session, "hh-rossi", "Office", 45.0, 7.0, by="drv-cleo")
        assert shared_vehicles(session, BEN) == ["veh_ram"]
        house = get_household(session, "hh-rossi")
        assert [(m.subject_id, m.role) for m in house.members] == [(ANNA, "owner"), (BEN, "member")]
        # Anna names "home" without coordinates: the household's place is used
        trip = record_event(session, ANNA, _car("veh_tipo"), "destination", "home", at=T0)
        assert trip.stored
        row = session.get(PreferenceEventRow, trip.event_id)
        assert row is not None and (row.latitude, row.longitude) == (45.07, 7.69)
        with pytest.raises(InputError, match="no position"):
            record_event(session, ANNA, _car("veh_tipo"), "destination", "gym", at=T0)
        # the owner leaves: the longest-standing member runs the household
        after = leave_household(session, "hh-rossi", ANNA)
        assert after is not None and after.owners == (BEN,)
        assert households_of(session, ANNA) == []
        assert leave_household(session, "hh-rossi", BEN) is None
        assert session.get(HouseholdRow, "hh-rossi") is None
        assert session.scalar(select(func.count()).select_from(HouseholdPlaceRow)) == 0


# --- erasure and access -----------------------------------------------------------------


def test_erasure_leaves_no_row_of_the_driver_in_any_profile_table(
    migrated_url: str, key: IdentifierKey, tmp_path: Path
) -> None:
    lake = Lake(tmp_path / "lake")
    with session_scope(migrated_url) as session:
        _setup(session)
        enrol_identifier(session, key, ANNA, "phone", PHONE)
        enrol_identifier(session, key, ANNA, "seat", 1, vehicle_id="veh_ram")
        enrol_identifier(session, key, BEN, "key", "FOB-BEN-0001")
        _seed(session, random.Random(5))
        record_event(
            session,
            ANNA,
            _car("veh_ram"),
            "destination",
            "Work",
            latitude=45.1,
            longitude=7.6,
            at=T0,
        )
        learn(session, ANNA, at=NOW)
        create_household(session, ANNA, "Anna alone", household_id="hh-anna")
        share_place(session, "hh-anna", "home", 45.0, 7.0, by=ANNA)
        share_vehicle(session, "hh-anna", "veh_tipo", by=ANNA)
        create_household(session, ANNA, "Shared", household_id="hh-shared")
        join_household(session, "hh-shared", BEN, added_by=ANNA)
        share_place(session, "hh-shared", "school", 45.2, 7.2, by=ANNA)
        tables = (DriverIdentifierRow, HouseholdMemberRow, PreferenceEventRow, LearnedPreferenceRow)
        assert all(_count(session, t) > 0 for t in tables)  # the test is not vacuous

    with session_scope(migrated_url) as session:
        erase_subject(session, lake, ANNA)
        compact_state(session)

    with session_scope(migrated_url) as session:
        for table in tables:
            assert _count(session, table) == 0, table.__tablename__
        assert session.get(HouseholdRow, "hh-anna") is None  # nobody left to share it with
        for model in (HouseholdPlaceRow, HouseholdVehicleRow):
            column = model.__table__.c.household_id
            assert session.scalar(select(func.count()).where(column == "hh-anna")) == 0
        shared = get_household(session, "hh-shared")
        assert [m.subject_id for m in shared.members] == [BEN]
        place = session.get(HouseholdPlaceRow, ("hh-shared", "school"))
        assert place is not None and place.added_by is None
        assert _count(session, DriverIdentifierRow, BEN) == 1  # others keep theirs
        assert identify_driver(session, key, "veh_ram", phone=PHONE) is None
    if migrated_url.startswith("sqlite"):
        assert ANNA.encode() not in Path(migrated_url.removeprefix("sqlite:///")).read_bytes()


def test_the_access_export_holds_the_profile(
    migrated_url: str, key: IdentifierKey, tmp_path: Path
) -> None:
    out = tmp_path / "export.zip"
    with session_scope(migrated_url) as session:
        _setup(session)
        enrol_identifier(session, key, ANNA, "phone", PHONE)
        record_event(session, ANNA, _car("veh_ram"), "volume", 33, at=T0)
        create_household(session, ANNA, "The Rossis", household_id="hh-rossi")
        share_place(session, "hh-rossi", "home", 45.0, 7.0, by=ANNA)
        export_subject(
            session, Lake(tmp_path / "lake"), ANNA, out, Keyring.load_or_create(tmp_path)
        )
    with zipfile.ZipFile(out) as archive:
        raw = archive.read("subject.json")
    profile = json.loads(raw)["cockpit_profile"]
    assert [e["number"] for e in profile["preference_events"]] == [33.0]
    assert [i["kind"] for i in profile["driver_identifiers"]] == ["phone"]
    assert [p["name"] for p in profile["household_places"]] == ["home"]
    assert [m["role"] for m in profile["household_members"]] == ["owner"]
    assert b"3331234567" not in raw
