"""Reading OBD-II response logs: service 01 PIDs to VSS signals, service 03/07 to DTCs.

Log format (what an ELM327-class logger with headers on and timestamps prints),
one response per line, ``#`` starts a comment::

    2026-10-01T08:00:00.000000Z 7E8 04 41 0C 1A F8      # 1726 rpm
    2026-10-01T08:00:00.100000Z 7E8 06 43 02 01 28 03 00 # P0128, P0300

Fields: a UTC ISO-8601 timestamp, the responding ECU's CAN id (11-bit, hex),
then the ISO 15765-4 single frame: the PCI length byte and the response.
Service 01 values are decoded with the SAE J1979 formulas of
``drivetrain.catalog.obd`` and mapped to VSS paths by the vehicle model's
decoder manifest; service 03 (confirmed) and 07 (pending) DTCs are decoded
with ``drivetrain.catalog.obd.decode_dtc`` (their meaning: ``drivetrain.health.dtc``). Lines
that cannot be read are returned as rejects with the line number and reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from drivetrain.catalog import VehicleModel, get_pid
from drivetrain.catalog.obd import decode_dtc
from drivetrain.errors import DrivetrainError, InputError
from drivetrain.governance.audit import AuditLog
from drivetrain.ingest.campaigns import CampaignFilter
from drivetrain.ingest.dedupe import drop_stored
from drivetrain.ingest.sink import (
    CollectionContext,
    WriteReport,
    quarantine_records,
    write_telemetry,
)
from drivetrain.lake import Lake, table_spec

TS = pa.timestamp("us", tz="UTC")
DTC_STATUS = {0x43: "confirmed", 0x47: "pending"}
CLEARED = 0x44  # positive response to service 04, "clear diagnostic information"


@dataclass(slots=True)
class ObdLog:
    """What one log gave: signal rows, DTC rows and the lines refused."""

    signals: list[tuple[datetime, str, float]] = field(default_factory=list)
    dtcs: list[tuple[datetime, str, str, str]] = field(default_factory=list)
    clears: list[tuple[datetime, str]] = field(default_factory=list)  # service 04 answered
    rejects: list[tuple[int, str, str]] = field(default_factory=list)  # line no, reason, text

    def telemetry(self, vehicle_id: str) -> pa.Table:
        return pa.table(
            {
                "vehicle_id": [vehicle_id] * len(self.signals),
                "ts": pa.array([s[0] for s in self.signals], TS),
                "signal": [s[1] for s in self.signals],
                "value": pa.array([s[2] for s in self.signals], pa.float64()),
            }
        )

    def dtc_events(self, vehicle_id: str) -> pa.Table:
        return _events(vehicle_id, self.dtcs)


def _events(vehicle_id: str, rows: list[tuple[datetime, str, str, str]]) -> pa.Table:
    return pa.table(
        {
            "vehicle_id": [vehicle_id] * len(rows),
            "ts": pa.array([r[0] for r in rows], TS),
            "dtc": pa.array([r[1] for r in rows], pa.string()),
            "ecu": pa.array([r[2] for r in rows], pa.string()),
            "status": pa.array([r[3] for r in rows], pa.string()),
        },
        schema=table_spec("dtc_events").input_schema,
    )


def read_obd_log(path: Path, model: VehicleModel) -> ObdLog:
    """Decode every response in ``path`` for a vehicle of ``model``."""
    by_pid = {b.pid: b for b in model.bindings if b.source == "obd" and b.pid is not None}
    if not by_pid:
        raise InputError(
            f"vehicle model {model.id!r} has no OBD-II PID in its decoder manifest",
            hint="pass --model of a vehicle that reports over OBD-II",
        )
    log = ObdLog()
    for number, text in _lines(path):
        try:
            ts, ecu, payload = _parse_line(text)
            service = payload[0]
            if service == 0x41:
                pid = payload[1]
                binding = by_pid.get(pid)
                if binding is None:
                    raise InputError(f"PID 0x{pid:02X} is not in the {model.id} manifest")
                entry = get_pid(pid)
                data = bytes(payload[2 : 2 + entry.data_bytes])
                if len(data) != entry.data_bytes:
                    raise InputError(
                        f"PID 0x{pid:02X} needs {entry.data_bytes} data byte(s), got {len(data)}"
                    )
                raw = int.from_bytes(data, "big") * entry.scale + entry.offset
                log.signals.append((ts, binding.vss, raw * binding.scale + binding.offset))
            elif service in DTC_STATUS:
                count, pairs = payload[1], payload[2:]
                if len(pairs) < 2 * count:
                    raise InputError(f"{count} DTC(s) announced, {len(pairs) // 2} present")
                for k in range(count):
                    code = decode_dtc(pairs[2 * k], pairs[2 * k + 1])
                    if code is not None:
                        log.dtcs.append((ts, code, ecu, DTC_STATUS[service]))
            elif service == CLEARED:  # the ECU confirms its trouble codes were cleared
                log.clears.append((ts, ecu))
            else:
                raise InputError(f"service 0x{service:02X} responses are not read")
        except DrivetrainError as exc:
            log.rejects.append((number, exc.message, text))
        except (ValueError, IndexError) as exc:
            log.rejects.append((number, f"unreadable line: {exc}", text))
    return log


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                text = line.split("#", 1)[0].strip()
                if text:
                    yield number, text
    except OSError as exc:
        raise InputError(f"cannot read OBD-II log {path}: {exc.strerror}") from exc


def _parse_line(text: str) -> tuple[datetime, str, list[int]]:
    stamp, ecu, *hex_bytes = text.split()
    ts = datetime.fromisoformat(stamp)
    if ts.tzinfo is None:
        raise InputError("timestamp has no time zone; write UTC with a trailing Z")
    frame = [int(b, 16) for b in hex_bytes]
    if not frame or frame[0] >> 4 != 0:
        raise InputError("only ISO 15765-4 single frames (PCI 0x01-0x07) are read")
    length = frame[0] & 0x0F
    payload = frame[1 : 1 + length]
    if len(payload) != length or length == 0:
        raise InputError(f"frame announces {length} byte(s), carries {len(frame) - 1}")
    return ts.astimezone(UTC), f"0x{int(ecu, 16):03X}", payload


@dataclass(frozen=True, slots=True)
class ObdIngestReport:
    """What ``ingest_obd_log`` stored, dropped and refused."""

    telemetry: WriteReport
    dtc_events: int
    rejected_lines: int
    duplicates: int = 0
    dtcs_cleared: int = 0


def ingest_obd_log(
    lake: Lake,
    path: Path,
    *,
    vehicle_id: str,
    model: VehicleModel,
    context: CollectionContext,
    campaigns: CampaignFilter | None = None,
    audit: AuditLog | None = None,
) -> ObdIngestReport:
    """Decode ``path`` and store its signals, DTCs and refused lines."""
    log = read_obd_log(path, model)
    telemetry = log.telemetry(vehicle_id)
    fresh = drop_stored(lake, telemetry)  # re-ingesting a log stores nothing twice
    report = write_telemetry(lake, fresh, context, campaigns=campaigns, audit=audit)
    events = log.dtc_events(vehicle_id)
    cleared = _cleared(lake, vehicle_id, events, log.clears)
    if events.num_rows or cleared.num_rows:
        # merged on (vehicle, time, code): re-ingesting a log stores its codes once
        lake.merge("dtc_events", pa.concat_tables([events, cleared]), run_id=context.run_id)
    quarantine_records(
        lake,
        context,
        "telemetry",
        [(f"{path.name}:{n}", reason, text) for n, reason, text in log.rejects],
        vehicle_id=vehicle_id,
    )
    return ObdIngestReport(
        report,
        len(log.dtcs),
        len(log.rejects),
        telemetry.num_rows - fresh.num_rows,
        cleared.num_rows,
    )


def _cleared(
    lake: Lake, vehicle_id: str, events: pa.Table, clears: list[tuple[datetime, str]]
) -> pa.Table:
    """A ``cleared`` event for every code an ECU had set when it answered service 04."""
    rows: list[tuple[datetime, str, str, str]] = []
    if clears:
        known = events
        if lake.exists("dtc_events"):
            stored = lake.read(
                "dtc_events",
                columns=["vehicle_id", "ts", "dtc", "ecu", "status"],
                filter=pc.field("vehicle_id") == vehicle_id,
            )
            known = pa.concat_tables([stored.cast(events.schema), events])
        history = sorted(
            zip(
                known["ts"].to_pylist(),
                known["dtc"].to_pylist(),
                known["ecu"].to_pylist(),
                known["status"].to_pylist(),
                strict=True,
            )
        )
        for at, ecu in sorted(clears):
            latest: dict[str, str] = {}
            for ts, code, source, status in history:
                if ts < at and source == ecu:
                    latest[code] = status
            new = [(at, c, ecu, "cleared") for c, st in sorted(latest.items()) if st != "cleared"]
            rows += new
            history = sorted(history + new)
    return _events(vehicle_id, rows)
