"""An ERP parts export into the lake: master data checked whole, bad demand rows quarantined."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from drivetrain.errors import InputError
from drivetrain.governance.audit import AuditLog
from drivetrain.ingest.parts_records import import_parts_files
from drivetrain.lake import Lake

PARTS = """part_number,description,component,supersedes,unit_cost,lead_time_days,criticality
CF-1,cabin filter,cabin_filter,,20.5,5,C
CF-2,cabin filter (new),cabin_filter,CF-1,21.0,5,C
TH-9,thermostat,thermostat,,80,45,A
"""
LOCATIONS = """location_id,kind,parent_id,market,region,name
CDC-EU,central,,DE,eu,central warehouse
RDC-DE,regional,CDC-EU,DE,eu,regional DE
DLR-1,dealer,RDC-DE,DE,eu,
"""
DEMAND = """part_number,location_id,month,quantity
CF-1,DLR-1,2025-01-01,3
CF-2,DLR-1,2025-02-01,4
TH-9,RDC-DE,2025-01-01,0
XX-0,DLR-1,2025-01-01,1
CF-2,DLR-9,2025-01-01,1
CF-2,DLR-1,2025-03-15,1
CF-2,DLR-1,March,1
CF-2,DLR-1,2025-04-01,lots
CF-2,DLR-1,2025-05-01,-2
TH-9,DLR-1,2025-02-01,1
TH-9,DLR-1,2025-02-01,2
TH-9,DLR-1,2025-03-01,1
TH-9,DLR-1,2025-03-01,1
"""


def _files(tmp_path: Path, parts: str = PARTS, locations: str = LOCATIONS, demand: str = DEMAND) -> dict[str, Path]:  # fmt: skip
    out = {}
    for name, text in (("parts", parts), ("locations", locations), ("demand", demand)):
        (path := tmp_path / f"{name}.csv").write_text(text, encoding="utf-8")
        out[name] = path
    return out


def _read(lake: Lake, name: str) -> pl.DataFrame:
    frame = pl.from_arrow(lake.read(name))
    assert isinstance(frame, pl.DataFrame)
    return frame


def test_good_rows_are_stored_and_each_bad_demand_row_is_quarantined_with_its_reason(
    tmp_path: Path,
) -> None:
    lake, audit = Lake(tmp_path / "lake"), AuditLog(tmp_path)
    result = import_parts_files(lake, audit, **_files(tmp_path))
    reasons = {where: reason for where, reason, _ in result.rejects}
    assert reasons == {
        "demand.csv:5": "part number not in the parts master",
        "demand.csv:6": "location not in the locations file",
        "demand.csv:7": "month is not the first day of a month",
        "demand.csv:8": "month is not a date YYYY-MM-DD",
        "demand.csv:9": "quantity is not a number",
        "demand.csv:10": "negative quantity: a return is not demand",
        "demand.csv:11": "the same part, location and month with two quantities",
        "demand.csv:12": "the same part, location and month with two quantities",
    }
    demand = _read(lake, "parts_demand").sort("part_number", "month")
    # the repeated row with one quantity is one row; nothing else is lost
    assert demand.select("part_number", "location_id", "quantity").rows() == [
        ("CF-1", "DLR-1", 3.0), ("CF-2", "DLR-1", 4.0), ("TH-9", "RDC-DE", 0.0),
        ("TH-9", "DLR-1", 1.0),
    ]  # fmt: skip
    assert set(demand["source"]) == {"parts-export:demand.csv"}
    quarantined = _read(lake, "quarantine")
    assert quarantined.height == 8 and set(quarantined["target_table"]) == {"parts_demand"}
    assert "CF-2,DLR-1,2025-05-01,-2" in quarantined["record"].to_list()
    parts = _read(lake, "parts").sort("part_number")
    assert parts["supersedes"].to_list() == [None, "CF-1", None]
    assert parts.schema["lead_time_days"] == pl.Int32
    assert _read(lake, "parts_locations").filter(pl.col("location_id") == "DLR-1")["name"][0] is None
    runs = audit.entries("ingest")
    assert runs and runs[-1].details["rejected"] == 8


def test_importing_twice_stores_once(tmp_path: Path) -> None:
    lake, audit = Lake(tmp_path / "lake"), AuditLog(tmp_path)
    files = _files(tmp_path)
    import_parts_files(lake, audit, **files)
    import_parts_files(lake, audit, **files)
    assert lake.read("parts_demand").num_rows == 4
    assert lake.read("parts").num_rows == 3


@pytest.mark.parametrize(
    ("file", "old", "new", "error"),
    [
        ("parts", "CF-2,cabin filter (new)", "CF-1,cabin filter (new)", "part number given twice"),
        ("parts", ",CF-1,21.0", ",CF-7,21.0", "supersedes a part number the master lacks"),
        ("parts", "20.5,5", "-1,5", "unit cost"),
        ("parts", "80,45,A", "80,45 days,A", "lead time"),
        ("parts", "80,45,A", "80,45,Z", "criticality"),
        ("locations", "DLR-1,dealer,RDC-DE", "DLR-1,shop,RDC-DE", "kind other than"),
        ("locations", "DLR-1,dealer,RDC-DE", "DLR-1,dealer,RDC-XX", "parent_id"),
        ("locations", "DLR-1,dealer,RDC-DE", "DLR-1,dealer,", "without a parent"),
        ("locations", "RDC-DE,DE", "RDC-DE,Germany", "ISO 3166-1"),
        ("demand", "part_number,location_id,month", "part,location_id,month", "lacks column"),
    ],
)
def test_bad_master_data_refuses_the_whole_import(
    tmp_path: Path, file: str, old: str, new: str, error: str
) -> None:
    texts = {"parts": PARTS, "locations": LOCATIONS, "demand": DEMAND}
    assert old in texts[file]
    texts[file] = texts[file].replace(old, new, 1)
    lake = Lake(tmp_path / "lake")
    with pytest.raises(InputError, match=error) as caught:
        import_parts_files(lake, AuditLog(tmp_path), **_files(tmp_path, **texts))
    assert caught.value.hint
    assert not any(lake.exists(t) for t in ("parts", "parts_locations", "parts_demand"))


def test_a_missing_or_unreadable_file_is_named(tmp_path: Path) -> None:
    files = _files(tmp_path)
    files["demand"] = tmp_path / "nope.csv"
    with pytest.raises(InputError, match="no file at"):
        import_parts_files(Lake(tmp_path / "lake"), AuditLog(tmp_path), **files)
    files["demand"] = tmp_path / "bin.csv"
    files["demand"].write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InputError, match=r"bin\.csv"):
        import_parts_files(Lake(tmp_path / "lake"), AuditLog(tmp_path), **files)


def test_the_fitment_is_checked_and_stored(tmp_path: Path) -> None:
    files = _files(tmp_path)
    good = "part_number,model_id,service_item,quantity\nCF-2,fiat-tipo,cabin_filter,1\nTH-9,fiat-tipo,thermostat,1\n"  # fmt: skip
    (fitment := tmp_path / "fitment.csv").write_text(good)
    lake = Lake(tmp_path / "lake")
    import_parts_files(lake, AuditLog(tmp_path), **files, fitment=fitment)
    assert _read(lake, "parts_fitment").sort("part_number")["part_number"].to_list() == ["CF-2", "TH-9"]  # fmt: skip
    for bad, error in (
        (good.replace("TH-9,", "XX-1,"), "master lacks"),
        (good.replace("TH-9,fiat-tipo,thermostat", "CF-1,fiat-tipo,cabin_filter"), "two parts"),
        (good.replace(",1\n", ",0\n"), "positive"),
    ):
        fitment.write_text(bad)
        with pytest.raises(InputError, match=error):
            import_parts_files(Lake(tmp_path / "other"), AuditLog(tmp_path), **files, fitment=fitment)
