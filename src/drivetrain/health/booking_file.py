"""Workshop bookings in a JSON file: the persistent :class:`BookingStore` of a data directory.

The CLI and the API keep their bookings in ``DATA_DIR/bookings.json``
(:func:`bookings_path`) so a slot booked by one run is taken for the next::

    {"bookings": [{"booking_id": "bkg-…", "workshop_id": "fr-dealer-1",
                   "vehicle_id": "veh_…", "job_id": "brake_pads_worn",
                   "start": "2026-03-09T07:00:00+00:00", "end": "…", "suggestion_id": "out-…"}]}

A change (:meth:`JsonFileBookingStore.reserve`, :meth:`~JsonFileBookingStore.cancel`)
holds an exclusive lock on the sidecar file ``bookings.json.lock`` (``flock``: other
threads and processes wait, and a crashed holder releases it), re-reads the
file, checks capacity and writes the whole file to a temporary file in the same
directory that then replaces it (``os.replace``). So two bookings cannot take
the last bay twice, a reader sees the old or the new file but never half of
one, and a failed write leaves the old file. Reads take no lock.

Meant for one deployment's CLI and API server (thousands of bookings); a
dealer management system or a state table implements the same protocol for more.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from drivetrain.errors import InputError, NotFound, StorageError
from drivetrain.health.workshop_calendar import Booking, peak_occupancy, slot_taken

BOOKINGS_FILE = "bookings.json"
LOCK_TIMEOUT_S = 10.0


def bookings_path(data_dir: Path) -> Path:
    """Where a data directory keeps its workshop bookings."""
    return Path(data_dir) / BOOKINGS_FILE


class JsonFileBookingStore:
    """Bookings in a JSON file, safe for concurrent threads and processes (see the module)."""

    def __init__(self, path: Path, *, lock_timeout_s: float = LOCK_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.lock_timeout_s = lock_timeout_s
        self._cache_lock = threading.Lock()
        self._cache: tuple[tuple[int, int, int], list[Booking]] | None = None

    # -- reading ----------------------------------------------------------------------

    def __iter__(self) -> Iterator[Booking]:
        return iter(sorted(self._current(), key=lambda b: (b.start, b.workshop_id, b.booking_id)))

    def of_vehicle(self, vehicle_id: str) -> list[Booking]:
        """The vehicle's bookings, earliest first."""
        return [b for b in self if b.vehicle_id == vehicle_id]

    def overlapping(self, workshop_id: str, start: datetime, end: datetime) -> list[Booking]:
        return [
            b
            for b in self._current()
            if b.workshop_id == workshop_id and b.start < end and start < b.end
        ]

    # -- changing ---------------------------------------------------------------------

    def reserve(self, booking: Booking, bays: int) -> Booking:
        with self._locked():
            bookings = self._read()
            if any(b.booking_id == booking.booking_id for b in bookings):
                raise InputError(f"{self.path}: there is a booking {booking.booking_id} already")
            mine = [b for b in bookings if b.workshop_id == booking.workshop_id]
            if peak_occupancy(mine, booking.start, booking.end) >= bays:
                raise slot_taken(booking, bays)
            self._write([*bookings, booking])
        return booking

    def cancel(self, booking_id: str) -> Booking:
        with self._locked():
            bookings = self._read()
            found = next((b for b in bookings if b.booking_id == booking_id), None)
            if found is None:
                raise NotFound(
                    f"no booking {booking_id!r} in {self.path}", hint="bookings are named bkg-<hex>"
                )
            self._write([b for b in bookings if b.booking_id != booking_id])
        return found

    # -- the file ---------------------------------------------------------------------

    def _current(self) -> list[Booking]:
        """The bookings on file, re-parsed only when the file was replaced."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StorageError(f"cannot read {self.path}: {exc.strerror}") from exc
        # os.replace gives every version a new inode, so this changes on each write
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._cache_lock:
            if self._cache is not None and self._cache[0] == stamp:
                return self._cache[1]
        bookings = self._read()
        with self._cache_lock:
            self._cache = (stamp, bookings)
        return bookings

    def _read(self) -> list[Booking]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StorageError(f"cannot read {self.path}: {exc.strerror}") from exc
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StorageError(
                f"{self.path}:{exc.lineno}: the bookings file is not valid JSON ({exc.msg})",
                hint="restore it from a backup; it is only ever replaced whole",
            ) from None
        records = document.get("bookings") if isinstance(document, dict) else None
        if not isinstance(records, list):
            raise StorageError(f'{self.path}: expected {{"bookings": [...]}}')
        try:
            return [
                Booking.from_dict(r if isinstance(r, dict) else {}, f"{self.path}: bookings[{i}]")
                for i, r in enumerate(records)
            ]
        except InputError as exc:
            raise StorageError(exc.message, hint="restore the file from a backup") from None

    def _write(self, bookings: list[Booking]) -> None:
        document: dict[str, Any] = {"bookings": [b.to_dict() for b in bookings]}
        fd, tmp = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(document, out, indent=1)
                out.write("\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise StorageError(f"cannot write {self.path}: {exc.strerror}") from exc
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the exclusive lock of the file (waiting up to ``lock_timeout_s``)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StorageError(f"cannot open {self.lock_path}: {exc.strerror}") from exc
        try:
            deadline = time.monotonic() + self.lock_timeout_s
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise StorageError(
                            f"{self.lock_path} stayed locked for {self.lock_timeout_s:g} s",
                            hint="another booking is being written; try again",
                        ) from None
                    time.sleep(0.005)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
