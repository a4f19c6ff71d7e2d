"""The MQTT vehicle gateway: vehicles publish, the gateway stores, at least once, once.

Vehicles publish to ``vehicles/{vehicle_id}/{kind}``; each payload kind has a
decoder (:data:`PAYLOAD_DECODERS`; ``vss`` = VSS JSON, ``can`` = raw CAN
frames as candump lines, decoded with the vehicle model's DBC files and
manifest, see ``drivetrain.ingest.can_payload``). The gateway keeps a
persistent MQTT v5 session (fixed client id, ``clean_start=False``, a session
expiry) with a QoS 1 subscription, gathers messages into micro-batches and
writes each batch through :func:`~drivetrain.ingest.write_telemetry`.

Delivery is at least once: a message is acknowledged (manual PUBACK) only after
its batch is committed to the lake, so a crash or a broker restart makes the
broker deliver it again. Storage is idempotent: before a batch is written its
rows are checked against each other and against the lake on the telemetry key
``(vehicle_id, ts, signal)`` — a read that Delta file statistics prune to the
batch's dates and time span — and rows already stored are counted as
duplicates, not written. Malformed messages are quarantined with the reason,
the topic and the raw payload (first 4 kB), then acknowledged: a poison
message never blocks the stream.

With a ``gate_factory`` the collection gate (campaigns, legal basis, sealing)
is rebuilt from the control plane, at most every ``refresh_s``, when a batch
opens (see :mod:`drivetrain.ingest.gate_refresh`), so a consent withdrawal, a
new owner or vehicle, or a new or stopped campaign applies while it runs.
"""

from __future__ import annotations

import json
import logging
import queue
import signal
import threading
import time
from collections.abc import Callable, Collection, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any, Self, TypeAlias

import paho.mqtt.client as mqtt
import pyarrow as pa
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from drivetrain.catalog import load_signal_catalog
from drivetrain.errors import InputError, StorageError
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import record_run
from drivetrain.ingest.campaigns import CampaignFilter
from drivetrain.ingest.dedupe import drop_stored
from drivetrain.ingest.gate_refresh import DEFAULT_REFRESH_S, GateFactory, GateRefresher
from drivetrain.ingest.sink import CollectionContext, new_run_id, write_telemetry
from drivetrain.ingest.vss_json import (
    VEHICLE_ID,
    DecodedPayload,
    PayloadRejected,
    decode_vss_json,
)
from drivetrain.lake import Lake, table_spec

log = logging.getLogger(__name__)

PayloadDecoder: TypeAlias = Callable[[str, bytes, AbstractSet[str]], DecodedPayload]
"""Turns ``(vehicle_id, payload, known VSS paths)`` into rows or raises PayloadRejected."""

PAYLOAD_DECODERS: dict[str, PayloadDecoder] = {"vss": decode_vss_json}
"""Payload kinds by the last topic level that need no context; ``can`` payloads need the
vehicles' models and are added per gateway (``drivetrain.ingest.can_payload``)."""

