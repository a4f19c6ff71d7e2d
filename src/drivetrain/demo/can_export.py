"""Turn a simulated vehicle's signals back into what its buses carry: CAN frames, OBD-II lines.

The inverse of ingestion, for round-trip tests and for demos that go through
raw data: VSS values are mapped onto the model's DBC signals (the manifest's
unit conversion, inverted) and encoded into frames with the real DBC;
OBD-II-bound signals become service 01 responses in the log format of
``drivetrain.ingest.obd_log``.
"""

from __future__ import annotations

from datetime import UTC, date
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from drivetrain.catalog import VehicleModel, encode_pid, get_pid, load_dbc
from drivetrain.errors import NotFound
from drivetrain.ingest.can_encode import encode_frames
from drivetrain.ingest.can_logs import FRAME_SCHEMA, write_can_log
from drivetrain.lake import Lake

OBD_RESPONDER = 0x7E8


def _wide(telemetry: pa.Table) -> pl.DataFrame:
    df = pl.from_arrow(telemetry.select(["ts", "signal", "value"]))
    assert isinstance(df, pl.DataFrame)
    return (
        df.with_columns(pl.col("signal").cast(pl.String))
        .pivot(on="signal", index="ts", values="value", aggregate_function="first")
        .sort("ts")
    )


def can_frames(telemetry: pa.Table, model: VehicleModel, *, bus: int = 0) -> pa.Table:
    """CAN frames carrying one vehicle's telemetry ``(ts, signal, value)`` for ``model``.

    Each bound message is sent at every sample time that has a value for one of
    its bound signals; counters count, checksums are left zero.
    """
    wide = _wide(telemetry)
    tables = []
    for dbc_name in model.dbc_files:
        db = load_dbc(dbc_name)
        messages: dict[str, list[tuple[str, str, float, float]]] = {}
        for b in model.bindings:
            if b.source == "can" and b.dbc == dbc_name and b.message and b.signal:
                messages.setdefault(b.message, []).append((b.signal, b.vss, b.scale, b.offset))
        for message, bound in messages.items():
            present = [(sig, vss, sc, off) for sig, vss, sc, off in bound if vss in wide.columns]
            if not present:
                continue
            rows = wide.filter(pl.any_horizontal(pl.col(v).is_not_null() for _, v, _, _ in present))
            values = {
                sig: (
                    (rows[vss].fill_null(strategy="forward").fill_null(0.0) - off) / sc
                ).to_numpy()
                for sig, vss, sc, off in present
            }
            ts = rows["ts"].dt.epoch("us").to_numpy()
            frames = encode_frames(db, message, values, ts, bus=bus, clip=True)
            tables.append(frames.append_column("is_fd", pa.array(np.zeros(frames.num_rows, bool))))
    if not tables:
        return FRAME_SCHEMA.empty_table()
    merged = pa.concat_tables([t.select(FRAME_SCHEMA.names).cast(FRAME_SCHEMA) for t in tables])
    return merged.sort_by([("ts", "ascending")])


def write_vehicle_can_log(
    telemetry: pa.Table, model: VehicleModel, path: Path, *, bus: int = 0
) -> int:
    """Write a CAN log (format from ``path``'s extension) of one vehicle's telemetry."""
    return write_can_log(path, [can_frames(telemetry, model, bus=bus)])


def obd_lines(telemetry: pa.Table, model: VehicleModel) -> list[str]:
    """Service 01 response lines (``drivetrain.ingest.obd_log`` format) for OBD-bound signals."""
    by_vss = {b.vss: b for b in model.bindings if b.source == "obd" and b.pid is not None}
    lines = []
    for row in telemetry.select(["ts", "signal", "value"]).to_pylist():
        binding = by_vss.get(str(row["signal"]))
        if binding is None or binding.pid is None:
            continue
        pid = get_pid(binding.pid)
        data = encode_pid(pid.pid, (row["value"] - binding.offset) / binding.scale)
        payload = bytes([0x41, pid.pid]) + data
        stamp = row["ts"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        frame = " ".join(f"{b:02X}" for b in bytes([len(payload)]) + payload)
        lines.append(f"{stamp} {OBD_RESPONDER:03X} {frame}")
    return lines


def export_vehicle_log(
    lake: Lake, vehicle_id: str, model: VehicleModel, out: Path, *, day: date | None = None
) -> int:
    """Write what the vehicle's buses carried (from the lake's telemetry) as a log at ``out``.

    CAN-bound signals become a CAN log in the format of ``out``'s extension;
    for an OBD-II-only model ``out`` gets service 01 response lines. Returns
    the number of frames or lines written.
    """
    where = pc.field("vehicle_id") == vehicle_id
    if day is not None:
        where = where & (pc.field("date") == pa.scalar(day, pa.date32()))
    telemetry = lake.read("telemetry", filter=where)
    if telemetry.num_rows == 0:
        raise NotFound(
            f"the lake holds no telemetry of {vehicle_id}" + (f" on {day}" if day else ""),
            hint="simulate the fleet first, or pick another --day",
        )
    if all(b.source == "obd" for b in model.bindings):
        lines = obd_lines(telemetry, model)
        tmp = out.with_name(out.name + ".part")
        tmp.write_text("\n".join(lines) + "\n", encoding="ascii")
        tmp.replace(out)
        return len(lines)
    return write_vehicle_can_log(telemetry, model, out)
