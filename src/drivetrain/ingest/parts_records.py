"""An ERP's parts export into the lake: the parts master, the locations, the demand.

Three CSV files with a header row (see docs/parts.md)::

    parts.csv      part_number,description,component,supersedes,unit_cost,lead_time_days,criticality
    locations.csv  location_id,kind,parent_id,market,region,name
    demand.csv     part_number,location_id,month,quantity

Master data is small and everything else hangs on it, so a bad master row
refuses the whole import with what to fix (a duplicate number, an unknown
``supersedes`` or ``parent_id``, a kind other than central/regional/dealer, a
negative cost or lead time, a criticality other than A/B/C). Demand rows are
many: a bad one (an unknown part or location, a month that is not a first of
month, an unreadable or negative quantity — a return is not demand — or a
period given twice with two quantities) goes to ``quarantine`` with its line
and reason, and the good rows are stored. Rows are merged on their key, so an
import given twice stores it once; the tables are written all or none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from drivetrain.errors import InputError
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import record_run
from drivetrain.ingest.sink import CollectionContext, quarantine_records
from drivetrain.lake import Lake, table_spec

KINDS = ("central", "regional", "dealer")
CRITICALITY = ("A", "B", "C")
PART_COLUMNS = ("part_number", "description", "component", "supersedes", "unit_cost", "lead_time_days", "criticality")  # fmt: skip
COLUMNS = {
    "parts": PART_COLUMNS,
    "parts_locations": ("location_id", "kind", "parent_id", "market", "region", "name"),
    "parts_demand": ("part_number", "location_id", "month", "quantity"),
    "parts_fitment": ("part_number", "model_id", "service_item", "quantity"),
}
OPTIONAL = {"supersedes", "parent_id", "name"}


@dataclass(slots=True)
class PartsImport:
    """What an import stored: rows and versions per table, and the refused demand rows."""

    rows: dict[str, int] = field(default_factory=dict)
    versions: dict[str, int | None] = field(default_factory=dict)
    rejects: list[tuple[str, str, str]] = field(default_factory=list)  # line, reason, raw
    run_id: str = ""


def _read(path: Path, table: str) -> pl.DataFrame:
    if not path.is_file():
        raise InputError(f"no file at {path}", hint=f"export the {table} table as CSV")
    try:
        frame = pl.read_csv(path, infer_schema=False).fill_null("")
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not readable UTF-8 CSV: {exc}") from exc
    frame = frame.rename({c: c.strip().lstrip("\ufeff") for c in frame.columns})
    required = [c for c in COLUMNS[table] if c not in OPTIONAL]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path} lacks column(s) {', '.join(missing)}",
            hint=f"the header is {','.join(COLUMNS[table])} (see docs/parts.md)",
        )
    for name in OPTIONAL & set(COLUMNS[table]):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit("").alias(name))
    return frame.select(pl.col(c).str.strip_chars() for c in COLUMNS[table])


def _refuse(path: Path, frame: pl.DataFrame, bad: pl.Expr, what: str, hint: str) -> None:
    rows = frame.with_row_index("_line", offset=2).filter(bad)
    if rows.height:
        first = rows.row(0, named=True)
        raise InputError(
            f"{path.name}:{first['_line']}: {what} ({rows.height} row(s) in all)",
            hint=hint + "; nothing was imported",
        )


def read_parts(path: Path) -> pl.DataFrame:
    """The parts master, checked (a bad row refuses the file)."""
    f = _read(path, "parts")
    _refuse(path, f, pl.col("part_number") == "", "a part without a number", "give every row a part_number")  # fmt: skip
    _refuse(path, f, pl.col("part_number").is_duplicated(), "a part number given twice", "one row per part")  # fmt: skip
    cost = pl.col("unit_cost").cast(pl.Float64, strict=False)
    lead = pl.col("lead_time_days").cast(pl.Int32, strict=False)
    _refuse(path, f, cost.is_null() | cost.is_nan() | cost.is_infinite() | (cost < 0), "a unit cost that is not a number of 0 or more", "write costs like 12.50")  # fmt: skip
    _refuse(path, f, lead.is_null() | (lead < 0), "a lead time that is not whole days of 0 or more", "write lead_time_days like 14")  # fmt: skip
    _refuse(path, f, ~pl.col("criticality").is_in(CRITICALITY), "a criticality other than A, B or C", "A: vehicle off road, B, C")  # fmt: skip
    known = pl.col("supersedes").is_in(f["part_number"].implode())
    _refuse(path, f, (pl.col("supersedes") != "") & ~known, "it supersedes a part number the master lacks", "list the older part too")  # fmt: skip
    _refuse(path, f, pl.col("supersedes") == pl.col("part_number"), "a part that supersedes itself", "fix the chain")  # fmt: skip
    return f.select(
        "part_number", "description", "component",
        pl.when(pl.col("supersedes") == "").then(None).otherwise(pl.col("supersedes")).alias("supersedes"),
        cost.alias("unit_cost"), lead.alias("lead_time_days"), "criticality",
    )  # fmt: skip


def read_locations(path: Path) -> pl.DataFrame:
    """The stocking locations, checked: a tree of central, regional and dealer locations."""
    f = _read(path, "parts_locations")
    _refuse(path, f, pl.col("location_id") == "", "a location without an id", "give every row a location_id")  # fmt: skip
    _refuse(path, f, pl.col("location_id").is_duplicated(), "a location id given twice", "one row per location")  # fmt: skip
    _refuse(path, f, ~pl.col("kind").is_in(KINDS), "a kind other than central, regional or dealer", "use central, regional or dealer")  # fmt: skip
    known = pl.col("parent_id").is_in(f["location_id"].implode())
    _refuse(path, f, (pl.col("parent_id") != "") & ~known, "a parent_id that is not a location of the file", "list the parent too")  # fmt: skip
    _refuse(path, f, (pl.col("parent_id") == "") & (pl.col("kind") != "central"), "a regional warehouse or dealer without a parent", "give it the location it is replenished from")  # fmt: skip
    _refuse(path, f, ~pl.col("market").str.contains(r"^[A-Z]{2}$"), "a market that is not an ISO 3166-1 alpha-2 code", "e.g. DE")  # fmt: skip
    _refuse(path, f, ~pl.col("region").str.contains(r"^[a-z][a-z0-9_-]*$"), "a governance region that is not a lowercase name", "e.g. eu")  # fmt: skip
    return f.with_columns(
        pl.when(pl.col(c) == "").then(None).otherwise(pl.col(c)).alias(c) for c in ("parent_id", "name")
    )  # fmt: skip


def read_fitment(path: Path, parts: pl.DataFrame) -> pl.DataFrame:
    """Which part serves which service item on which model, checked (a bad row refuses)."""
    f = _read(path, "parts_fitment")
    qty = pl.col("quantity").cast(pl.Float64, strict=False)
    _refuse(path, f, ~pl.col("part_number").is_in(parts["part_number"].implode()), "a part number the master lacks", "list the part in parts.csv")  # fmt: skip
    _refuse(path, f, (pl.col("model_id") == "") | (pl.col("service_item") == ""), "a row without a model or service item", "fill model_id and service_item")  # fmt: skip
    _refuse(path, f, qty.is_null() | qty.is_nan() | (qty <= 0), "a quantity that is not a positive number", "units per job, e.g. 1 or 4")  # fmt: skip
    _refuse(path, f, pl.struct("model_id", "service_item").is_duplicated(), "two parts for one model and service item", "one part per model and item")  # fmt: skip
    return f.with_columns(qty.alias("quantity"))


def read_demand(
    path: Path, parts: pl.DataFrame, locations: pl.DataFrame
) -> tuple[pl.DataFrame, list[tuple[str, str, str]]]:
    """The good demand rows, and the refused ones as ``(file:line, reason, raw row)``."""
    f = _read(path, "parts_demand").with_row_index("_line", offset=2)
    month = pl.col("month").str.to_date("%Y-%m-%d", strict=False)
    qty = pl.col("quantity").cast(pl.Float64, strict=False)
    checked = f.with_columns(month.alias("_month"), qty.alias("_qty"))
    dupe = pl.struct("part_number", "location_id", "_month")
    reason = (
        pl.when(~pl.col("part_number").is_in(parts["part_number"].implode()))
        .then(pl.lit("part number not in the parts master"))
        .when(~pl.col("location_id").is_in(locations["location_id"].implode()))
        .then(pl.lit("location not in the locations file"))
        .when(pl.col("_month").is_null())
        .then(pl.lit("month is not a date YYYY-MM-DD"))
        .when(pl.col("_month").dt.day() != 1)
        .then(pl.lit("month is not the first day of a month"))
        .when(pl.col("_qty").is_null() | pl.col("_qty").is_nan())
        .then(pl.lit("quantity is not a number"))
        .when(pl.col("_qty") < 0)
        .then(pl.lit("negative quantity: a return is not demand"))
        .when(pl.col("_qty").n_unique().over(dupe) > 1)
        .then(pl.lit("the same part, location and month with two quantities"))
    )
    checked = checked.with_columns(reason.alias("_reason"))
    bad = checked.filter(pl.col("_reason").is_not_null())
    rejects = [
        (f"{path.name}:{r['_line']}", r["_reason"], ",".join(r[c] for c in COLUMNS["parts_demand"]))
        for r in bad.iter_rows(named=True)
    ]
    good = (
        checked.filter(pl.col("_reason").is_null())
        .unique(["part_number", "location_id", "_month"], keep="first", maintain_order=True)
        .select("part_number", "location_id", pl.col("_month").alias("month"), pl.col("_qty").alias("quantity"))
    )  # fmt: skip
    return good, rejects


def store_parts_tables(
    lake: Lake,
    context: CollectionContext,
    frames: dict[str, pl.DataFrame],
    rejects: Sequence[tuple[str, str, str]] = (),
) -> PartsImport:
    """Merge the frames (table name -> rows, without ``source``) into the lake, all or none."""
    result = PartsImport(rejects=list(rejects), run_id=context.run_id)
    names = [*frames, "quarantine"]
    before = {t: lake.version(t) for t in names}
    try:
        for name, frame in frames.items():
            spec = table_spec(name)
            if "source" in spec.input_schema.names and "source" not in frame.columns:
                frame = frame.with_columns(pl.lit(context.source).alias("source"))
            result.rows[name] = frame.height
            if frame.height:
                rows = frame.select(spec.input_schema.names).to_arrow().cast(spec.input_schema)
                result.versions[name] = lake.merge(name, rows, run_id=context.run_id)
        result.versions["quarantine"] = quarantine_records(lake, context, "parts_demand", result.rejects)  # fmt: skip
    except BaseException:
        lake.restore_versions(before)  # both or neither: no half-written import
        raise
    return result


def import_parts_files(
    lake: Lake,
    audit: AuditLog,
    *,
    parts: Path,
    locations: Path,
    demand: Path,
    fitment: Path | None = None,
) -> PartsImport:
    """Check and store an ERP export (and the catalogue's fitment); the run is audited."""
    master, places = read_parts(parts), read_locations(locations)
    frames = {"parts": master, "parts_locations": places}
    if fitment is not None:
        frames["parts_fitment"] = read_fitment(fitment, master)
    good, rejects = read_demand(demand, master, places)
    frames["parts_demand"] = good
    context = CollectionContext(source=f"parts-export:{demand.name}", purpose="parts_planning")
    result = store_parts_tables(lake, context, frames, rejects)
    record_run(
        audit, context.run_id, "ingest",
        {"source": context.source, "rows": result.rows, "rejected": len(rejects),
         "tables": result.versions},
        principal=context.source, purpose=context.purpose,
    )  # fmt: skip
    return result
