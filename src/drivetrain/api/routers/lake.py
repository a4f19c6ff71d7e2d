"""``/api/v1/lake``: the tables, and read-only SQL under the caller's access context.

A query is one SELECT (or EXPLAIN SELECT) in DuckDB's dialect
(:func:`drivetrain.lake.query`), run by :func:`governed_query`: each table it
names is filtered to the vehicles the caller may read for the purpose, and
refused (403, naming the rule) if the caller may read none of it. The
connection cannot reach the file system. Results are capped at ``max_rows``.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from drivetrain.api.auth import Caller, require, services_of
from drivetrain.api.context import Purpose, access_context
from drivetrain.api.problems import PROBLEM_RESPONSES
from drivetrain.governance.governed_read import governed_query
from drivetrain.governance.keys import Keyring
from drivetrain.governance.sealing import state_opener

router = APIRouter(prefix="/api/v1/lake", tags=["lake"], responses=PROBLEM_RESPONSES)
LakeReader = Annotated[Caller, Depends(require("lake:read"))]
MAX_SQL = 20_000


class TableInfo(BaseModel):
    name: str
    description: str
    version: int | None
    rows: int
    files: int
    partition_by: list[str]


@router.get("/tables", response_model=list[TableInfo], summary="The lake's tables")
def tables(request: Request, caller: LakeReader) -> list[TableInfo]:
    return [
        TableInfo(
            name=i.name,
            description=i.description,
            version=i.version,
            rows=i.rows,
            files=i.files,
            partition_by=list(i.partition_by),
        )
        for i in services_of(request).lake.tables()
    ]


class QueryRequest(BaseModel):
    sql: str = Field(
        min_length=1,
        max_length=MAX_SQL,
        examples=["SELECT signal, count(*) AS n FROM telemetry GROUP BY signal"],
    )
    purpose: Purpose
    versions: dict[Annotated[str, Field(max_length=64)], Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict, max_length=32, description="Pin tables: {table: version}."
    )
    max_rows: int = Field(default=1000, ge=1, le=100_000)


class QueryResult(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    row_count: int = Field(description="Rows the query returned (before max_rows).")
    truncated: bool


def _cell(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list | tuple):
        return [_cell(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _cell(v) for k, v in value.items()}
    return value


@router.post("/query", response_model=QueryResult, summary="Read-only SQL, as you may read")
def run_query(body: QueryRequest, request: Request, caller: LakeReader) -> QueryResult:
    services = services_of(request)
    context = access_context(request, caller, body.purpose.value)
    opener = state_opener(services.state_url, Keyring.load_or_create(services.data_dir))
    result = governed_query(
        services.lake,
        body.sql,
        context,
        services.vehicles(),
        versions=body.versions,
        audit=services.audit,
        opener=opener,
    )
    shown = result.slice(0, body.max_rows)
    columns = shown.column_names
    rows = [[_cell(v) for v in row.values()] for row in shown.to_pylist()]
    return QueryResult(
        columns=columns,
        rows=rows,
        row_count=result.num_rows,
        truncated=result.num_rows > body.max_rows,
    )
