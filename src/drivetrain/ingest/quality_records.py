"""A plant's quality exports into the lake: masters, measurements, inspections, lots, genealogy.

CSV files with a header row (docs/quality.md)::

    stations.csv         station_id,plant,line,name,process
    characteristics.csv  characteristic_id,station_id,name,unit,nominal,lsl,usl,subgroup_size,chart
    defect_codes.csv     defect_code,description,category
    measurements.csv     ts,station_id,characteristic_id,part_serial,value,lot_id,shift
    inspections.csv      inspection_id,ts,station_id,part_serial,shift,lot_id,result,defect_code,defects
    lots.csv             lot_id,supplier,part_number,received_date,quantity,inspected,defective
    build_parts.csv      vin,part_number,part_serial,lot_id,supplier,station_id,installed_date

The masters (stations, characteristics, defect codes) are small and the rest
hangs on them: a bad master row refuses the file with its line and what to fix
— a characteristic without any specification limit is fine (it is charted, not
judged for capability), but limits the wrong way round, a nominal outside them,
a subgroup size below 1 or an unknown chart are not. Event rows are many: a
bad one goes to ``quarantine`` with its line and reason (an unknown station,
characteristic, defect code or lot; a timestamp without a zone; a value that is
not a finite number; a failed inspection without a defect code; more defectives
than inspected; a VIN that is not one, or a vehicle the production records do
not know), and the good rows are stored. The VIN of the genealogy becomes the
vehicle's pseudonym on the way in. Rows are merged on their keys, so a file
given twice is stored once; the tables and the quarantine are written all or
none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from drivetrain.errors import InputError
from drivetrain.fleet import is_valid_vin
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import record_run
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.ingest.sink import CollectionContext, quarantine_records
from drivetrain.lake import Lake, table_spec

PURPOSE = "manufacturing_quality"
PROCESSES = ("machining", "assembly", "incoming", "test", "inspection")
SHIFTS = ("A", "B", "C")
CHART_KINDS = ("xbar_r", "xbar_s", "imr", "ewma", "cusum")  # the variables charts
COLUMNS: dict[str, tuple[str, ...]] = {
    "quality_stations": ("station_id", "plant", "line", "name", "process"),
    "quality_characteristics": (
        "characteristic_id",
        "station_id",
        "name",
        "unit",
        "nominal",
        "lsl",
        "usl",
        "subgroup_size",
        "chart",
    ),
    "quality_defect_codes": ("defect_code", "description", "category"),
    "quality_measurements": (
        "ts",
        "station_id",
        "characteristic_id",
        "part_serial",
        "value",
        "lot_id",
        "shift",
    ),
    "quality_inspections": (
        "inspection_id",
        "ts",
        "station_id",
        "part_serial",
        "shift",
        "lot_id",
        "result",
        "defect_code",
        "defects",
    ),
    "supplier_lots": (
        "lot_id",
        "supplier",
        "part_number",
        "received_date",
        "quantity",
        "inspected",
        "defective",
    ),
    "vehicle_build_parts": (
        "vin",
        "part_number",
        "part_serial",
        "lot_id",
        "supplier",
        "station_id",
        "installed_date",
    ),
}
OPTIONAL = {"lsl", "usl", "lot_id", "defect_code", "part_serial"}
Reject = tuple[str, str, str]


@dataclass(slots=True)
class QualityImport:
    """What an import stored per table, and the rows it refused per table."""

    rows: dict[str, int] = field(default_factory=dict)
    versions: dict[str, int | None] = field(default_factory=dict)
    rejects: dict[str, list[Reject]] = field(default_factory=dict)
    run_id: str = ""

    @property
    def rejected(self) -> int:
        return sum(len(r) for r in self.rejects.values())


def read_table(path: Path, table: str) -> pl.DataFrame:
    """A CSV export as text columns, with its physical line numbers in ``_line``."""
    if not path.is_file():
        raise InputError(f"no file at {path}", hint=f"export the {table} table as CSV")
    try:
        frame = pl.read_csv(path, infer_schema=False).fill_null("")
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not readable UTF-8 CSV: {exc}") from exc
    frame = frame.rename({c: c.strip().lstrip("\ufeff") for c in frame.columns})
    wanted = COLUMNS[table]
    missing = [c for c in wanted if c not in frame.columns and c not in OPTIONAL]
    if missing:
        raise InputError(
            f"{path} lacks column(s) {', '.join(missing)}",
            hint=f"the header is {','.join(wanted)} (see docs/quality.md)",
        )
    frame = frame.with_columns(pl.lit("").alias(c) for c in wanted if c not in frame.columns)
    return frame.select(pl.col(c).str.strip_chars() for c in wanted).with_row_index(
        "_line", offset=2
    )


def _refuse(path: Path, frame: pl.DataFrame, bad: pl.Expr, what: str, hint: str) -> None:
    rows = frame.filter(bad)
    if rows.height:
        raise InputError(
            f"{path.name}:{rows['_line'][0]}: {what} ({rows.height} row(s) in all)",
            hint=hint + "; nothing was imported",
        )


def _number(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Float64, strict=False)


def _blank_null(name: str) -> pl.Expr:
    return pl.when(pl.col(name) == "").then(None).otherwise(pl.col(name)).alias(name)


def read_stations(path: Path) -> pl.DataFrame:
    f = read_table(path, "quality_stations")
    _refuse(path, f, (pl.col("station_id") == "") | (pl.col("plant") == ""), "a station without an id or plant", "fill station_id and plant")  # fmt: skip
    _refuse(path, f, pl.col("station_id").is_duplicated(), "a station id given twice", "one row per station")  # fmt: skip
    _refuse(path, f, ~pl.col("process").is_in(PROCESSES), "a process other than " + ", ".join(PROCESSES), "name the station's process")  # fmt: skip
    return f.drop("_line")


def read_characteristics(path: Path, stations: pl.Series) -> pl.DataFrame:
    f = read_table(path, "quality_characteristics")
    nominal, lsl, usl = _number("nominal"), _number("lsl"), _number("usl")
    size = pl.col("subgroup_size").cast(pl.Int32, strict=False)
    _refuse(path, f, pl.col("characteristic_id") == "", "a characteristic without an id", "give every row a characteristic_id")  # fmt: skip
    _refuse(path, f, pl.col("characteristic_id").is_duplicated(), "a characteristic id given twice", "one row per characteristic")  # fmt: skip
    _refuse(path, f, ~pl.col("station_id").is_in(stations.implode()), "a station the stations file lacks", "list the station in stations.csv")  # fmt: skip
    _refuse(path, f, nominal.is_null() | ~nominal.is_finite(), "a nominal that is not a number", "write the nominal value, e.g. 45.0")  # fmt: skip
    for name, limit in (("lsl", lsl), ("usl", usl)):
        _refuse(path, f, (pl.col(name) != "") & (limit.is_null() | ~limit.is_finite()), f"an {name} that is not a number", "leave it empty for a one-sided specification")  # fmt: skip
    _refuse(path, f, lsl.is_not_null() & usl.is_not_null() & (lsl >= usl), "an LSL at or above the USL", "swap or fix the limits")  # fmt: skip
    _refuse(path, f, (lsl.is_not_null() & (nominal < lsl)) | (usl.is_not_null() & (nominal > usl)), "a nominal outside its specification limits", "fix the nominal or the limits")  # fmt: skip
    _refuse(path, f, size.is_null() | (size < 1), "a subgroup size that is not a whole number of 1 or more", "1 charts individuals")  # fmt: skip
    _refuse(path, f, ~pl.col("chart").is_in(CHART_KINDS), "a chart other than " + ", ".join(CHART_KINDS), "choose a variables chart")  # fmt: skip
    _refuse(path, f, (size == 1) & pl.col("chart").is_in(["xbar_r", "xbar_s"]), "an X̄ chart of single measurements", "use imr, or a subgroup size of 2 or more")  # fmt: skip
    return f.select(
        "characteristic_id", "station_id", "name", "unit", nominal.alias("nominal"),
        lsl.alias("lsl"), usl.alias("usl"), size.alias("subgroup_size"), "chart",
    )  # fmt: skip


def read_defect_codes(path: Path) -> pl.DataFrame:
    f = read_table(path, "quality_defect_codes")
    _refuse(path, f, pl.col("defect_code") == "", "a defect without a code", "give every row a defect_code")  # fmt: skip
    _refuse(path, f, pl.col("defect_code").is_duplicated(), "a defect code given twice", "one row per code")  # fmt: skip
    return f.drop("_line")


def _split(
    path: Path, frame: pl.DataFrame, reason: pl.Expr, table: str
) -> tuple[pl.DataFrame, list[Reject]]:
    checked = frame.with_columns(reason.alias("_reason"))
    bad = checked.filter(pl.col("_reason").is_not_null())
    raw = COLUMNS[table]
    rejects = [
        (f"{path.name}:{r['_line']}", r["_reason"], ",".join(str(r[c]) for c in raw))
        for r in bad.iter_rows(named=True)
    ]
    return checked.filter(pl.col("_reason").is_null()).drop("_reason", "_line"), rejects


def _ts(name: str) -> pl.Expr:
    # ISO 8601 with a zone (Z or ±hh:mm): a plant's local time without its zone is ambiguous
    return pl.col(name).str.to_datetime(time_unit="us", time_zone="UTC", strict=False)


def read_measurements(
    path: Path, characteristics: pl.DataFrame
) -> tuple[pl.DataFrame, list[Reject]]:
    """The good measurements (``ts`` UTC, ``value`` float) and the refused rows."""
    f = read_table(path, "quality_measurements")
    pairs = characteristics.select(
        pl.concat_str("characteristic_id", "station_id", separator="\x1f")
    )
    value = _number("value")
    reason = (
        pl.when(~pl.col("characteristic_id").is_in(characteristics["characteristic_id"].implode()))
        .then(pl.lit("characteristic not in the characteristics master"))
        .when(~pl.concat_str("characteristic_id", "station_id", separator="\x1f").is_in(pairs.to_series().implode()))
        .then(pl.lit("the characteristic is measured at another station"))
        .when(~pl.col("ts").str.contains(r"(Z|[+-]\d\d:?\d\d)$") | _ts("ts").is_null())
        .then(pl.lit("timestamp is not ISO 8601 with a zone (e.g. 2026-03-02T06:14:05Z)"))
        .when(value.is_null() | ~value.is_finite())
        .then(pl.lit("value is not a finite number"))
        .when(pl.col("part_serial") == "")
        .then(pl.lit("no part serial"))
        .when(~pl.col("shift").is_in(SHIFTS))
        .then(pl.lit("shift is not A, B or C"))
        .when(value.n_unique().over("characteristic_id", "part_serial", _ts("ts")) > 1)
        .then(pl.lit("the same part measured at the same time with two values"))
    )  # fmt: skip
    good, rejects = _split(path, f, reason, "quality_measurements")
    good = good.with_columns(_ts("ts"), value.alias("value"), _blank_null("lot_id"))
    return good.unique(["characteristic_id", "part_serial", "ts"], maintain_order=True), rejects


def read_inspections(
    path: Path, stations: pl.Series, codes: pl.Series
) -> tuple[pl.DataFrame, list[Reject]]:
    f = read_table(path, "quality_inspections")
    defects = pl.col("defects").cast(pl.Int32, strict=False)
    reason = (
        pl.when(pl.col("inspection_id") == "").then(pl.lit("no inspection id"))
        .when(~pl.col("station_id").is_in(stations.implode())).then(pl.lit("station not in the stations master"))
        .when(~pl.col("ts").str.contains(r"(Z|[+-]\d\d:?\d\d)$") | _ts("ts").is_null())
        .then(pl.lit("timestamp is not ISO 8601 with a zone (e.g. 2026-03-02T06:14:05Z)"))
        .when(~pl.col("result").is_in(["pass", "fail"])).then(pl.lit("result is not pass or fail"))
        .when((pl.col("result") == "fail") & (pl.col("defect_code") == "")).then(pl.lit("a failed inspection without a defect code"))
        .when((pl.col("defect_code") != "") & ~pl.col("defect_code").is_in(codes.implode())).then(pl.lit("defect code not in the defect catalogue"))
        .when(defects.is_null() | (defects < 0)).then(pl.lit("defects is not a whole number of 0 or more"))
        .when(~pl.col("shift").is_in(SHIFTS)).then(pl.lit("shift is not A, B or C"))
        .when(pl.struct(pl.exclude("_line")).n_unique().over("inspection_id") > 1).then(pl.lit("an inspection id given twice with other content"))
    )  # fmt: skip
    good, rejects = _split(path, f, reason, "quality_inspections")
    good = good.with_columns(
        _ts("ts"), defects.alias("defects"), _blank_null("lot_id"), _blank_null("defect_code")
    )
    return good.unique("inspection_id", maintain_order=True), rejects


def read_lots(path: Path) -> tuple[pl.DataFrame, list[Reject]]:
    f = read_table(path, "supplier_lots")
    counts = {
        c: pl.col(c).cast(pl.Int64, strict=False) for c in ("quantity", "inspected", "defective")
    }
    received = pl.col("received_date").str.to_date("%Y-%m-%d", strict=False)
    reason = (
        pl.when((pl.col("lot_id") == "") | (pl.col("supplier") == "") | (pl.col("part_number") == ""))
        .then(pl.lit("a lot without its id, supplier or part number"))
        .when(received.is_null()).then(pl.lit("received_date is not a date YYYY-MM-DD"))
        .when(pl.any_horizontal(v.is_null() | (v < 0) for v in counts.values()))
        .then(pl.lit("quantity, inspected and defective must be whole numbers of 0 or more"))
        .when(counts["inspected"] > counts["quantity"]).then(pl.lit("more units inspected than received"))
        .when(counts["defective"] > counts["inspected"]).then(pl.lit("more defectives than units inspected"))
        .when(pl.struct(pl.exclude("_line")).n_unique().over("lot_id") > 1).then(pl.lit("a lot id given twice with other content"))
    )  # fmt: skip
    good, rejects = _split(path, f, reason, "supplier_lots")
    good = good.with_columns(
        received.alias("received_date"), *(v.alias(c) for c, v in counts.items())
    )
    return good.unique("lot_id", maintain_order=True), rejects


def read_build_parts(
    path: Path, pseudonyms: PseudonymKey, built: pl.Series, lots: pl.Series
) -> tuple[pl.DataFrame, list[Reject], list[str | None]]:
    """The genealogy with each VIN pseudonymised; refused rows show the pseudonym, never a VIN."""
    f = read_table(path, "vehicle_build_parts")
    vins = f.get_column("vin").str.to_uppercase().to_list()
    ids = [pseudonyms.vehicle_id(v) if is_valid_vin(v) else None for v in vins]
    f = f.with_columns(pl.Series("vehicle_id", ids, dtype=pl.String))
    installed = pl.col("installed_date").str.to_date("%Y-%m-%d", strict=False)
    reason = (
        pl.when(pl.col("vehicle_id").is_null()).then(pl.lit("not a valid VIN"))
        .when(~pl.col("vehicle_id").is_in(built.implode())).then(pl.lit("vehicle not in the production records"))
        .when(~pl.col("lot_id").is_in(lots.implode())).then(pl.lit("lot not among the supplier lots"))
        .when(installed.is_null()).then(pl.lit("installed_date is not a date YYYY-MM-DD"))
        .when(pl.col("part_number") == "").then(pl.lit("no part number"))
        .when(pl.struct(pl.exclude("_line", "vin")).n_unique().over("vehicle_id", "part_number") > 1)
        .then(pl.lit("one part of one vehicle given twice with other content"))
    )  # fmt: skip
    shown = f.with_columns(pl.col("vehicle_id").fill_null("<vin withheld>").alias("vin"))
    good, rejects = _split(path, shown, reason, "vehicle_build_parts")
    refused = shown.with_columns(reason.alias("_r")).filter(pl.col("_r").is_not_null())
    who: list[str | None] = refused.get_column("vehicle_id").to_list()
    good = good.with_columns(installed.alias("installed_date"), _blank_null("part_serial"))
    return good.unique(["vehicle_id", "part_number"], maintain_order=True), rejects, who


def store_quality_tables(
    lake: Lake,
    context: CollectionContext,
    frames: Mapping[str, pl.DataFrame],
    rejects: Mapping[str, list[Reject]] | None = None,
    vehicles: Mapping[str, list[str | None]] | None = None,
) -> QualityImport:
    """Merge the frames (table -> rows) and quarantine the refused rows, all or none."""
    rejects = rejects or {}
    result = QualityImport(rejects={k: list(v) for k, v in rejects.items()}, run_id=context.run_id)
    before = {t: lake.version(t) for t in [*frames, "quarantine"]}
    try:
        for name, frame in frames.items():
            spec = table_spec(name)
            result.rows[name] = frame.height
            if frame.height:
                rows = frame.select(spec.input_schema.names).to_arrow().cast(spec.input_schema)
                result.versions[name] = lake.merge(name, rows, run_id=context.run_id)
        for name, refused in result.rejects.items():
            who = (vehicles or {}).get(name)
            result.versions["quarantine"] = quarantine_records(
                lake, context, name, refused, vehicle_ids=who
            )
    except BaseException:
        lake.restore_versions(before)  # a failed import leaves no half-written table
        raise
    return result


def _stored(lake: Lake, table: str, column: str) -> pl.Series:
    if not lake.exists(table):
        return pl.Series(column, [], dtype=pl.String)
    return pl.from_arrow(lake.read(table, columns=[column])).to_series()  # type: ignore[union-attr]


def import_quality_files(
    lake: Lake,
    audit: AuditLog,
    pseudonyms: PseudonymKey,
    files: Mapping[str, Path],
) -> QualityImport:
    """Check and store a plant's exports (``files``: table name -> CSV); the run is audited.

    Masters given alongside their dependents are used for the checks; otherwise
    the masters already in the lake are.
    """
    unknown = set(files) - set(COLUMNS)
    if unknown:
        raise InputError(f"no quality table named {', '.join(sorted(unknown))}", hint=f"tables: {', '.join(COLUMNS)}")  # fmt: skip
    frames: dict[str, pl.DataFrame] = {}
    rejects: dict[str, list[Reject]] = {}
    vehicles: dict[str, list[str | None]] = {}
    if "quality_stations" in files:
        frames["quality_stations"] = read_stations(files["quality_stations"])
    stations = frames.get("quality_stations", pl.DataFrame({"station_id": _stored(lake, "quality_stations", "station_id")}))["station_id"]  # fmt: skip
    if "quality_characteristics" in files:
        frames["quality_characteristics"] = read_characteristics(files["quality_characteristics"], stations)  # fmt: skip
    if "quality_defect_codes" in files:
        frames["quality_defect_codes"] = read_defect_codes(files["quality_defect_codes"])
    if "quality_measurements" in files:
        masters = frames.get("quality_characteristics")
        if masters is None:
            masters = _characteristics(lake)
        frames["quality_measurements"], rejects["quality_measurements"] = read_measurements(files["quality_measurements"], masters)  # fmt: skip
    if "quality_inspections" in files:
        codes = frames["quality_defect_codes"]["defect_code"] if "quality_defect_codes" in frames else _stored(lake, "quality_defect_codes", "defect_code")  # fmt: skip
        frames["quality_inspections"], rejects["quality_inspections"] = read_inspections(files["quality_inspections"], stations, codes)  # fmt: skip
    if "supplier_lots" in files:
        frames["supplier_lots"], rejects["supplier_lots"] = read_lots(files["supplier_lots"])
    if "vehicle_build_parts" in files:
        lots = frames["supplier_lots"]["lot_id"] if "supplier_lots" in frames else _stored(lake, "supplier_lots", "lot_id")  # fmt: skip
        built = _stored(lake, "vehicle_production", "vehicle_id")
        genealogy, refused, who = read_build_parts(files["vehicle_build_parts"], pseudonyms, built, lots)  # fmt: skip
        frames["vehicle_build_parts"], rejects["vehicle_build_parts"] = genealogy, refused
        vehicles["vehicle_build_parts"] = who
    source = "plant-export:" + ",".join(sorted(p.name for p in files.values()))
    context = CollectionContext(source=source, purpose=PURPOSE)
    result = store_quality_tables(lake, context, frames, rejects, vehicles)
    record_run(
        audit, context.run_id, "ingest",
        {"source": source, "rows": result.rows, "rejected": result.rejected, "tables": result.versions},
        principal=source, purpose=PURPOSE,
    )  # fmt: skip
    return result


def _characteristics(lake: Lake) -> pl.DataFrame:
    if not lake.exists("quality_characteristics"):
        raise InputError(
            "measurements need the characteristics master, and the lake has none",
            hint="import characteristics.csv (and stations.csv) with the measurements",
        )
    table = lake.read("quality_characteristics", columns=["characteristic_id", "station_id"])
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame
