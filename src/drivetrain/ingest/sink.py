"""The one write path from vehicles into the lake.

Every source — the fleet simulator now, CAN logs, OBD-II and the MQTT gateway
later — hands its signals to :func:`write_telemetry` with a
:class:`CollectionContext` saying who collects them and why. Rows are checked
against the signal catalog; rows that fail go to the ``quarantine`` table with
the reason and their location, and the good rows are written in one atomic
commit. Nothing is dropped silently: the returned :class:`WriteReport` counts
both.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from drivetrain.catalog import catalog_generation, load_signal_catalog
from drivetrain.errors import InputError
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import record_run
from drivetrain.governance.sealing import SEALED_TABLE, Sealer
from drivetrain.ingest.campaigns import CampaignFilter, LegalBasis
from drivetrain.lake import Lake, table_spec

log = logging.getLogger(__name__)

# Timestamps outside these bounds come from a logger whose clock is wrong (a real-time
# clock reset to its default date, a wrong epoch): OBD-II began in 1996, and nothing can
# have been measured after now plus a day of clock drift and time-zone mistakes.
EARLIEST_TS_US = int(datetime(1996, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
FUTURE_SLACK_US = 86_400 * 1_000_000
_TOO_EARLY = (
    "timestamp is before 1996: the logger's clock was reset; set it and re-log, "
    "or correct the timestamps"
)
_IN_FUTURE = (
    "timestamp is more than a day in the future: the logger's clock is wrong; "
    "correct the timestamps and re-ingest"
)

ArrowBatches: TypeAlias = pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch]


def new_run_id(prefix: str = "run") -> str:
    """A fresh, sortable run id (UTC time + random suffix)."""
    return f"{prefix}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class CollectionContext:
    """Who is collecting data, from where, and for which purpose."""

    source: str
    purpose: str
    campaign_id: str = "default"
    run_id: str = field(default_factory=new_run_id)


@dataclass(slots=True)
class WriteReport:
    """What one write did: rows stored, rows quarantined and why, table versions."""

    table: str
    run_id: str
    rows_written: int = 0
    rows_quarantined: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    rows_dropped: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    version: int | None = None
    quarantine_version: int | None = None
    rows_sealed: int = 0  # of rows_written, stored encrypted in telemetry_sealed
    sealed_version: int | None = None


class _Quarantine:
    """Collects refused rows with their reasons and locations."""

    def __init__(self, context: CollectionContext, target: str) -> None:
        self.context = context
        self.target = target
        self.rows: list[dict[str, object]] = []

    def add(self, batch: pa.RecordBatch, bad: np.ndarray, reasons: np.ndarray, offset: int) -> None:
        now = datetime.now(UTC)
        records = batch.filter(pa.array(bad)).to_pylist()
        for row_no, record, reason in zip(np.flatnonzero(bad), records, reasons[bad], strict=True):
            vehicle = record.get("vehicle_id")
            self.rows.append(
                {
                    "run_id": self.context.run_id,
                    "ts": now,
                    "target_table": self.target,
                    "source": self.context.source,
                    "location": f"row {offset + int(row_no)}",
                    "reason": str(reason),
                    "record": json.dumps(record, default=str, sort_keys=True),
                    "vehicle_id": vehicle if isinstance(vehicle, str) else None,
                }
            )

    def table(self) -> pa.Table:
        return pa.Table.from_pylist(self.rows, schema=table_spec("quarantine").input_schema)


def _as_strings(column: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array | None]:
    """(distinct values, indices into them) for dictionary columns; (column, None) otherwise."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        return column.dictionary, column.indices
    return column, None


