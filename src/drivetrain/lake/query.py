"""Read-only SQL over the lake with DuckDB.

Each lake table is visible under its own name, at its current version or at a
pinned one. The connection cannot touch the file system (no COPY, no
read_csv of arbitrary paths, no extension loading) and accepts only queries.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from drivetrain.errors import InputError
from drivetrain.lake.schemas import TABLES
from drivetrain.lake.store import Lake

_READ_ONLY = {"SELECT", "EXPLAIN"}


def query(lake: Lake, sql: str, *, versions: dict[str, int] | None = None) -> pa.Table:
    """Run one read-only SQL statement over the lake's tables; returns an Arrow table.

    ``versions`` pins tables to a version, e.g. ``{"telemetry": 3}``.
    """
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise InputError(f"SQL does not parse: {exc}") from exc
    if len(statements) != 1:
        raise InputError(
            f"expected exactly one SQL statement, got {len(statements)}",
            hint="run statements one at a time",
        )
    kind = str(statements[0].type).rsplit(".", 1)[-1]
    if kind not in _READ_ONLY:
        raise InputError(
            f"lake queries are read-only; a {kind} statement is not allowed",
            hint="use SELECT (or EXPLAIN SELECT)",
        )
    pinned = versions or {}
    unknown = sorted(set(pinned) - set(TABLES))
    if unknown:
        raise InputError(f"cannot pin unknown table(s) {', '.join(unknown)}")
    con = duckdb.connect(":memory:")
    try:
        for name in TABLES:
            con.register(name, lake.dataset(name, pinned.get(name)))
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        try:
            return con.sql(sql).to_arrow_table()
        except duckdb.Error as exc:
            raise InputError(f"query failed: {exc}") from exc
    finally:
        con.close()
