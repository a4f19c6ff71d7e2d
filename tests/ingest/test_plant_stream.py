"""Plant measurements over a real Mosquitto and a file drop: batches, refusals, at least once."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import paho.mqtt.client as mqtt
import polars as pl
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from drivetrain.errors import InputError, StorageError
from drivetrain.ingest.plant_stream import (
    MEASUREMENT_COLUMNS,
    MessageRejected,
    PlantStream,
    _ready_files,
    drop_batches,
    measurement_frame,
    parse_measurements,
)
from tests.ingest.conftest import Broker

TOPIC = "plants/BURSA/ST130/measurements"
HEADER = ",".join(MEASUREMENT_COLUMNS)


def measurement(i: int, **extra: object) -> dict[str, object]:
    """Measurement i: part E…i, one second apart, value 88 + i/100."""
    return {
        "ts": f"2024-02-01T00:{i // 60:02d}:{i % 60:02d}Z",
        "characteristic_id": "TH-OPEN",
        "part_serial": f"E2402010{i:04d}",
        "value": 88 + i / 100,
        "lot_id": "LOT-TH-2402-B",
        "shift": "A",
        **extra,
    }


def message(body: object, topic: str = TOPIC) -> tuple[str, bytes]:
    return topic, json.dumps(body).encode()


def publish(port: int, messages: Iterable[tuple[str, bytes]]) -> None:
    """Publish at QoS 1 and wait for every PUBACK."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    infos = [client.publish(topic, payload, qos=1) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(timeout=10)
    client.disconnect()
    client.loop_stop()


def stream(broker: Broker, **options: object) -> PlantStream:
    base: dict[str, object] = {"batch_seconds": 0.3, "client_id": "test-watch"}
    return PlantStream("127.0.0.1", broker.port, **(base | options))  # type: ignore[arg-type]


def serials(frame: pl.DataFrame) -> list[int]:
    return [int(s[-4:]) for s in frame["part_serial"]]


# -- message format -------------------------------------------------------------------


def test_objects_and_arrays_become_rows_with_the_station_of_the_topic() -> None:
    one = parse_measurements(TOPIC, json.dumps(measurement(1, note="ignored")).encode())
    many = parse_measurements(TOPIC, json.dumps([measurement(2), {**measurement(3)}]).encode())
    bare = {k: v for k, v in measurement(4, station_id="ST130").items() if k != "lot_id"}
    assert one == [{**measurement(1), "station_id": "ST130"}]
    assert [r["part_serial"] for r in many] == ["E24020100002", "E24020100003"]
    assert parse_measurements(TOPIC, json.dumps(bare).encode())[0]["lot_id"] is None
    assert parse_measurements(TOPIC, b"[]") == []


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (TOPIC, b"\xff\xfe{}", "not UTF-8"),
        (TOPIC, b"{not json", "not valid JSON"),
        (TOPIC, b"42", "measurement is a JSON int, not an object"),
        (TOPIC, b'[{"ts": "x"}, "a"]', "measurement 0 is missing characteristic_id, part_serial"),
        (TOPIC, json.dumps([measurement(1), "a"]).encode(), "measurement 1 is a JSON str"),
        (TOPIC, json.dumps(measurement(1, value=True)).encode(), "value must be a number or"),
        (TOPIC, json.dumps(measurement(1, value=None)).encode(), "missing value"),
        (TOPIC, json.dumps(measurement(1, ts=1706745916)).encode(), "ts must be a non-empty"),
        (TOPIC, json.dumps(measurement(1, lot_id=7)).encode(), "lot_id must be a string or null"),
        (TOPIC, json.dumps(measurement(1, station_id="ST140")).encode(), "differs from the topic"),
        ("plants/BURSA/ST130/inspections", b"{}", "is not plants/<plant>/<station_id>/"),
        ("plants/BURSA/bad id!/measurements", b"{}", "station id 'bad id!' in the topic"),
        (TOPIC, b" " * 2000, "payload of 2000 bytes is over the 1000 limit"),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(
    topic: str, payload: bytes, reason: str
) -> None:
    with pytest.raises(MessageRejected, match=reason) as refused:
        parse_measurements(topic, payload, max_bytes=1000)
    assert isinstance(refused.value, InputError)


def test_frames_are_text_and_numbers_survive_exactly() -> None:
    values = [88.65, 0.1 + 0.2, 1e-300, 12, "89.01", float("nan")]
    rows = [{**measurement(i), "station_id": "ST130", "value": v} for i, v in enumerate(values)]
    frame = measurement_frame(rows)
    assert frame.columns == list(MEASUREMENT_COLUMNS)
    assert set(frame.dtypes) == {pl.String}
    cast = frame["value"].cast(pl.Float64).to_list()
    assert cast[:5] == [88.65, 0.1 + 0.2, 1e-300, 12.0, 89.01]
    assert cast[5] != cast[5]  # NaN passes through: the watch refuses it
    assert measurement_frame([]).schema == frame.schema


