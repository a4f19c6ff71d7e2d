"""Sealing personal signals at collection, and opening them for a governed read.

Signals whose data category is personal (:data:`SEALED_CATEGORIES`) never
reach the lake in clear. At the collection gate the :class:`Sealer` looks up,
for each row, the data subjects linked to the vehicle at the row's time,
encrypts the value (AES-256-GCM, a fresh random 96-bit nonce per value) under
that set of subjects' data key (:mod:`drivetrain.governance.keys`), and the row
goes to the ``telemetry_sealed`` table as ``(vehicle_id, ts, signal, key_id,
sealed)``. The associated data binds each ciphertext to its vehicle, time,
signal and key: a sealed value copied onto another row does not open.

:func:`open_sealed` turns sealed rows back into telemetry rows for the reads
that may see them; rows whose key was destroyed by an erasure cannot be opened
and are counted, never guessed.
"""

from __future__ import annotations

import os
import struct
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.orm import Session

from drivetrain.catalog import load_signal_catalog
from drivetrain.errors import IntegrityError
from drivetrain.governance.keys import NONCE_BYTES, DataKey, Keyring
from drivetrain.governance.legal_basis import to_us
from drivetrain.governance.subjects import links_of_vehicles
from drivetrain.lake import table_spec
from drivetrain.state import session_scope

SEALED_CATEGORIES: frozenset[str] = frozenset({"location", "identity", "cabin"})
SEALED_TABLE = "telemetry_sealed"
NO_KEY = "personal signal with no registered subject to seal it for"
_VALUE = struct.Struct("<d")
_SEP = "\x1f"  # ASCII unit separator: cannot occur in a vehicle id or a VSS path


def sealed_paths() -> frozenset[str]:
    """The catalog's signals whose values are sealed."""
    catalog = load_signal_catalog()
    return frozenset(p for p, s in catalog.items() if s.category in SEALED_CATEGORIES)


def associated_data(vehicle_id: str, ts_us: int, signal: str, key_id: str) -> bytes:
    """What a sealed value is bound to: its vehicle, time (µs), signal and key."""
    return _SEP.join((vehicle_id, str(ts_us), signal, key_id)).encode()


def _ts_us(column: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.int64]:
    micro = column.cast(pa.timestamp("us", tz="UTC"), safe=False).cast(pa.int64())
    return np.asarray(micro.to_numpy(zero_copy_only=False), dtype=np.int64)


def _codes(column: pa.Array | pa.ChunkedArray) -> tuple[npt.NDArray[np.int64], list[str]]:
    """(code per row, distinct values) of a string or dictionary column, without a row loop."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if not pa.types.is_dictionary(column.type):
        column = pc.dictionary_encode(column)
    codes = column.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, column.dictionary.cast(pa.string()).to_pylist()


def _in_set(column: pa.Array | pa.ChunkedArray, values: pa.Array) -> npt.NDArray[np.bool_]:
    """Which rows of a string or dictionary column are among ``values``."""
    codes, names = _codes(column)
    known = pc.is_in(pa.array(names, pa.string()), value_set=values).to_numpy(zero_copy_only=False)
    return np.asarray(known, dtype=bool)[codes] if len(names) else np.zeros(len(codes), bool)


@dataclass(frozen=True, slots=True)
class _Timeline:
    """One vehicle's subject sets over time: key ``keys[i]`` holds from ``starts[i]`` (-1: none)."""

    starts: npt.NDArray[np.int64]
    keys: npt.NDArray[np.int64]


