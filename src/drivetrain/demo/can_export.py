"""Turn a simulated vehicle's signals back into what its buses carry: CAN frames, OBD-II lines.

The inverse of ingestion, for round-trip tests and for demos that go through
raw data: VSS values are mapped onto the model's DBC signals (the manifest's
unit conversion, inverted) and encoded into frames with the real DBC;
OBD-II-bound signals become service 01 responses in the log format of
``drivetrain.ingest.obd_log``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from drivetrain.catalog import VehicleModel, get_pid, load_dbc
from drivetrain.errors import NotFound
from drivetrain.ingest.can_encode import encode_frames
from drivetrain.ingest.can_logs import FRAME_SCHEMA, write_can_log
from drivetrain.lake import Lake

OBD_RESPONDER = 0x7E8


def _wide(telemetry: pa.Table) -> pl.DataFrame:
    """One row per (vehicle, time), one column per VSS path."""
    df = pl.from_arrow(telemetry.select(["vehicle_id", "ts", "signal", "value"]))
    assert isinstance(df, pl.DataFrame)
    return (
        df.with_columns(pl.col("vehicle_id", "signal").cast(pl.String))
        .pivot(on="signal", index=["vehicle_id", "ts"], values="value", aggregate_function="first")
        .sort("vehicle_id", "ts")
    )


def can_frames(telemetry: pa.Table, model: VehicleModel, *, bus: int = 0) -> pa.Table:
    """CAN frames carrying one vehicle's telemetry ``(vehicle_id, ts, signal, value)``."""
    frames = fleet_can_frames(telemetry, model, {})
    return frames.set_column(1, "bus", pa.array([bus] * frames.num_rows, pa.int16()))


def fleet_can_frames(telemetry: pa.Table, model: VehicleModel, bus_of: dict[str, int]) -> pa.Table:
    """CAN frames for many vehicles of ``model``; frame ``bus`` = ``bus_of[vehicle_id]`` (or 0).

    Each bound message is sent at every sample time that has a value for one of
    its bound signals (the last value of the others, per vehicle); counters
    count, checksums are left zero. Frames are ordered by bus, then time.
    """
    wide = _wide(telemetry)
    buses = wide["vehicle_id"].replace_strict(bus_of, default=0, return_dtype=pl.Int16)
    wide = wide.with_columns(buses.alias("_bus"))
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
            rows = wide.filter(
                pl.any_horizontal(pl.col(v).is_not_null() for _, v, _, _ in present)
            ).with_columns(
                pl.col(vss).fill_null(strategy="forward").over("vehicle_id").fill_null(0.0)
                for _, vss, _, _ in present
            )
            values = {sig: ((rows[vss] - off) / sc).to_numpy() for sig, vss, sc, off in present}
            ts = rows["ts"].dt.epoch("us").to_numpy()
            frames = encode_frames(db, message, values, ts, clip=True)
            frames = frames.set_column(
                frames.schema.get_field_index("bus"), "bus", rows["_bus"].to_arrow()
            )
            tables.append(frames.append_column("is_fd", pa.array(np.zeros(frames.num_rows, bool))))
    if not tables:
        return FRAME_SCHEMA.empty_table()
    merged = pa.concat_tables([t.select(FRAME_SCHEMA.names).cast(FRAME_SCHEMA) for t in tables])
    return merged.sort_by([("bus", "ascending"), ("ts", "ascending")])


def write_vehicle_can_log(
    telemetry: pa.Table, model: VehicleModel, path: Path, *, bus: int = 0
) -> int:
    """Write a CAN log (format from ``path``'s extension) of one vehicle's telemetry."""
    return write_can_log(path, [can_frames(telemetry, model, bus=bus)])


_HEX = [f"{b:02X}" for b in range(256)]


def _byte_weight(position: pl.Expr) -> pl.Expr:
    """256 ** position for byte positions 0..3 (Polars has no integer shift)."""
    return (
        pl.when(position == 1)
        .then(pl.lit(256, pl.Int64))
        .when(position == 2)
        .then(pl.lit(256**2, pl.Int64))
        .when(position == 3)
        .then(pl.lit(256**3, pl.Int64))
        .otherwise(pl.lit(1, pl.Int64))
    )


def obd_lines(telemetry: pa.Table, model: VehicleModel) -> list[str]:
    """Service 01 response lines (``drivetrain.ingest.obd_log`` format) for OBD-bound signals.

    Vectorised: values go through the manifest's conversion inverted and the
    PID formula inverted (rounded, clipped to the PID's raw range) into data
    bytes, and each line is formatted by Polars, not a Python loop.
    """
    rows = []
    for b in model.bindings:
        if b.source == "obd" and b.pid is not None:
            pid = get_pid(b.pid)
            lo, hi = pid.raw_range
            rows.append(
                (b.vss, b.pid, b.scale, b.offset, pid.scale, pid.offset, lo, hi, pid.data_bytes)
            )
    bindings = pl.DataFrame(
        rows,
        schema=["signal", "pid", "b_scale", "b_offset", "p_scale", "p_offset", "lo", "hi", "n"],
        orient="row",
    )
    df = pl.from_arrow(telemetry.select(["ts", "signal", "value"]))
    assert isinstance(df, pl.DataFrame)
    df = df.with_columns(pl.col("signal").cast(pl.String)).join(bindings, on="signal")
    if df.is_empty():
        return []
    physical = (pl.col("value") - pl.col("b_offset")) / pl.col("b_scale")
    raw = (
        ((physical - pl.col("p_offset")) / pl.col("p_scale"))
        .round(0)
        .clip(pl.col("lo"), pl.col("hi"))
        .cast(pl.Int64)
    )
    df = df.with_columns(raw.alias("raw"))
    data_bytes = [
        pl.when(pl.col("n") > k)
        .then(
            ((pl.col("raw") // _byte_weight(pl.col("n") - 1 - k)) % 256).replace_strict(
                list(range(256)), _HEX, return_dtype=pl.String
            )
        )
        .otherwise(None)
        for k in range(4)
    ]
    length = (pl.col("n") + 2).replace_strict(list(range(256)), _HEX, return_dtype=pl.String)
    pid_hex = pl.col("pid").replace_strict(list(range(256)), _HEX, return_dtype=pl.String)
    line = pl.concat_str(
        [
            pl.col("ts").dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"),
            pl.lit(f"{OBD_RESPONDER:03X}"),
            length,
            pl.lit("41"),
            pid_hex,
            *data_bytes,
        ],
        separator=" ",
        ignore_nulls=True,
    )
    return list(df.select(line.alias("line"))["line"].to_list())


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
