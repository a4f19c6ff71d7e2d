"""Plant measurements as they arrive — over MQTT or a file drop — as polars batches.

Both transports yield text frames (all ``String``) with the columns of
:data:`MEASUREMENT_COLUMNS`, the shape ``QualityWatch.feed`` of
``drivetrain.quality.stream`` takes, and the refused input as ``(where, reason,
raw text ≤ 4 kB)`` records for the quarantine.

**MQTT.** Stations publish to ``plants/{plant}/{station_id}/measurements`` one
JSON object or an array of them::

    {"ts": "2024-02-01T00:05:16Z", "characteristic_id": "TH-OPEN", "part_serial":
     "E24020100000", "value": 88.65, "lot_id": "LOT-TH-2402-B", "shift": "A"}

``lot_id`` and ``shift`` are optional, other keys ignored; the station is the
topic's (an object's own ``station_id`` must agree). Only the shape is checked
here (``ts`` a string, ``value`` a number or a string): whether a time is ISO 8601
with a zone, a value finite or a characteristic known is the watch's to judge,
and it returns the rows it refuses. A message that is not UTF-8 JSON, has the
wrong shape or a missing field, another topic, or over :data:`MAX_PAYLOAD_BYTES`
is refused whole (:class:`MessageRejected`) into ``StreamBatch.rejected``; it
never stops the stream.

:class:`PlantStream` keeps a persistent MQTT v5 session (fixed client id,
``clean_start=False``) with a QoS 1 subscription. Delivery is at least once: a
batch's messages are acknowledged (manual PUBACK) only when the consumer resumes
the iterator, so the watch is fed a batch before its messages are acknowledged and
a consumer that stops or crashes in between gets them again on the next session
(fed again; the watch's time-order check refuses rows older than its last).

**File drop.** :func:`drop_batches` takes each CSV file of a directory (header
``ts,station_id,characteristic_id,part_serial,value,lot_id,shift``; the last two
may be left out) once two polls in a row saw the same size and mtime, oldest
first (mtime, then name); names starting ``.`` or ending ``.tmp``/``.part`` are
being written. When the consumer resumes, the file moves to ``done/``; one that is
not such a CSV is yielded with an empty frame and the reason in ``rejected``,
then moves to ``failed/`` with a ``.reason.txt`` beside it.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import signal
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Self

import paho.mqtt.client as mqtt
import polars as pl
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from drivetrain.errors import InputError, StorageError

log = logging.getLogger(__name__)

REQUIRED = ("ts", "characteristic_id", "part_serial", "value")
OPTIONAL = ("lot_id", "shift")
MEASUREMENT_COLUMNS = ("ts", "station_id", "characteristic_id", "part_serial", "value", *OPTIONAL)
MEASUREMENT_SCHEMA: dict[str, pl.DataType] = {c: pl.String() for c in MEASUREMENT_COLUMNS}
MAX_PAYLOAD_BYTES = 1 << 20
RAW_LIMIT = 4096
_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_FILTER = re.compile(r"^plants/([^/#]+|\+)/([^/#]+|\+)/measurements$")
_WRITING = (".tmp", ".part")

Rejected = tuple[str, str, str]
"""``(where, reason, raw text)``: the topic or file, why it was refused, its first 4 kB."""


class MessageRejected(InputError):
    """A plant message that cannot be read as measurements; the message says why."""

    code = "message-rejected"


def _raw(payload: bytes, size: int | None = None) -> str:
    """The first 4 kB as text, and how much more there was (``size``: of the whole)."""
    size = len(payload) if size is None else size
    text = payload[:RAW_LIMIT].decode("utf-8", errors="replace")
    if size > RAW_LIMIT:
        text += f"…[{size - RAW_LIMIT} more bytes]"
    return text


def parse_measurements(
    topic: str, payload: bytes, *, max_bytes: int = MAX_PAYLOAD_BYTES
) -> list[dict[str, Any]]:
    """The measurements of one message as rows with every key of :data:`MEASUREMENT_COLUMNS`.

    Raises MessageRejected naming what is wrong (and which object of an array).
    """
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != "plants" or parts[3] != "measurements":
        raise MessageRejected(f"topic {topic!r} is not plants/<plant>/<station_id>/measurements")
    for what, name in (("plant", parts[1]), ("station id", parts[2])):
        if not _ID.match(name):
            raise MessageRejected(f"{what} {name!r} in the topic must be 1-64 of A-Z a-z 0-9 _.:-")
    station = parts[2]
    if len(payload) > max_bytes:
        raise MessageRejected(f"payload of {len(payload)} bytes is over the {max_bytes} limit")
    try:
        body = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise MessageRejected(f"payload is not UTF-8: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise MessageRejected(f"payload is not valid JSON: {exc}") from exc
    objects = body if isinstance(body, list) else [body]
    rows = []
    for i, obj in enumerate(objects):
        where = "measurement" if not isinstance(body, list) else f"measurement {i}"
        if not isinstance(obj, dict):
            raise MessageRejected(f"{where} is a JSON {type(obj).__name__}, not an object")
        rows.append(_row(obj, station, where))
    return rows


def _row(obj: dict[str, Any], station: str, where: str) -> dict[str, Any]:
    missing = [k for k in REQUIRED if obj.get(k) is None]
    if missing:
        raise MessageRejected(f"{where} is missing {', '.join(missing)}")
    for key in ("ts", "characteristic_id", "part_serial"):
        if not isinstance(obj[key], str) or not obj[key]:
            raise MessageRejected(f"{where}: {key} must be a non-empty string")
    value = obj["value"]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MessageRejected(f"{where}: value must be a number or a string")
    for key in OPTIONAL:
        if obj.get(key) is not None and not isinstance(obj[key], str):
            raise MessageRejected(f"{where}: {key} must be a string or null")
    own = obj.get("station_id")
    if own is not None and own != station:
        raise MessageRejected(f"{where}: station_id {own!r} differs from the topic's {station!r}")
    row = {k: obj[k] for k in REQUIRED} | {k: obj.get(k) for k in OPTIONAL}
    return row | {"station_id": station}


def measurement_frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows of :func:`parse_measurements` as a text frame (numbers written exactly, ``repr``)."""
    columns: dict[str, list[str | None]] = {c: [] for c in MEASUREMENT_COLUMNS}
    for row in rows:
        for c in MEASUREMENT_COLUMNS:
            v = row.get(c)
            columns[c].append(None if v is None else v if isinstance(v, str) else repr(v))
    return pl.DataFrame(columns, schema=MEASUREMENT_SCHEMA)


