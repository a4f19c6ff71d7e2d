"""What a lake table is: its Arrow schema, partitioning, merge key and personal-data links."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A lake table: its schema (with derived columns), partitioning and merge key."""

    name: str
    description: str
    schema: pa.Schema
    partition_by: tuple[str, ...] = ()
    key: tuple[str, ...] = ()
    derived: dict[str, str] = field(default_factory=dict)
    vehicle_column: str | None = "vehicle_id"
    time_column: str = "ts"  # the data's own time; "" when the table has none (quarantine)
    # why a data subject's erasure leaves the table's rows (a legal duty to keep them);
    # None: the rows of the subject's period are erased. Exports include them either way.
    erasure_exempt: str | None = None
    # the columns readers filter on, which compact() sorts each partition's files by
    # (drivetrain.lake.clustering); () leaves the files in the order they were written
    cluster_by: tuple[str, ...] = ()

    @property
    def input_schema(self) -> pa.Schema:
        """The columns a writer supplies: the schema less the derived columns."""
        return pa.schema([f for f in self.schema if f.name not in self.derived])


def schema_of(*fields: tuple[str, pa.DataType, bool]) -> pa.Schema:
    return pa.schema([pa.field(name, dtype, nullable=nullable) for name, dtype, nullable in fields])