class Sealer:
    """Seals the personal rows of telemetry batches for a known set of vehicles."""

    def __init__(self, timelines: Mapping[str, _Timeline], keys: list[DataKey]) -> None:
        self._timelines = dict(timelines)
        self._keys = list(keys)
        self._paths = pa.array(sorted(sealed_paths()), pa.string())

    @classmethod
    def build(cls, session: Session, keyring: Keyring, vehicle_ids: Iterable[str]) -> Sealer:
        """Load the vehicles' subject links and make sure every subject set has a key.

        New keys are added to ``session``; commit it before sealing with the result.
        """
        by_vehicle: dict[str, list[tuple[int, int | None, str]]] = {}
        for link in links_of_vehicles(session, vehicle_ids):
            end = None if link.valid_to is None else to_us(link.valid_to)
            by_vehicle.setdefault(link.vehicle_id, []).append(
                (to_us(link.valid_from), end, link.subject_id)
            )
        segments: dict[str, list[tuple[int, frozenset[str]]]] = {}
        for vehicle, links in by_vehicle.items():
            bounds = sorted({b for start, end, _ in links for b in (start, end) if b is not None})
            segments[vehicle] = [
                (
                    b,
                    frozenset(
                        s for start, end, s in links if start <= b and (end is None or b < end)
                    ),
                )
                for b in bounds
            ]
        sets = sorted({s for segs in segments.values() for _, s in segs if s}, key=sorted)
        keys = keyring.ensure(session, sets)
        position = {k.subjects: i for i, k in enumerate(keys)}
        timelines = {
            vehicle: _Timeline(
                np.array([b for b, _ in segs], dtype=np.int64),
                np.array([position[s] if s else -1 for _, s in segs], dtype=np.int64),
            )
            for vehicle, segs in segments.items()
        }
        return cls(timelines, keys)

    def _key_index(
        self, vehicles: npt.NDArray[np.int64], names: list[str], ts: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64]:
        """The index into ``self._keys`` of each row's key, -1 where nobody is linked."""
        out = np.full(len(ts), -1, dtype=np.int64)
        order = np.argsort(vehicles, kind="stable")
        bounds = np.searchsorted(vehicles[order], np.arange(len(names) + 1))
        for code, name in enumerate(names):
            timeline = self._timelines.get(name)
            at = order[bounds[code] : bounds[code + 1]]
            if timeline is None or not len(at):
                continue
            seg = np.searchsorted(timeline.starts, ts[at], side="right") - 1
            out[at] = np.where(seg >= 0, timeline.keys[np.maximum(seg, 0)], -1)
        return out

    def split(self, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, pa.RecordBatch, Counter[str]]:
        """``(plain rows, sealed rows, refused counts)`` of a long-format telemetry batch.

        Personal rows of a vehicle with no linked subject at their time cannot be
        sealed for anyone; they are refused with :data:`NO_KEY`.
        """
        schema = table_spec(SEALED_TABLE).input_schema
        personal = _in_set(batch.column("signal"), self._paths)
        if not personal.any():
            return batch, pa.RecordBatch.from_pylist([], schema=schema), Counter()
        plain = batch.filter(pa.array(~personal))
        rows = batch.filter(pa.array(personal))
        vehicle_codes, vehicle_names = _codes(rows.column("vehicle_id"))
        ts = _ts_us(rows.column("ts"))
        key_index = self._key_index(vehicle_codes, vehicle_names, ts)
        refused: Counter[str] = Counter()
        if (missing := int((key_index < 0).sum())) > 0:
            refused[NO_KEY] = missing
        idx = np.flatnonzero(key_index >= 0)
        signal_codes, signal_names = _codes(rows.column("signal"))
        values = rows.column("value").to_numpy(zero_copy_only=False).astype(np.float64)[idx]
        nonces = os.urandom(NONCE_BYTES * len(idx))
        sealed: list[bytes] = []
        key_ids: list[str] = []
        keys, pack = self._keys, _VALUE.pack
        for j, (v, t, sig, k, value) in enumerate(
            zip(
                vehicle_codes[idx].tolist(),
                ts[idx].tolist(),
                signal_codes[idx].tolist(),
                key_index[idx].tolist(),
                values.tolist(),
                strict=True,
            )
        ):
            key = keys[k]
            nonce = nonces[j * NONCE_BYTES : (j + 1) * NONCE_BYTES]
            aad = _SEP.join((vehicle_names[v], str(t), signal_names[sig], key.key_id)).encode()
            sealed.append(nonce + key.aead.encrypt(nonce, pack(value), aad))
            key_ids.append(key.key_id)
        take = pa.array(idx, pa.int64())
        out = pa.RecordBatch.from_arrays(
            [
                pc.take(rows.column("vehicle_id"), take).cast(pa.string()),
                pc.take(rows.column("ts"), take).cast(pa.timestamp("us", tz="UTC")),
                pc.take(rows.column("signal"), take).cast(pa.string()),
                pa.array(key_ids, pa.string()),
                pa.array(sealed, pa.binary()),
            ],
            schema=schema,
        )
        return plain, out, refused


