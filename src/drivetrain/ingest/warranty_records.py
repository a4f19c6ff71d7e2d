"""Warranty claims and production records into the lake, with bad rows quarantined.

Two exports feed warranty analytics, both CSV with a header row and keyed by VIN
(the VIN becomes the vehicle's pseudonym at once; the lake never holds it):

* **production and sales** (ERP)::

      vin,brand,model_id,model_year,plant,build_date,sale_date,market,region

  ``sale_date`` is empty while a vehicle is unsold. Every vehicle built is here,
  connected or not: these are the vehicles *at risk* of the claims table.
* **claims** (dealer warranty system)::

      claim_id,vin,repair_date,claim_date,mileage_km,labour_code,part_number,
      causal_part,failure_code,cost,currency,dealer,comment

Claims are checked against the production records: a claim on a vehicle that
was never built or never sold, a repair before the sale, a claim filed before
its repair, negative or unreadable mileage or cost, a cost in another currency
than the lake's (``settings.warranty_currency``: costs are summed, so they must
be in one), a claim id given twice with different content, or the same repair
(vehicle, day, labour, part) claimed twice under two ids — each goes to
``quarantine`` with its line and reason. Good rows are merged on their key, so
importing a file twice stores it once. Months in service are computed from the
sale (month 1 is the first 30.44 days).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from drivetrain.errors import InputError
from drivetrain.fleet.vin import is_valid_vin
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import record_run
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.ingest.sink import CollectionContext, quarantine_records
from drivetrain.lake import Lake, table_spec

DAYS_PER_MONTH = 365.25 / 12
PRODUCTION_COLUMNS = (
    "vin", "brand", "model_id", "model_year", "plant", "build_date", "sale_date", "market", "region",
)  # fmt: skip
CLAIM_COLUMNS = (
    "claim_id", "vin", "repair_date", "claim_date", "mileage_km", "labour_code", "part_number",
    "causal_part", "failure_code", "cost", "currency", "dealer", "comment",
)  # fmt: skip
_REQUIRED_CLAIM = tuple(c for c in CLAIM_COLUMNS if c != "comment")
_CURRENCY = re.compile(r"[A-Z]{3}")
_MARKET = re.compile(r"[A-Z]{2}")
_REGION = re.compile(r"[a-z][a-z0-9_-]*")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/\-]{0,63}")
Reject = tuple[str, str, str]  # location, reason, raw line (VIN replaced by the pseudonym)


@dataclass(slots=True)
class RecordImport:
    """What one file gave: rows stored, the table version, and the rejects with reasons."""

    table: str
    rows: int = 0  # good rows in the file
    rows_new: int = 0  # of them, keys the table did not hold (the rest replaced their row)
    stored_version: int | None = None
    quarantine_version: int | None = None
    rejects: list[Reject] = field(default_factory=list)
    reject_vehicles: list[str | None] = field(default_factory=list)  # per reject


class _Refused(Exception):
    """One row's reason for being quarantined."""


