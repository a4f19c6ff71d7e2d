"""Data-subject rights: access (GDPR Art. 15 / Data Act) and erasure (GDPR Art. 17).

A subject's data is what the lake holds of the vehicles linked to them, within
the periods of those links (an owner of a used car gets the data of their years,
not the previous owner's), plus what the control plane holds about them.

Erasure first destroys the subject's data keys and commits that: every
personal signal sealed for them (positions, identity, cabin) is unreadable from
that moment, in every copy of every file, old Delta versions and backups
included (crypto-shredding). It then deletes the subject's rows from every lake
table, vacuums the tables so no file keeps them (old table versions go too: time travel to before the erasure
ends there), deletes the subject with their links and consent history from the
state database (and compacts SQLite so no free page keeps them), and records
the erasure in the audit log.
"""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Engine, delete, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from drivetrain.errors import StorageError
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.consent import consent_history, consent_receipt
from drivetrain.governance.keys import Keyring, destroy_subject_keys
from drivetrain.governance.sealing import SEALED_TABLE, read_opened
from drivetrain.governance.subjects import SubjectLink, get_subject, links_of_subject
from drivetrain.lake import TABLES, Lake
from drivetrain.state.governance_models import DataSubjectRow

# Tables that hold data subjects' records or their keys (all rewritten after an erasure).
_PERSONAL_STATE_TABLES = (
    "data_subjects",
    "vehicle_subjects",
    "consent_events",
    "data_keys",
    "data_key_members",
)


@dataclass(slots=True)
class SubjectData:
    """Rows per lake table that belong to one subject."""

    subject_id: str
    tables: dict[str, pa.Table] = field(default_factory=dict)

    @property
    def rows(self) -> dict[str, int]:
        return {name: t.num_rows for name, t in self.tables.items()}


def _period_filter(table: str, link: SubjectLink) -> pc.Expression:
    spec = TABLES[table]
    expr = pc.field(spec.vehicle_column) == link.vehicle_id
    if not spec.time_column:  # quarantine: refused rows of the vehicle, whenever refused
        return expr
    when = pc.field(spec.time_column)
    expr &= when >= _moment(spec.schema.field(spec.time_column).type, link.valid_from)
    if link.valid_to is not None:
        expr &= when < _moment(spec.schema.field(spec.time_column).type, link.valid_to)
    return expr


def _moment(kind: pa.DataType, moment: datetime) -> pa.Scalar:
    """``moment`` as a scalar of the time column's type (a day for date columns)."""
    if pa.types.is_date32(kind):
        return pa.scalar(moment.astimezone(UTC).date(), pa.date32())
    return pa.scalar(moment, pa.timestamp("us", tz="UTC"))


def subject_data(
    session: Session, lake: Lake, subject_id: str, keyring: Keyring | None = None
) -> SubjectData:
    """Every lake row of the subject's vehicles within the subject's link periods.

    With ``keyring``, the subject's sealed personal signals are opened and join
    ``telemetry`` (what an access export hands over); without, they stay sealed
    under ``telemetry_sealed`` (what an erasure counts).
    """
    get_subject(session, subject_id)  # NotFound names unknown subjects
    links = links_of_subject(session, subject_id)
    data = SubjectData(subject_id)
    for name, spec in TABLES.items():
        if spec.vehicle_column is None or not links:
            continue
        parts = [lake.read(name, filter=_period_filter(name, link)) for link in links]
        data.tables[name] = pa.concat_tables(parts)
    sealed = data.tables.get(SEALED_TABLE)
    if keyring is not None and sealed is not None:
        opened = read_opened(session, keyring, sealed)
        del data.tables[SEALED_TABLE]
        data.tables["telemetry"] = pa.concat_tables(
            [data.tables["telemetry"], opened.telemetry.cast(data.tables["telemetry"].schema)]
        )
    return data


