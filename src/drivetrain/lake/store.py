"""The lake: versioned Delta Lake tables under one directory.

Every write is one Delta commit, so it is atomic: a write that fails part way
(bad batch, crash, full disk) leaves the table at its previous version; the
parquet files it had begun are unreferenced and removed by ``vacuum``. Reads
may pin a version (time travel) so that an analysis can name the exact data
it used.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pds
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import DeltaError, TableNotFoundError

from drivetrain.errors import InputError, NotFound, SchemaMismatch, StorageError
from drivetrain.lake.clustering import cluster_table
from drivetrain.lake.schemas import TABLES, TableSpec, table_spec
from drivetrain.lake.view_types import file_paths, restore_plain_types

ArrowData: TypeAlias = pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch]

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


@dataclass(frozen=True, slots=True)
class TableInfo:
    """What ``drivetrain lake tables`` shows for one table."""

    name: str
    description: str
    version: int | None
    rows: int
    files: int
    partition_by: tuple[str, ...]


class Lake:
    """The versioned tables of one data directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, name: str) -> Path:
        return self.root / table_spec(name).name

    def exists(self, name: str) -> bool:
        return DeltaTable.is_deltatable(str(self.path(name)))

    # -- reading ---------------------------------------------------------------

    def table(self, name: str, version: int | None = None) -> DeltaTable:
        """The Delta table ``name``, at ``version`` if given (time travel)."""
        path = self.path(name)
        if not self.exists(name):
            raise NotFound(
                f"lake table {name!r} has no data yet in {self.root}",
                hint="run 'drivetrain fleet simulate' or an ingest command first",
            )
        try:
            return DeltaTable(str(path), version=version)
        except (DeltaError, TableNotFoundError) as exc:
            latest = DeltaTable(str(path)).version()
            raise NotFound(
                f"lake table {name!r} has no version {version}",
                hint=f"versions run from 0 to {latest}",
            ) from exc

    def version(self, name: str) -> int | None:
        """The current version of ``name``, or None if it was never written."""
        return self.table(name).version() if self.exists(name) else None

    def versions(self) -> dict[str, int]:
        """Current version of every table that has data: the inputs an output can name."""
        return {name: v for name in TABLES if (v := self.version(name)) is not None}

    def dataset(self, name: str, version: int | None = None) -> pds.Dataset:
        """A pyarrow dataset over ``name`` (lazy; filters and projections push down)."""
        if not self.exists(name) and version is None:
            return pds.dataset(table_spec(name).schema.empty_table())
        return self.table(name, version).to_pyarrow_dataset()

    def partitions(self, name: str, version: int | None = None) -> list[Any]:
        """The distinct values of the table's partition column, from the Delta log (no scan)."""
        spec = table_spec(name)
        if not spec.partition_by or not self.exists(name):
            return []
        actions = pa.table(self.table(name, version).get_add_actions(flatten=True))
        column = actions.column(f"partition.{spec.partition_by[0]}")
        return sorted(v for v in column.unique().to_pylist() if v is not None)

    def read(
        self,
        name: str,
        *,
        version: int | None = None,
        columns: list[str] | None = None,
        filter: pc.Expression | None = None,
    ) -> pa.Table:
        """Read ``name`` (optionally a pinned version, some columns, a row filter)."""
        return self.dataset(name, version).to_table(columns=columns, filter=filter)

    def history(self, name: str) -> list[dict[str, Any]]:
        """The commits of ``name``, newest first."""
        return list(self.table(name).history())

    def tables(self) -> list[TableInfo]:
        """Every registered table with its current version, rows and files."""
        infos = []
        for spec in TABLES.values():
            version, rows, files = None, 0, 0
            if self.exists(spec.name):
                dt = self.table(spec.name)
                version = dt.version()
                actions = pa.table(dt.get_add_actions(flatten=True))
                files = actions.num_rows
                rows = int(pc.sum(actions["num_records"]).as_py() or 0) if files else 0
            infos.append(
                TableInfo(spec.name, spec.description, version, rows, files, spec.partition_by)
            )
        return infos

    # -- writing ---------------------------------------------------------------

    def append(self, name: str, data: ArrowData, *, run_id: str | None = None) -> int:
        """Append ``data`` to ``name`` in one atomic commit; returns the new version.

        ``data`` may be a table, a batch or an iterator of batches (streamed, so a
        large simulation or log never has to sit in memory at once).
        """
        spec = table_spec(name)
        failures: list[BaseException] = []
        reader = _conforming_reader(spec, data, failures)
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            write_deltalake(
                str(self.path(name)),
                reader,
                mode="append",
                partition_by=list(spec.partition_by) or None,
                commit_properties=_commit_properties(run_id),
            )
        except Exception as exc:
            if failures:  # the source or a later batch failed: raise that, not the wrapper
                raise failures[0] from None
            if isinstance(exc, DeltaError | OSError):
                raise StorageError(f"could not append to lake table {name!r}: {exc}") from exc
            raise
        version = self.table(name).version()
        log.debug("appended to %s, now version %d (run %s)", name, version, run_id)
        return version

    def merge(self, name: str, data: ArrowData, *, run_id: str | None = None) -> int:
        """Upsert ``data`` into ``name`` on the table's key; returns the new version."""
        spec = table_spec(name)
        if not spec.key:
            raise InputError(f"lake table {name!r} has no key, so it cannot be merged into")
        if not self.exists(name):
            return self.append(name, data, run_id=run_id)
        source = _conforming_reader(spec, data).read_all()
        predicate = " AND ".join(f"t.{k} = s.{k}" for k in spec.key)
        before = file_paths(self.table(name))
        try:
            (
                self.table(name)
                .merge(
                    source,
                    predicate=predicate,
                    source_alias="s",
                    target_alias="t",
                    commit_properties=_commit_properties(run_id),
                )
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .execute()
            )
        except DeltaError as exc:
            raise StorageError(f"could not merge into lake table {name!r}: {exc}") from exc
        restore_plain_types(self.path(name), spec, before, _commit_properties(run_id))
        return self.table(name).version()

    def delete_vehicle(
        self,
        vehicle_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        run_id: str | None = None,
    ) -> dict[str, int]:
        """Delete the rows of ``vehicle_id`` (within ``[since, until)`` if given) everywhere
        but in tables exempt from erasure (``TableSpec.erasure_exempt``).

        Returns rows deleted per table. Deleted rows stay in old versions until
        ``vacuum`` removes the files.
        """
        if not _SAFE_ID.match(vehicle_id):
            raise InputError(f"{vehicle_id!r} is not a valid vehicle id")
        deleted: dict[str, int] = {}
        for spec in TABLES.values():
            if spec.vehicle_column is None or not self.exists(spec.name):
                continue
            if spec.erasure_exempt:  # kept under a legal obligation (see the table's spec)
                continue
            predicate = f"{spec.vehicle_column} = '{vehicle_id}'"
            for bound, op in ((since, ">="), (until, "<")):
                # a table without the data's own time (quarantine) loses all the vehicle's rows
                if bound is not None and spec.time_column:
                    predicate += f" AND {spec.time_column} {op} {_time_literal(spec, bound)}"
            deleted[spec.name] = self.delete_where(spec.name, predicate, run_id=run_id)
        return deleted

    def delete_where(self, name: str, predicate: str, *, run_id: str | None = None) -> int:
        """Delete the rows of ``name`` matching a Delta SQL ``predicate``; returns their count."""
        spec = table_spec(name)
        if not self.exists(name):
            return 0
        table = self.table(name)
        before = file_paths(table)
        try:
            metrics = table.delete(predicate, commit_properties=_commit_properties(run_id))
        except DeltaError as exc:
            raise StorageError(f"could not delete from lake table {name!r}: {exc}") from exc
        deleted = int(metrics.get("num_deleted_rows", 0))
        if deleted:
            restore_plain_types(self.path(name), spec, before, _commit_properties(run_id))
        return deleted

    def compact(self, name: str, *, run_id: str | None = None) -> dict[str, int]:
        """Merge small files (one per gateway batch and day, say) into large ones.

        A table with ``cluster_by`` (telemetry) is also sorted by those columns,
        in small row groups, so that one vehicle's read skips the others'
        (:mod:`drivetrain.lake.clustering`). New versions with the same rows; old
        files stay for time travel until ``vacuum``. Returns the files removed
        and added.
        """
        if not self.exists(name):
            return {"files_removed": 0, "files_added": 0}
        spec = table_spec(name)
        before = file_paths(self.table(name))
        try:
            if spec.cluster_by:
                cluster_table(self.path(name), spec, _commit_properties(run_id))
            else:
                self.table(name).optimize.compact(commit_properties=_commit_properties(run_id))
                restore_plain_types(self.path(name), spec, before, _commit_properties(run_id))
        except DeltaError as exc:
            raise StorageError(f"could not compact lake table {name!r}: {exc}") from exc
        after = file_paths(self.table(name))
        return {"files_removed": len(before - after), "files_added": len(after - before)}

    def restore_versions(self, before: Mapping[str, int | None]) -> None:
        """Return each table to the version it had before a failed run (None: it did not exist)."""
        for name, version in before.items():
            now = self.version(name)
            if now is None or now == version:
                continue
            if version is None:
                self.drop(name)
            else:
                self.table(name).restore(version)

    def drop(self, name: str) -> None:
        """Remove table ``name`` and all its versions (used to undo a failed first write)."""
        shutil.rmtree(self.path(name), ignore_errors=True)

    def vacuum(self, name: str, *, retention_hours: int = 168) -> list[str]:
        """Remove files no version newer than ``retention_hours`` refers to."""
        return list(
            self.table(name).vacuum(
                retention_hours=retention_hours,
                dry_run=False,
                enforce_retention_duration=retention_hours >= 168,
            )
        )


