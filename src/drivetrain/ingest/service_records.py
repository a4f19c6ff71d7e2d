"""Workshop records into the lake: what was done to a vehicle, and when.

Dealer and service systems export their records keyed by VIN. A record file is
CSV with a header row::

    vin,date,odometer_km,operation,description,workshop
    VF3LBHZ6XKS123456,2026-10-14,48210,battery_replaced,12 V AGM 70 Ah,Garage Martin Lyon

``date`` is an ISO 8601 date or UTC time; ``odometer_km``, ``description`` and
``workshop`` may be empty. ``operation`` is one of :data:`SERVICE_OPERATIONS`.
The VIN is checked (ISO 3779 check digit where the region uses it) and turned
into the vehicle's pseudonym at once: the lake never holds it. Rows that cannot
be read — a bad VIN, an unregistered vehicle, an unknown operation, a date that
is not one — go to ``quarantine`` with their line number and reason; the good
rows are merged on (vehicle, time, operation), so importing a file twice stores
it once.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from drivetrain.errors import InputError
from drivetrain.fleet.vin import is_valid_vin
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.ingest.sink import CollectionContext, quarantine_records
from drivetrain.lake import Lake, table_spec

SERVICE_OPERATIONS: dict[str, str] = {
    "battery_replaced": "12 V battery replaced",
    "battery_charged": "12 V battery tested and charged",
    "spark_plugs_replaced": "spark plugs replaced",
    "ignition_coil_replaced": "ignition coil replaced",
    "injector_replaced": "fuel injector replaced",
    "thermostat_replaced": "coolant thermostat replaced",
    "tyre_repaired": "tyre puncture repaired",
    "tyre_replaced": "tyre replaced",
    "brake_pads_replaced": "brake pads replaced",
    "brake_caliper_replaced": "brake caliper replaced or freed",
    "hv_battery_balanced": "traction battery cells balanced",
    "hv_module_replaced": "traction battery module replaced",
    "dtc_cleared": "trouble codes cleared without a repair",
    "inspection": "periodic inspection",
}
_PSEUDONYM = re.compile(r"\bveh_[0-9a-f]{16}\b")
COLUMNS = ("vin", "date", "odometer_km", "operation", "description", "workshop")


@dataclass(slots=True)
class ServiceImport:
    """What one record file gave."""

    rows: int = 0
    stored_version: int | None = None
    rejects: list[tuple[str, str, str]] = field(default_factory=list)  # location, reason, text


def _when(text: str) -> datetime:
    moment = datetime.fromisoformat(text.strip())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_service_records(
    path: Path, pseudonyms: PseudonymKey, registered: set[str]
) -> tuple[pa.Table, list[tuple[str, str, str]]]:
    """The file's good rows as a ``service_events`` table, and its rejects."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("vin", "date", "operation") if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(
                f"{path} lacks column(s) {', '.join(missing)}",
                hint=f"a service record file has the header {','.join(COLUMNS)}",
            )
        good: list[dict[str, object]] = []
        rejects: list[tuple[str, str, str]] = []
        for line, row in enumerate(reader, start=2):
            reason, record = _record(row, pseudonyms, registered, path.name)
            if reason:
                # the VIN is replaced by its pseudonym (withheld if it is none): the lake
                # never holds a VIN, and an erasure of the vehicle reaches the refused row
                vin = (row.get("vin") or "").strip().upper()
                shown = {
                    **row,
                    "vin": pseudonyms.vehicle_id(vin) if is_valid_vin(vin) else "<vin withheld>",
                }
                rejects.append(
                    (f"{path.name}:{line}", reason, ",".join(v or "" for v in shown.values()))
                )
            else:
                good.append(record)
    spec = table_spec("service_events")
    return pa.Table.from_pylist(good, schema=spec.input_schema), rejects


def _record(
    row: dict[str, str], pseudonyms: PseudonymKey, registered: set[str], source: str
) -> tuple[str, dict[str, object]]:
    vin = (row.get("vin") or "").strip().upper()
    if not is_valid_vin(vin):
        return "not a valid VIN (17 characters, ISO 3779 check digit)", {}
    vehicle = pseudonyms.vehicle_id(vin)
    if vehicle not in registered:
        return "vehicle is not registered", {}
    operation = (row.get("operation") or "").strip()
    if operation not in SERVICE_OPERATIONS:
        return f"unknown operation {operation!r}", {}
    try:
        ts = _when(row.get("date") or "")
    except ValueError:
        return f"date {row.get('date')!r} is not ISO 8601", {}
    odometer = (row.get("odometer_km") or "").strip()
    try:
        km = float(odometer) if odometer else None
    except ValueError:
        return f"odometer {odometer!r} is not a number", {}
    if km is not None and km < 0:
        return "odometer is negative", {}
    return "", {
        "vehicle_id": vehicle,
        "ts": ts,
        "operation": operation,
        "odometer_km": km,
        "description": (row.get("description") or "").strip() or None,
        "workshop": (row.get("workshop") or "").strip() or None,
        "source": source,
    }


def ingest_service_records(
    lake: Lake,
    path: Path,
    pseudonyms: PseudonymKey,
    registered: set[str],
    context: CollectionContext,
) -> ServiceImport:
    """Store a record file's good rows (merged: a second import adds nothing) and quarantine the rest."""
    table, rejects = read_service_records(path, pseudonyms, registered)
    result = ServiceImport(rows=table.num_rows, rejects=rejects)
    if table.num_rows:
        result.stored_version = lake.merge("service_events", table, run_id=context.run_id)
    vehicles = [_vehicle_of(text) for _, _, text in rejects]
    quarantine_records(lake, context, "service_events", rejects, vehicle_ids=vehicles)
    return result


def _vehicle_of(text: str) -> str | None:
    """The pseudonym a quarantined row holds in place of its VIN, if it had a valid one."""
    found = _PSEUDONYM.search(text)
    return found.group(0) if found else None