def _rows(path: Path, required: tuple[str, ...], header: tuple[str, ...]) -> Iterator[
    tuple[str, dict[str, str]]
]:  # fmt: skip
    """(``file:line``, the row's fields) of each record; ``line`` is the record's first
    physical line (a quoted comment may span several)."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")  # a BOM from Excel is not a column
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        try:
            reader = csv.DictReader(handle)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(
                    f"{path} lacks column(s) {', '.join(missing)}",
                    hint=f"the file's header is {','.join(header)} (see docs/warranty.md)",
                )
            line = reader.line_num + 1
            for row in reader:
                yield f"{path.name}:{line}", {k: (v or "").strip() for k, v in row.items() if k}
                line = reader.line_num + 1
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{path} is not UTF-8 text (byte {exc.start} of a line)",
                hint="export the file as CSV UTF-8 (nothing was imported)",
            ) from exc
        except csv.Error as exc:
            raise InputError(f"{path} is not readable CSV: {exc}") from exc


def _raw(row: dict[str, str], pseudonyms: PseudonymKey) -> tuple[str, str | None]:
    """The row as quarantined, and its vehicle: the VIN replaced by the vehicle's pseudonym
    (or withheld when it is not a VIN), so the lake never holds a VIN and an erasure of the
    vehicle reaches its refused rows too."""
    vin = row.get("vin", "").upper()
    vehicle = pseudonyms.vehicle_id(vin) if is_valid_vin(vin) else None
    shown = {**row, "vin": vehicle or "<vin withheld>"} if "vin" in row else row
    return ",".join(shown.values()), vehicle


def _day(row: dict[str, str], name: str, *, optional: bool = False) -> date | None:
    text = row.get(name, "")
    if not text:
        if optional:
            return None
        raise _Refused(f"{name} is missing")
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise _Refused(f"{name} {text!r} is not an ISO 8601 date") from None


def _number(row: dict[str, str], name: str) -> float:
    text = row.get(name, "")
    try:
        value = float(text)
    except ValueError:
        raise _Refused(f"{name} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise _Refused(f"{name} {text!r} is not a finite number")
    if value < 0:
        raise _Refused(f"{name} is negative ({text})")
    return value


def _code(row: dict[str, str], name: str) -> str:
    text = row.get(name, "")
    if not _CODE.fullmatch(text):
        raise _Refused(f"{name} {text!r} is empty or not a code (letters, digits, -_.:/)")
    return text


def _vehicle(row: dict[str, str], pseudonyms: PseudonymKey) -> str:
    vin = row.get("vin", "").upper()
    if not is_valid_vin(vin):
        raise _Refused("not a valid VIN (17 characters, ISO 3779 check digit)")
    return pseudonyms.vehicle_id(vin)


def read_production(
    path: Path, pseudonyms: PseudonymKey
) -> tuple[pa.Table, list[Reject], list[str | None]]:
    """The good rows of a production and sales export, its rejects and their vehicles."""
    good: dict[str, dict[str, object]] = {}
    rejects: list[Reject] = []
    vehicles: list[str | None] = []
    latest = date.today() + timedelta(days=1)
    for where, row in _rows(path, PRODUCTION_COLUMNS, PRODUCTION_COLUMNS):
        try:
            vehicle = _vehicle(row, pseudonyms)
            build = _day(row, "build_date")
            sale = _day(row, "sale_date", optional=True)
            assert build is not None
            if build > latest:
                raise _Refused(f"build_date {build} is in the future")
            if sale is not None and sale < build:
                raise _Refused(f"sold on {sale}, before it was built ({build})")
            if sale is not None and sale > latest:
                raise _Refused(f"sale_date {sale} is in the future")
            try:
                year = int(row.get("model_year", ""))
            except ValueError:
                raise _Refused(f"model_year {row.get('model_year')!r} is not a year") from None
            if not 1980 <= year <= build.year + 2:
                raise _Refused(f"model_year {year} is impossible for a build in {build.year}")
            market = row.get("market", "")
            if not _MARKET.fullmatch(market):
                raise _Refused(f"market {market!r} is not an ISO 3166-1 alpha-2 code like 'DE'")
            region = row.get("region", "") or ""
            if not _REGION.fullmatch(region):
                raise _Refused(f"region {region!r} must be a lower-case code like 'eu'")
            for name in ("brand", "model_id", "plant"):
                if not row.get(name):
                    raise _Refused(f"{name} is missing")
            if vehicle in good:
                raise _Refused("the same VIN is listed twice in the file")
        except _Refused as refused:
            text, who = _raw(row, pseudonyms)
            rejects.append((where, str(refused), text))
            vehicles.append(who)
            continue
        good[vehicle] = {
            "vehicle_id": vehicle,
            "brand": row["brand"],
            "model_id": row["model_id"],
            "model_year": year,
            "plant": row["plant"],
            "build_date": build,
            "sale_date": sale,
            "market": market,
            "region": region,
            "source": path.name,
        }
    schema = table_spec("vehicle_production").input_schema
    return pa.Table.from_pylist(list(good.values()), schema=schema), rejects, vehicles


def _sales(lake: Lake) -> dict[str, tuple[date | None, str]]:
    """Every built vehicle's sale date and region, from the production table."""
    if not lake.exists("vehicle_production"):
        return {}
    table = lake.read("vehicle_production", columns=["vehicle_id", "sale_date", "region"])
    return {
        v: (s, r)
        for v, s, r in zip(
            table["vehicle_id"].to_pylist(),
            table["sale_date"].to_pylist(),
            table["region"].to_pylist(),
            strict=True,
        )
    }