def _time_literal(spec: TableSpec, moment: datetime) -> str:
    """``moment`` as a Delta SQL literal of the type of the table's time column."""
    if pa.types.is_date32(spec.schema.field(spec.time_column).type):
        # a day-valued column (a repair, a sale) belongs to the period its day starts in
        return f"DATE '{moment.astimezone(UTC).date().isoformat()}'"
    return f"'{moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}'"


def _commit_properties(run_id: str | None) -> CommitProperties | None:
    return CommitProperties(custom_metadata={"drivetrain.run_id": run_id}) if run_id else None


def _batches(data: ArrowData) -> Iterator[pa.RecordBatch]:
    if isinstance(data, pa.Table):
        yield from data.to_batches()
    elif isinstance(data, pa.RecordBatch):
        yield data
    else:
        yield from data


def _conforming_reader(
    spec: TableSpec, data: ArrowData, failures: list[BaseException] | None = None
) -> pa.RecordBatchReader:
    """Check every batch against ``spec`` and add the derived columns, lazily.

    An exception raised while streaming is also appended to ``failures`` so the
    caller can re-raise it unwrapped by the Delta writer.
    """
    batches = _batches(data)
    first = next(batches, None)
    if first is None:
        first = pa.RecordBatch.from_pylist([], schema=spec.input_schema)
    head = conform_batch(spec, first)
    schema = head.schema

    def stream() -> Iterator[pa.RecordBatch]:
        yield head
        try:
            for batch in batches:
                conformed = conform_batch(spec, batch)
                yield conformed if conformed.schema == schema else conformed.cast(schema)
        except BaseException as exc:
            if failures is not None:
                failures.append(exc)
            raise

    return pa.RecordBatchReader.from_batches(schema, stream())


