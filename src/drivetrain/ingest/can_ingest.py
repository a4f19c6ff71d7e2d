"""CAN log → decoded DBC signals → VSS signals through the model's manifest → the lake.

A log is streamed chunk by chunk (``read_can_log``), each chunk decoded with
the vectorised decoder against every DBC the vehicle model's decoder manifest
uses, restricted to the messages it binds. Decoded signals are mapped onto VSS
paths with the binding's unit conversion and written through
:func:`~drivetrain.ingest.write_telemetry` (catalog checks, campaigns) in one
commit for the whole log. Unreadable records, frames no DBC of the model
knows, and frames too short for their message are quarantined with the
reason and location; counters and checksums are checked by the decoder but not
stored as physical signals.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from drivetrain.catalog import DbcDatabase, VehicleModel, load_dbc
from drivetrain.errors import InputError
from drivetrain.governance.audit import AuditLog
from drivetrain.ingest.campaigns import CampaignFilter
from drivetrain.ingest.can_decode import decode_frames
from drivetrain.ingest.can_logs import read_can_log
from drivetrain.ingest.dedupe import drop_stored
from drivetrain.ingest.sink import (
    CollectionContext,
    WriteReport,
    quarantine_records,
    write_telemetry,
)
from drivetrain.lake import Lake

UNKNOWN_ID = "unknown frame id"  # the decoder's reason
MAX_QUARANTINED_FRAMES = 10_000  # per reason; the rest are counted in one summary record


@dataclass(slots=True)
class CanIngestReport:
    """What a CAN log gave: frames read, decoded, not bound, refused, and the write."""

    frames: int = 0
    frames_decoded: int = 0
    frames_not_bound: int = 0
    duplicates: int = 0
    integrity: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    telemetry: WriteReport | None = None


@dataclass(frozen=True, slots=True)
class _Mapping:
    dbc: str
    include: frozenset[str]
    keys: pa.Table  # message, signal, vss, scale, offset


def _mappings(model: VehicleModel) -> list[_Mapping]:
    out = []
    for dbc in model.dbc_files:
        bound = [b for b in model.bindings if b.source == "can" and b.dbc == dbc]
        keys = pa.table(
            {
                "message": [b.message for b in bound],
                "signal": [b.signal for b in bound],
                "vss": [b.vss for b in bound],
                "scale": pa.array([b.scale for b in bound], pa.float64()),
                "offset": pa.array([b.offset for b in bound], pa.float64()),
            }
        )
        include = frozenset(f"{b.message}.{b.signal}" for b in bound)
        out.append(_Mapping(dbc, include, keys))
    if not out:
        raise InputError(
            f"vehicle model {model.id!r} binds no CAN signal in its decoder manifest",
            hint="use 'drivetrain ingest obd' for an OBD-II-only vehicle",
        )
    return out


def counter_gaps(integrity: pa.Table, db: DbcDatabase) -> tuple[int, int]:
    """(counter values checked, values that did not follow their predecessor).

    A rolling counter should step by one (modulo its bit size) from one frame
    of its message to the next on the same bus; a gap means frames were lost
    or repeated on the way. Fields named ``…MSB…`` (the high half of a split
    counter) step less often and are not checked. Gaps across chunk boundaries
    of a long log are not seen.
    """
    df = pl.from_arrow(integrity)
    assert isinstance(df, pl.DataFrame)
    df = df.filter(pl.col("kind").cast(pl.String) == "counter").with_columns(
        pl.col("message", "signal").cast(pl.String)
    )
    df = df.filter(~pl.col("signal").str.to_uppercase().str.contains("MSB"))
    if df.is_empty():
        return 0, 0
    sizes = {
        (m, sig): 1 << db.signal(m, sig).size
        for m, sig in df.select("message", "signal").unique().iter_rows()
    }
    modulus = pl.Series(
        [sizes[(m, sig)] for m, sig in df.select("message", "signal").iter_rows()], dtype=pl.Int64
    )
    steps = (
        df.with_columns(modulus.alias("modulus"))
        .sort("bus", "frame_id", "signal", "ts")
        .with_columns(
            (pl.col("raw").diff().over("bus", "frame_id", "signal") % pl.col("modulus")).alias(
                "step"
            )
        )
        .drop_nulls("step")
    )
    return steps.height, int((steps["step"] != 1).sum())


def decode_to_vss(
    frames: pa.Table,
    model: VehicleModel,
    vehicle_id: str,
    *,
    vehicle_by_bus: Sequence[str] | None = None,
    integrity: Counter[str] | None = None,
) -> tuple[pa.Table, pa.Table, int, int]:
    """Decode ``frames`` for ``model``: (VSS telemetry, rejected frames, decoded, not bound).

    A frame is rejected as unknown only if no DBC of the model knows its id.
    With ``vehicle_by_bus``, frames of many vehicles of the model are decoded
    at once, the ``bus`` column holding each frame's index into that list.
    """
    parts: list[pa.Table] = []
    decoded = not_bound = 0
    unknown: npt.NDArray[np.int64] | None = None
    other_rows: list[npt.NDArray[np.int64]] = []
    other_reasons: list[npt.NDArray[np.str_]] = []
    for mapping in _mappings(model):
        db = load_dbc(mapping.dbc)
        result = decode_frames(frames, db, include=mapping.include)
        if integrity is not None:
            checked, gaps = counter_gaps(result.integrity, db)
            integrity["counter values checked"] += checked
            integrity["counter gaps"] += gaps
        decoded += result.frames_decoded
        not_bound += result.frames_not_requested
        rows = result.rejects["row"].to_numpy().astype(np.int64)
        reason = np.asarray(result.rejects["reason"].to_pylist(), dtype=str)
        is_unknown = reason == UNKNOWN_ID
        unknown = rows[is_unknown] if unknown is None else np.intersect1d(unknown, rows[is_unknown])
        other_rows.append(rows[~is_unknown])
        other_reasons.append(reason[~is_unknown])
        sig = result.signals.select(["ts", "bus", "message", "signal", "value"])
        sig = sig.set_column(2, "message", pc.cast(sig["message"], pa.string()))
        sig = sig.set_column(3, "signal", pc.cast(sig["signal"], pa.string()))
        joined = sig.join(mapping.keys, keys=["message", "signal"], join_type="inner")
        vehicles = (
            pa.array(vehicle_by_bus, pa.string()).take(joined["bus"])
            if vehicle_by_bus is not None
            else pa.nulls(joined.num_rows, pa.string()).fill_null(vehicle_id)
        )
        parts.append(
            pa.table(
                {
                    "vehicle_id": vehicles,
                    "ts": joined["ts"],
                    "signal": joined["vss"],
                    "value": pc.add(
                        pc.multiply(joined["value"], joined["scale"]), joined["offset"]
                    ),
                }
            )
        )
    assert unknown is not None
    rows = np.concatenate([unknown, *other_rows])
    reasons = np.concatenate(
        [np.full(len(unknown), "no DBC of the vehicle model knows this frame id"), *other_reasons]
    )
    rejected = frames.take(pa.array(rows)).append_column("reason", pa.array(reasons.tolist()))
    return pa.concat_tables(parts), rejected, decoded, not_bound


def ingest_can_log(
    lake: Lake,
    path: Path,
    *,
    vehicle_id: str,
    model: VehicleModel,
    context: CollectionContext,
    campaigns: CampaignFilter | None = None,
    chunk_rows: int = 500_000,
    audit: AuditLog | None = None,
) -> CanIngestReport:
    """Decode and store the CAN log ``path`` of one vehicle of ``model``."""
    report = CanIngestReport()
    refused: list[tuple[str, str, str]] = []

    def note(location: str, reason: str, record: str) -> None:
        report.rejected[reason] += 1
        if report.rejected[reason] <= MAX_QUARANTINED_FRAMES:
            refused.append((location, reason, record))

    def batches() -> Iterator[pa.Table]:
        for chunk in read_can_log(path, chunk_rows=chunk_rows):
            for r in chunk.rejects:
                note(r.location, r.reason, r.record)
            report.frames += chunk.frames.num_rows
            telemetry, rejected, decoded, not_bound = decode_to_vss(
                chunk.frames, model, vehicle_id, integrity=report.integrity
            )
            report.frames_decoded += decoded
            report.frames_not_bound += not_bound
            for row in rejected.to_pylist():
                note(
                    f"{path.name}:frame at {row['ts'].isoformat()}",
                    row["reason"],
                    f"id=0x{row['frame_id']:X} data={row['data'].hex().upper()}",
                )
            fresh = drop_stored(lake, telemetry)  # re-ingesting a log stores nothing twice
            report.duplicates += telemetry.num_rows - fresh.num_rows
            if fresh.num_rows:
                yield fresh

    report.telemetry = write_telemetry(
        lake, _batches_of(batches()), context, campaigns=campaigns, audit=audit
    )
    for reason, count in report.rejected.items():
        if count > MAX_QUARANTINED_FRAMES:
            refused.append((path.name, reason, f"and {count - MAX_QUARANTINED_FRAMES} more"))
    quarantine_records(lake, context, "telemetry", refused, vehicle_id=vehicle_id)
    return report


def _batches_of(tables: Iterator[pa.Table]) -> Iterator[pa.RecordBatch]:
    for table in tables:
        yield from table.combine_chunks().to_batches()
