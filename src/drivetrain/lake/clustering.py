"""Clustering a table's files by the columns its readers filter on.

Readers of ``telemetry`` ask for one vehicle at a time (a vehicle's page, a
diagnosis, an erasure). Appended as it arrives, a day's file interleaves every
vehicle in one row group, so such a read decodes the whole day. Rewritten
sorted by ``(vehicle_id, ts)`` in row groups of :data:`ROW_GROUP_ROWS` rows,
each row group's min/max statistics name a narrow range of vehicles and
PyArrow's scanner skips the rest: a vehicle's month of signals in the demo
lake reads ~13x faster (``docs/performance.md``).

A partition is rewritten when it has several small files (fewer than
:data:`FULL_FILE_ROWS` rows), files whose vehicle ranges overlap, or a file
whose row groups are out of order or larger than :data:`ROW_GROUP_ROWS`; so
compacting a clustered table does nothing. Each partition is one overwrite commit with
the table's own types; its rows do not change. The old files stay for time
travel until ``vacuum``. A partition is sorted in memory (a day of the demo
fleet is ~0.8 M rows); a deployment with larger partitions clusters with its
distributed engine instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable, WriterProperties, write_deltalake

from drivetrain.lake.spec import TableSpec

ROW_GROUP_ROWS = 65_536
FULL_FILE_ROWS = 1_000_000  # a partition of several files this big is left as it is


def clustered_range(path: Path, column: str) -> tuple[Any, Any] | None:
    """A file's ``(min, max)`` of ``column`` if its row groups are small and in order, else None.

    Reads the footer only.
    """
    metadata = pq.ParquetFile(path).metadata
    index = metadata.schema.to_arrow_schema().get_field_index(column)
    low: Any = None
    high: Any = None
    for i in range(metadata.num_row_groups):
        group = metadata.row_group(i)
        stats = group.column(index).statistics
        if group.num_rows > ROW_GROUP_ROWS or stats is None or not stats.has_min_max:
            return None
        if high is not None and stats.min < high:
            return None
        low = stats.min if low is None else low
        high = stats.max
    return (low, high) if low is not None else None


def _needs_clustering(root: Path, paths: Sequence[str], rows: Sequence[int], column: str) -> bool:
    """Whether a partition's files are several and small, out of order, or overlapping."""
    if len(paths) > 1 and min(rows) < FULL_FILE_ROWS:
        return True
    ranges = []
    for path in paths:
        found = clustered_range(root / path, column)
        if found is None:
            return True
        ranges.append(found)
    ranges.sort()
    return any(later[0] < earlier[1] for earlier, later in itertools.pairwise(ranges))


def partitions_to_cluster(root: Path, spec: TableSpec) -> list[Any]:
    """The partition values whose files need clustering ([None]: the unpartitioned table)."""
    if not spec.cluster_by:
        return []
    actions = pa.table(DeltaTable(str(root)).get_add_actions(flatten=True))
    if not actions.num_rows:
        return []
    paths = actions.column("path").to_pylist()
    rows = actions.column("num_records").to_pylist()
    first = spec.cluster_by[0]
    if not spec.partition_by:
        return [None] if _needs_clustering(root, paths, rows, first) else []
    values = actions.column(f"partition.{spec.partition_by[0]}").to_pylist()
    files: dict[Any, tuple[list[str], list[int]]] = {}
    for value, path, count in zip(values, paths, rows, strict=True):
        held = files.setdefault(value, ([], []))
        held[0].append(path)
        held[1].append(count)
    return sorted(v for v, (p, n) in files.items() if _needs_clustering(root, p, n, first))


def cluster_table(
    root: Path,
    spec: TableSpec,
    commit_properties: CommitProperties | None = None,
    partitions: Sequence[Any] | None = None,
) -> int:
    """Rewrite the partitions that need it sorted by ``spec.cluster_by``; returns how many."""
    todo = partitions_to_cluster(root, spec) if partitions is None else list(partitions)
    order = [(column, "ascending") for column in spec.cluster_by]
    for value in todo:
        table = DeltaTable(str(root))
        if value is None:
            data = table.to_pyarrow_dataset().to_table()
            predicate = None
        else:
            column = spec.partition_by[0]
            part = pc.field(column) == pa.scalar(value, spec.schema.field(column).type)
            data = table.to_pyarrow_dataset().to_table(filter=part)
            predicate = f"{column} = '{value}'"
        write_deltalake(
            table,
            data.sort_by(order).cast(spec.schema),
            mode="overwrite",
            predicate=predicate,
            writer_properties=WriterProperties(max_row_group_size=ROW_GROUP_ROWS),
            commit_properties=commit_properties,
        )
    return len(todo)
