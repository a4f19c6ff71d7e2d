"""The slot calendar of a workshop: when a job fits, and the bookings that fill its bays.

A job of a workshop starts on the hour grid from opening time (:data:`SLOT_STEP`),
must end by closing time the same day, and needs a free bay for its whole
length. Bookings occupy bays; they live in a :class:`BookingStore` —
:class:`InMemoryBookingStore` (in-process, thread-safe, lost on restart) is the
embedded default, :class:`~drivetrain.health.booking_file.JsonFileBookingStore`
keeps them in a JSON file of the data directory, and any other persistent store
only has to implement the three methods of the protocol, the capacity check in
``reserve`` atomically. All times are UTC.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from drivetrain.errors import InputError, NotFound
from drivetrain.health.workshops import Workshop

SLOT_STEP = timedelta(hours=1)


class SlotUnavailable(InputError):
    """The slot cannot be booked: in the past, outside opening hours, or every bay taken."""

    code = "slot-unavailable"


class SlotTaken(SlotUnavailable):
    """Every bay of the workshop is booked at some time of the slot (someone was quicker)."""

    code = "slot-taken"


def slot_taken(booking: Booking, bays: int) -> SlotTaken:
    """The refusal a store's ``reserve`` raises when ``bays`` bookings overlap ``booking``."""
    return SlotTaken(
        f"workshop {booking.workshop_id}: all {bays} bays are taken at some time "
        f"between {booking.start:%Y-%m-%d %H:%M} and {booking.end:%H:%M} UTC",
        hint="ask for the maintenance suggestions again for free slots",
    )