def test_stream_settings_are_checked() -> None:
    for bad in ({"topic": "vehicles/+/vss"}, {"max_batch": 0}, {"qos": 2}, {"client_id": "a b"}):
        with pytest.raises(InputError):
            PlantStream("127.0.0.1", 1, **bad)


# -- against the broker -------------------------------------------------------------


def test_messages_arrive_in_order_and_poison_is_returned_not_fatal(broker: Broker) -> None:
    messages = [
        message(measurement(0)),
        message([measurement(1), measurement(2), measurement(3)]),
        (TOPIC, b"{this is not json"),
        message(measurement(4, station_id="ST999")),
        message(measurement(5), topic="plants/BURSA/ST140/measurements"),
        (TOPIC, b"x" * (1 << 20 | 1)),
        message([measurement(6), measurement(7)]),
    ]
    with stream(broker) as plant:
        publish(broker.port, messages)
        batches = list(plant.batches(max_messages=len(messages), duration_s=15))
    frame = pl.concat([b.frame for b in batches])
    assert serials(frame) == [0, 1, 2, 3, 5, 6, 7]
    assert frame["station_id"].to_list() == ["ST130"] * 4 + ["ST140"] + ["ST130"] * 2
    assert frame["value"].cast(pl.Float64).to_list()[:2] == [88.0, 88.01]
    assert sum(b.messages for b in batches) == len(messages)
    rejected = [r for b in batches for r in b.rejected]
    assert [(topic, reason.split(":")[0]) for topic, reason, _ in rejected] == [
        (TOPIC, "payload is not valid JSON"),
        (TOPIC, "measurement"),
        (TOPIC, f"payload of {(1 << 20) + 1} bytes is over the {1 << 20} limit"),
    ]
    assert "'ST999' differs from the topic's 'ST130'" in rejected[1][1]
    assert rejected[0][2] == "{this is not json"
    assert rejected[2][2].startswith("x" * 4096 + "…[")
    assert len(rejected[2][2]) < 4200


def test_batches_close_at_max_batch_rows_and_max_messages_ends_them(broker: Broker) -> None:
    with stream(broker, batch_seconds=5.0, max_batch=10) as plant:
        publish(broker.port, [message(measurement(i)) for i in range(25)])
        began = time.monotonic()
        sizes = [b.frame.height for b in plant.batches(max_messages=25, duration_s=15)]
        assert time.monotonic() - began < 4, "full batches and the last one do not wait"
        assert sizes == [10, 10, 5]
        publish(
            broker.port, [message([measurement(i) for i in range(15)]), message(measurement(15))]
        )
        sizes = [b.frame.height for b in plant.batches(max_messages=2, duration_s=15)]
        assert sizes == [15, 1], "a message's rows are never split across batches"
        assert list(plant.batches(duration_s=0.3)) == []


def test_unacknowledged_batches_are_redelivered_after_a_restart(broker: Broker) -> None:
    with stream(broker) as plant:
        batches = plant.batches(duration_s=15)
        publish(broker.port, [message(measurement(i)) for i in range(5)])
        assert serials(next(batches).frame) == [0, 1, 2, 3, 4]
        # the consumer holds the batch: these arrive meanwhile, unacknowledged
        publish(broker.port, [message(measurement(i)) for i in range(5, 10)])
        time.sleep(0.5)
        assert serials(next(batches).frame) == [5, 6, 7, 8, 9]  # resuming acked 0-4
        batches.close()  # the consumer stops before taking 5-9 for good
    with stream(broker) as plant:
        again = list(plant.batches(max_messages=5, duration_s=15))
    assert serials(pl.concat([b.frame for b in again])) == [5, 6, 7, 8, 9]
    with stream(broker) as plant:
        assert list(plant.batches(duration_s=1.0)) == [], "acknowledged ones are not resent"


def test_sigint_and_stop_yield_the_batch_held_and_end(broker: Broker) -> None:
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when make runs in the background
    with stream(broker, batch_seconds=30.0) as plant:
        publish(broker.port, [message(measurement(i)) for i in range(3)])
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        began = time.monotonic()
        assert [serials(b.frame) for b in plant.batches()] == [[0, 1, 2]]
        threading.Timer(0.3, plant.stop).start()
        assert list(plant.batches()) == []
        assert time.monotonic() - began < 5
    assert signal.getsignal(signal.SIGINT) is before  # the handler is put back


def test_an_unreachable_broker_is_a_storage_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    with pytest.raises(StorageError, match=f"127.0.0.1:{port}") as failed:
        PlantStream("127.0.0.1", port).open()
    assert failed.value.hint is not None and "Mosquitto" in failed.value.hint


# -- file drop ----------------------------------------------------------------------


def drop(directory: Path, name: str, lines: Iterable[str], mtime: float | None = None) -> Path:
    """Write a file atomically (a .part, then renamed), optionally with a given mtime."""
    part = directory / f"{name}.part"
    part.write_text("\n".join(lines) + "\n")
    if mtime is not None:
        os.utime(part, (mtime, mtime))
    return part.rename(directory / name)