def _stored_claims(lake: Lake) -> dict[tuple[str, date, str, str], str]:
    """(vehicle, repair day, labour, part) -> claim id of every stored claim."""
    if not lake.exists("warranty_claims"):
        return {}
    table = lake.read(
        "warranty_claims",
        columns=["claim_id", "vehicle_id", "repair_date", "labour_code", "part_number"],
    )
    return {
        (v, d, lab, part): c
        for c, v, d, lab, part in zip(
            *(table[n].to_pylist() for n in table.column_names), strict=True
        )
    }


def read_claims(
    path: Path,
    pseudonyms: PseudonymKey,
    sales: dict[str, tuple[date | None, str]],
    *,
    currency: str,
    stored: dict[tuple[str, date, str, str], str] | None = None,
) -> tuple[pa.Table, list[Reject], list[str | None]]:
    """The good rows of a dealer claims export, its rejects and their vehicles (see the
    module docstring). A claim id already stored comes back as a correction: it replaces
    the stored claim."""
    if not _CURRENCY.fullmatch(currency):
        raise InputError(f"currency {currency!r} is not an ISO 4217 code like 'EUR'")
    repairs = dict(stored or {})
    stored_key = {claim: key for key, claim in repairs.items()}
    good: dict[str, dict[str, object]] = {}
    rejects: list[Reject] = []
    vehicles: list[str | None] = []
    latest = date.today() + timedelta(days=1)
    for where, row in _rows(path, _REQUIRED_CLAIM, CLAIM_COLUMNS):
        try:
            claim_id = _code(row, "claim_id")
            vehicle = _vehicle(row, pseudonyms)
            if vehicle not in sales:
                raise _Refused("vehicle is not in the production records: import them first")
            sale, region = sales[vehicle]
            if sale is None:
                raise _Refused("vehicle has no sale date: a claim on an unsold vehicle")
            repair, filed = _day(row, "repair_date"), _day(row, "claim_date")
            assert repair is not None and filed is not None
            if repair < sale:
                raise _Refused(f"repaired on {repair}, before the sale ({sale})")
            if filed < repair:
                raise _Refused(f"claimed on {filed}, before the repair ({repair})")
            if filed > latest:
                raise _Refused(f"claim_date {filed} is in the future")
            mileage, cost = _number(row, "mileage_km"), _number(row, "cost")
            unit = row.get("currency", "").upper()
            if unit != currency:
                raise _Refused(
                    f"cost in {unit or 'no currency'}, this lake's claims are in {currency}: "
                    f"convert it first (costs are summed)"
                )
            labour, part = _code(row, "labour_code"), _code(row, "part_number")
            record: dict[str, object] = {
                "claim_id": claim_id,
                "vehicle_id": vehicle,
                "repair_date": repair,
                "claim_date": filed,
                "mileage_km": mileage,
                "months_in_service": int((repair - sale).days / DAYS_PER_MONTH) + 1,
                "labour_code": labour,
                "part_number": part,
                "causal_part": _code(row, "causal_part"),
                "failure_code": _code(row, "failure_code"),
                "cost": cost,
                "currency": currency,
                "dealer": row.get("dealer") or "unknown",
                "region": region,
                "comment": row.get("comment") or None,
                "source": path.name,
            }
            if claim_id in good:
                same = {k: v for k, v in good[claim_id].items() if k != "source"}
                if same != {k: v for k, v in record.items() if k != "source"}:
                    raise _Refused(f"claim id {claim_id} is given twice with different content")
                continue  # the same row twice: stored once
            repair_key = (vehicle, repair, labour, part)
            other = repairs.get(repair_key)
            if other is not None and other != claim_id:
                raise _Refused(f"duplicate of claim {other}: same vehicle, day, labour and part")
        except _Refused as refused:
            text, who = _raw(row, pseudonyms)
            rejects.append((where, str(refused), text))
            vehicles.append(who)
            continue
        old_key = stored_key.pop(claim_id, None)
        if old_key is not None and old_key != repair_key:
            repairs.pop(old_key, None)  # a correction frees the repair it used to name
        repairs[repair_key] = claim_id
        good[claim_id] = record
    schema = table_spec("warranty_claims").input_schema
    return pa.Table.from_pylist(list(good.values()), schema=schema), rejects, vehicles