@dataclass(frozen=True, slots=True)
class Opened:
    """Sealed rows opened back into telemetry rows, and what could not be opened."""

    telemetry: pa.Table
    shredded: int  # rows whose data key was destroyed by an erasure


def open_sealed(sealed: pa.Table, keys: Mapping[str, AESGCM]) -> Opened:
    """Decrypt ``telemetry_sealed`` rows with ``keys`` (key id → key) into telemetry rows.

    Rows whose key is absent (destroyed) are left out and counted; a row that
    does not authenticate under its own key raises :class:`IntegrityError`:
    the lake file was altered.
    """
    vehicle_codes, vehicle_names = _codes(sealed.column("vehicle_id"))
    signal_codes, signal_names = _codes(sealed.column("signal"))
    key_codes, key_names = _codes(sealed.column("key_id"))
    by_code = [keys.get(k) for k in key_names]
    blobs = sealed.column("sealed").to_pylist()
    keep = np.zeros(len(blobs), dtype=bool)
    values = np.zeros(len(blobs), dtype=np.float64)
    unpack = _VALUE.unpack
    rows = zip(
        blobs,
        vehicle_codes.tolist(),
        _ts_us(sealed.column("ts")).tolist(),
        signal_codes.tolist(),
        key_codes.tolist(),
        strict=True,
    )
    for i, (blob, v, t, sig, k) in enumerate(rows):
        aead = by_code[k]
        if aead is None:
            continue
        aad = _SEP.join((vehicle_names[v], str(t), signal_names[sig], key_names[k])).encode()
        try:
            plain = aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag:
            raise IntegrityError(
                f"sealed {signal_names[sig]} of {vehicle_names[v]} at {t} µs does not authenticate",
                hint="a telemetry_sealed file was altered; restore it from its Delta history",
            ) from None
        values[i] = unpack(plain)[0]
        keep[i] = True
    mask = pa.array(keep)
    telemetry = pa.table(
        {
            "vehicle_id": sealed.column("vehicle_id").filter(mask),
            "ts": sealed.column("ts").filter(mask),
            "signal": sealed.column("signal").filter(mask),
            "value": pa.array(values[keep], pa.float64()),
            "date": sealed.column("ts")
            .filter(mask)
            .cast(pa.timestamp("us", tz="UTC"))
            .cast(pa.date32()),
        },
        schema=table_spec("telemetry").schema,
    )
    return Opened(telemetry, int((~keep).sum()))


def read_opened(session: Session, keyring: Keyring, sealed: pa.Table) -> Opened:
    """Open ``sealed`` rows with the live keys of the state database."""
    keys = keyring.open_keys(session, _codes(sealed.column("key_id"))[1])
    return open_sealed(sealed, keys)


def state_opener(state_url: str, keyring: Keyring) -> Callable[[pa.Table], Opened]:
    """An opener for governed reads: each call opens rows with the keys live at that moment."""

    def opener(sealed: pa.Table) -> Opened:
        with session_scope(state_url) as session:
            return read_opened(session, keyring, sealed)

    return opener
