"""Vectorised CAN decoding and encoding, checked against cantools and opendbc."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from drivetrain.catalog import load_dbc
from drivetrain.catalog.dbc_model import DbcMessage, DbcSignal
from drivetrain.errors import InputError
from drivetrain.ingest.can_decode import DecodeResult, bytes_needed, decode_frames
from drivetrain.ingest.can_encode import encode_frames

from .._dbc_reference import ALL_DBCS, cantools_db

FRAMES_PER_MESSAGE = 6


def cantools_errors() -> Any:
    import cantools

    return cantools.database.errors


def put_bits(data: bytearray, sig: DbcSignal, raw: int) -> None:
    """Bit-by-bit reference writer (opendbc's walk from lsb to msb)."""
    i, bits = sig.lsb // 8, sig.size
    raw &= (1 << sig.size) - 1
    while 0 <= i < len(data) and bits > 0:
        shift = sig.lsb % 8 if sig.lsb // 8 == i else 0
        size = min(bits, 8 - shift)
        mask = ((1 << size) - 1) << shift
        data[i] = (data[i] & ~mask) | ((raw & ((1 << size) - 1)) << shift)
        bits -= size
        raw >>= size
        i = i + 1 if sig.is_little_endian else i - 1


def frames_table(
    rows: list[tuple[int, bool, bytes]], binary: pa.DataType | None = None
) -> pa.Table:
    return pa.table(
        {
            "ts": pa.array(np.arange(len(rows)), pa.timestamp("us", tz="UTC")),
            "bus": pa.array(np.zeros(len(rows), dtype=np.int16)),
            "frame_id": pa.array([r[0] for r in rows], pa.uint32()),
            "is_extended": pa.array([r[1] for r in rows], pa.bool_()),
            "data": pa.array([r[2] for r in rows], binary or pa.binary()),
        }
    )


def random_frames(msg: DbcMessage, rng: np.random.Generator) -> list[bytes]:
    """Random payloads; multiplexed messages get a valid multiplexer value."""
    out = []
    for _ in range(FRAMES_PER_MESSAGE):
        data = bytearray(rng.integers(0, 256, msg.length, dtype=np.uint8).tobytes())
        for sig in msg.signals.values():
            ids = sig.multiplexer_ids
            if sig.multiplexer_signal in msg.signals and ids:
                put_bits(data, msg.signals[sig.multiplexer_signal], int(rng.choice(ids)))
                break
        out.append(bytes(data))
    return out


def decoded(result: DecodeResult) -> dict[tuple[int, str], tuple[float, int]]:
    out: dict[tuple[int, str], tuple[float, int]] = {}
    for table, value in ((result.signals, "value"), (result.integrity, "raw")):
        ts = table.column("ts").cast(pa.int64()).to_pylist()
        for t, s, v, r in zip(
            ts,
            table.column("signal").to_pylist(),
            table.column(value).to_pylist(),
            table.column("raw").to_pylist(),
            strict=True,
        ):
            out[(t, s)] = (v, r)
    return out


@pytest.mark.parametrize("name", ALL_DBCS)
def test_random_frames_decode_like_the_reference(name: str) -> None:
    db = load_dbc(name)
    rng = np.random.default_rng(sum(name.encode()))
    rows = [
        (m.frame_id, m.is_extended, data)
        for m in db.messages.values()
        if m.length > 0 and m.frame_id <= 0x1FFFFFFF
        for data in random_frames(m, rng)
    ]
    result = decode_frames(frames_table(rows), db)
    assert result.rejects.num_rows == 0 and result.frames_decoded == len(rows)
    got = decoded(result)
    theirs = cantools_db(name)
    for t, (frame_id, ext, data) in enumerate(rows):
        msg = db.by_frame_id[(frame_id, ext)]
        expected = None
        if theirs is not None:
            ref = theirs.get_message_by_frame_id(frame_id | (0x80000000 if ext else 0))
            try:
                expected = ref.decode(
                    data, decode_choices=False, scaling=True, allow_truncated=True
                )
            except cantools_errors().DecodeError:
                # cantools cannot decode messages with overlapping signals or signals past
                # the message length at all: compare those with opendbc's bit walk
                expected = None
        if expected is None:
            check_with_opendbc(t, msg, data, got)
            continue
        for signal, value in expected.items():
            kind = msg.signals[signal].kind
            assert (t, signal) in got, (msg.name, signal)
            ours, raw = got[(t, signal)]
            if kind != "physical":
                ours = raw
            if isinstance(value, int):
                # exact integers: compare the raw column too (64-bit unsigned wraps in int64)
                assert float(ours) == value or raw % (1 << 64) == value % (1 << 64), signal
            else:
                assert ours == pytest.approx(value, rel=1e-12, nan_ok=True), signal
        mine = {s for (tt, s) in got if tt == t}
        assert mine >= set(expected), msg.name
        # extra only where cantools ignores SG_MUL_VAL_ without an 'M' switch (vw_pq)
        for extra in mine - set(expected):
            switch = msg.signals[extra].multiplexer_signal
            assert switch is not None and not msg.signals[switch].is_multiplexer, extra


def check_with_opendbc(
    t: int, msg: DbcMessage, data: bytes, got: dict[tuple[int, str], tuple[float, int]]
) -> None:
    from opendbc.can.parser import get_raw_value

    for sig in msg.signals.values():
        if (t, sig.name) not in got:
            beyond = bytes_needed(sig) > msg.length
            assert sig.multiplexer_ids is not None or beyond, (msg.name, sig.name)
            continue
        raw = get_raw_value(data, sig)  # opendbc's bit walk over msb/lsb
        if sig.is_signed:
            raw -= ((raw >> (sig.size - 1)) & 1) * (1 << sig.size)
        value, ours_raw = got[(t, sig.name)]
        assert ours_raw % (1 << 64) == raw % (1 << 64), sig.name
        if sig.kind == "physical" and not sig.is_float:
            assert value == pytest.approx(raw * sig.factor + sig.offset, rel=1e-12)


def test_counters_and_checksums_go_to_integrity() -> None:
    db = load_dbc("tesla_model3_party")
    msg = db.message("DI_torque")
    frames = encode_frames(db, "DI_torque", {"DI_torqueActual": [100.0, -200.0]}, [0, 10])
    result = decode_frames(frames, db)
    assert set(result.integrity.column("signal").to_pylist()) == {
        "DI_torqueCounter",
        "DI_torqueChecksum",
    }
    assert "DI_torqueCounter" not in result.signals.column("signal").to_pylist()
    kinds = dict(
        zip(
            result.integrity.column("signal").to_pylist(),
            result.integrity.column("kind").to_pylist(),
            strict=True,
        )
    )
    assert kinds == {"DI_torqueCounter": "counter", "DI_torqueChecksum": "checksum"}
    counter = result.integrity.filter(
        pa.compute.equal(result.integrity.column("signal"), "DI_torqueCounter")
    )
    assert counter.column("raw").to_pylist() == [0, 1]
    assert msg.signals["DI_torqueActual"].kind == "physical"


def test_unknown_and_short_frames_are_rejected_with_reasons() -> None:
    db = load_dbc("toyota_nodsu_pt_generated")
    good = db.message("STEER_ANGLE_SENSOR")
    rows = [
        (good.frame_id, False, bytes(8)),
        (0x7FE, False, bytes(8)),
        (good.frame_id, False, bytes(3)),
        (good.frame_id, True, bytes(8)),
    ]
    result = decode_frames(frames_table(rows), db)
    assert result.frames_in == 4 and result.frames_decoded == 1
    assert sorted(result.rejects.column("row").to_pylist()) == [1, 2, 3]
    assert result.reject_counts == {
        "unknown frame id": 2,
        "shorter than STEER_ANGLE_SENSOR (8 bytes)": 1,
    }
    assert result.rejects.column("data").to_pylist()[0] in (bytes(8), bytes(3))


def test_include_and_fixed_size_binary() -> None:
    db = load_dbc("toyota_nodsu_pt_generated")
    msg = db.message("STEER_ANGLE_SENSOR")
    rows = [(msg.frame_id, False, bytes([1, 2, 3, 4, 5, 6, 7, 8]))] * 3
    full = decode_frames(frames_table(rows), db)
    fixed = decode_frames(frames_table(rows, pa.binary(8)), db)
    assert full.signals.equals(fixed.signals)
    only = decode_frames(frames_table(rows), db, include=["STEER_ANGLE_SENSOR.STEER_ANGLE"])
    assert set(only.signals.column("signal").to_pylist()) == {"STEER_ANGLE"}
    none = decode_frames(frames_table(rows), db, include=["GEAR_PACKET"])
    assert none.frames_not_requested == 3 and none.signals.num_rows == 0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("tesla_model3_party", "DI_torque"),  # little-endian, signed
        ("toyota_nodsu_pt_generated", "STEER_ANGLE_SENSOR"),  # big-endian, signed
        ("tesla_model3_party", "DAS_control"),  # little-endian
        ("vw_pq", "Motor_2"),  # multiplexed through SG_MUL_VAL_
        ("hyundai_canfd_generated", "SCC_CONTROL"),  # CAN FD
        ("psa_aee2010_r3", "Dyn_CMM"),  # refused by cantools
    ],
)
def test_encode_decode_round_trip(name: str, message: str) -> None:
    db = load_dbc(name)
    msg = db.message(message)
    rng = np.random.default_rng(7)
    n = 500
    values: dict[str, np.ndarray] = {}
    for sig in msg.signals.values():
        if sig.kind != "physical" or sig.is_float or sig.name == "ZEROS_10":  # overlaps
            continue
        low, high = sig.raw_range
        if sig.is_multiplexer or sig.name == "MO2_Mp_Code":
            high = min(high, 3)
        raw = rng.integers(low, min(high, 2**52) + 1, n)
        values[sig.name] = raw * sig.factor + sig.offset
    frames = encode_frames(db, message, values, np.arange(n) * 10_000)
    assert frames.num_rows == n
    result = decode_frames(frames, db)
    assert result.rejects.num_rows == 0
    for signal, expected in values.items():
        rows = result.signals.filter(pa.compute.equal(result.signals.column("signal"), signal))
        got = rows.column("value").to_numpy()
        sig = msg.signals[signal]
        if sig.multiplexer_ids is None or sig.multiplexer_signal is None:
            np.testing.assert_allclose(got, expected, rtol=0, atol=abs(sig.factor) / 2)
        else:
            switch = np.rint(values[sig.multiplexer_signal]).astype(int)
            mask = np.isin(switch, sig.multiplexer_ids)
            np.testing.assert_allclose(got, expected[mask], rtol=0, atol=abs(sig.factor) / 2)
    theirs = cantools_db(name)
    if theirs is not None:
        cmsg = theirs.get_message_by_name(message)
        data = frames.column("data").to_pylist()
        for i in range(10):
            sample = {s.name: 0 for s in cmsg.signals}
            sample.update({k: float(v[i]) for k, v in values.items()})
            sample.update(
                {
                    s.name: i % (1 << s.length)
                    for s in cmsg.signals
                    if msg.signals[s.name].kind == "counter"
                }
            )
            if any(s.multiplexer_ids for s in cmsg.signals):
                continue  # cantools wants exactly the selected multiplexed signals
            assert cmsg.encode(sample, scaling=True, strict=False) == data[i]