def ingest_production(
    lake: Lake, path: Path, pseudonyms: PseudonymKey, context: CollectionContext
) -> RecordImport:
    """Store a production export's good rows (merged on the vehicle) and quarantine the rest."""
    table, rejects, vehicles = read_production(path, pseudonyms)
    return _store(lake, "vehicle_production", table, rejects, vehicles, context)


def ingest_claims(
    lake: Lake,
    path: Path,
    pseudonyms: PseudonymKey,
    context: CollectionContext,
    *,
    currency: str,
) -> RecordImport:
    """Store a claims export's good rows (merged on the claim id) and quarantine the rest."""
    table, rejects, vehicles = read_claims(
        path, pseudonyms, _sales(lake), currency=currency, stored=_stored_claims(lake)
    )
    return _store(lake, "warranty_claims", table, rejects, vehicles, context)


def _store(
    lake: Lake,
    name: str,
    table: pa.Table,
    rejects: list[Reject],
    vehicles: list[str | None],
    context: CollectionContext,
) -> RecordImport:
    key = table_spec(name).key[0]
    held: set[object] = set()
    if lake.exists(name) and table.num_rows:
        wanted = pc.field(key).isin(table[key])
        held = set(lake.read(name, columns=[key], filter=wanted)[key].to_pylist())
    new = sum(1 for k in table[key].to_pylist() if k not in held)
    result = RecordImport(
        name, rows=table.num_rows, rows_new=new, rejects=rejects, reject_vehicles=vehicles
    )
    before = {t: lake.version(t) for t in (name, "quarantine")}
    try:
        if table.num_rows:
            result.stored_version = lake.merge(name, table, run_id=context.run_id)
        result.quarantine_version = quarantine_records(
            lake, context, name, rejects, vehicle_ids=vehicles
        )
    except BaseException:
        lake.restore_versions(before)  # both or neither: no rows lost to a half import
        raise
    return result


def import_warranty_file(
    lake: Lake,
    audit: AuditLog,
    pseudonyms: PseudonymKey,
    path: Path,
    *,
    production: bool,
    currency: str,
) -> tuple[RecordImport, str]:
    """Import one export (production records or claims) and record the run in the audit log;
    returns what it gave and the run id."""
    kind = "production" if production else "claims"
    context = CollectionContext(source=f"warranty-{kind}:{path.name}", purpose="warranty")
    if production:
        result = ingest_production(lake, path, pseudonyms, context)
    else:
        result = ingest_claims(lake, path, pseudonyms, context, currency=currency)
    record_run(
        audit,
        context.run_id,
        "ingest",
        {
            "source": context.source,
            "rows": result.rows,
            "rejected": len(result.rejects),
            "tables": {
                result.table: result.stored_version,
                "quarantine": result.quarantine_version,
            },
        },
        principal=context.source,
        purpose=context.purpose,
    )
    return result, context.run_id


def vehicles_of(lake: Lake) -> pa.Table:
    """``vehicle_id, brand, region`` of every built vehicle: the scope a governed read of the
    warranty tables is decided on (the production records play the fleet registry's part)."""
    if not lake.exists("vehicle_production"):
        return pa.table({"vehicle_id": [], "brand": [], "region": []})
    table = lake.read("vehicle_production", columns=["vehicle_id", "brand", "region"])
    return table.filter(pc.is_valid(table["vehicle_id"]))


@dataclass(frozen=True, slots=True)
class BuiltVehicle:
    """A vehicle of the production records as access control sees it."""

    vehicle_id: str
    brand: str
    region: str


def built_vehicles(lake: Lake) -> list[BuiltVehicle]:
    """Every built vehicle (``vehicles_of``) as the population of a governed read."""
    table = vehicles_of(lake)
    return [
        BuiltVehicle(v, b, r)
        for v, b, r in zip(
            table["vehicle_id"].to_pylist(),
            table["brand"].to_pylist(),
            table["region"].to_pylist(),
            strict=True,
        )
    ]


__all__ = [
    "CLAIM_COLUMNS",
    "PRODUCTION_COLUMNS",
    "BuiltVehicle",
    "RecordImport",
    "built_vehicles",
    "import_warranty_file",
    "ingest_claims",
    "ingest_production",
    "read_claims",
    "read_production",
    "vehicles_of",
]
