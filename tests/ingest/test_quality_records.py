"""A plant's quality exports into the lake: masters refused whole, bad event rows quarantined.

The exports come from the plant simulator, its genealogy from a warranty history's
production records imported first (so the VINs are known vehicles).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from drivetrain.demo.plant_generator import PlantConfig, generate_plant, write_plant_csv
from drivetrain.demo.warranty_generator import (
    WarrantyConfig,
    generate_warranty,
    write_production_csv,
)
from drivetrain.errors import InputError
from drivetrain.fleet import make_vin
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.ingest.quality_records import COLUMNS, import_quality_files
from drivetrain.ingest.warranty_records import import_warranty_file
from drivetrain.lake import Lake

TABLES = tuple(COLUMNS)
UTC_US = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Plant:
    root: Path
    keys: PseudonymKey
    files: dict[str, Path]  # the simulator's exports, never edited
    heights: dict[str, int]  # rows per table in the exports
    vins: list[str]  # every VIN of the production records


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Plant:
    root = tmp_path_factory.mktemp("plant")
    keys = PseudonymKey.load_or_create(root / "keys")
    history = generate_warranty(
        WarrantyConfig(per_model_month=20, models=("fiat-tipo",)), pseudonyms=keys
    )
    production = write_production_csv(history, root / "production.csv")
    lake = Lake(root / "lake")  # production records only: the vehicles the genealogy may name
    import_warranty_file(lake, AuditLog(root), keys, production, production=True, currency="EUR")
    records = pl.read_csv(production, try_parse_dates=True)
    exports = generate_plant(PlantConfig(), records)
    files = write_plant_csv(exports, root / "exports")
    imported = Lake(root / "imported")  # ...and a clean import on top
    shutil.copytree(lake.root, imported.root)
    import_quality_files(imported, AuditLog(root), keys, files)
    heights = {t: f.height for t, f in exports.frames.items()}
    return Plant(root, keys, files, heights, records["vin"].to_list())


def _lake(plant: Plant, tmp_path: Path, *, imported: bool = False) -> Lake:
    lake = Lake(tmp_path / "lake")
    shutil.copytree(plant.root / ("imported" if imported else "lake"), lake.root)
    return lake


def _files(plant: Plant, tmp_path: Path) -> dict[str, Path]:
    """A private copy of the exports that a test may edit."""
    out = tmp_path / "exports"
    out.mkdir()
    return {t: Path(shutil.copy(p, out / p.name)) for t, p in plant.files.items()}


def _append(path: Path, rows: list[str]) -> list[str]:
    """Append rows to a CSV; returns their locations (``file:line``)."""
    first = len(path.read_text(encoding="utf-8").splitlines()) + 1
    with path.open("a", encoding="utf-8") as out:
        out.writelines(row + "\n" for row in rows)
    return [f"{path.name}:{first + i}" for i in range(len(rows))]


def _read(lake: Lake, name: str) -> pl.DataFrame:
    frame = pl.from_arrow(lake.read(name))
    assert isinstance(frame, pl.DataFrame)
    return frame


def _counts(lake: Lake) -> dict[str, int]:
    return {name: lake.read(name).num_rows for name in lake.versions()}


def _strings(lake: Lake) -> set[str]:
    """Every value of every string column of every table in the lake."""
    seen: set[str] = set()
    for table in map(lake.read, lake.versions()):
        for field in table.schema:
            if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
                seen.update(v for v in table.column(field.name).to_pylist() if v is not None)
    return seen


def _leaks(values: set[str], vins: list[str]) -> list[str]:
    return [v for v in vins if any(v in s or v.lower() in s for s in values)]


def test_a_clean_export_is_stored_whole_with_its_types(plant: Plant, tmp_path: Path) -> None:
    lake, audit = _lake(plant, tmp_path), AuditLog(tmp_path)
    result = import_quality_files(lake, audit, plant.keys, plant.files)
    assert result.rejected == 0 and not lake.exists("quarantine")
    assert result.rows == plant.heights
    assert {t: lake.read(t).num_rows for t in TABLES} == plant.heights
    for table in ("quality_measurements", "quality_inspections"):
        assert lake.read(table).schema.field("ts").type == UTC_US
    measurements = lake.read("quality_measurements").schema
    assert measurements.field("value").type == pa.float64()
    characteristics = lake.read("quality_characteristics").schema
    assert {characteristics.field(c).type for c in ("nominal", "lsl", "usl")} == {pa.float64()}
    assert characteristics.field("subgroup_size").type == pa.int32()
    assert lake.read("quality_inspections").schema.field("defects").type == pa.int32()
    lots = lake.read("supplier_lots").schema
    assert lots.field("received_date").type == pa.date32()
    assert {lots.field(c).type for c in ("quantity", "inspected", "defective")} == {pa.int64()}
    assert lake.read("vehicle_build_parts").schema.field("installed_date").type == pa.date32()

    # the values are the export's, read as numbers and instants
    raw = pl.read_csv(plant.files["quality_measurements"], infer_schema=False).row(0, named=True)
    stored = _read(lake, "quality_measurements").filter(
        (pl.col("characteristic_id") == raw["characteristic_id"])
        & (pl.col("part_serial") == raw["part_serial"])
    )
    assert stored["value"].to_list() == [float(raw["value"])]
    assert stored["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").to_list() == [raw["ts"]]
    assert _read(lake, "quality_measurements")["lot_id"].null_count() > 0  # blank is null
    leak = _read(lake, "quality_characteristics").filter(pl.col("characteristic_id") == "LEAK")
    assert leak["lsl"].to_list() == [None] and leak["usl"].to_list() == [2.0]  # one-sided
    assert set(_read(lake, "quality_inspections").filter(pl.col("result") == "pass")["defect_code"].to_list()) == {None}  # fmt: skip

    # the run is audited, and each table's commit names it
    runs = audit.entries("ingest")
    assert len(runs) == 1
    run = runs[0]
    assert run.purpose == "manufacturing_quality"
    assert run.details["run_id"] == result.run_id
    assert run.details["rows"] == plant.heights and run.details["rejected"] == 0
    assert run.principal.startswith("plant-export:") and "measurements.csv" in run.principal
    for table in TABLES:
        assert lake.history(table)[0].get("drivetrain.run_id") == result.run_id


def test_the_genealogy_holds_pseudonyms_never_a_vin(plant: Plant, tmp_path: Path) -> None:
    lake, audit = _lake(plant, tmp_path), AuditLog(tmp_path)
    files = _files(plant, tmp_path)
    known, stranger = plant.vins[0], make_vin("ZFA", "AB12C", 2023, "P", "999999")
    _append(files["vehicle_build_parts"], [
        f"{stranger},TH-1004,,LOT-TH-2301-A,Mahle Behr,ST130,2023-01-01",  # not built by us
        f"{known},WP-2210,,LOT-NOPE,Aisin,ST120,2023-01-01",  # unknown lot
        f"{known[:-1]}Q,WP-2210,,LOT-WP-2301,Aisin,ST120,2023-01-01",  # not a VIN
    ])  # fmt: skip
    result = import_quality_files(lake, audit, plant.keys, files)
    assert result.rejected == 3
    genealogy = _read(lake, "vehicle_build_parts")
    assert set(genealogy["vehicle_id"]) == {plant.keys.vehicle_id(v) for v in plant.vins}
    assert "vin" not in genealogy.columns
    values = _strings(lake)
    assert lake.exists("quarantine") and _leaks(values, plant.vins) == []
    assert _leaks(values, [stranger, known[:-1] + "Q"]) == []
    assert _leaks({str(e.details) for e in audit.entries()}, plant.vins) == []


def test_importing_twice_stores_once(plant: Plant, tmp_path: Path) -> None:
    lake, audit = _lake(plant, tmp_path), AuditLog(tmp_path)
    import_quality_files(lake, audit, plant.keys, plant.files)
    once = _counts(lake)
    again = import_quality_files(lake, audit, plant.keys, plant.files)
    assert again.rejected == 0
    assert _counts(lake) == once
    assert {t: once[t] for t in TABLES} == plant.heights
    assert len(audit.entries("ingest")) == 2


CH_TORQUE = "CH-TORQUE,ST110,cylinder-head bolt torque,N.m,45.0,41.0,49.0,5,xbar_r"
WP_BORE = "WP-BORE,ST120,water-pump bore diameter,mm,32.0,31.975,32.025,5,xbar_r"


@pytest.mark.parametrize(
    ("table", "old", "new", "line", "error"),
    [
        ("quality_characteristics", "45.0,41.0,49.0", "45.0,49.0,41.0", 2, "LSL at or above the USL"),
        ("quality_characteristics", "45.0,41.0,49.0", "45.0,45.0,45.0", 2, "LSL at or above the USL"),
        ("quality_characteristics", "45.0,41.0,49.0", "50.0,41.0,49.0", 2, "nominal outside"),
        ("quality_characteristics", "45.0,41.0,49.0", "40.0,41.0,", 2, "nominal outside"),
        ("quality_characteristics", "45.0,41.0,49.0", "torque,41.0,49.0", 2, "nominal that is not a number"),
        ("quality_characteristics", "45.0,41.0,49.0", "45.0,low,49.0", 2, "lsl that is not a number"),
        ("quality_characteristics", WP_BORE, WP_BORE.replace("ST120", "ST999"), 3, "station the stations file lacks"),
        ("quality_characteristics", WP_BORE, WP_BORE.replace("WP-BORE", "CH-TORQUE"), 2, "characteristic id given twice"),
        ("quality_characteristics", WP_BORE, WP_BORE.replace(",xbar_r", ",p"), 3, "chart other than"),
        ("quality_characteristics", CH_TORQUE, CH_TORQUE.replace(",5,", ",0,"), 2, "subgroup size"),
        ("quality_characteristics", CH_TORQUE, CH_TORQUE.replace(",5,", ",2.5,"), 2, "subgroup size"),
        ("quality_characteristics", WP_BORE, WP_BORE.replace(",5,", ",1,"), 3, "X̄ chart of single"),
        ("quality_stations", "ST120,Bursa", "ST110,Bursa", 2, "station id given twice"),
        ("quality_stations", "ST120,Bursa", "ST120,", 3, "without an id or plant"),
        ("quality_stations", ",machining", ",welding", 3, "process other than"),
        ("quality_defect_codes", "ELE-CONN,", "FIT-CLIP,", 2, "defect code given twice"),
    ],
)  # fmt: skip
def test_a_bad_master_row_refuses_the_import_naming_its_line(
    plant: Plant, tmp_path: Path, table: str, old: str, new: str, line: int, error: str
) -> None:
    lake, audit = _lake(plant, tmp_path, imported=True), AuditLog(tmp_path)
    files = _files(plant, tmp_path)
    text = files[table].read_text(encoding="utf-8")
    assert old in text
    files[table].write_text(text.replace(old, new, 1), encoding="utf-8")
    before, counts = lake.versions(), _counts(lake)
    with pytest.raises(InputError, match=error) as caught:
        import_quality_files(lake, audit, plant.keys, files)
    assert str(caught.value).startswith(f"{files[table].name}:{line}: ")
    assert caught.value.hint and "nothing was imported" in caught.value.hint
    assert lake.versions() == before and _counts(lake) == counts
    assert audit.entries("ingest") == []


def test_a_characteristic_without_limits_is_accepted(plant: Plant, tmp_path: Path) -> None:
    lake = _lake(plant, tmp_path)
    files = _files(plant, tmp_path)
    text = files["quality_characteristics"].read_text(encoding="utf-8")
    files["quality_characteristics"].write_text(text.replace("45.0,41.0,49.0,5,xbar_r", "45.0,,,1,imr"))  # fmt: skip
    import_quality_files(lake, AuditLog(tmp_path), plant.keys, files)
    torque = _read(lake, "quality_characteristics").filter(pl.col("characteristic_id") == "CH-TORQUE")  # fmt: skip
    assert torque.select("lsl", "usl", "subgroup_size", "chart").row(0) == (None, None, 1, "imr")


def test_each_bad_event_row_is_quarantined_with_its_reason_and_line(
    plant: Plant, tmp_path: Path
) -> None:
    lake, audit = _lake(plant, tmp_path), AuditLog(tmp_path)
    files = _files(plant, tmp_path)
    at = "2024-03-01T00:00:00Z"
    measured = dict(zip(_append(files["quality_measurements"], [
        f"{at},ST110,XX-NOPE,S-1,45.0,,A",
        f"{at},ST120,CH-TORQUE,S-2,45.0,,A",
        "2024-03-01T00:00:00,ST110,CH-TORQUE,S-3,45.0,,A",
        f"{at},ST110,CH-TORQUE,S-4,abc,,A",
        f"{at},ST110,CH-TORQUE,S-5,inf,,A",
        f"{at},ST110,CH-TORQUE,S-6,nan,,A",
        f"{at},ST110,CH-TORQUE,,45.0,,A",
        f"{at},ST110,CH-TORQUE,S-8,45.0,,D",
        f"{at},ST110,CH-TORQUE,S-9,45.0,,A",
        f"{at},ST110,CH-TORQUE,S-9,46.0,,A",
        f"{at},ST110,CH-TORQUE,S-10,45.0,,A",  # the same instant written two ways...
        "2024-03-01T01:00:00+01:00,ST110,CH-TORQUE,S-10,46.0,,A",  # ...with another value
        f"{at},ST110,CH-TORQUE,S-11,45.0,,A",  # given twice with one value: stored once
        f"{at},ST110,CH-TORQUE,S-11,45.0,,A",
        "2024-03-01T02:00:00+02:00,ST110,CH-TORQUE,S-12,45.5,,A",  # good, stored in UTC
    ]), [
        "characteristic not in the characteristics master",
        "the characteristic is measured at another station",
        "timestamp is not ISO 8601 with a zone (e.g. 2026-03-02T06:14:05Z)",
        "value is not a finite number",
        "value is not a finite number",
        "value is not a finite number",
        "no part serial",
        "shift is not A, B or C",
        *["the same part measured at the same time with two values"] * 4,
    ], strict=False))  # fmt: skip
    inspected = dict(zip(_append(files["quality_inspections"], [
        f"EOL-X1,{at},ST900,X1,A,,fail,,1",
        f"EOL-X2,{at},ST900,X2,A,,fail,NOPE,1",
        f"EOL-X3,{at},ST900,X3,A,,fail,FIT-CLIP,-1",
        f"EOL-X4,{at},ST900,X4,A,,maybe,,0",
        f"EOL-X5,{at},ST999,X5,A,,pass,,0",
        "EOL-X6,2024-03-01 00:00,ST900,X6,A,,pass,,0",
        f"EOL-X7,{at},ST900,X7,E,,pass,,0",
        f"EOL-X8,{at},ST900,X8,A,,pass,,0",
        f"EOL-X8,{at},ST900,X8,A,,fail,FIT-CLIP,1",
        f"EOL-X9,{at},ST900,X9,A,,pass,,0",  # a repeat with the same content: stored once
        f"EOL-X9,{at},ST900,X9,A,,pass,,0",
    ]), [
        "a failed inspection without a defect code",
        "defect code not in the defect catalogue",
        "defects is not a whole number of 0 or more",
        "result is not pass or fail",
        "station not in the stations master",
        "timestamp is not ISO 8601 with a zone (e.g. 2026-03-02T06:14:05Z)",
        "shift is not A, B or C",
        *["an inspection id given twice with other content"] * 2,
    ], strict=False))  # fmt: skip
    lot = "Mahle Behr,TH-1004"
    received = dict(zip(_append(files["supplier_lots"], [
        f"LOT-X1,{lot},2024-01-01,100,10,11",
        f"LOT-X2,{lot},2024-01-01,100,101,0",
        f"LOT-X3,{lot},01/02/2024,100,10,0",
        f"LOT-X4,{lot},2024-01-01,100,-1,0",
        "LOT-X5,,TH-1004,2024-01-01,100,10,0",
        f"LOT-X6,{lot},2024-01-01,100,10,0",
        f"LOT-X6,{lot},2024-01-01,100,10,1",
    ]), [
        "more defectives than units inspected",
        "more units inspected than received",
        "received_date is not a date YYYY-MM-DD",
        "quantity, inspected and defective must be whole numbers of 0 or more",
        "a lot without its id, supplier or part number",
        *["a lot id given twice with other content"] * 2,
    ], strict=True))  # fmt: skip
    known, stranger = plant.vins[0], make_vin("ZFA", "AB12C", 2023, "P", "999999")
    twice = plant.vins[1]
    bad_vin = known[:8] + ("1" if known[8] != "1" else "2") + known[9:]  # wrong check digit
    built = dict(zip(_append(files["vehicle_build_parts"], [
        f"{bad_vin},WP-2210,,LOT-WP-2301,Aisin,ST120,2023-01-01",
        "WHO-KNOWS,WP-2210,,LOT-WP-2301,Aisin,ST120,2023-01-01",
        f"{stranger},WP-2210,,LOT-WP-2301,Aisin,ST120,2023-01-01",
        f"{known},PX-1,,LOT-NOPE,Aisin,ST120,2023-01-01",
        f"{known},PX-2,,LOT-HB-2301,Bossard,ST110,2023-13-01",
        f"{known},,,LOT-HB-2301,Bossard,ST110,2023-01-01",
        f"{twice},WP-2210,,LOT-WP-2301,Aisin,ST120,2023-01-01",
        f"{twice.lower()},WP-2210,,LOT-WP-2302,Aisin,ST120,2023-01-01",
        f"{known.lower()},WP-2210,WP-77,LOT-WP-2301,Aisin,ST120,2023-01-01",  # good
    ]), [
        "not a valid VIN",
        "not a valid VIN",
        "vehicle not in the production records",
        "lot not among the supplier lots",
        "installed_date is not a date YYYY-MM-DD",
        "no part number",
        *["one part of one vehicle given twice with other content"] * 2,
    ], strict=False))  # fmt: skip

    result = import_quality_files(lake, audit, plant.keys, files)

    expected = {**measured, **inspected, **received, **built}
    found = {where: reason for rows in result.rejects.values() for where, reason, _ in rows}
    assert found == expected
    quarantine = _read(lake, "quarantine")
    assert dict(zip(quarantine["location"], quarantine["reason"], strict=True)) == expected
    assert set(quarantine["run_id"]) == {result.run_id}
    assert quarantine.group_by("target_table").len().sort("target_table").rows() == [
        ("quality_inspections", 9), ("quality_measurements", 12),
        ("supplier_lots", 7), ("vehicle_build_parts", 8),
    ]  # fmt: skip
    assert f"LOT-X2,{lot},2024-01-01,100,101,0" in quarantine["record"].to_list()

    # the good rows are stored, the bad ones are not
    heights = plant.heights
    assert result.rows["quality_measurements"] == heights["quality_measurements"] + 2
    assert lake.read("quality_measurements").num_rows == heights["quality_measurements"] + 2
    assert lake.read("quality_inspections").num_rows == heights["quality_inspections"] + 1
    assert lake.read("supplier_lots").num_rows == heights["supplier_lots"]
    assert lake.read("vehicle_build_parts").num_rows == heights["vehicle_build_parts"] + 1
    serials = set(_read(lake, "quality_measurements")["part_serial"])
    assert {"S-11", "S-12"} <= serials and not serials & {f"S-{i}" for i in range(1, 11)}
    s12 = _read(lake, "quality_measurements").filter(pl.col("part_serial") == "S-12")
    assert s12["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S").to_list() == ["2024-03-01T00:00:00"]
    assert s12["value"].to_list() == [45.5]
    inspections = set(_read(lake, "quality_inspections")["inspection_id"])
    assert "EOL-X9" in inspections and not inspections & {f"EOL-X{i}" for i in range(1, 9)}
    assert not set(_read(lake, "supplier_lots")["lot_id"]) & {f"LOT-X{i}" for i in range(1, 7)}
    extra = _read(lake, "vehicle_build_parts").filter(pl.col("part_number") == "WP-2210")
    assert extra.select("vehicle_id", "part_serial").rows() == [(plant.keys.vehicle_id(known), "WP-77")]  # fmt: skip

    # a refused genealogy row names the vehicle by its pseudonym, or not at all
    refused = quarantine.filter(pl.col("target_table") == "vehicle_build_parts")
    who = dict(zip(refused["location"], refused["vehicle_id"], strict=True))
    text = dict(zip(refused["location"], refused["record"], strict=True))
    rows = list(built)
    for where in rows[:2]:
        assert who[where] is None and text[where].startswith("<vin withheld>,")
    for where, vin in zip(rows[2:], [stranger, known, known, known, twice, twice], strict=True):
        assert who[where] == plant.keys.vehicle_id(vin)
        assert text[where].startswith(plant.keys.vehicle_id(vin) + ",")
    assert _leaks(_strings(lake), [*plant.vins, stranger, bad_vin]) == []

    run = audit.entries("ingest")[-1]
    assert run.details["rejected"] == len(expected) == result.rejected
    assert run.details["tables"]["quarantine"] == lake.version("quarantine")


def test_masters_already_in_the_lake_check_the_events(plant: Plant, tmp_path: Path) -> None:
    lake = _lake(plant, tmp_path, imported=True)
    files = _files(plant, tmp_path)
    at = "2024-03-01T00:00:00Z"
    where = _append(files["quality_measurements"], [f"{at},ST110,XX-NOPE,S-1,45.0,,A"])
    _append(files["quality_inspections"], [f"EOL-Y1,{at},ST900,Y1,A,,fail,FIT-CLIP,1"])
    _append(files["vehicle_build_parts"], [f"{plant.vins[0]},WP-2210,,LOT-WP-2301,Aisin,ST120,2023-01-01"])  # fmt: skip
    events = ("quality_measurements", "quality_inspections", "vehicle_build_parts")
    result = import_quality_files(
        lake, AuditLog(tmp_path), plant.keys, {t: files[t] for t in events}
    )
    assert [r[:2] for r in result.rejects["quality_measurements"]] == [
        (where[0], "characteristic not in the characteristics master")
    ]
    assert result.rejected == 1
    assert lake.read("quality_inspections").num_rows == plant.heights["quality_inspections"] + 1
    assert lake.read("vehicle_build_parts").num_rows == plant.heights["vehicle_build_parts"] + 1


def test_refusals_before_anything_is_read(plant: Plant, tmp_path: Path) -> None:
    lake, audit = _lake(plant, tmp_path), AuditLog(tmp_path)
    files = _files(plant, tmp_path)
    with pytest.raises(InputError, match="need the characteristics master"):
        import_quality_files(lake, audit, plant.keys, {"quality_measurements": files["quality_measurements"]})  # fmt: skip
    with pytest.raises(InputError, match="no quality table named warranty_claims"):
        import_quality_files(lake, audit, plant.keys, {"warranty_claims": files["supplier_lots"]})  # fmt: skip
    lots = files["supplier_lots"]
    lots.write_text(lots.read_text().replace("received_date,", "received,", 1))
    with pytest.raises(InputError, match=r"lacks column.*received_date") as caught:
        import_quality_files(lake, audit, plant.keys, {"supplier_lots": lots})
    assert caught.value.hint
    with pytest.raises(InputError, match="no file at"):
        import_quality_files(lake, audit, plant.keys, {"supplier_lots": tmp_path / "nope.csv"})
    assert not any(lake.exists(t) for t in (*TABLES, "quarantine"))
    assert audit.entries("ingest") == []


def _fail_on(monkeypatch: pytest.MonkeyPatch, method: str, when: int) -> list[str]:
    """Make ``Lake.<method>`` raise on its ``when``-th call; returns the tables it was called for."""
    original = getattr(Lake, method)
    calls: list[str] = []

    def failing(self: Lake, name: str, *args: object, **kwargs: object) -> int:
        calls.append(name)
        if len(calls) == when:
            raise OSError(f"disk full while writing {name}")
        return int(original(self, name, *args, **kwargs))

    monkeypatch.setattr(Lake, method, failing)
    return calls


def _changed_exports(plant: Plant, tmp_path: Path) -> dict[str, Path]:
    """Exports with new rows for every table and a bad row, so each write would change it."""
    files = _files(plant, tmp_path)
    at = "2024-03-01T00:00:00Z"
    _append(files["quality_stations"], ["ST150,Bursa,ENG1,oil fill,test"])
    _append(files["quality_defect_codes"], ["NEW-1,something new,fit"])
    _append(files["quality_measurements"], [f"{at},ST110,CH-TORQUE,S-1,45.0,,A", f"{at},ST110,XX,S-2,1,,A"])  # fmt: skip
    _append(files["quality_inspections"], [f"EOL-Z1,{at},ST900,Z1,A,,pass,,0"])
    _append(files["supplier_lots"], ["LOT-Z1,Aisin,WP-2210,2024-01-01,100,10,0"])
    _append(files["vehicle_build_parts"], [f"{plant.vins[0]},WP-2210,,LOT-Z1,Aisin,ST120,2023-01-01"])  # fmt: skip
    return files


@pytest.mark.parametrize(("method", "when"), [("merge", 3), ("append", 1)])
def test_a_failure_mid_write_leaves_no_half_import(
    plant: Plant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str, when: int
) -> None:
    lake, audit = _lake(plant, tmp_path, imported=True), AuditLog(tmp_path)
    files = _changed_exports(plant, tmp_path)
    counts, versions = _counts(lake), lake.versions()
    contents = {t: _read(lake, t).sort(pl.all()) for t in TABLES}
    calls = _fail_on(monkeypatch, method, when)
    with pytest.raises(OSError, match="disk full"):
        import_quality_files(lake, audit, plant.keys, files)
    assert len(calls) == when  # the failure came where it was meant to
    assert _counts(lake) == counts and not lake.exists("quarantine")
    # a table written before the failure is restored (a new version); the others are untouched
    written = set(TABLES) if method == "append" else set(calls[:-1])  # quarantine is last
    assert {t: v for t, v in lake.versions().items() if t not in written} == {
        t: v for t, v in versions.items() if t not in written
    }
    for table in TABLES:
        assert _read(lake, table).sort(pl.all()).equals(contents[table]), table
    assert audit.entries("ingest") == []
    monkeypatch.undo()
    # nothing is left in the way: the same import then goes through whole
    result = import_quality_files(lake, audit, plant.keys, files)
    assert result.rejected == 1
    assert lake.read("quality_stations").num_rows == counts["quality_stations"] + 1


def test_a_failed_first_import_leaves_no_table_behind(
    plant: Plant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = _lake(plant, tmp_path)
    before = lake.versions()
    _fail_on(monkeypatch, "merge", 3)
    with pytest.raises(OSError, match="disk full"):
        import_quality_files(lake, AuditLog(tmp_path), plant.keys, plant.files)
    assert lake.versions() == before
    assert not any(lake.exists(t) for t in (*TABLES, "quarantine"))
