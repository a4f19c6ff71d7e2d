"""What every request of one server shares: settings, the lake, the audit log, principals.

One :class:`Services` is built per app (``create_api``) and kept on
``app.state.services``. It holds nothing a request could change for another
request except through the stores themselves; caches are keyed by the table
versions they were computed from, so a new lake version is seen at once.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from drivetrain.errors import DrivetrainError
from drivetrain.fleet import VehicleRecord, list_vehicles
from drivetrain.governance.audit import AuditLog, PendingEntry
from drivetrain.governance.principals import Principal, load_principals
from drivetrain.lake import Lake
from drivetrain.settings import Settings
from drivetrain.state import migrate, session_scope

log = logging.getLogger("drivetrain.api")
T = TypeVar("T")
LAKE_STATE_TTL_S = 1.0  # a new table version is seen within a second
REGISTRY_TTL_S = 5.0  # and a newly registered vehicle within five
CREDENTIAL_TTL_S = 5.0  # a key revoked from the CLI is refused within five seconds


class RequestAuditor:
    """Appends one ``api_request`` audit entry per request, in batches.

    A request only enqueues its entry; a background thread appends what has
    queued (one fsync and one signed tree head per batch, at most every
    ``interval_s``), so auditing every read costs microseconds, not an fsync.
    Writes and refusals of the capabilities are audited synchronously by the
    capabilities themselves; this is the access log on top. ``close`` flushes.
    """

    def __init__(self, audit: AuditLog, interval_s: float = 0.25) -> None:
        self._audit = audit
        self._interval = interval_s
        self._queue: queue.SimpleQueue[PendingEntry | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="api-audit", daemon=True)
        self._thread.start()

    def record(self, entry: PendingEntry) -> None:
        self._queue.put(entry)

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            batch = [] if first is None else [first]
            stop = first is None
            deadline = threading.Event()
            deadline.wait(self._interval)
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                else:
                    batch.append(item)
            if batch:
                try:
                    self._audit.append_many(batch)
                except DrivetrainError:  # never lose the server over the access log
                    log.exception("could not append %d api_request audit entries", len(batch))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)


@dataclass
class Services:
    """The shared parts of one API server."""

    settings: Settings
    lake: Lake = field(init=False)
    audit: AuditLog = field(init=False)
    auditor: RequestAuditor = field(init=False)
    _principals: tuple[tuple[int, int], dict[str, Principal]] | None = field(
        default=None, init=False
    )
    _vehicles: tuple[float, list[VehicleRecord]] | None = field(default=None, init=False)
    _lake_state: tuple[float, tuple[tuple[str, int], ...]] | None = field(default=None, init=False)
    _cache: dict[Any, Any] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _flights: dict[Any, threading.Lock] = field(default_factory=dict, init=False)
    _credentials: dict[tuple[str, bytes], tuple[float, Any]] = field(
        default_factory=dict, init=False
    )

    def __post_init__(self) -> None:
        self.settings.ensure_data_dir()
        migrate(self.settings.resolved_state_url)
        self.lake = Lake(self.settings.lake_dir)
        self.audit = AuditLog(self.settings.data_dir)
        self.auditor = RequestAuditor(AuditLog(self.settings.data_dir))

    @property
    def state_url(self) -> str:
        return self.settings.resolved_state_url

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.state_url) as session:
            yield session

    def principals(self) -> dict[str, Principal]:
        """The principals file, re-read when it changes (mtime and size)."""
        path = self.settings.resolved_principals_file
        try:
            stat = path.stat()
        except FileNotFoundError:
            return {}
        stamp = (stat.st_mtime_ns, stat.st_size)
        cached = self._principals
        if cached is not None and cached[0] == stamp:
            return cached[1]
        principals = load_principals(path)
        self._principals = (stamp, principals)
        return principals

    def vehicles(self) -> list[VehicleRecord]:
        """The fleet registry (cached until the vehicles table changes)."""
        now = time.monotonic()
        cached = self._vehicles
        if cached is None or now - cached[0] > REGISTRY_TTL_S:
            cached = (now, self._load_vehicles())
            self._vehicles = cached
        return cached[1]

    def _load_vehicles(self) -> list[VehicleRecord]:
        with self.session() as session:
            return list_vehicles(session)

    def lake_state(self) -> tuple[tuple[str, int], ...]:
        """Every table's current version, re-read at most once a second."""
        now = time.monotonic()
        stamp = self._lake_state
        if stamp is None or now - stamp[0] > LAKE_STATE_TTL_S:
            stamp = (now, tuple(sorted(self.lake.versions().items())))
            self._lake_state = stamp
        return stamp[1]

    def cached(self, key: Any, compute: Callable[[], T]) -> T:
        """``compute()`` once per ``key`` and lake state (every table's version).

        Single-flight: concurrent requests for the same missing value wait for the one
        computing it instead of each running it (a cold overview is a fleet scan).
        """
        full = (key, self.lake_state())
        with self._lock:
            if full in self._cache:
                return self._cache[full]  # type: ignore[no-any-return]
            flight = self._flights.setdefault(full, threading.Lock())
        with flight:
            with self._lock:
                if full in self._cache:
                    return self._cache[full]  # type: ignore[no-any-return]
            value = compute()
            with self._lock:
                if len(self._cache) > 256:
                    self._cache.clear()
                self._cache[full] = value
                self._flights.pop(full, None)
        return value

    def credential(self, kind: str, token: str, load: Callable[[], T | None]) -> T | None:
        """A checked credential (API key, session) remembered for ``CREDENTIAL_TTL_S``.

        Checking one costs a database round trip; the overview answers in a fraction of
        that. Only valid credentials are remembered (under the token's SHA-256), and a
        revocation or sign-out through this server forgets at once
        (:meth:`forget_credentials`); one made elsewhere (the CLI) takes effect within
        the TTL.
        """
        digest = (kind, hashlib.sha256(token.encode()).digest())
        now = time.monotonic()
        with self._lock:
            hit = self._credentials.get(digest)
        if hit is not None and now - hit[0] < CREDENTIAL_TTL_S:
            return hit[1]  # type: ignore[no-any-return]
        value = load()
        with self._lock:
            if value is None:
                self._credentials.pop(digest, None)
            else:
                if len(self._credentials) > 10_000:
                    self._credentials.clear()
                self._credentials[digest] = (now, value)
        return value

    def forget_credentials(self) -> None:
        """Forget every remembered credential (after a revocation or sign-out)."""
        with self._lock:
            self._credentials.clear()

    def forget(self) -> None:
        """Drop every cached result (after a write through the API)."""
        with self._lock:
            self._cache.clear()
            self._vehicles = self._lake_state = None

    def close(self) -> None:
        self.auditor.close()