def csv_rows(*numbers: int) -> list[str]:
    def line(i: int) -> str:
        m = measurement(i)
        return f"{m['ts']},ST130,TH-OPEN,{m['part_serial']},{m['value']},LOT-TH-2402-B,A"

    return [HEADER, *(line(i) for i in numbers)]


def test_dropped_files_come_oldest_first_and_move_to_done(tmp_path: Path) -> None:
    now = time.time()
    drop(tmp_path, "b.csv", csv_rows(0, 1), mtime=now - 20)
    drop(tmp_path, "a.csv", csv_rows(2), mtime=now - 10)
    writing = tmp_path / "c.csv.part"
    writing.write_text("\n".join(csv_rows(3)) + "\n")
    (tmp_path / ".c.csv").write_text("hidden\n")
    batches = drop_batches(tmp_path, poll_s=0.05, max_files=3, duration_s=10)
    first = next(batches)
    assert first.path == tmp_path / "b.csv" and first.rejected == []
    assert serials(first.frame) == [0, 1]
    assert first.frame.columns == list(MEASUREMENT_COLUMNS)
    assert set(first.frame.dtypes) == {pl.String}
    assert first.frame["value"].cast(pl.Float64).to_list() == [88.0, 88.01]
    assert first.path.exists(), "moved only once the consumer resumes"
    second = next(batches)
    assert second.path.name == "a.csv" and serials(second.frame) == [2]
    assert (tmp_path / "done" / "b.csv").exists() and not (tmp_path / "b.csv").exists()
    writing.rename(tmp_path / "c.csv")  # finished: now it is taken
    assert serials(next(batches).frame) == [3]
    assert list(batches) == []  # max_files reached, the last one moved
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["a.csv", "b.csv", "c.csv"]
    assert (tmp_path / ".c.csv").exists()


def test_a_file_still_growing_is_not_taken(tmp_path: Path) -> None:
    grow = tmp_path / "grow.csv"
    grow.write_text(HEADER + "\n")
    ready, seen = _ready_files(tmp_path, "*.csv", {})
    assert ready == []  # first sighting: not yet known to be complete
    with grow.open("a") as f:
        f.write(csv_rows(1)[1] + "\n")
    ready, seen = _ready_files(tmp_path, "*.csv", seen)
    assert ready == []  # its size changed since the last poll
    assert _ready_files(tmp_path, "*.csv", seen)[0] == [grow]


def test_bad_files_are_yielded_with_a_reason_then_moved_to_failed(tmp_path: Path) -> None:
    now = time.time()
    drop(tmp_path, "1-columns.csv", ["a,b", "1,2"], mtime=now - 30)
    (tmp_path / "2-empty.csv").write_bytes(b"")
    os.utime(tmp_path / "2-empty.csv", (now - 20, now - 20))
    drop(tmp_path, "3-good.csv", csv_rows(1), mtime=now - 10)
    got = []
    for batch in drop_batches(tmp_path, poll_s=0.05, max_files=3, duration_s=10):
        got.append((batch.path.name, batch.frame.height, [r[1] for r in batch.rejected]))
        if batch.rejected:
            assert batch.frame.columns == list(MEASUREMENT_COLUMNS)
            assert batch.rejected[0][0] == str(batch.path)
    assert [(name, height) for name, height, _ in got] == [
        ("1-columns.csv", 0),
        ("2-empty.csv", 0),
        ("3-good.csv", 1),
    ]
    assert "lacks the column(s) ts, station_id, characteristic_id" in got[0][2][0]
    assert "not a readable CSV" in got[1][2][0]
    assert got[2][2] == []
    failed = tmp_path / "failed"
    assert sorted(p.name for p in failed.iterdir()) == [
        "1-columns.csv",
        "1-columns.csv.reason.txt",
        "2-empty.csv",
        "2-empty.csv.reason.txt",
    ]
    assert "lacks the column(s)" in (failed / "1-columns.csv.reason.txt").read_text()
    assert (tmp_path / "done" / "3-good.csv").exists()


def test_a_file_not_taken_stays_and_a_repeated_name_is_not_overwritten(tmp_path: Path) -> None:
    drop(tmp_path, "m.csv", csv_rows(1))
    batches = drop_batches(tmp_path, poll_s=0.05, duration_s=10)
    assert serials(next(batches).frame) == [1]
    batches.close()  # the consumer stopped before resuming: the file is taken again
    assert (tmp_path / "m.csv").exists()
    for numbers in ((1,), (2,)):
        drop(tmp_path, "m.csv", csv_rows(*numbers))
        assert [serials(b.frame) for b in drop_batches(tmp_path, poll_s=0.05, max_files=1)] == [
            list(numbers)
        ]
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["m.1.csv", "m.csv"]


def test_duration_ends_an_idle_drop_and_a_missing_directory_is_refused(tmp_path: Path) -> None:
    began = time.monotonic()
    assert list(drop_batches(tmp_path, poll_s=0.05, duration_s=0.3)) == []
    assert 0.3 <= time.monotonic() - began < 1.5
    with pytest.raises(InputError, match="does not exist"):
        next(drop_batches(tmp_path / "nope"))
