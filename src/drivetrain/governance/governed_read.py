"""Governed reads of the lake: row-level security by principal and purpose.

Every lake read made on someone's behalf goes through here. Each table the
read touches is narrowed to the vehicles the access context may read for its
purpose (one policy decision per distinct brand and region, see
:class:`AccessEnforcer`); a table none of whose vehicles may be read refuses
the whole read with :class:`PolicyDenied`. Tables without a vehicle column
follow the table-level permission only, as do rows whose vehicle is unknown
(null). Every read and every denial goes to the audit log when one is given.

Personal signals live sealed in ``telemetry_sealed``. A read of ``telemetry``
shows them, opened, only where the context may also read ``telemetry_sealed``
for the vehicle *and* the caller hands an ``opener`` (the keyring with the
state database, see :func:`drivetrain.governance.sealing.read_opened`); rows
an erasure has shredded cannot be opened and are counted in the audit record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn, Protocol, TypeAlias

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pds

from drivetrain.errors import InputError, PolicyDenied
from drivetrain.governance.access import (
    AccessContext,
    AccessEnforcer,
    VehicleAssessment,
    VehicleRecordLike,
    VehicleScope,
    denial,
)
from drivetrain.governance.sealing import SEALED_TABLE, Opened
from drivetrain.lake import TABLES, Lake, query, table_spec

READ_KIND = "access"
DENIED_KIND = "denial"
Opener: TypeAlias = Callable[[pa.Table], Opened]


class AuditSink(Protocol):
    """Where governed reads record themselves (the audit log implements it)."""

    def append(
        self, kind: str, *, principal: str, purpose: str, details: Mapping[str, Any]
    ) -> Any: ...


_DEFAULT: list[AccessEnforcer] = []


def default_enforcer() -> AccessEnforcer:
    """The enforcer of the packaged default policy (built once per process)."""
    if not _DEFAULT:
        _DEFAULT.append(AccessEnforcer())
    return _DEFAULT[0]


class _GovernedLake(Lake):
    """A view of a lake whose datasets carry each table's permitted-vehicle filter."""

    def __init__(
        self,
        base: Lake,
        filters: Mapping[str, pc.Expression | None],
        extra: Mapping[str, pa.Table] | None = None,
    ) -> None:
        super().__init__(base.root)
        self._base = base
        self._filters = filters
        self._extra = dict(extra or {})

    def dataset(self, name: str, version: int | None = None) -> pds.Dataset:
        if name not in self._filters:
            # Not a table the statement names: nothing of it is visible.
            return pds.dataset(table_spec(name).schema.empty_table())
        dataset = self._base.dataset(name, version)
        if name in self._extra:  # opened personal rows join the table they were sealed from
            extra = self._extra[name].select(dataset.schema.names).cast(dataset.schema)
            dataset = pds.dataset([dataset, pds.dataset(extra)])
        expression = self._filters[name]
        return dataset if expression is None else dataset.filter(expression)


def governed_query(
    lake: Lake,
    sql: str,
    context: AccessContext,
    vehicles: Iterable[VehicleRecordLike],
    *,
    audit: AuditSink | None = None,
    enforcer: AccessEnforcer | None = None,
    versions: dict[str, int] | None = None,
    opener: Opener | None = None,
) -> pa.Table:
    """Run one read-only SQL statement seeing only what ``context`` may read.

    ``vehicles`` are the fleet's records (brand, region); rows of vehicles not
    among them are never visible. With ``opener``, ``telemetry`` includes the
    personal signals the context may read, opened from ``telemetry_sealed``.
    """
    tables = referenced_tables(sql)
    details: dict[str, Any] = {"sql": sql}
    fleet = list(vehicles)
    filters = _authorise(lake, tables, context, fleet, audit, enforcer, details)
    pins = versions or {}
    extra = _personal(lake, filters, context, fleet, enforcer, opener, details, pins)
    result = query(_GovernedLake(lake, filters, extra), sql, versions=versions)
    details["rows"] = result.num_rows
    _record(audit, READ_KIND, context, details)
    return result


def governed_read(
    lake: Lake,
    table: str,
    context: AccessContext,
    vehicles: Iterable[VehicleRecordLike],
    columns: list[str] | None = None,
    *,
    audit: AuditSink | None = None,
    enforcer: AccessEnforcer | None = None,
    version: int | None = None,
    opener: Opener | None = None,
    filter: pc.Expression | None = None,
) -> pa.Table:
    """Read ``table`` (some ``columns``, rows matching ``filter``) as ``context`` may.

    With ``opener``, a read of ``telemetry`` includes the personal signals the
    context may read, opened from ``telemetry_sealed``.
    """
    spec = table_spec(table)
    details: dict[str, Any] = {"table": spec.name, "columns": columns}
    if filter is not None:
        details["filter"] = str(filter)
    fleet = list(vehicles)
    filters = _authorise(lake, [spec.name], context, fleet, audit, enforcer, details)
    pins = {} if version is None else {spec.name: version}
    extra = _personal(lake, filters, context, fleet, enforcer, opener, details, pins)
    dataset = _GovernedLake(lake, filters, extra).dataset(spec.name, version)
    result = dataset.to_table(columns=columns, filter=filter)
    details["rows"] = result.num_rows
    _record(audit, READ_KIND, context, details)
    return result