def conform_batch(spec: TableSpec, batch: pa.RecordBatch) -> pa.RecordBatch:
    """Return ``batch`` with the registered column order and types plus derived columns.

    Raises SchemaMismatch naming the offending column when a column is missing,
    unexpected, of an incompatible type, or null where the schema forbids it.
    """
    expected = spec.input_schema
    got = batch.schema.names
    missing = [n for n in expected.names if n not in got]
    extra = [n for n in got if n not in expected.names]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected column(s) {', '.join(extra)}")
        raise SchemaMismatch(
            f"data for lake table {spec.name!r} has {'; '.join(parts)}",
            hint=f"expected columns: {', '.join(expected.names)}",
        )
    arrays: list[pa.Array] = []
    fields: list[pa.Field] = []
    for field in expected:
        column = _coerce(spec.name, field, batch.column(field.name))
        if not field.nullable and column.null_count:
            raise SchemaMismatch(
                f"column {field.name!r} of lake table {spec.name!r} has "
                f"{column.null_count} null value(s) but may not be null"
            )
        arrays.append(column)
        fields.append(pa.field(field.name, column.type, nullable=field.nullable))
    for name, source in spec.derived.items():
        arrays.append(pc.cast(batch.column(source), spec.schema.field(name).type))
        fields.append(spec.schema.field(name))
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def _coerce(table: str, field: pa.Field, column: pa.Array) -> pa.Array:
    want, have = field.type, column.type
    if have == want:
        return column
    if pa.types.is_dictionary(have) and have.value_type == want:
        return column  # stored as plain strings; kept encoded until the parquet writer
    widen = (
        (
            pa.types.is_integer(want)
            and pa.types.is_integer(have)
            and want.bit_width >= have.bit_width
        )
        or (
            pa.types.is_floating(want) and (pa.types.is_integer(have) or pa.types.is_floating(have))
        )
        or (pa.types.is_large_string(have) and pa.types.is_string(want))
    )
    if widen:
        return column.cast(want)
    if pa.types.is_timestamp(want) and pa.types.is_timestamp(have):
        if have.tz is None or have.tz.upper() not in {"UTC", "Z", "+00:00", "ETC/UTC"}:
            raise SchemaMismatch(
                f"column {field.name!r} of lake table {table!r} is {have}, not UTC",
                hint="drivetrain stores time as UTC: convert the timestamps to UTC first",
            )
        return column.cast(want, safe=False)  # sub-microsecond digits are dropped
    raise SchemaMismatch(
        f"column {field.name!r} of lake table {table!r} has type {have}, expected {want}",
        hint="convert the column before writing",
    )
