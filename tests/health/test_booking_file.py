"""The JSON-file booking store: it persists, it refuses a full slot, concurrent bookings cannot
take the last bay twice, and a failed write leaves the old file."""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivetrain.errors import NotFound, StorageError
from drivetrain.health.booking_file import JsonFileBookingStore, bookings_path
from drivetrain.health.service_booking import VehicleHealth, book_slot, suggest_maintenance
from drivetrain.health.workshop_calendar import Booking, SlotTaken, SlotUnavailable
from drivetrain.health.workshops import workshop_network_from_dict

from .test_service_booking import CAR, FRIDAY, TODAY, utc, wear_rows

NINE = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # Monday 9 March 2026, 09:00 in Paris


def booking(n: int, start: datetime = NINE, hours: int = 2, workshop: str = "w1") -> Booking:
    return Booking(
        f"bkg-{n:016x}", workshop, f"veh_{n}", "brake_pads_worn", start,
        start + timedelta(hours=hours), suggestion_id=f"out-{n:032x}",
    )  # fmt: skip


def test_bookings_persist_and_cancel_across_store_instances(tmp_path: Path) -> None:
    path = bookings_path(tmp_path)
    assert path == tmp_path / "bookings.json" and list(JsonFileBookingStore(path)) == []
    first, second = booking(1), booking(2, NINE + timedelta(days=1), workshop="w2")
    JsonFileBookingStore(path).reserve(second, bays=1)
    JsonFileBookingStore(path).reserve(first, bays=1)
    reopened = JsonFileBookingStore(path)
    assert list(reopened) == [first, second]  # earliest first, every field back as it was
    assert reopened.of_vehicle("veh_2") == [second]
    assert reopened.overlapping("w1", NINE + timedelta(hours=1), NINE + timedelta(hours=5)) == [
        first
    ]
    assert reopened.overlapping("w1", NINE + timedelta(hours=2), NINE + timedelta(hours=3)) == []
    document = json.loads(path.read_text(encoding="utf-8"))
    assert [b["booking_id"] for b in document["bookings"]] == [second.booking_id, first.booking_id]
    assert JsonFileBookingStore(path).cancel(first.booking_id) == first
    assert list(JsonFileBookingStore(path)) == [second]
    with pytest.raises(NotFound, match="no booking 'bkg-nope'"):
        reopened.cancel("bkg-nope")
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".bookings.json.*"))


def test_a_store_sees_what_another_instance_wrote_since(tmp_path: Path) -> None:
    reader, writer = (
        JsonFileBookingStore(tmp_path / "b.json"),
        JsonFileBookingStore(tmp_path / "b.json"),
    )
    assert reader.overlapping("w1", NINE, NINE + timedelta(hours=2)) == []
    writer.reserve(booking(1), bays=1)
    assert reader.overlapping("w1", NINE, NINE + timedelta(hours=2)) == [booking(1)]
    writer.cancel(booking(1).booking_id)
    assert reader.overlapping("w1", NINE, NINE + timedelta(hours=2)) == []


def test_reserve_refuses_a_slot_whose_bays_are_all_taken(tmp_path: Path) -> None:
    store = JsonFileBookingStore(tmp_path / "b.json")
    store.reserve(booking(1), bays=2)
    store.reserve(booking(2, NINE + timedelta(hours=1)), bays=2)  # overlaps 1 from 10:00
    store.reserve(booking(3, NINE + timedelta(hours=2)), bays=2)  # 1 has ended: 2 and 3
    with pytest.raises(SlotTaken, match="all 2 bays are taken") as refused:
        store.reserve(booking(4, NINE + timedelta(hours=1)), bays=2)
    assert isinstance(refused.value, SlotUnavailable) and refused.value.code == "slot-taken"
    store.reserve(booking(5, NINE + timedelta(hours=1), workshop="w2"), bays=1)  # other workshop
    assert [b.booking_id for b in JsonFileBookingStore(store.path)] == [
        booking(n).booking_id for n in (1, 2, 5, 3)
    ]


class SlowReader(JsonFileBookingStore):
    """Waits between reading the bookings and deciding: a race without the lock."""

    def _read(self) -> list[Booking]:
        found = super()._read()
        time.sleep(0.05)
        return found


def race(path: Path, first: Booking, second: Booking) -> list[str]:
    """Two threads, each with its own store, reserve the one bay at the same moment."""
    barrier, outcomes, lock = threading.Barrier(2), [], threading.Lock()

    def attempt(b: Booking) -> None:
        store = SlowReader(path)  # an instance each, as two processes would have
        barrier.wait()
        try:
            store.reserve(b, bays=1)
            result = "booked"
        except SlotTaken:
            result = "taken"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(b,)) for b in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return sorted(outcomes)


