"""Sealing personal signals under per-subject data keys, and shredding them by erasure."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select

from drivetrain.errors import IntegrityError
from drivetrain.governance.keys import (
    KEK_FILE,
    NONCE_BYTES,
    Keyring,
    destroy_subject_keys,
    keys_of_subject,
)
from drivetrain.governance.sealing import (
    NO_KEY,
    Sealer,
    associated_data,
    open_sealed,
    read_opened,
)
from drivetrain.governance.subjects import link_vehicle, register_subject
from drivetrain.state import session_scope
from drivetrain.state.governance_models import DataKeyRow

from .test_consent import add_vehicle

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SALE = datetime(2026, 6, 1, tzinfo=UTC)
LAT = "Vehicle.CurrentLocation.Latitude"
SPEED = "Vehicle.Speed"


def batch(rows: list[tuple[str, datetime, str, float]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {
            "vehicle_id": [r[0] for r in rows],
            "ts": pa.array([r[1] for r in rows], pa.timestamp("us", tz="UTC")),
            "signal": [r[2] for r in rows],
            "value": [r[3] for r in rows],
        }
    )


def with_date(sealed: pa.RecordBatch) -> pa.Table:
    table = pa.Table.from_batches([sealed])
    return table.append_column("date", table["ts"].cast(pa.date32()))


@pytest.fixture
def world(migrated_url: str, tmp_path: Path) -> tuple[str, Keyring, str]:
    """A vehicle owned by alice until SALE, then by bob with carol as a named driver."""
    with session_scope(migrated_url) as s:
        vehicle = add_vehicle(s, 1)
        for name in ("alice", "bob", "carol"):
            kind = "driver" if name == "carol" else "owner"
            register_subject(s, name, kind=kind, display_name=name.title(), region="eu")
        link_vehicle(s, "alice", vehicle, "owner", T0, SALE)
        link_vehicle(s, "bob", vehicle, "owner", SALE)
        link_vehicle(s, "carol", vehicle, "driver", SALE)
    return migrated_url, Keyring.load_or_create(tmp_path), vehicle


def test_personal_rows_are_sealed_per_subject_set_and_open_again(
    world: tuple[str, Keyring, str],
) -> None:
    url, keyring, vehicle = world
    before, after = SALE - timedelta(days=1), SALE + timedelta(days=1)
    rows = [
        (vehicle, before, LAT, 48.8566),
        (vehicle, before, SPEED, 50.0),
        (vehicle, after, LAT, 45.4642),
        (vehicle, T0 - timedelta(days=1), LAT, 1.0),  # before anyone owned it
    ]
    with session_scope(url) as s:
        sealer = Sealer.build(s, keyring, [vehicle])
    plain, sealed, refused = sealer.split(batch(rows))
    assert plain.column("signal").to_pylist() == [SPEED]
    assert refused == {NO_KEY: 1}
    assert sealed.num_rows == 2
    with session_scope(url) as s:
        alice_keys, bob_keys = keys_of_subject(s, "alice"), keys_of_subject(s, "bob")
        assert keys_of_subject(s, "carol") == bob_keys  # one key for the set {bob, carol}
        assert sealed.column("key_id").to_pylist() == [*alice_keys, *bob_keys]
        opened = read_opened(s, keyring, with_date(sealed))
    assert opened.shredded == 0
    assert opened.telemetry.column("value").to_pylist() == [48.8566, 45.4642]
    # no value is in the ciphertext in clear
    for blob, value in zip(sealed.column("sealed").to_pylist(), (48.8566, 45.4642), strict=True):
        assert struct.pack("<d", value) not in blob and len(blob) == NONCE_BYTES + 8 + 16


def test_a_sealed_value_moved_to_another_row_does_not_open(world: tuple[str, Keyring, str]) -> None:
    url, keyring, vehicle = world
    t = SALE + timedelta(days=2)
    with session_scope(url) as s:
        sealer = Sealer.build(s, keyring, [vehicle])
    _, sealed, _ = sealer.split(
        batch([(vehicle, t, LAT, 10.0), (vehicle, t, LAT.replace("Latitude", "Longitude"), 20.0)])
    )
    blobs = sealed.column("sealed").to_pylist()
    swapped = with_date(sealed).set_column(4, "sealed", pa.array(blobs[::-1], pa.binary()))
    with session_scope(url) as s:
        keys = keyring.open_keys(s, sealed.column("key_id").to_pylist())
    with pytest.raises(IntegrityError, match="does not authenticate"):
        open_sealed(swapped, keys)
    # the independent check: AES-GCM with the row's own associated data opens it
    key = keys[sealed.column("key_id")[0].as_py()]
    aad = associated_data(
        vehicle, int(t.timestamp() * 1_000_000), LAT, sealed.column("key_id")[0].as_py()
    )
    assert (
        struct.unpack("<d", key.decrypt(blobs[0][:NONCE_BYTES], blobs[0][NONCE_BYTES:], aad))[0]
        == 10.0
    )


def test_erasing_one_subject_shreds_every_key_they_share(world: tuple[str, Keyring, str]) -> None:
    url, keyring, vehicle = world
    before, after = SALE - timedelta(days=1), SALE + timedelta(days=1)
    with session_scope(url) as s:
        sealer = Sealer.build(s, keyring, [vehicle])
    _, sealed, _ = sealer.split(batch([(vehicle, before, LAT, 1.5), (vehicle, after, LAT, 2.5)]))
    with session_scope(url) as s:
        destroyed = destroy_subject_keys(s, "carol")
    with session_scope(url) as s:
        assert keys_of_subject(s, "bob") == []  # bob's only key was the one he shared with carol
        opened = read_opened(s, keyring, with_date(sealed))
    assert len(destroyed) == 1
    assert opened.shredded == 1 and opened.telemetry.column("value").to_pylist() == [1.5]


def test_the_database_holds_keys_only_wrapped(
    world: tuple[str, Keyring, str], tmp_path: Path
) -> None:
    url, keyring, vehicle = world
    with session_scope(url) as s:
        Sealer.build(s, keyring, [vehicle])
    with session_scope(url) as s:
        rows = s.execute(select(DataKeyRow.key_id, DataKeyRow.wrapped)).all()
    kek = AESGCM((tmp_path / KEK_FILE).read_bytes())
    for key_id, wrapped in rows:
        key = kek.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], key_id.encode())
        assert len(key) == 32 and key not in wrapped
    assert (tmp_path / KEK_FILE).stat().st_mode & 0o777 == 0o600
    other = Keyring.load_or_create(tmp_path / "elsewhere")
    with session_scope(url) as s, pytest.raises(IntegrityError, match="key-encryption key"):
        other.open_keys(s, [r[0] for r in rows])


def test_building_twice_reuses_the_keys(world: tuple[str, Keyring, str]) -> None:
    url, keyring, vehicle = world
    with session_scope(url) as s:
        Sealer.build(s, keyring, [vehicle])
    with session_scope(url) as s:
        first = sorted(s.scalars(select(DataKeyRow.key_id)))
        Sealer.build(s, keyring, [vehicle])
    with session_scope(url) as s:
        assert sorted(s.scalars(select(DataKeyRow.key_id))) == first and len(first) == 2
