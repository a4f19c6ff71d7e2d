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
the erasure in the audit log. What the in-car assistant holds about the subject
(identifier digests, household memberships, preference events, learned
preferences; ``state.cockpit_models``) is deleted with them, and a household
left without members goes with its shared places and vehicles.
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
from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from drivetrain.errors import StorageError
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.consent import consent_history, consent_receipt
from drivetrain.governance.keys import Keyring, destroy_subject_keys
from drivetrain.governance.sealing import SEALED_TABLE, read_opened
from drivetrain.governance.subjects import SubjectLink, get_subject, links_of_subject
from drivetrain.lake import TABLES, Lake
from drivetrain.state.cockpit_models import (
    SUBJECT_TABLES,
    HouseholdMemberRow,
    HouseholdPlaceRow,
    HouseholdRow,
    HouseholdVehicleRow,
)
from drivetrain.state.governance_models import DataSubjectRow

# Tables that hold data subjects' records or their keys (all rewritten after an erasure).
_PERSONAL_STATE_TABLES = (
    "data_subjects",
    "vehicle_subjects",
    "consent_events",
    "data_keys",
    "data_key_members",
    "driver_identifiers",
    "households",
    "household_members",
    "household_vehicles",
    "household_places",
    "preference_events",
    "learned_preferences",
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
        "cockpit_profile": _profile_rows(session, subject_id),
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
    _erase_profile(session, subject_id)
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


def _erase_profile(session: Session, subject_id: str) -> None:
    # ON DELETE CASCADE would do it too; deleting explicitly does not depend on
    # the connection enforcing foreign keys.
    households = set(
        session.scalars(
            select(HouseholdMemberRow.household_id).where(
                HouseholdMemberRow.subject_id == subject_id
            )
        )
    )
    for model in SUBJECT_TABLES:
        session.execute(delete(model).where(model.__table__.c.subject_id == subject_id))
    session.execute(
        update(HouseholdPlaceRow)
        .where(HouseholdPlaceRow.added_by == subject_id)
        .values(added_by=None)
    )
    remaining = set(
        session.scalars(
            select(HouseholdMemberRow.household_id).where(
                HouseholdMemberRow.household_id.in_(households)
            )
        )
    )
    empty = sorted(households - remaining)  # nobody left to share its places with
    for model in (HouseholdPlaceRow, HouseholdVehicleRow, HouseholdRow):
        session.execute(delete(model).where(model.__table__.c.household_id.in_(empty)))


def _profile_rows(session: Session, subject_id: str) -> dict[str, list[dict[str, Any]]]:
    """The subject's rows of the in-car assistant's tables, and their households' shares."""
    out = {
        str(m.__tablename__): _rows(session, m.__table__.c.subject_id, [subject_id])
        for m in SUBJECT_TABLES
    }
    households = [row["household_id"] for row in out[HouseholdMemberRow.__tablename__]]
    for model in (HouseholdRow, HouseholdVehicleRow, HouseholdPlaceRow):
        out[model.__tablename__] = _rows(session, model.__table__.c.household_id, households)
    return out


def _rows(session: Session, column: Any, values: list[str]) -> list[dict[str, Any]]:
    rows = session.execute(select(column.table).where(column.in_(values)))
    return [{k: _plain(v) for k, v in row._mapping.items()} for row in rows]


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
    if isinstance(value, bytes):  # identifier digests: keyed hashes, shown as hex
        return value.hex()
    return value
