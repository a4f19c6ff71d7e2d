"""Publish a simulated fleet over MQTT, the way connected vehicles would.

The telemetry is the simulator's own (same seed, same values as
:func:`~drivetrain.demo.simulate_fleet` writes to the lake), regrouped per
vehicle and per ``window_s`` of samples into VSS JSON batch messages on
``vehicles/{vehicle_id}/vss`` at QoS 1::

    {"msg_id": "<vehicle>-<window start µs>",
     "samples": [{"ts": <epoch ns>, "signals": {"Vehicle.Speed": 42.0, ...}}, ...]}

``drivetrain gateway run`` on the other side stores them in the lake.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import paho.mqtt.client as mqtt
import pyarrow as pa
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from drivetrain.demo.simulator import Progress, SimulationConfig, iter_telemetry
from drivetrain.errors import InputError, StorageError
from drivetrain.governance.pseudonyms import PseudonymKey

log = logging.getLogger(__name__)

US = 1_000_000


@dataclass(frozen=True, slots=True)
class PublishReport:
    """What a publish run sent (every message acknowledged by the broker)."""

    messages: int
    samples: int
    signals: int
    elapsed_s: float

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.elapsed_s if self.elapsed_s else 0.0


def simulated_batches(
    config: SimulationConfig,
    on_progress: Progress | None = None,
    pseudonyms: PseudonymKey | None = None,
) -> Iterator[pa.RecordBatch]:
    """The simulator's long-format telemetry batches for ``config`` (one per block and day)."""
    return iter_telemetry(config, on_progress=on_progress, pseudonyms=pseudonyms)


def vss_messages(batch: pa.RecordBatch, window_s: float) -> Iterator[tuple[str, bytes]]:
    """Regroup long-format rows into one VSS JSON message per vehicle and time window."""
    if batch.num_rows == 0:
        return
    vehicles, vehicle_idx = _codes(batch.column("vehicle_id"))
    signals, signal_idx = _codes(batch.column("signal"))
    ts = batch.column("ts").cast(pa.int64()).to_numpy()
    values = batch.column("value").to_numpy(zero_copy_only=False)
    order = np.lexsort((signal_idx, ts, vehicle_idx))
    vehicle_idx, ts, signal_idx, values = (
        vehicle_idx[order],
        ts[order],
        signal_idx[order],
        values[order],
    )
    window = ts // int(window_s * US)
    cut = np.flatnonzero((np.diff(vehicle_idx) != 0) | (np.diff(window) != 0)) + 1
    for lo, hi in zip(np.r_[0, cut], np.r_[cut, len(ts)], strict=True):
        vehicle = vehicles[vehicle_idx[lo]]
        samples: list[dict[str, object]] = []
        current = -1
        for i in range(lo, hi):
            if ts[i] != current:
                current = int(ts[i])
                sample_signals: dict[str, float] = {}
                samples.append({"ts": current * 1000, "signals": sample_signals})
            sample_signals[signals[signal_idx[i]]] = float(values[i])
        body = {"msg_id": f"{vehicle}-{int(window[lo]) * int(window_s * US)}", "samples": samples}
        yield f"vehicles/{vehicle}/vss", json.dumps(body, separators=(",", ":")).encode()


def _codes(column: pa.Array | pa.ChunkedArray) -> tuple[list[str], np.ndarray]:
    """(distinct strings, index of each row into them) of a string or dictionary column."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    return column.dictionary.to_pylist(), column.indices.to_numpy(zero_copy_only=False)


def publish_messages(
    messages: Iterator[tuple[str, bytes]],
    *,
    host: str = "127.0.0.1",
    port: int = 1883,
    qos: int = 1,
    max_pending: int = 5000,
    on_message: Callable[[int], None] | None = None,
) -> tuple[int, float]:
    """Publish ``(topic, payload)`` pairs and wait for every broker acknowledgement.

    At most ``max_pending`` messages await their PUBACK at once. Returns the
    number of messages and the seconds it took.
    """
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"drivetrain-publisher-{uuid.uuid4().hex[:8]}",
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    client.max_inflight_messages_set(max(1, min(max_pending, 65535)))
    try:
        client.connect(host, port)
    except OSError as exc:
        raise StorageError(
            f"cannot reach the MQTT broker at mqtt://{host}:{port}: {exc}",
            hint="start Mosquitto or pass --mqtt-host/--mqtt-port",
        ) from exc
    client.loop_start()
    began = time.perf_counter()
    pending: deque[mqtt.MQTTMessageInfo] = deque()
    sent = 0
    try:
        for topic, payload in messages:
            pending.append(client.publish(topic, payload, qos=qos))
            sent += 1
            if len(pending) >= max_pending:
                pending.popleft().wait_for_publish(timeout=60)
            if on_message is not None:
                on_message(sent)
        while pending:
            info = pending.popleft()
            info.wait_for_publish(timeout=60)
            if not info.is_published():
                raise StorageError(f"the broker did not acknowledge message {info.mid} in 60 s")
    finally:
        client.disconnect()
        client.loop_stop()
    return sent, time.perf_counter() - began


def publish_fleet(
    config: SimulationConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 1883,
    window_s: float = 60.0,
    qos: int = 1,
    on_progress: Progress | None = None,
    pseudonyms: PseudonymKey | None = None,
) -> PublishReport:
    """Simulate ``config`` and publish its telemetry as VSS JSON, ``window_s`` per message."""
    if window_s <= 0:
        raise InputError(f"--window must be positive, got {window_s}")
    if qos not in (0, 1):
        raise InputError(f"--qos must be 0 or 1, got {qos}")
    counts = {"samples": 0, "signals": 0}

    def messages() -> Iterator[tuple[str, bytes]]:
        for batch in simulated_batches(config, on_progress, pseudonyms):
            counts["signals"] += batch.num_rows
            for topic, payload in vss_messages(batch, window_s):
                counts["samples"] += payload.count(b'"ts":')
                yield topic, payload

    sent, elapsed = publish_messages(messages(), host=host, port=port, qos=qos)
    log.info("published %d messages (%d signals) in %.1f s", sent, counts["signals"], elapsed)
    return PublishReport(
        messages=sent, samples=counts["samples"], signals=counts["signals"], elapsed_s=elapsed
    )