def test_two_threads_cannot_book_the_last_bay_twice(tmp_path: Path) -> None:
    path, rounds = tmp_path / "bookings.json", 5
    for r in range(rounds):
        start = NINE + timedelta(days=r)
        first, second = booking(10 * r + 1, start), booking(10 * r + 2, start + timedelta(hours=1))
        assert race(path, first, second) == ["booked", "taken"], r
    on_file = list(JsonFileBookingStore(path))
    assert len(on_file) == rounds
    assert len({b.start.date() for b in on_file}) == rounds  # one booking per day's slot


def test_many_threads_fill_exactly_the_bays(tmp_path: Path) -> None:
    path, bays = tmp_path / "bookings.json", 3
    taken: list[int] = []
    barrier = threading.Barrier(8)

    def attempt(n: int) -> None:
        store = JsonFileBookingStore(path)
        barrier.wait()
        try:
            store.reserve(booking(n), bays=bays)
        except SlotTaken:
            taken.append(n)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(taken) == 8 - bays and len(list(JsonFileBookingStore(path))) == bays


def test_a_failed_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bookings.json"
    store = JsonFileBookingStore(path)
    store.reserve(booking(1), bays=1)
    before = path.read_bytes()

    def full_disk(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(StorageError, match=r"cannot write .*No space left"):
        store.reserve(booking(2, NINE + timedelta(days=1)), bays=1)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bookings.json", "bookings.json.lock"]
    assert list(JsonFileBookingStore(path)) == [booking(1)]


def test_a_held_lock_times_out_with_a_storage_error(tmp_path: Path) -> None:
    store = JsonFileBookingStore(tmp_path / "bookings.json", lock_timeout_s=0.1)
    with open(store.lock_path, "w") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(StorageError, match="stayed locked"):
            store.reserve(booking(1), bays=1)
    store.reserve(booking(1), bays=1)  # released: it goes through
    assert len(list(store)) == 1


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"bookings": [', r"bookings\.json:1: the bookings file is not valid JSON"),
        ('["not", "an", "object"]', r'expected \{"bookings"'),
        ('{"bookings": [{"booking_id": "bkg-1"}]}', r"bookings\[0\]: not a booking"),
        (
            (
                '{"bookings": [{"booking_id": "b", "workshop_id": "w", "vehicle_id": "v", '
                '"job_id": "j", "start": "2026-03-09T08:00:00", "end": "2026-03-09T10:00:00"}]}'
            ),
            "aware times",
        ),
    ],
)
def test_a_damaged_file_is_a_storage_error_naming_it(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bookings.json"
    path.write_text(text, encoding="utf-8")
    store = JsonFileBookingStore(path)
    with pytest.raises(StorageError, match=match):
        store.overlapping("w", NINE, NINE + timedelta(hours=1))
    with pytest.raises(StorageError, match=match):
        store.reserve(booking(1), bays=1)
    assert path.read_text(encoding="utf-8") == text  # refused, not overwritten


def test_suggestions_skip_slots_booked_in_the_file_by_an_earlier_run(tmp_path: Path) -> None:
    network = workshop_network_from_dict(
        {
            "name": "one-bay",
            "workshops": [{
                "workshop_id": "solo", "name": "Solo Garage", "market": "FR", "lat": 48.86,
                "lon": 2.35, "timezone": "Europe/Paris", "bays": 1, "capabilities": ["brakes"],
                "hours": {d: "08:00-12:00" for d in ("mon", "tue", "wed", "thu", "fri")},
            }],
        },
        "test",
    )  # fmt: skip
    health = VehicleHealth("veh_test", wear_rows({"item": "brake_pads_front", "status": "trend",
                           "days_left": 30.0, "days_left_low": 25.0, "as_of": TODAY}))  # fmt: skip
    monday = TODAY + timedelta(days=3)

    def first_slot() -> datetime:
        plan = suggest_maintenance(
            CAR, health, network=network, store=JsonFileBookingStore(tmp_path / "bookings.json"),
            now=FRIDAY, slots=1,
        )  # fmt: skip
        return plan.suggestions[0].slots[0].start

    assert first_slot() == utc(monday, 7)  # Friday 11:30 is too late for a 2 h job
    book_slot(network, JsonFileBookingStore(tmp_path / "bookings.json"), workshop_id="solo",
              start=utc(monday, 7), job_id="brake_pads_worn", vehicle_id="veh_test",
              now=FRIDAY)  # fmt: skip
    assert first_slot() == utc(monday, 9)  # 08:00-10:00 local is taken; 10:00-12:00 is free
    with pytest.raises(SlotTaken):
        book_slot(network, JsonFileBookingStore(tmp_path / "bookings.json"), workshop_id="solo",
                  start=utc(monday, 8), job_id="brake_pads_worn", vehicle_id="veh_other",
                  now=FRIDAY)  # fmt: skip