@cache
def _catalog_bounds(generation: int) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Catalog paths with their VSS minimum and maximum (±inf where the standard has none)."""
    catalog = load_signal_catalog()
    names = sorted(catalog)
    lows = np.array([_or(catalog[p].min, -np.inf) for p in names])
    highs = np.array([_or(catalog[p].max, np.inf) for p in names])
    return pa.array(names), lows, highs


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def _check_telemetry(batch: pa.RecordBatch) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised row checks; returns (bad mask, reason per row)."""
    paths, lows, highs = _catalog_bounds(catalog_generation())
    n = batch.num_rows
    reasons = np.full(n, "", dtype=object)

    values, indices = _as_strings(batch.column("signal"))
    pos = pc.index_in(values, value_set=paths)
    if indices is not None:
        pos = pc.take(pos, indices)
    known = pos.is_valid().to_numpy(zero_copy_only=False)
    idx = pos.fill_null(0).to_numpy(zero_copy_only=False)

    value = batch.column("value").to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    value_null = batch.column("value").is_null().to_numpy(zero_copy_only=False)
    vehicle_null = batch.column("vehicle_id").is_null().to_numpy(zero_copy_only=False)
    ts_null = batch.column("ts").is_null().to_numpy(zero_copy_only=False)
    ts_us = (
        batch.column("ts")
        .cast(pa.timestamp("us", tz="UTC"), safe=False)
        .cast(pa.int64())
        .fill_null(EARLIEST_TS_US)
        .to_numpy(zero_copy_only=False)
    )
    latest_us = int(datetime.now(UTC).timestamp() * 1_000_000) + FUTURE_SLACK_US

    with np.errstate(invalid="ignore"):
        not_finite = ~np.isfinite(value) & ~value_null
        below = known & (value < lows[idx])
        above = known & (value > highs[idx])
    checks = (
        (vehicle_null, "vehicle_id is missing"),
        (ts_null, "timestamp is missing"),
        (ts_us < EARLIEST_TS_US, _TOO_EARLY),
        (ts_us > latest_us, _IN_FUTURE),
        (~known & ~vehicle_null, "signal is not in the catalog"),
        (value_null, "value is missing"),
        (not_finite, "value is NaN or infinite"),
        (below, "value is below the VSS minimum of the signal"),
        (above, "value is above the VSS maximum of the signal"),
    )
    bad = np.zeros(n, dtype=bool)
    for mask, reason in checks:
        fresh = mask & ~bad
        reasons[fresh] = reason
        bad |= mask
    return bad, reasons


def write_telemetry(
    lake: Lake,
    data: ArrowBatches,
    context: CollectionContext,
    *,
    campaigns: CampaignFilter | None = None,
    legal_basis: LegalBasis | None = None,
    sealer: Sealer | None = None,
    audit: AuditLog | None = None,
) -> WriteReport:
    """Check and store long-format signals ``(vehicle_id, ts, signal, value)``.

    Good rows are appended to ``telemetry`` in one commit; refused rows go to
    ``quarantine`` with their reason. With ``campaigns``, only rows an active
    campaign asks for are stored and the others are dropped and counted by
    reason (data minimisation); with ``legal_basis``, rows whose data category
    has no valid legal basis for the vehicle's subject, purpose and region at
    their time are dropped and counted too. With ``sealer``, personal signals
    (location, identity, cabin) are encrypted under their subjects' data key and
    go to ``telemetry_sealed`` instead (see :mod:`drivetrain.governance.sealing`;
    the sealer of ``campaigns`` applies when none is given);
    both tables are committed, or, if the second commit fails, neither is.
    Structural problems (missing columns, wrong types) raise
    :class:`~drivetrain.errors.SchemaMismatch` before anything is written.
    """
    if sealer is None and campaigns is not None:
        sealer = campaigns.sealer
    report = WriteReport(table="telemetry", run_id=context.run_id)
    quarantine = _Quarantine(context, "telemetry")
    spec = table_spec("telemetry")
    sealed: list[pa.RecordBatch] = []

    def good_batches() -> Iterator[pa.RecordBatch]:
        offset = 0
        for batch in _iter_batches(data):
            missing = [c for c in spec.input_schema.names if c not in batch.schema.names]
            if missing:
                yield batch  # the lake raises SchemaMismatch naming the columns
                return
            bad, reasons = _check_telemetry(batch)
            if bad.any():
                quarantine.add(batch, bad, reasons, offset)
                report.reasons.update(reasons[bad].tolist())
                batch = batch.filter(pa.array(~bad))
            offset += len(bad)
            if campaigns is not None:
                batch, dropped = campaigns.apply(batch)
                report.dropped.update(dropped)
                report.rows_dropped += sum(dropped.values())
            if legal_basis is not None and batch.num_rows:
                batch, dropped = _lawful(batch, legal_basis)
                report.dropped.update(dropped)
                report.rows_dropped += sum(dropped.values())
            if sealer is not None and batch.num_rows:
                batch, personal, refused = sealer.split(batch)
                report.dropped.update(refused)
                report.rows_dropped += sum(refused.values())
                if personal.num_rows:
                    sealed.append(personal)
                    report.rows_sealed += personal.num_rows
                    report.rows_written += personal.num_rows
            report.rows_written += batch.num_rows
            yield batch

    before = {SEALED_TABLE: lake.version(SEALED_TABLE), "telemetry": lake.version("telemetry")}
    report.version = lake.append("telemetry", good_batches(), run_id=context.run_id)
    if sealed:
        try:
            report.sealed_version = lake.append(SEALED_TABLE, sealed, run_id=context.run_id)
        except BaseException:
            lake.restore_versions(before)  # the clear half must not stand alone
            raise
    report.rows_quarantined = len(quarantine.rows)
    log.info(
        "%s from %s: %d rows stored, %d quarantined, %d dropped by campaigns",
        context.run_id,
        context.source,
        report.rows_written,
        report.rows_quarantined,
        report.rows_dropped,
    )
    if quarantine.rows:
        log.warning("quarantined rows by reason: %s", dict(report.reasons))
        report.quarantine_version = lake.append(
            "quarantine", quarantine.table(), run_id=context.run_id
        )
    if audit is not None:
        record_run(
            audit,
            context.run_id,
            "ingest",
            {
                "source": context.source,
                "campaign": context.campaign_id,
                "tables": {
                    "telemetry": report.version,
                    SEALED_TABLE: report.sealed_version,
                    "quarantine": report.quarantine_version,
                },
                "rows_written": report.rows_written,
                "rows_sealed": report.rows_sealed,
                "rows_quarantined": report.rows_quarantined,
                "dropped": dict(report.dropped),
            },
            principal=context.source,
            purpose=context.purpose,
        )
    return report


