"""The fleet registry: register, list, count and remove vehicles in the state store.

Every function takes an open SQLAlchemy ``Session`` (see
``drivetrain.state.session_scope``) and leaves committing to the caller.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, RowMapping, Select, Table, delete, func, insert, select
from sqlalchemy.exc import IntegrityError as DbIntegrityError
from sqlalchemy.orm import Session

from drivetrain.errors import InputError, NotFound
from drivetrain.fleet.models import EcuSoftware, VehicleRecord
from drivetrain.fleet.vin import validate_vin
from drivetrain.state.models import POWERTRAINS, EcuSoftwareRow, VehicleRow

MAX_PROBLEMS_SHOWN = 5
_LOOKUP_CHUNK = 500
_MARKET = re.compile(r"[A-Z]{2}")
_REGION = re.compile(r"[a-z][a-z0-9_-]*")
# Core tables, not ORM entities: bulk reads and writes skip the unit of work.
_VEHICLES = cast(Table, VehicleRow.__table__)
_SOFTWARE = cast(Table, EcuSoftwareRow.__table__)
_VEHICLE_FIELDS = (
    "vehicle_id",
    "vin",
    "brand",
    "model_id",
    "model_name",
    "model_year",
    "platform",
    "market",
    "region",
    "powertrain",
    "registered_at",
)
_SOFTWARE_FIELDS = ("ecu", "hardware_part", "software_version", "installed_at")


def _text_limits(table: Table, names: Sequence[str]) -> dict[str, int | None]:
    """Maximum length of each text column (``None``: unbounded)."""
    return {name: getattr(table.c[name].type, "length", None) for name in names}


_VEHICLE_TEXT = _text_limits(
    _VEHICLES, ("vehicle_id", "brand", "model_id", "model_name", "platform", "region")
)
_SOFTWARE_TEXT = _text_limits(_SOFTWARE, ("ecu", "hardware_part", "software_version"))


def _text_problems(record: object, limits: Mapping[str, int | None], where: str) -> list[str]:
    problems = []
    for name, limit in limits.items():
        value = getattr(record, name)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}: {name} must be a non-empty string, got {value!r}")
        elif limit is not None and len(value) > limit:
            problems.append(f"{where}: {name} {value[:20]!r}… is longer than {limit} characters")
    return problems


def _aware(value: object) -> bool:
    return isinstance(value, datetime) and value.utcoffset() is not None


def _record_problems(record: VehicleRecord) -> list[str]:
    where = f"vehicle {record.vehicle_id!r}"
    problems = _text_problems(record, _VEHICLE_TEXT, where)
    try:
        validate_vin(record.vin)
    except InputError as exc:
        problems.append(f"{where}: {exc.message}")
    except TypeError:
        problems.append(f"{where}: VIN must be a string, got {record.vin!r}")
    if not isinstance(record.market, str) or not _MARKET.fullmatch(record.market):
        problems.append(
            f"{where}: market {record.market!r} is not an ISO 3166-1 alpha-2 code like 'DE'"
        )
    if isinstance(record.region, str) and not _REGION.fullmatch(record.region):
        problems.append(f"{where}: region {record.region!r} must be lower case, like 'eu'")
    if record.powertrain not in POWERTRAINS:
        problems.append(
            f"{where}: powertrain {record.powertrain!r} is not one of {', '.join(POWERTRAINS)}"
        )
    if (
        not isinstance(record.model_year, int)
        or isinstance(record.model_year, bool)
        or not 1980 <= record.model_year <= 2100
    ):
        problems.append(f"{where}: model_year {record.model_year!r} is not a year from 1980 on")
    if record.registered_at is not None and not _aware(record.registered_at):
        problems.append(f"{where}: registered_at must be a timezone-aware (UTC) datetime")
    seen: set[tuple[str, str]] = set()
    for sw in record.software:
        sw_where = f"{where} ECU {sw.ecu!r}"
        problems += _text_problems(sw, _SOFTWARE_TEXT, sw_where)
        if not _aware(sw.installed_at):
            problems.append(f"{sw_where}: installed_at must be a timezone-aware (UTC) datetime")
        key = (sw.ecu, sw.software_version)
        if key in seen:
            problems.append(f"{sw_where}: software {sw.software_version!r} is listed twice")
        seen.add(key)
    return problems


def _batch_duplicates(records: Sequence[VehicleRecord]) -> list[str]:
    problems = []
    for field, label in (("vin", "VIN"), ("vehicle_id", "vehicle_id")):
        first: dict[str, int] = {}
        for i, record in enumerate(records):
            value = getattr(record, field)
            if value in first:
                problems.append(
                    f"duplicate {label} {value!r} in the batch (records {first[value]} and {i})"
                )
            else:
                first.setdefault(value, i)
    return problems


def _raise_problems(problems: list[str], total: int) -> None:
    shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
    more = len(problems) - MAX_PROBLEMS_SHOWN
    raise InputError(
        f"{len(problems)} problem(s) in {total} vehicle record(s), nothing was registered: "
        f"{shown}{f'; and {more} more' if more > 0 else ''}",
        hint="fix or drop the named records and register the batch again",
    )


def _already_registered(session: Session, records: Sequence[VehicleRecord]) -> list[str]:
    problems = []
    for column, field, label in (
        (_VEHICLES.c.vin, "vin", "VIN"),
        (_VEHICLES.c.vehicle_id, "vehicle_id", "vehicle_id"),
    ):
        values = [getattr(r, field) for r in records]
        for start in range(0, len(values), _LOOKUP_CHUNK):
            chunk = values[start : start + _LOOKUP_CHUNK]
            found = session.scalars(select(column).where(column.in_(chunk))).all()
            problems += [f"duplicate {label} {v!r}: already registered" for v in sorted(found)]
    return problems


def register_vehicles(session: Session, records: Sequence[VehicleRecord]) -> int:
    """Register ``records`` and their ECU software in one batch; returns how many vehicles.

    All or nothing: a malformed record (bad VIN or check digit, unknown
    powertrain, naive datetime…) or a VIN / vehicle_id that is repeated or
    already registered raises ``InputError`` naming it, and nothing is written.
    Inserts are batched (executemany), so 10,000 vehicles take a moment, not minutes.
    """
    problems = _batch_duplicates(records)
    for record in records:
        problems += _record_problems(record)
    if problems:
        _raise_problems(problems, len(records))
    if not records:
        return 0
    now = datetime.now(UTC)
    vehicle_rows = [
        {
            "vehicle_id": r.vehicle_id,
            "vin": r.vin,
            "brand": r.brand,
            "model_id": r.model_id,
            "model_name": r.model_name,
            "model_year": r.model_year,
            "platform": r.platform,
            "market": r.market,
            "region": r.region,
            "powertrain": r.powertrain,
            "registered_at": r.registered_at or now,
        }
        for r in records
    ]
    software_rows = [
        {
            "vehicle_id": r.vehicle_id,
            "ecu": sw.ecu,
            "hardware_part": sw.hardware_part,
            "software_version": sw.software_version,
            "installed_at": sw.installed_at,
        }
        for r in records
        for sw in r.software
    ]
    try:
        # A savepoint, so that a conflict leaves the caller's transaction usable.
        with session.begin_nested():
            session.execute(insert(_VEHICLES), vehicle_rows)
            if software_rows:
                session.execute(insert(_SOFTWARE), software_rows)
    except DbIntegrityError as exc:
        conflicts = _already_registered(session, records)
        if not conflicts:
            raise InputError(
                f"the database refused the batch of {len(records)} vehicle(s), nothing was "
                f"registered: {' '.join(str(exc.orig).split())}",
                hint="another writer may have registered the same vehicles; retry the batch",
            ) from exc
        _raise_problems(conflicts, len(records))
    return len(records)


def _filtered(
    query: Select[Any],
    brand: str | None,
    market: str | None,
    model_id: str | None,
) -> Select[Any]:
    for column, value in (
        (_VEHICLES.c.brand, brand),
        (_VEHICLES.c.market, market),
        (_VEHICLES.c.model_id, model_id),
    ):
        if value is not None:
            query = query.where(column == value)
    return query


def _software_of(session: Session, vehicle_ids: Select[Any]) -> dict[str, list[EcuSoftware]]:
    query = (
        select(_SOFTWARE.c.vehicle_id, *(_SOFTWARE.c[name] for name in _SOFTWARE_FIELDS))
        .where(_SOFTWARE.c.vehicle_id.in_(vehicle_ids))
        .order_by(_SOFTWARE.c.vehicle_id, _SOFTWARE.c.ecu, _SOFTWARE.c.installed_at, _SOFTWARE.c.id)
    )
    software: dict[str, list[EcuSoftware]] = defaultdict(list)
    for vehicle_id, *values in session.execute(query):
        software[vehicle_id].append(EcuSoftware(*values))
    return software


def list_vehicles(
    session: Session,
    *,
    brand: str | None = None,
    market: str | None = None,
    model_id: str | None = None,
    limit: int | None = None,
) -> list[VehicleRecord]:
    """Registered vehicles matching every given filter, ordered by ``vehicle_id``."""
    if limit is not None and limit < 0:
        raise InputError(f"limit must be zero or positive, got {limit}")
    ids = _filtered(select(_VEHICLES.c.vehicle_id), brand, market, model_id)
    if limit is not None:
        ids = ids.order_by(_VEHICLES.c.vehicle_id).limit(limit)
    query = (
        select(*(_VEHICLES.c[name] for name in _VEHICLE_FIELDS))
        .where(_VEHICLES.c.vehicle_id.in_(ids))
        .order_by(_VEHICLES.c.vehicle_id)
    )
    software = _software_of(session, ids)
    return [
        _to_record(row._mapping, software.get(row.vehicle_id, ())) for row in session.execute(query)
    ]


def _to_record(row: RowMapping, software: Sequence[EcuSoftware]) -> VehicleRecord:
    values = {name: row[name] for name in _VEHICLE_FIELDS}
    return VehicleRecord(**values, software=tuple(software))


def get_vehicle(session: Session, vehicle_id: str) -> VehicleRecord:
    """The registered vehicle ``vehicle_id``; ``NotFound`` if there is none."""
    query = select(*(_VEHICLES.c[name] for name in _VEHICLE_FIELDS)).where(
        _VEHICLES.c.vehicle_id == vehicle_id
    )
    row = session.execute(query).one_or_none()
    if row is None:
        raise _not_found(vehicle_id)
    software = _software_of(
        session, select(_VEHICLES.c.vehicle_id).where(_VEHICLES.c.vehicle_id == vehicle_id)
    )
    return _to_record(row._mapping, software.get(vehicle_id, ()))


def _not_found(vehicle_id: str) -> NotFound:
    return NotFound(
        f"vehicle {vehicle_id!r} is not in the fleet registry",
        hint="list registered vehicles with 'drivetrain fleet list'",
    )


def fleet_counts(session: Session) -> list[tuple[str, str, int]]:
    """Number of registered vehicles per ``(brand, market)``, ordered by brand then market."""
    query = (
        select(_VEHICLES.c.brand, _VEHICLES.c.market, func.count())
        .group_by(_VEHICLES.c.brand, _VEHICLES.c.market)
        .order_by(_VEHICLES.c.brand, _VEHICLES.c.market)
    )
    return [(brand, market, int(count)) for brand, market, count in session.execute(query)]


def software_inventory(session: Session, vehicle_id: str) -> tuple[EcuSoftware, ...]:
    """Software installed on the ECUs of ``vehicle_id``, by ECU then installation time."""
    ids = select(_VEHICLES.c.vehicle_id).where(_VEHICLES.c.vehicle_id == vehicle_id)
    if session.scalar(ids) is None:
        raise _not_found(vehicle_id)
    return tuple(_software_of(session, ids).get(vehicle_id, ()))


def delete_vehicle(session: Session, vehicle_id: str) -> None:
    """Remove ``vehicle_id`` and (by cascade in the database) its software records."""
    statement = delete(_VEHICLES).where(_VEHICLES.c.vehicle_id == vehicle_id)
    result = cast("CursorResult[Any]", session.execute(statement))  # DML gives a CursorResult
    if result.rowcount == 0:
        raise _not_found(vehicle_id)
    session.expire_all()