def test_encode_refuses_out_of_range_values() -> None:
    db = load_dbc("toyota_nodsu_pt_generated")
    with pytest.raises(InputError, match="cannot be encoded"):
        encode_frames(db, "STEER_ANGLE_SENSOR", {"STEER_ANGLE": [1e9]}, [0])
    clipped = encode_frames(db, "STEER_ANGLE_SENSOR", {"STEER_ANGLE": [1e9]}, [0], clip=True)
    assert clipped.num_rows == 1


def test_opendbc_checksums_are_valid() -> None:
    from opendbc.can.dbc import DBC
    from opendbc.car.toyota.toyotacan import toyota_checksum

    db = load_dbc("toyota_nodsu_pt_generated")
    msg = db.message("STEER_TORQUE_SENSOR")
    frames = encode_frames(
        db, msg.name, {"STEER_TORQUE_EPS": [1.5, -3.0]}, [0, 1], checksum="opendbc"
    )
    ref = DBC("toyota_nodsu_pt_generated").name_to_msg[msg.name].sigs["CHECKSUM"]
    result = decode_frames(frames, db)
    checksums = (
        result.integrity.filter(pa.compute.equal(result.integrity.column("signal"), "CHECKSUM"))
        .column("raw")
        .to_pylist()
    )
    expected = [
        toyota_checksum(msg.frame_id, ref, bytearray(d)) for d in frames.column("data").to_pylist()
    ]
    assert checksums == expected and any(checksums)