def _lawful(batch: pa.RecordBatch, legal_basis: LegalBasis) -> tuple[pa.RecordBatch, Counter[str]]:
    """Keep the rows whose data category has a legal basis; count the others by reason."""
    catalog = load_signal_catalog()
    values, indices = _as_strings(batch.column("signal"))
    # the dictionary may still hold paths of rows already quarantined: they map to nothing
    categories = np.array(
        [catalog[p].category if p in catalog else "" for p in values.to_pylist()], dtype=object
    )
    if indices is not None:
        categories = categories[indices.to_numpy(zero_copy_only=False)]
    vehicles, v_idx = _as_strings(batch.column("vehicle_id"))
    vehicle_ids = np.asarray(vehicles.to_pylist(), dtype=object)
    if v_idx is not None:
        vehicle_ids = vehicle_ids[v_idx.to_numpy(zero_copy_only=False)]
    microseconds = batch.column("ts").cast(pa.timestamp("us", tz="UTC"), safe=False)
    ts_us = microseconds.cast(pa.int64()).to_numpy(zero_copy_only=False)
    mask, reasons = legal_basis.allowed(vehicle_ids, ts_us, categories)
    refused = Counter(str(r) for r in np.asarray(reasons)[~mask])
    return batch.filter(pa.array(mask)), refused


def write_records(lake: Lake, table: str, data: ArrowBatches, context: CollectionContext) -> int:
    """Append records (trips, DTC events, snapshots…) to ``table``; returns the version."""
    return lake.append(table, data, run_id=context.run_id)


def _iter_batches(data: ArrowBatches) -> Iterator[pa.RecordBatch]:
    if isinstance(data, pa.Table):
        yield from data.to_batches()
    elif isinstance(data, pa.RecordBatch):
        yield data
    else:
        yield from data


def quarantine_records(
    lake: Lake,
    context: CollectionContext,
    target: str,
    records: list[tuple[str, str, str]],
    *,
    vehicle_id: str | None = None,
    vehicle_ids: Sequence[str | None] | None = None,
) -> int | None:
    """Store refused input records ``(location, reason, raw text)``; returns the version.

    ``vehicle_id`` names the vehicle of every record, ``vehicle_ids`` one per record.
    """
    if not records:
        return None
    if vehicle_ids is not None and len(vehicle_ids) != len(records):
        raise InputError(f"{len(vehicle_ids)} vehicle ids for {len(records)} refused records")
    now = datetime.now(UTC)
    rows = [
        {
            "run_id": context.run_id,
            "ts": now,
            "target_table": target,
            "source": context.source,
            "location": location,
            "reason": reason,
            "record": raw,
            "vehicle_id": vehicle_ids[i] if vehicle_ids is not None else vehicle_id,
        }
        for i, (location, reason, raw) in enumerate(records)
    ]
    table = pa.Table.from_pylist(rows, schema=table_spec("quarantine").input_schema)
    return lake.append("quarantine", table, run_id=context.run_id)
