"""Keeping lake files readable by pyarrow after delta-rs rewrites them.

Since delta-rs 1.4, the operations that rewrite existing files — ``delete``,
``merge`` and ``optimize`` — write string columns as Arrow ``string_view``
(delta-io/delta-rs#4579, still so in 1.6.6). PyArrow has no comparison kernels
for ``string_view``, so the next *filtered* read of the table (a governed read,
a vehicle's rows, a day's signals) fails with ``ArrowNotImplementedError``.

After each such operation the lake finds the files it added with view types
and rewrites the partitions holding them (the whole table, if it has no
partitions) with the table's own types, in a second commit. The rows do not
change; old files go with the next vacuum, like any rewritten file.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, write_deltalake

from drivetrain.lake.schemas import TableSpec

_VIEW = (pa.types.is_string_view, pa.types.is_binary_view)


def file_paths(table: DeltaTable) -> set[str]:
    """The data files of the table's current version (paths relative to its root)."""
    actions = pa.table(table.get_add_actions(flatten=True))
    return set(actions.column("path").to_pylist()) if actions.num_rows else set()


def _has_view_types(path: Path) -> bool:
    return any(check(field.type) for field in pq.read_schema(path) for check in _VIEW)


def restore_plain_types(
    root: Path,
    spec: TableSpec,
    before: set[str],
    commit_properties: CommitProperties | None = None,
) -> int:
    """Rewrite what an operation wrote with view types since ``before``; returns partitions redone."""
    table = DeltaTable(str(root))
    actions = pa.table(table.get_add_actions(flatten=True))
    if not actions.num_rows:
        return 0
    added = [p for p in actions.column("path").to_pylist() if p not in before]
    viewed = [p for p in added if _has_view_types(root / p)]
    if not viewed:
        return 0
    if not spec.partition_by:
        data = table.to_pyarrow_dataset().to_table().cast(spec.schema)
        write_deltalake(table, data, mode="overwrite", commit_properties=commit_properties)
        return 1
    column = spec.partition_by[0]
    values = pc.unique(
        pc.filter(
            actions.column(f"partition.{column}"),
            pc.is_in(actions.column("path"), value_set=pa.array(viewed, pa.string())),
        )
    ).to_pylist()
    field = spec.schema.field(column)
    for value in sorted(values):
        table = DeltaTable(str(root))
        part = pc.field(column) == pa.scalar(value, field.type)
        data = table.to_pyarrow_dataset().to_table(filter=part).cast(spec.schema)
        write_deltalake(
            table,
            data,
            mode="overwrite",
            predicate=f"{column} = '{value}'",
            commit_properties=commit_properties,
        )
    return len(values)