RAW_PAYLOAD_LIMIT = 4096
_KEY = ["vehicle_id", "ts", "signal"]
_TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Where the broker is and how messages are batched.

    A batch is flushed when it holds ``batch_messages`` messages or its oldest
    message is ``batch_seconds`` old. ``session_expiry_s`` is how long the broker
    keeps the session (and queues QoS 1 messages) while the gateway is away.
    """

    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "drivetrain-gateway"
    kinds: tuple[str, ...] = ("vss",)
    batch_messages: int = 1000
    batch_seconds: float = 1.0
    keepalive_s: int = 30
    session_expiry_s: int = 7 * 86_400
    reconnect_min_s: int = 1
    reconnect_max_s: int = 30
    purpose: str = "vehicle_health"
    campaign_id: str = "default"

    def validate(self, known_kinds: Collection[str] = tuple(PAYLOAD_DECODERS)) -> None:
        """Raise InputError naming the first setting that cannot work."""
        unknown = [k for k in self.kinds if k not in known_kinds]
        if unknown:
            raise InputError(
                f"unknown gateway payload kind(s) {', '.join(unknown)}",
                hint=f"known kinds: {', '.join(sorted(known_kinds))}",
            )
        if self.batch_messages < 1 or self.batch_seconds <= 0:
            raise InputError("gateway batches need batch_messages >= 1 and batch_seconds > 0")
        if not VEHICLE_ID.match(self.client_id):
            raise InputError(
                f"gateway client id {self.client_id!r} must match {VEHICLE_ID.pattern}"
            )

    @property
    def source(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


@dataclass(slots=True)
class GatewayStats:
    """What a gateway run did. Rows are signal values; messages are MQTT messages."""

    received: int = 0
    stored_rows: int = 0
    duplicate_rows: int = 0
    quarantined: int = 0
    dropped_rows: int = 0
    rejected_messages: int = 0
    batches: int = 0
    acked: int = 0
    reconnects: int = 0
    gate_refreshes: int = 0
    gate_refresh_failures: int = 0
    elapsed_s: float = 0.0
    gate_refresh_s: float = 0.0
    lake_check_s: float = 0.0
    write_s: float = 0.0

    def as_dict(self) -> dict[str, float]:
        """The counters by name (for ``--json`` output)."""
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class _Inbound:
    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int


@dataclass(slots=True)
class _Batch:
    """Rows and quarantine records gathered since the last flush."""

    vehicle_ids: list[str] = field(default_factory=list)
    ts_us: list[int] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    keys: set[tuple[str, int, str]] = field(default_factory=set)
    quarantine: list[dict[str, object]] = field(default_factory=list)
    messages: list[_Inbound] = field(default_factory=list)
    duplicates: int = 0
    opened: float = 0.0


class Gateway:
    """A persistent MQTT session that stores vehicle messages in the lake."""

    def __init__(
        self,
        lake: Lake,
        config: GatewayConfig,
        *,
        campaigns: CampaignFilter | None = None,
        gate_factory: GateFactory | None = None,
        refresh_s: float = DEFAULT_REFRESH_S,
        known_signals: AbstractSet[str] | None = None,
        decoders: Mapping[str, PayloadDecoder] | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        """``campaigns`` keeps only the rows an active campaign asks for (minimisation);
        ``gate_factory`` rebuilds it when a batch opens once ``refresh_s`` (seconds)
        passed, keeping the previous one if that fails (without ``campaigns`` it builds
        the first one here); ``decoders`` adds payload kinds (e.g. ``can``, which needs
        the vehicles' models)."""
        self._decoders = {**PAYLOAD_DECODERS, **(decoders or {})}
        config.validate(tuple(self._decoders))
        self._gate = (
            None
            if gate_factory is None
            else GateRefresher(gate_factory, refresh_s, initial=campaigns)
        )
        self.campaigns = campaigns if self._gate is None else self._gate.current
        self.audit = audit
        self.lake = lake
        self.config = config
        self.stats = GatewayStats()
        self.context = CollectionContext(
            source=config.source,
            purpose=config.purpose,
            campaign_id=config.campaign_id,
            run_id=new_run_id("gw"),
        )
        self._known = frozenset(known_signals or load_signal_catalog())
        self._inbox: queue.SimpleQueue[_Inbound] = queue.SimpleQueue()
        self._batch = _Batch()
        self._stop = threading.Event()
        self._subscribed = threading.Event()
        self._generation = 0
        self._client = self._make_client()
        self._open = False

    # -- session ---------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=self.config.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
            manual_ack=True,
        )
        client.reconnect_delay_set(self.config.reconnect_min_s, self.config.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("broker %s refused the connection: %s", self.config.source, reason)
            return
        self._generation += 1
        if self._generation > 1:
            self.stats.reconnects += 1
        log.info("connected to %s (session present: %s)", self.config.source, flags.session_present)
        client.subscribe([(f"vehicles/+/{kind}", 1) for kind in self.config.kinds])

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        # Messages of the lost connection are stored but never acknowledged on
        # the next one: the broker redelivers them and the lake check drops them.
        self._generation += 1
        if not self._stop.is_set():
            log.warning("lost broker %s (%s); reconnecting", self.config.source, reason)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, codes: Any, _p: Any) -> None:
        if any(code.is_failure for code in codes):
            log.error("broker refused the subscription: %s", codes)
            return
        self._subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        self._inbox.put(
            _Inbound(
                message.topic, bytes(message.payload), message.mid, message.qos, self._generation
            )
        )

    def open(self, timeout_s: float = 10.0) -> None:
        """Connect, resume the persistent session and wait until subscribed."""
        if self._open:
            return
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.config.session_expiry_s
        props.ReceiveMaximum = 65535  # unacked messages in flight while a batch fills
        try:
            self._client.connect(
                self.config.host,
                self.config.port,
                keepalive=self.config.keepalive_s,
                clean_start=False,
                properties=props,
            )
        except OSError as exc:
            raise StorageError(
                f"cannot reach the MQTT broker at {self.config.source}: {exc}",
                hint="start Mosquitto or set the gateway host and port",
            ) from exc
        self._client.loop_start()
        self._open = True
        if not self._subscribed.wait(timeout_s):
            self.close()
            raise StorageError(
                f"MQTT broker at {self.config.source} did not confirm the subscription "
                f"within {timeout_s:g} s"
            )

    def close(self) -> None:
        """Disconnect (the session and its unacknowledged messages stay on the broker)."""
        if not self._open:
            return
        self._stop.set()
        self._client.disconnect()
        self._client.loop_stop()
        self._open = False

    def stop(self) -> None:
        """Ask a running :meth:`run` to flush, acknowledge and return (thread-safe)."""
        self._stop.set()

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- the run loop ----------------------------------------------------------

    def run(
        self,
        *,
        duration_s: float | None = None,
        max_messages: int | None = None,
        handle_signals: bool = True,
    ) -> GatewayStats:
        """Receive and store until stopped, ``duration_s`` passed or ``max_messages`` arrived.

        SIGINT and SIGTERM (when called from the main thread) stop the run
        cleanly: the pending batch is flushed and acknowledged first.
        """
        self.open()
        self._stop.clear()
        began = time.monotonic()
        deadline = None if duration_s is None else began + duration_s
        restore = self._install_signal_handlers() if handle_signals else {}
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                if max_messages is not None and self.stats.received >= max_messages:
                    break
                self._receive(self._wait_s(now, deadline))
                if self._due():
                    self.flush()
            self.flush()
        finally:
            for signum, handler in restore.items():
                signal.signal(signum, handler)
            self.stats.elapsed_s += time.monotonic() - began
            self.close()
            if self.audit is not None:  # one record per run, not per batch
                record_run(
                    self.audit,
                    self.context.run_id,
                    "ingest",
                    {"source": self.context.source, **self.stats.as_dict()},
                    principal=self.context.source,
                    purpose=self.context.purpose,
                )
        return self.stats

    def _wait_s(self, now: float, deadline: float | None) -> float:
        wait = 0.1
        if self._batch.messages:
            wait = min(wait, max(0.0, self._batch.opened + self.config.batch_seconds - now))
        if deadline is not None:
            wait = min(wait, max(0.0, deadline - now))
        return wait

    def _receive(self, wait_s: float) -> None:
        """Take messages from the network thread until the batch is full or none is waiting."""
        try:
            inbound = self._inbox.get(timeout=wait_s) if wait_s > 0 else self._inbox.get_nowait()
        except queue.Empty:
            return
        while True:
            self.accept(inbound)
            if len(self._batch.messages) >= self.config.batch_messages:
                return
            try:
                inbound = self._inbox.get_nowait()
            except queue.Empty:
                return

    def _due(self) -> bool:
        batch = self._batch
        if not batch.messages:
            return False
        full = len(batch.messages) >= self.config.batch_messages
        return full or time.monotonic() - batch.opened >= self.config.batch_seconds

    def _install_signal_handlers(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}

        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %d: flushing and stopping", signum)
            self._stop.set()

        return {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}

    # -- decoding and storing --------------------------------------------------

    def accept(self, inbound: _Inbound) -> None:
        """Decode one message into the pending batch (or its quarantine records)."""
        batch = self._batch
        if not batch.messages:
            self._refresh_gate()
            batch.opened = time.monotonic()
        batch.messages.append(inbound)
        self.stats.received += 1
        parts = inbound.topic.split("/")
        vehicle_id = parts[1] if len(parts) == 3 and parts[0] == "vehicles" else None
        try:
            decoder = self._decoders.get(parts[-1])
            if vehicle_id is None or decoder is None:
                raise PayloadRejected(f"topic {inbound.topic!r} is not vehicles/<id>/<kind>")
            if not VEHICLE_ID.match(vehicle_id):
                bad, vehicle_id = vehicle_id, None
                raise PayloadRejected(
                    f"vehicle id {bad!r} in the topic must be 1-64 of A-Z a-z 0-9 _ . : -"
                )
            decoded = decoder(vehicle_id, inbound.payload, self._known)
        except PayloadRejected as exc:
            self.stats.rejected_messages += 1
            self._quarantine(inbound, vehicle_id, "message", exc.message)
            return
        for where, reason in decoded.rejected:
            self._quarantine(inbound, vehicle_id, where, reason)
        for ts, sig, value in zip(decoded.ts_us, decoded.signals, decoded.values, strict=True):
            key = (vehicle_id, ts, sig)
            if key in batch.keys:
                batch.duplicates += 1
                continue
            batch.keys.add(key)
            batch.vehicle_ids.append(vehicle_id)
            batch.ts_us.append(ts)
            batch.signals.append(sig)
            batch.values.append(value)

    def _refresh_gate(self) -> None:
        """Rebuild the gate if due; a batch is decoded and stored under one control-plane view."""
        if self._gate is None:
            return
        self.campaigns = self._gate.refreshed()
        self.stats.gate_refreshes = self._gate.refreshes
        self.stats.gate_refresh_failures = self._gate.failures
        self.stats.gate_refresh_s = self._gate.refresh_s

    def _quarantine(
        self, inbound: _Inbound, vehicle_id: str | None, where: str, reason: str
    ) -> None:
        if where != "message":
            # Only part of the message was refused; the rest went through campaigns and
            # legal basis. Keeping the whole payload here would store what they refused.
            raw = json.dumps({"refused": where})
        else:
            raw = inbound.payload[:RAW_PAYLOAD_LIMIT].decode("utf-8", errors="replace")
            if len(inbound.payload) > RAW_PAYLOAD_LIMIT:
                raw += f"…[{len(inbound.payload) - RAW_PAYLOAD_LIMIT} more bytes]"
        self._batch.quarantine.append(
            {
                "run_id": self.context.run_id,
                "ts": datetime.now(UTC),
                "target_table": "telemetry",
                "source": self.config.source,
                "location": f"topic {inbound.topic} mid {inbound.mid}: {where}",
                "reason": reason,
                "record": raw,
                "vehicle_id": vehicle_id,
            }
        )

    def flush(self) -> None:
        """Store the pending batch, then acknowledge its messages to the broker."""
        batch, self._batch = self._batch, _Batch()
        if not batch.messages:
            return
        rows = pa.table(
            {
                "vehicle_id": pa.array(batch.vehicle_ids, pa.string()),
                "ts": pa.array(batch.ts_us, _TS),
                "signal": pa.array(batch.signals, pa.string()),
                "value": pa.array(batch.values, pa.float64()),
            }
        )
        began = time.perf_counter()
        fresh = drop_stored(self.lake, rows)
        checked = time.perf_counter()
        duplicates = batch.duplicates + rows.num_rows - fresh.num_rows
        if fresh.num_rows:
            report = write_telemetry(self.lake, fresh, self.context, campaigns=self.campaigns)
            self.stats.stored_rows += report.rows_written
            self.stats.quarantined += report.rows_quarantined
            self.stats.dropped_rows += report.rows_dropped
        if batch.quarantine:
            records = pa.Table.from_pylist(
                batch.quarantine, schema=table_spec("quarantine").input_schema
            )
            self.lake.append("quarantine", records, run_id=self.context.run_id)
            self.stats.quarantined += len(batch.quarantine)
        self.stats.lake_check_s += checked - began
        self.stats.write_s += time.perf_counter() - checked
        self.stats.duplicate_rows += duplicates
        self.stats.batches += 1
        self._acknowledge(batch.messages)

    def _acknowledge(self, messages: list[_Inbound]) -> None:
        generation = self._generation
        if not self._client.is_connected():
            return  # the broker redelivers them on the next connection
        for inbound in messages:
            if inbound.qos > 0 and inbound.generation == generation:
                self._client.ack(inbound.mid, inbound.qos)
                self.stats.acked += 1