@dataclass(frozen=True, slots=True)
class Booking:
    """A bay of a workshop reserved for a vehicle's job over ``[start, end)`` (UTC)."""

    booking_id: str
    workshop_id: str
    vehicle_id: str
    job_id: str
    start: datetime
    end: datetime
    suggestion_id: str | None = None  # the maintenance suggestion it was booked from

    def to_dict(self) -> dict[str, Any]:
        return {
            "booking_id": self.booking_id,
            "workshop_id": self.workshop_id,
            "vehicle_id": self.vehicle_id,
            "job_id": self.job_id,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "suggestion_id": self.suggestion_id,
        }

    @classmethod
    def from_dict(cls, record: Mapping[str, Any], where: str) -> Booking:
        """A booking from :meth:`to_dict`'s shape; ``where`` names it in errors."""
        try:
            start = datetime.fromisoformat(str(record["start"]))
            end = datetime.fromisoformat(str(record["end"]))
            if start.tzinfo is None or end.tzinfo is None or end <= start:
                raise ValueError("start and end must be aware times, start before end")
            return cls(
                str(record["booking_id"]),
                str(record["workshop_id"]),
                str(record["vehicle_id"]),
                str(record["job_id"]),
                start.astimezone(UTC),
                end.astimezone(UTC),
                None if record.get("suggestion_id") is None else str(record["suggestion_id"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{where}: not a booking ({exc})") from None


class BookingStore(Protocol):
    """Where bookings live. ``reserve`` checks capacity and adds in one atomic step."""

    def overlapping(self, workshop_id: str, start: datetime, end: datetime) -> list[Booking]:
        """The workshop's bookings that overlap ``[start, end)``."""
        ...

    def reserve(self, booking: Booking, bays: int) -> Booking:
        """Add ``booking`` unless ``bays`` bookings already overlap at some instant of it
        (then :class:`SlotTaken`, best made by :func:`slot_taken`)."""
        ...

    def cancel(self, booking_id: str) -> Booking:
        """Remove a booking (``NotFound`` if there is none with that id)."""
        ...


def peak_occupancy(bookings: Sequence[Booking], start: datetime, end: datetime) -> int:
    """The most bookings that overlap any instant of ``[start, end)``."""
    inside = [b for b in bookings if b.start < end and start < b.end]
    # the count only rises at a booking's start, so the peak is at one of them (or at start)
    moments = [start, *(b.start for b in inside if b.start > start)]
    return max((sum(b.start <= t < b.end for b in inside) for t in moments), default=0)


class InMemoryBookingStore:
    """Bookings in this process's memory (the embedded default; gone on restart)."""

    def __init__(self, bookings: Sequence[Booking] = ()) -> None:
        self._lock = threading.Lock()
        self._by_workshop: dict[str, list[Booking]] = {}
        for b in bookings:
            self._by_workshop.setdefault(b.workshop_id, []).append(b)

    def __iter__(self) -> Iterator[Booking]:
        with self._lock:
            everything = [b for bs in self._by_workshop.values() for b in bs]
        return iter(sorted(everything, key=lambda b: (b.start, b.workshop_id, b.booking_id)))

    def overlapping(self, workshop_id: str, start: datetime, end: datetime) -> list[Booking]:
        with self._lock:
            return [
                b for b in self._by_workshop.get(workshop_id, []) if b.start < end and start < b.end
            ]

    def reserve(self, booking: Booking, bays: int) -> Booking:
        with self._lock:
            mine = self._by_workshop.setdefault(booking.workshop_id, [])
            if peak_occupancy(mine, booking.start, booking.end) >= bays:
                raise slot_taken(booking, bays)
            mine.append(booking)
            return booking

    def cancel(self, booking_id: str) -> Booking:
        with self._lock:
            for bookings in self._by_workshop.values():
                for b in bookings:
                    if b.booking_id == booking_id:
                        bookings.remove(b)
                        return b
        raise NotFound(f"no booking {booking_id!r}", hint="bookings are named bkg-<hex>")


def free_starts(
    workshop: Workshop,
    store: BookingStore,
    day: date,
    duration: timedelta,
    not_before: datetime,
) -> list[datetime]:
    """Starts (UTC) on local ``day`` at which a job of ``duration`` finds a free bay."""
    opening = workshop.opening(day)
    if opening is None:
        return []
    opens, closes = opening
    booked = store.overlapping(workshop.workshop_id, opens, closes)
    starts: list[datetime] = []
    start = opens
    while start + duration <= closes:
        if start >= not_before and peak_occupancy(booked, start, start + duration) < workshop.bays:
            starts.append(start)
        start += SLOT_STEP
    return starts


def reserve_slot(
    workshop: Workshop,
    store: BookingStore,
    start: datetime,
    duration: timedelta,
    *,
    vehicle_id: str,
    job_id: str,
    now: datetime,
    suggestion_id: str | None = None,
) -> Booking:
    """Book a bay of ``workshop`` from ``start`` (aware) for ``duration``.

    :class:`SlotUnavailable` if the start is past, off the slot grid or outside
    opening hours; :class:`SlotTaken` (a kind of it) if every bay is taken at some
    time of it.
    """
    if start.tzinfo is None:
        raise InputError(
            f"slot start {start.isoformat()} has no time zone", hint="give UTC, e.g. …T08:00:00Z"
        )
    try:
        start, end = start.astimezone(UTC), start.astimezone(UTC) + duration
    except OverflowError:
        raise SlotUnavailable(
            f"slot start {start.isoformat()} is out of the calendar's range",
            hint="pick one of the slots offered by the latest suggestions",
        ) from None
    if start < now:
        raise SlotUnavailable(
            f"the slot at {start:%Y-%m-%d %H:%M} UTC is in the past (now {now:%Y-%m-%d %H:%M})",
            hint="pick one of the slots offered by the latest suggestions",
        )
    opening = workshop.opening(workshop.local_day(start))
    if opening is None or not opening[0] <= start < end <= opening[1]:
        hours = "closed that day" if opening is None else (
            f"open {opening[0]:%H:%M}-{opening[1]:%H:%M} UTC that day"
        )  # fmt: skip
        raise SlotUnavailable(
            f"workshop {workshop.workshop_id} cannot take a {duration / timedelta(hours=1):g} h job at "
            f"{start:%Y-%m-%d %H:%M} UTC: {hours}",
            hint="a job must start and end within the opening hours of one day",
        )
    if (start - opening[0]) % SLOT_STEP:
        raise SlotUnavailable(
            f"{start:%H:%M} UTC is not a slot start of workshop {workshop.workshop_id}",
            hint=f"slots start every {SLOT_STEP} from opening time",
        )
    booking = Booking(
        f"bkg-{uuid.uuid4().hex[:16]}",
        workshop.workshop_id,
        vehicle_id,
        job_id,
        start,
        end,
        suggestion_id,
    )
    return store.reserve(booking, workshop.bays)