@pytest.mark.parametrize(
    "name",
    ["toyota_nodsu_pt_generated", "tesla_model3_party", "vw_pq", "hyundai_canfd_generated"],
)
def test_frames_decode_as_if_alone(name: str) -> None:
    """Bytes of the next frame in the buffer never leak into a shorter frame's signals."""
    db = load_dbc(name)
    rng = np.random.default_rng(11)
    messages = [m for m in db.messages.values() if m.signals and 0 < m.length <= 64]
    rows: list[tuple[int, bool, bytes]] = []
    for _ in range(120):
        msg = messages[int(rng.integers(len(messages)))]
        longer = int(rng.integers(msg.length, max(msg.length, 8) + 1))
        rows.append((msg.frame_id, msg.is_extended, rng.bytes(longer)))
        rows.append((0x7FE, False, b"\xff" * 64))  # unknown id: all ones right after it
    batch = decode_frames(frames_table(rows), db)
    assert batch.reject_counts == {"unknown frame id": 120}
    alone: dict[tuple[int, str], tuple[float, int]] = {}
    for t, row in enumerate(rows[::2]):
        single = frames_table([row]).set_column(
            0, "ts", pa.array([2 * t], pa.timestamp("us", tz="UTC"))
        )
        alone.update(decoded(decode_frames(single, db)))
    got = decoded(batch)
    assert got.keys() == alone.keys()
    for key, (value, raw) in alone.items():
        assert got[key][1] == raw, key
        assert got[key][0] == value or (np.isnan(value) and np.isnan(got[key][0])), key