def referenced_tables(sql: str) -> list[str]:
    """The lake tables one SELECT (or EXPLAIN SELECT) statement names, parsed not bound."""
    body = re.sub(r"^\s*explain(\s+analyze)?\s+", "", sql, flags=re.IGNORECASE)
    con = duckdb.connect(":memory:")
    try:
        row = con.execute("SELECT json_serialize_sql(?)", [body]).fetchone()
    finally:
        con.close()
    tree = json.loads(row[0]) if row else {}
    if tree.get("error"):
        raise InputError(
            f"cannot run as a governed query: {tree.get('error_message', 'unparseable SQL')}",
            hint="governed queries are one SELECT statement over the lake's tables",
        )
    names: set[str] = set()
    _collect_tables(tree, names)
    return sorted(name for name in names if name in TABLES)


def _collect_tables(node: Any, names: set[str]) -> None:
    if isinstance(node, dict):
        if node.get("type") == "BASE_TABLE" and isinstance(node.get("table_name"), str):
            names.add(node["table_name"].lower())
        for value in node.values():
            _collect_tables(value, names)
    elif isinstance(node, list):
        for value in node:
            _collect_tables(value, names)


def _authorise(
    lake: Lake,
    tables: Sequence[str],
    context: AccessContext,
    vehicles: list[VehicleRecordLike],
    audit: AuditSink | None,
    enforcer: AccessEnforcer | None,
    details: dict[str, Any],
) -> dict[str, pc.Expression | None]:
    """Decide every table of a read; raise PolicyDenied (audited) if one is refused."""
    enforcer = enforcer or default_enforcer()
    filters: dict[str, pc.Expression | None] = {}
    scopes: dict[str, Any] = {}
    for table in tables:
        spec = table_spec(table)
        # The table-level question first: does any rule let this principal read it?
        decision = enforcer.decide(context, "read", table, None)
        if not decision.allowed:
            _refuse(
                audit,
                context,
                details,
                denial(context, "read", table, None, decision),
                table,
                decision.rule.name if decision.rule else None,
            )
        if spec.vehicle_column is None:
            filters[table] = None
            scopes[table] = {"rule": decision.rule.name if decision.rule else None}
            continue
        assessment = enforcer.assess_vehicles(context, table, vehicles)
        if vehicles and not assessment.permitted:
            key, refused = next(iter(assessment.denied.items()))
            error = denial(context, "read", table, VehicleScope(*key), refused)
            _refuse(
                audit,
                context,
                details,
                error,
                table,
                refused.rule.name if refused.rule else None,
                assessment,
            )
        if assessment.denied:
            _record(
                audit,
                DENIED_KIND,
                context,
                {**details, "table": table, "scope": "partial", **_summary(assessment)},
            )
        column = pc.field(spec.vehicle_column)
        permitted = column.isin(pa.array(sorted(assessment.permitted), pa.string()))
        # Rows that belong to no vehicle (e.g. a quarantined line that never
        # decoded one) follow the table-level permission granted above.
        filters[table] = permitted | column.is_null()
        scopes[table] = _summary(assessment)
    details["tables"] = scopes
    return filters


def _personal(
    lake: Lake,
    filters: Mapping[str, pc.Expression | None],
    context: AccessContext,
    vehicles: list[VehicleRecordLike],
    enforcer: AccessEnforcer | None,
    opener: Opener | None,
    details: dict[str, Any],
    versions: Mapping[str, int],
) -> dict[str, pa.Table]:
    """The opened personal rows ``telemetry`` shows in this read (none without permission)."""
    if "telemetry" not in filters:
        return {}
    if opener is None:  # nothing could be opened: no need to decide who may see it
        details["personal"] = {"opened": 0, "reason": "no opener"}
        return {}
    enforcer = enforcer or default_enforcer()
    assessment = enforcer.assess_vehicles(context, SEALED_TABLE, vehicles)
    if not assessment.permitted:
        details["personal"] = {"opened": 0, "reason": "denied"}
        return {}
    wanted = pc.field("vehicle_id").isin(pa.array(sorted(assessment.permitted), pa.string()))
    sealed = lake.dataset(SEALED_TABLE, versions.get(SEALED_TABLE)).to_table(filter=wanted)
    opened = opener(sealed)
    details["personal"] = {
        "opened": opened.telemetry.num_rows,
        "shredded": opened.shredded,
        "granted_by": sorted(
            {d.rule.name for d in assessment.decisions.values() if d.allowed and d.rule}
        ),
    }
    return {"telemetry": opened.telemetry}


def _summary(assessment: VehicleAssessment) -> dict[str, Any]:
    return {
        "permitted_vehicles": len(assessment.permitted),
        "withheld_vehicles": assessment.withheld,
        "granted_by": sorted(
            {d.rule.name for d in assessment.decisions.values() if d.allowed and d.rule}
        ),
        "denied_by": sorted(
            {d.rule.name if d.rule else "no_grant" for d in assessment.denied.values()}
        ),
    }


def _refuse(
    audit: AuditSink | None,
    context: AccessContext,
    details: Mapping[str, Any],
    error: PolicyDenied,
    table: str,
    rule: str | None,
    assessment: VehicleAssessment | None = None,
) -> NoReturn:
    record = {**details, "table": table, "scope": "all", "rule": rule, "reason": error.message}
    if assessment is not None:
        record |= _summary(assessment)
    _record(audit, DENIED_KIND, context, record)
    raise error


def _record(
    audit: AuditSink | None, kind: str, context: AccessContext, details: Mapping[str, Any]
) -> None:
    if audit is not None:
        audit.append(
            kind,
            principal=context.principal.principal_id,
            purpose=context.purpose,
            details=dict(details),
        )


__all__ = [
    "DENIED_KIND",
    "READ_KIND",
    "AuditSink",
    "default_enforcer",
    "governed_query",
    "governed_read",
    "referenced_tables",
]