@dataclass(frozen=True, slots=True)
class StreamBatch:
    """The measurements of some MQTT messages, and the messages refused."""

    frame: pl.DataFrame
    rejected: list[Rejected]
    messages: int = 0


@dataclass(slots=True)
class _Inbound:
    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int


@dataclass(slots=True)
class _Pending:
    rows: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    messages: list[_Inbound] = field(default_factory=list)
    opened: float = 0.0

    def batch(self) -> StreamBatch:
        return StreamBatch(measurement_frame(self.rows), self.rejected, len(self.messages))


class PlantStream:
    """A persistent MQTT session that yields plant measurements in batches."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        topic: str = "plants/+/+/measurements",
        client_id: str = "drivetrain-quality-watch",
        batch_seconds: float = 1.0,
        max_batch: int = 5000,
        qos: int = 1,
        keepalive_s: int = 30,
        session_expiry_s: int = 7 * 86_400,
    ) -> None:
        """A batch closes ``batch_seconds`` after its first message or at ``max_batch`` rows
        (a message's rows are never split); ``qos`` 0 gives up redelivery (at most once)."""
        shape = "plants/<plant|+>/<station|+>/measurements"
        for bad, problem in (
            (not _FILTER.match(topic), f"topic {topic!r} is not {shape}"),
            (batch_seconds <= 0 or max_batch < 1, "batch_seconds must be > 0, max_batch >= 1"),
            (qos not in (0, 1), f"qos must be 0 or 1, not {qos}"),
            (not _ID.match(client_id), f"client id {client_id!r} must be 1-64 of A-Za-z0-9_.:-"),
        ):
            if bad:
                raise InputError(f"plant stream: {problem}")
        self.host, self.port, self.topic, self.qos = host, port, topic, qos
        self.batch_seconds, self.max_batch = batch_seconds, max_batch
        self.keepalive_s, self.session_expiry_s = keepalive_s, session_expiry_s
        self._inbox: queue.SimpleQueue[_Inbound] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._generation = 0
        self._open = False
        self._client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        self._client.reconnect_delay_set(1, 30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    @property
    def source(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    # -- session (callbacks run on paho's network thread) ------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("broker %s refused the connection: %s", self.source, reason)
            return
        self._generation += 1
        log.info("connected to %s (session present: %s)", self.source, flags.session_present)
        client.subscribe(self.topic, self.qos)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        # Messages of the lost connection are never acknowledged on the next one:
        # the broker redelivers them.
        self._generation += 1
        if not self._stop.is_set():
            log.warning("lost broker %s (%s); reconnecting", self.source, reason)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, codes: Any, _p: Any) -> None:
        if any(code.is_failure for code in codes):
            log.error(
                "broker %s refused the subscription to %s: %s", self.source, self.topic, codes
            )
            return
        self._subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        inbound = _Inbound(
            message.topic, bytes(message.payload), message.mid, message.qos, self._generation
        )
        self._inbox.put(inbound)

    def open(self, timeout_s: float = 10.0) -> None:
        """Connect, resume the persistent session and wait until subscribed."""
        if self._open:
            return
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.session_expiry_s
        props.ReceiveMaximum = 65535  # unacknowledged messages in flight while a batch fills
        try:
            self._client.connect(
                self.host,
                self.port,
                keepalive=self.keepalive_s,
                clean_start=False,
                properties=props,
            )
        except OSError as exc:
            raise StorageError(
                f"cannot reach the MQTT broker at {self.host}:{self.port}: {exc}",
                hint="start Mosquitto or give the broker's host and port",
            ) from exc
        self._client.loop_start()
        self._open = True
        if not self._subscribed.wait(timeout_s):
            self.close()
            raise StorageError(
                f"MQTT broker at {self.host}:{self.port} did not confirm the subscription "
                f"to {self.topic} within {timeout_s:g} s",
                hint="check the broker's log and access control for this client",
            )

    def close(self) -> None:
        """Disconnect; the session and its unacknowledged messages stay on the broker."""
        if not self._open:
            return
        self._stop.set()
        self._client.disconnect()
        self._client.loop_stop()
        self._open = False
        self._subscribed.clear()

    def stop(self) -> None:
        """Ask a running :meth:`batches` to yield what it holds and end (thread-safe)."""
        self._stop.set()

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- batches -----------------------------------------------------------------

    def batches(
        self,
        duration_s: float | None = None,
        max_messages: int | None = None,
        *,
        handle_signals: bool = True,
    ) -> Generator[StreamBatch, None, None]:
        """Batches until stopped, ``duration_s`` passed or ``max_messages`` were taken.

        A batch's messages are acknowledged when the iterator is resumed after it;
        closing the iterator instead leaves them to be redelivered. SIGINT and
        SIGTERM (from the main thread) stop it cleanly: the batch held is yielded.
        """
        self.open()
        self._stop.clear()
        deadline = None if duration_s is None else time.monotonic() + duration_s
        restore = _install_stop_handlers(self._stop) if handle_signals else {}
        taken = 0
        pending = _Pending()
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                if max_messages is not None and taken >= max_messages:
                    break
                room = None if max_messages is None else max_messages - taken
                taken += self._receive(pending, self._wait_s(pending, now, deadline), room)
                if pending.messages and (
                    self._full(pending) or time.monotonic() - pending.opened >= self.batch_seconds
                ):
                    yield pending.batch()
                    self._acknowledge(pending.messages)
                    pending = _Pending()
            if pending.messages:
                yield pending.batch()
                self._acknowledge(pending.messages)
        finally:
            for signum, handler in restore.items():
                signal.signal(signum, handler)

    def _wait_s(self, pending: _Pending, now: float, deadline: float | None) -> float:
        wait = 0.1
        if pending.messages:
            wait = min(wait, max(0.0, pending.opened + self.batch_seconds - now))
        if deadline is not None:
            wait = min(wait, max(0.0, deadline - now))
        return wait

    def _full(self, pending: _Pending) -> bool:
        return max(len(pending.rows), len(pending.messages)) >= self.max_batch

    def _receive(self, pending: _Pending, wait_s: float, room: int | None) -> int:
        """Take messages until the batch is full, none is waiting or ``room`` are taken."""
        taken = 0
        try:
            inbound = self._inbox.get(timeout=wait_s) if wait_s > 0 else self._inbox.get_nowait()
            while True:
                self._accept(pending, inbound)
                taken += 1
                if self._full(pending) or (room is not None and taken >= room):
                    break
                inbound = self._inbox.get_nowait()
        except queue.Empty:
            pass
        return taken

    def _accept(self, pending: _Pending, inbound: _Inbound) -> None:
        if not pending.messages:
            pending.opened = time.monotonic()
        pending.messages.append(inbound)
        try:
            pending.rows.extend(parse_measurements(inbound.topic, inbound.payload))
        except MessageRejected as exc:
            pending.rejected.append((inbound.topic, exc.message, _raw(inbound.payload)))

    def _acknowledge(self, messages: list[_Inbound]) -> None:
        generation = self._generation
        if not self._client.is_connected():
            return  # the broker redelivers them on the next connection
        for inbound in messages:
            if inbound.qos > 0 and inbound.generation == generation:
                self._client.ack(inbound.mid, inbound.qos)


def _install_stop_handlers(stop: threading.Event) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: yielding the batch held and stopping", signum)
        stop.set()

    return {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}


# -- file drop -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DropBatch:
    """One dropped file's measurements (empty with the reason in ``rejected`` if refused)."""

    path: Path
    frame: pl.DataFrame
    rejected: list[Rejected]


def read_measurement_csv(path: Path) -> pl.DataFrame:
    """A measurements CSV as a text frame; raises InputError if it cannot be one."""
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path.name} is not a readable CSV: {exc}") from exc
    missing = [c for c in MEASUREMENT_COLUMNS if c not in (*frame.columns, *OPTIONAL)]
    if missing:
        raise InputError(
            f"{path.name} lacks the column(s) {', '.join(missing)}",
            hint=f"the header is {','.join(MEASUREMENT_COLUMNS)}",
        )
    absent = [pl.lit(None, dtype=pl.String).alias(c) for c in OPTIONAL if c not in frame.columns]
    return frame.with_columns(absent).select(MEASUREMENT_COLUMNS)


def drop_batches(
    directory: Path,
    *,
    poll_s: float = 1.0,
    duration_s: float | None = None,
    max_files: int | None = None,
    pattern: str = "*.csv",
    stop: threading.Event | None = None,
) -> Generator[DropBatch, None, None]:
    """A batch per new file of ``directory``; it is moved on when the iterator is resumed."""
    if not directory.is_dir():
        raise InputError(f"drop directory {directory} does not exist", hint="create it first")
    deadline = None if duration_s is None else time.monotonic() + duration_s
    seen: dict[Path, tuple[int, int]] = {}
    taken = 0

    def over() -> bool:
        stopped = stop is not None and stop.is_set()
        return stopped or (deadline is not None and time.monotonic() >= deadline)

    while not over():
        ready, seen = _ready_files(directory, pattern, seen)
        for path in ready:
            try:
                batch = DropBatch(path, read_measurement_csv(path), [])
            except InputError as exc:
                batch = DropBatch(path, pl.DataFrame(schema=MEASUREMENT_SCHEMA), [])
                batch.rejected.append((str(path), exc.message, _head(path)))
            yield batch
            _move(path, directory / ("failed" if batch.rejected else "done"), batch.rejected)
            seen.pop(path, None)
            taken += 1
            if (max_files is not None and taken >= max_files) or over():
                return
        pause = poll_s if deadline is None else max(0.0, min(poll_s, deadline - time.monotonic()))
        (stop or threading.Event()).wait(pause)


def _ready_files(
    directory: Path, pattern: str, seen: dict[Path, tuple[int, int]]
) -> tuple[list[Path], dict[Path, tuple[int, int]]]:
    """Files unchanged since the last poll, oldest first; and what this poll saw."""
    now: dict[Path, tuple[int, int]] = {}
    for path in directory.glob(pattern):
        if path.name.startswith(".") or path.name.endswith(_WRITING):
            continue
        try:
            info = path.stat()
        except FileNotFoundError:
            continue  # renamed or removed since the listing
        if path.is_file():
            now[path] = (info.st_size, info.st_mtime_ns)
    ready = [p for p, mark in now.items() if seen.get(p) == mark]
    return sorted(ready, key=lambda p: (now[p][1], p.name)), now


def _head(path: Path) -> str:
    try:
        with path.open("rb") as f:
            return _raw(f.read(RAW_LIMIT), path.stat().st_size)
    except OSError as exc:
        return f"(unreadable: {exc})"


def _move(path: Path, target_dir: Path, rejected: list[Rejected]) -> None:
    try:
        target_dir.mkdir(exist_ok=True)
        target = target_dir / path.name
        n = 1
        while target.exists() or target.with_name(target.name + ".reason.txt").exists():
            target = target_dir / f"{path.stem}.{n}{path.suffix}"
            n += 1
        if rejected:
            target.with_name(target.name + ".reason.txt").write_text(rejected[0][1] + "\n")
        path.replace(target)
    except OSError as exc:
        raise StorageError(
            f"cannot move {path} to {target_dir}: {exc}",
            hint="the drop directory must be writable",
        ) from exc
