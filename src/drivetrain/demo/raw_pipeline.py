"""The simulator's raw path: telemetry leaves each vehicle as its buses carry it.

For every vehicle and day, the signals its model reads from CAN are encoded
with the model's real DBC files into a candump log, the OBD-II ones become a
log of service 01 responses, and what the telematics unit reports natively
stays VSS. Ingestion then reads those logs back — the same readers, decoder
and manifests ``drivetrain ingest`` uses — so the lake holds what a real
collection pipeline would have decoded. Logs are kept under ``log_dir`` as
``<vehicle_id>/<date>.log`` for inspection and re-ingestion.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from drivetrain.catalog import VehicleModel
from drivetrain.demo.can_export import fleet_can_frames, obd_lines
from drivetrain.demo.fleet_builder import Fleet
from drivetrain.ingest.can_ingest import decode_to_vss
from drivetrain.ingest.can_logs import candump_lines, read_can_log
from drivetrain.ingest.obd_log import read_obd_log

TELEMETRY = pa.schema(
    [
        ("vehicle_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("signal", pa.string()),
        ("value", pa.float64()),
    ]
)


@dataclass(slots=True)
class RawStats:
    """What went over the simulated buses."""

    can_logs: int = 0
    obd_logs: int = 0
    can_frames: int = 0
    obd_responses: int = 0
    log_bytes: int = 0
    decoded_signals: int = 0
    native_signals: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


class RawRoute:
    """A ``simulate_fleet`` route through per-vehicle, per-day CAN and OBD-II logs.

    Work is vectorised per vehicle model and simulated day: one encode per
    message for all vehicles of the model, one decode of all their logs; only
    writing and reading the files is per vehicle, as it would be on a server
    receiving them.
    """

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.stats = RawStats()

    def __call__(self, fleet: Fleet, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        model_of = {r.vehicle_id: r.model_id for r in fleet.records}
        models = {m.id: m for m in fleet.models}
        for batch in batches:
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            frame = frame.with_columns(pl.col("vehicle_id", "signal").cast(pl.String))
            frame = frame.with_columns(
                pl.col("vehicle_id").replace_strict(model_of).alias("_model")
            )
            for (model_id,), part in frame.partition_by("_model", as_dict=True).items():
                yield from self._model_day(models[str(model_id)], part.drop("_model"))

    def _model_day(self, model: VehicleModel, part: pl.DataFrame) -> Iterator[pa.RecordBatch]:
        sources = {b.vss: b.source for b in model.bindings}
        kind = pl.col("signal").replace_strict(sources, default="vss")
        native = part.filter(kind == "vss")
        if native.height:
            self.stats.native_signals += native.height
            yield from native.to_arrow().cast(TELEMETRY).to_batches()
        can = part.filter(kind == "can")
        if can.height:
            yield from self._through_can(model, can)
        obd = part.filter(kind == "obd")
        if obd.height:
            for (vehicle_id,), rows in obd.partition_by("vehicle_id", as_dict=True).items():
                yield from self._through_obd(str(vehicle_id), model, rows.to_arrow())

    def _path(self, vehicle_id: str, day: date, suffix: str) -> Path:
        path = self.log_dir / vehicle_id / f"{day:%Y-%m-%d}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _through_can(self, model: VehicleModel, can: pl.DataFrame) -> Iterator[pa.RecordBatch]:
        vehicles = sorted(can["vehicle_id"].unique().to_list())
        day = can["ts"].min()
        assert isinstance(day, datetime)
        frames = fleet_can_frames(can.to_arrow(), model, {v: i for i, v in enumerate(vehicles)})
        bus = frames["bus"].to_numpy()
        on_can0 = frames.set_column(1, "bus", pa.array(np.zeros(len(bus), np.int16)))
        lines = np.asarray(candump_lines(on_can0), dtype=object)
        back = []
        for index, vehicle_id in enumerate(vehicles):
            path = self._path(vehicle_id, day.date(), ".log")
            mine = lines[bus == index]
            path.write_text("\n".join(mine) + "\n", encoding="ascii")
            self.stats.can_logs += 1
            self.stats.can_frames += len(mine)
            self.stats.log_bytes += path.stat().st_size
            for chunk in read_can_log(path):
                self.stats.rejected.update(r.reason for r in chunk.rejects)
                back.append(
                    chunk.frames.set_column(
                        1, "bus", pa.array(np.full(chunk.frames.num_rows, index, np.int16))
                    )
                )
        decoded, rejected, _, _ = decode_to_vss(
            pa.concat_tables(back), model, "", vehicle_by_bus=vehicles
        )
        self.stats.rejected.update(rejected["reason"].to_pylist())
        self.stats.decoded_signals += decoded.num_rows
        yield from decoded.cast(TELEMETRY).combine_chunks().to_batches(max_chunksize=1 << 30)

    def _through_obd(
        self, vehicle_id: str, model: VehicleModel, telemetry: pa.Table
    ) -> Iterator[pa.RecordBatch]:
        first = telemetry["ts"][0].as_py()
        path = self._path(vehicle_id, first.date(), ".obd")
        lines = obd_lines(telemetry, model)
        path.write_text("\n".join(lines) + "\n", encoding="ascii")
        self.stats.obd_logs += 1
        self.stats.obd_responses += len(lines)
        self.stats.log_bytes += path.stat().st_size
        log = read_obd_log(path, model)
        self.stats.rejected.update(reason for _, reason, _ in log.rejects)
        decoded = log.telemetry(vehicle_id)
        self.stats.decoded_signals += decoded.num_rows
        yield from decoded.cast(TELEMETRY).combine_chunks().to_batches(max_chunksize=1 << 30)
