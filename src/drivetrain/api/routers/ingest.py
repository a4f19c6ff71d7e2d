"""``/api/v1/ingest``: how data came in — recent runs, table versions, quarantined rows.

* ``runs``: the ingestion runs of the audit log (kind ``ingest``, recorded by
  :func:`~drivetrain.governance.provenance.record_run`), newest first: which
  source wrote how many rows into which table versions, and how many it refused.
  They name sources and counts, never a vehicle, so any ``ingest:read`` caller
  sees them.
* ``tables``: each table's version history (the Delta commits, with the run
  that wrote each).
* ``quarantine``: the rows refused on the way in, counted by target table and
  reason. The quarantine table holds the refused records themselves (a raw VIN,
  a workshop's line), so it is read as the access policy says (role
  ``data_engineer`` for any purpose, the data protection officer for
  ``legal_obligation``) and only counts are returned, never a record.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from drivetrain.api.auth import Caller, require, services_of
from drivetrain.api.context import Page, PageParams, Purpose, access_context, page_params, paginate
from drivetrain.api.problems import PROBLEM_RESPONSES
from drivetrain.errors import NotFound
from drivetrain.governance.access import VehicleRecordLike, denial
from drivetrain.governance.governed_read import default_enforcer, governed_read
from drivetrain.ingest.warranty_records import built_vehicles
from drivetrain.lake import TABLES

router = APIRouter(prefix="/api/v1/ingest", tags=["ingest"], responses=PROBLEM_RESPONSES)
IngestReader = Annotated[Caller, Depends(require("ingest:read"))]
RUN_KIND = "ingest"
QUARANTINE = "quarantine"
#: The lake's tables (an enum, so the OpenAPI document lists them).
Table = StrEnum("Table", {name: name for name in TABLES})  # type: ignore[misc]


class Run(BaseModel):
    seq: int = Field(description="The run's audit log entry.")
    time: datetime
    run_id: str
    source: str = Field(description="Who or what wrote (the run's principal).")
    purpose: str
    rows: int | None = Field(description="Rows stored, over every table.")
    rejected: int | None = Field(description="Rows refused (quarantined or rejected).")
    tables: dict[str, int | None] = Field(description="Table version each table was left at.")
    details: dict[str, Any]


def _total(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        return sum(v for v in value.values() if isinstance(v, int) and not isinstance(v, bool))
    return None


def _first(details: dict[str, Any], *keys: str) -> int | None:
    return next((n for k in keys if (n := _total(details.get(k))) is not None), None)


@router.get("/runs", response_model=Page[Run], summary="Ingestion runs, newest first")
def runs(
    request: Request,
    caller: IngestReader,
    page: Annotated[PageParams, Depends(page_params)],
    source: Annotated[str | None, Query(max_length=256, description="Only this source.")] = None,
) -> Page[Run]:
    found = []
    for e in reversed(services_of(request).audit.entries(RUN_KIND)):
        if source is not None and e.principal != source:
            continue
        tables = e.details.get("tables")
        found.append(
            Run(
                seq=e.seq,
                time=e.time,
                run_id=str(e.details.get("run_id", "")),
                source=e.principal,
                purpose=e.purpose,
                rows=_first(e.details, "rows", "rows_written"),
                rejected=_first(e.details, "rejected", "rows_quarantined"),
                tables=(
                    {str(k): v if isinstance(v, int) else None for k, v in tables.items()}
                    if isinstance(tables, dict)
                    else {}
                ),
                details=e.details,
            )
        )
    return paginate(found, page)


class TableState(BaseModel):
    name: str
    version: int
    updated_at: datetime | None
    operation: str | None
    run_id: str | None = Field(description="The run that made the latest version.")


class TableVersion(BaseModel):
    version: int
    time: datetime | None
    operation: str | None
    run_id: str | None
    rows_added: int | None


def _versions(history: list[dict[str, Any]]) -> list[TableVersion]:
    out = []
    for commit in history:
        stamp = commit.get("timestamp")
        metrics = commit.get("operationMetrics") or {}
        added = metrics.get("num_added_rows") if isinstance(metrics, dict) else None
        out.append(
            TableVersion(
                version=int(commit.get("version", 0)),
                time=datetime.fromtimestamp(stamp / 1000, UTC) if isinstance(stamp, int) else None,
                operation=commit.get("operation"),
                run_id=commit.get("drivetrain.run_id"),
                rows_added=added if isinstance(added, int) else None,
            )
        )
    return out


@router.get("/tables", response_model=list[TableState], summary="Every table's latest version")
def tables(request: Request, caller: IngestReader) -> list[TableState]:
    services = services_of(request)

    def latest() -> list[TableState]:
        out = []
        for name, version in services.lake_state():
            newest = _versions(services.lake.history(name)[:1])
            head = newest[0] if newest else None
            out.append(
                TableState(
                    name=name,
                    version=version,
                    updated_at=head.time if head else None,
                    operation=head.operation if head else None,
                    run_id=head.run_id if head else None,
                )
            )
        return out

    return services.cached(("ingest-tables",), latest)


@router.get(
    "/tables/{table}/versions",
    response_model=Page[TableVersion],
    summary="A table's versions, newest first",
)
def table_versions(
    table: Table,
    request: Request,
    caller: IngestReader,
    page: Annotated[PageParams, Depends(page_params)],
) -> Page[TableVersion]:
    lake = services_of(request).lake
    if not lake.exists(table.value):
        raise NotFound(f"the lake has no {table.value} table yet", hint="nothing was written to it")
    return paginate(_versions(lake.history(table.value)), page)


class QuarantineCount(BaseModel):
    target_table: str
    reason: str
    rows: int


class Quarantine(BaseModel):
    total: int = Field(description="Quarantined rows you may read.")
    version: int | None = Field(description="The quarantine table's version read.")
    by_table: dict[str, int]
    reasons: list[QuarantineCount] = Field(description="Most frequent first.")


@router.get(
    "/quarantine",
    response_model=Quarantine,
    summary="Refused rows by table and reason (data engineers; counts only)",
)
def quarantine(
    request: Request,
    caller: IngestReader,
    purpose: Annotated[Purpose, Query(description="Why you read (an access purpose).")],
) -> Quarantine:
    context = access_context(request, caller, purpose.value)
    services = services_of(request)
    if not services.lake.exists(QUARANTINE):  # nothing refused yet: the policy still decides
        decision = default_enforcer().decide(context, "read", QUARANTINE, None)
        if not decision.allowed:
            raise denial(context, "read", QUARANTINE, None, decision)
        return Quarantine(total=0, version=None, by_table={}, reasons=[])
    # The vehicles refused rows can name: the registered fleet and every vehicle built
    # (the production records, whose claims are refused for the vehicles they name).
    population: list[VehicleRecordLike] = list(services.vehicles())
    known = {v.vehicle_id for v in population}
    built = services.cached(("built-vehicles",), lambda: built_vehicles(services.lake))
    population += [v for v in built if v.vehicle_id not in known]
    rows = governed_read(
        services.lake,
        QUARANTINE,
        context,
        population,
        ["target_table", "reason"],
        audit=services.audit,
    )
    pairs = Counter(zip(rows["target_table"].to_pylist(), rows["reason"].to_pylist(), strict=True))
    by_table: Counter[str] = Counter()
    for (table, _), n in pairs.items():
        by_table[table] += n
    return Quarantine(
        total=rows.num_rows,
        version=services.lake.version(QUARANTINE),
        by_table=dict(sorted(by_table.items())),
        reasons=[
            QuarantineCount(target_table=t, reason=r, rows=n)
            for (t, r), n in sorted(pairs.items(), key=lambda item: (-item[1], item[0]))
        ],
    )