def test_output_order_nulls_and_chunks() -> None:
    db = load_dbc("toyota_nodsu_pt_generated")
    steer, gear = db.message("STEER_ANGLE_SENSOR"), db.message("GEAR_PACKET")
    rows = [(gear.frame_id, False, bytes(8)), (steer.frame_id, False, bytes(8))] * 3
    table = frames_table(rows)
    table = table.set_column(
        0, "ts", pa.array([0, None, 2, 3, 4, 5], pa.timestamp("us", tz="UTC"))
    ).set_column(1, "bus", pa.array([1, 1, None, 1, 1, 1], pa.int16()))
    result = decode_frames(table, db)
    chunked = decode_frames(pa.Table.from_batches(table.to_batches(max_chunksize=2)), db)
    assert chunked.signals.equals(result.signals)
    signals = result.signals
    # by message (frame id), then signal in DBC order, then input order
    first = steer if steer.frame_id < gear.frame_id else gear
    expected = [
        (msg.name, sig, t)
        for msg in sorted((steer, gear), key=lambda m: m.frame_id)
        for sig in msg.signals
        if msg.signals[sig].kind == "physical"
        for t in ((1, 3, 5) if msg is steer else (0, 2, 4))
    ]
    ts = [None if v is None else v.timestamp() * 1e6 for v in signals.column("ts").to_pylist()]
    got = list(
        zip(
            signals.column("message").to_pylist(),
            signals.column("signal").to_pylist(),
            ts,
            strict=True,
        )
    )
    expected_ts = {0: 0, 1: None, 2: 2, 3: 3, 4: 4, 5: 5}
    assert got == [(m, s, expected_ts[t]) for m, s, t in expected]
    assert signals.column("message").to_pylist()[0] == first.name
    bus = signals.filter(pa.compute.equal(signals.column("message"), gear.name)).column("bus")
    assert bus.to_pylist() == [1, None, 1] * (len(bus) // 3)
    assert signals.column("ts").type == pa.timestamp("us", tz="UTC")
    assert result.signals.schema.equals(chunked.signals.schema)


def test_counter_gaps_reveal_lost_frames() -> None:
    from drivetrain.ingest.can_encode import encode_frames
    from drivetrain.ingest.can_ingest import counter_gaps

    db = load_dbc("tesla_model3_party")
    frames = encode_frames(db, "DI_torque", {}, np.arange(100) * 10_000)
    whole = decode_frames(frames, db)
    assert counter_gaps(whole.integrity, db) == (99, 0)
    keep = np.ones(100, dtype=bool)
    keep[[10, 11, 50]] = False  # three frames lost on the bus: two gaps
    lossy = decode_frames(frames.filter(pa.array(keep)), db)
    assert counter_gaps(lossy.integrity, db) == (96, 2)
