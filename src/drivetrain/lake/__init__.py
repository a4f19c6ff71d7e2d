"""Versioned lake tables (Delta Lake) and read-only SQL over them (DuckDB)."""

from drivetrain.lake.frames import polars_frame
from drivetrain.lake.query import query
from drivetrain.lake.schemas import TABLES, TableSpec, table_spec
from drivetrain.lake.store import Lake, TableInfo, conform_batch

__all__ = ["TABLES", "Lake", "TableInfo", "TableSpec", "conform_batch", "polars_frame", "query", "table_spec"]