def export_subject(
    session: Session, lake: Lake, subject_id: str, out: Path, keyring: Keyring
) -> SubjectData:
    """Write the subject's access export: a zip of ``subject.json`` and one Parquet per table.

    Sealed personal signals are opened with ``keyring``: the subject gets their
    positions, not ciphertext.
    """
    data = subject_data(session, lake, subject_id, keyring)
    subject = get_subject(session, subject_id)
    document: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(),
        "legal_basis_of_export": "GDPR Art. 15 right of access; EU Data Act Art. 4",
        "subject": _plain(subject),
        "vehicles": [_plain(link) for link in links_of_subject(session, subject_id)],
        "consent_history": [_plain(r) for r in consent_history(session, subject_id)],
        "consent_receipt": consent_receipt(session, subject_id),
        "tables": data.rows,
        "units": "signal values in the units of the COVESA VSS signal they name",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("subject.json", json.dumps(document, indent=2, default=str))
        for name, table in data.tables.items():
            buffer = io.BytesIO()
            pq.write_table(table, buffer)
            archive.writestr(f"{name}.parquet", buffer.getvalue())
    tmp.replace(out)
    return data


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """What an erasure removed."""

    subject_id: str
    rows_deleted: dict[str, int]
    files_removed: int
    vehicles: list[str]
    keys_destroyed: list[str] = field(default_factory=list)


def erase_subject(
    session: Session, lake: Lake, subject_id: str, *, audit: AuditLog | None = None
) -> ErasureReport:
    """Erase the subject: their keys, their lake rows (vacuumed), their control-plane records.

    The destruction of the subject's data keys is committed before anything
    else, so that a failure later on (a lake file that cannot be rewritten)
    leaves the personal data already unreadable; run the erasure again to
    finish. The rest is left to the caller to commit, then :func:`compact_state`.
    """
    get_subject(session, subject_id)
    links = links_of_subject(session, subject_id)
    shredded = destroy_subject_keys(session, subject_id)
    session.commit()
    deleted: dict[str, int] = {}
    for link in links:
        counts = lake.delete_vehicle(
            link.vehicle_id,
            since=link.valid_from,
            until=link.valid_to,
            run_id=f"erase-{subject_id}",
        )
        for table, n in counts.items():
            deleted[table] = deleted.get(table, 0) + n
    removed = 0
    for table in deleted:
        removed += len(lake.vacuum(table, retention_hours=0))
    session.execute(delete(DataSubjectRow).where(DataSubjectRow.subject_id == subject_id))
    session.flush()
    if audit is not None:
        audit.append(
            "erasure",
            principal="data_protection_officer",
            purpose="legal_obligation",
            details={
                "subject": subject_id,
                "rows_deleted": deleted,
                "files_removed": removed,
                "keys_destroyed": shredded,
                "vehicles": sorted({link.vehicle_id for link in links}),
            },
        )
    vehicles = sorted({lk.vehicle_id for lk in links})
    return ErasureReport(subject_id, deleted, removed, vehicles, shredded)


def compact_state(session: Session) -> None:
    """Rewrite the state database so deleted rows leave no readable trace.

    SQLite: ``VACUUM`` rewrites the file without its free pages. PostgreSQL:
    ``VACUUM FULL`` rewrites the governance tables into new files (dead tuples
    of erased subjects and destroyed keys go with the old ones; the write-ahead
    log and base backups keep them until they are recycled, see
    docs/governance.md).
    """
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    if engine.dialect.name == "postgresql":
        session.commit()
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text(f"VACUUM FULL {', '.join(_PERSONAL_STATE_TABLES)}"))
        except DBAPIError as exc:
            raise StorageError(f"could not vacuum the state database after erasure: {exc}") from exc
        return
    if engine.dialect.name != "sqlite":
        return
    session.commit()
    session.close()
    engine.dispose()  # no pooled connection may hold the file open in a transaction
    database = engine.url.database
    if not database or database == ":memory:":
        return
    try:
        with closing(sqlite3.connect(database, isolation_level=None)) as conn:
            conn.execute("VACUUM")
    except sqlite3.Error as exc:  # the erasure itself is committed; say the file was not compacted
        raise StorageError(f"could not compact the state database after erasure: {exc}") from exc


def _plain(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value
