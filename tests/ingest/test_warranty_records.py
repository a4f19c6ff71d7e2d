"""Warranty production and claims imports: VINs become pseudonyms, bad rows are quarantined
with a reason that names the problem, and a second import of a file adds nothing."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from drivetrain.demo.warranty_generator import (
    WarrantyConfig,
    generate_warranty,
    write_claims_csv,
    write_production_csv,
)
from drivetrain.errors import InputError
from drivetrain.fleet import make_vin
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.ingest.sink import CollectionContext
from drivetrain.ingest.warranty_records import (
    CLAIM_COLUMNS,
    PRODUCTION_COLUMNS,
    RecordImport,
    import_warranty_file,
    ingest_claims,
    ingest_production,
)
from drivetrain.lake import Lake

KEY = PseudonymKey(bytes(range(32)))
VIN_A = make_vin("ZFA", "AB12C", 2024, "B", "000001")
VIN_B = make_vin("ZFA", "AB12C", 2024, "B", "000002")
VIN_UNSOLD = make_vin("ZFA", "AB12C", 2024, "B", "000003")
VIN_UNKNOWN = make_vin("ZFA", "AB12C", 2024, "B", "000999")  # valid, never produced
SALE = date(2024, 3, 1)  # VIN_A and VIN_B
TODAY = date.today()
INVALID_VIN = "not a valid VIN (17 characters, ISO 3779 check digit)"


def _wrong_check_digit(vin: str) -> str:
    digit = "1" if vin[8] != "1" else "2"
    return vin[:8] + digit + vin[9:]


def _csv(path: Path, header: tuple[str, ...], rows: list[dict[str, str]]) -> Path:
    lines = [",".join(header)] + [",".join(r.get(c, "") for c in header) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def production_row(vin: str, **changes: str) -> dict[str, str]:
    row = {
        "vin": vin,
        "brand": "Fiat",
        "model_id": "fiat-tipo",
        "model_year": "2024",
        "plant": "Cassino",
        "build_date": "2024-01-10",
        "sale_date": SALE.isoformat(),
        "market": "IT",
        "region": "eu",
    }
    return row | changes


def claim_row(claim_id: str, vin: str = VIN_A, **changes: str) -> dict[str, str]:
    row = {
        "claim_id": claim_id,
        "vin": vin,
        "repair_date": "2024-04-15",  # 45 days after the sale
        "claim_date": "2024-04-20",
        "mileage_km": "3150",
        "labour_code": "L-ENG-07",
        "part_number": "IGN-C-330",
        "causal_part": "ignition_coil",
        "failure_code": "P0302",
        "cost": "462.45",
        "currency": "EUR",
        "dealer": "Officina Rossi Torino",
        "comment": "Replaced ignition coil",
    }
    return row | changes


def production_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    return _csv(path, PRODUCTION_COLUMNS, rows)


def claims_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    return _csv(path, CLAIM_COLUMNS, rows)


def _context() -> CollectionContext:
    return CollectionContext(source="test", purpose="warranty")


def import_production(lake: Lake, path: Path) -> RecordImport:
    return ingest_production(lake, path, KEY, _context())


def import_claims(lake: Lake, path: Path) -> RecordImport:
    return ingest_claims(lake, path, KEY, _context(), currency="EUR")


def quarantined(lake: Lake) -> list[tuple[str, str]]:
    """(location, reason) of every quarantined row, sorted."""
    if not lake.exists("quarantine"):
        return []
    table = lake.read("quarantine", columns=["location", "reason"])
    return sorted(zip(table["location"].to_pylist(), table["reason"].to_pylist(), strict=True))


def claims(lake: Lake) -> dict[str, dict[str, object]]:
    """The stored claims by claim id."""
    return {r["claim_id"]: r for r in lake.read("warranty_claims").to_pylist()}


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    """A lake holding the production records of VIN_A, VIN_B (sold) and VIN_UNSOLD."""
    lake = Lake(tmp_path / "lake")
    rows = [production_row(VIN_A), production_row(VIN_B), production_row(VIN_UNSOLD, sale_date="")]
    result = import_production(lake, production_csv(tmp_path / "production.csv", rows))
    assert (result.rows, result.rejects) == (3, [])
    return lake


# -- claims: what is stored -------------------------------------------------------------------


def test_good_claims_are_stored_under_the_pseudonym(lake: Lake, tmp_path: Path) -> None:
    path = claims_csv(
        tmp_path / "claims.csv",
        [claim_row("WC-1"), claim_row("WC-2", VIN_B.lower(), dealer="", comment="")],
    )
    result = import_claims(lake, path)
    assert (result.table, result.rows, result.rejects) == ("warranty_claims", 2, [])
    stored = claims(lake)
    assert stored["WC-1"] == {
        "claim_id": "WC-1",
        "vehicle_id": KEY.vehicle_id(VIN_A),
        "repair_date": date(2024, 4, 15),
        "claim_date": date(2024, 4, 20),
        "mileage_km": 3150.0,
        "months_in_service": 2,
        "labour_code": "L-ENG-07",
        "part_number": "IGN-C-330",
        "causal_part": "ignition_coil",
        "failure_code": "P0302",
        "cost": 462.45,
        "currency": "EUR",
        "dealer": "Officina Rossi Torino",
        "region": "eu",
        "comment": "Replaced ignition coil",
        "source": "claims.csv",
    }
    # a lower-case VIN is the same vehicle; an empty dealer and comment get their defaults
    assert stored["WC-2"]["vehicle_id"] == KEY.vehicle_id(VIN_B)
    assert (stored["WC-2"]["dealer"], stored["WC-2"]["comment"]) == ("unknown", None)
    assert quarantined(lake) == []


@pytest.mark.parametrize(
    ("days", "months"),
    [
        (0, 1),  # repaired on the day of the sale
        (10, 1),
        (30, 1),  # 30 < 30.4375 days, the mean month
        (31, 2),
        (45, 2),
        (61, 3),  # 61 / 30.4375 = 2.004
    ],
)
def test_months_in_service_count_from_the_sale(
    lake: Lake, tmp_path: Path, days: int, months: int
) -> None:
    repair = (SALE + timedelta(days=days)).isoformat()
    path = claims_csv(
        tmp_path / "c.csv", [claim_row("WC-1", repair_date=repair, claim_date=repair)]
    )
    import_claims(lake, path)
    assert claims(lake)["WC-1"]["months_in_service"] == months


# -- claims: what is refused ------------------------------------------------------------------

FUTURE = (TODAY + timedelta(days=10)).isoformat()


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        pytest.param(
            {"repair_date": "2024-02-20", "claim_date": "2024-02-21"},
            "repaired on 2024-02-20, before the sale (2024-03-01)",
            id="repair-before-sale",
        ),
        pytest.param(
            {"repair_date": "2024-04-15", "claim_date": "2024-04-10"},
            "claimed on 2024-04-10, before the repair (2024-04-15)",
            id="claim-before-repair",
        ),
        pytest.param(
            {"claim_date": FUTURE},
            f"claim_date {FUTURE} is in the future",
            id="claim-in-the-future",
        ),
        pytest.param({"mileage_km": "-5"}, "mileage_km is negative (-5)", id="negative-mileage"),
        pytest.param(
            {"mileage_km": "12k"}, "mileage_km '12k' is not a number", id="non-numeric-mileage"
        ),
        pytest.param({"cost": "twelve"}, "cost 'twelve' is not a number", id="non-numeric-cost"),
        pytest.param({"cost": "nan"}, "cost 'nan' is not a finite number", id="nan-cost"),
        pytest.param(
            {"vin": VIN_UNKNOWN},
            "vehicle is not in the production records: import them first",
            id="unknown-vehicle",
        ),
        pytest.param(
            {"vin": VIN_UNSOLD},
            "vehicle has no sale date: a claim on an unsold vehicle",
            id="unsold-vehicle",
        ),
        pytest.param({"vin": _wrong_check_digit(VIN_A)}, INVALID_VIN, id="vin-check-digit"),
        pytest.param({"vin": "NOT-A-VIN"}, INVALID_VIN, id="vin-malformed"),
        pytest.param(
            {"currency": "USD"},
            "cost in USD, this lake's claims are in EUR: convert it first (costs are summed)",
            id="other-currency",
        ),
        pytest.param(
            {"currency": ""},
            "cost in no currency, this lake's claims are in EUR: convert it first "
            "(costs are summed)",
            id="no-currency",
        ),
        pytest.param(
            {"repair_date": "15/04/2024"},
            "repair_date '15/04/2024' is not an ISO 8601 date",
            id="repair-date-not-iso",
        ),
    ],
)
def test_a_bad_claim_is_quarantined_with_its_reason(
    lake: Lake, tmp_path: Path, bad: dict[str, str], reason: str
) -> None:
    # another part than the good row's, so the only problem of the bad row is ``bad``
    rows = [claim_row("WC-GOOD"), claim_row("WC-BAD", part_number="IGN-C-331") | bad]
    result = import_claims(lake, claims_csv(tmp_path / "claims.csv", rows))
    assert result.rows == 1
    assert [(where, why) for where, why, _ in result.rejects] == [("claims.csv:3", reason)]
    assert result.rejects[0][2].startswith("WC-BAD,")  # the raw line, to fix and re-import
    assert set(claims(lake)) == {"WC-GOOD"}
    assert quarantined(lake) == [("claims.csv:3", reason)]
    target = lake.read("quarantine", columns=["target_table"])["target_table"].to_pylist()
    assert target == ["warranty_claims"]


def test_a_claim_id_given_twice_with_other_content_keeps_the_first(
    lake: Lake, tmp_path: Path
) -> None:
    rows = [claim_row("WC-1"), claim_row("WC-1", cost="500.00")]
    result = import_claims(lake, claims_csv(tmp_path / "claims.csv", rows))
    assert result.rows == 1
    assert quarantined(lake) == [
        ("claims.csv:3", "claim id WC-1 is given twice with different content")
    ]
    assert claims(lake)["WC-1"]["cost"] == 462.45


def test_a_claim_given_twice_identically_is_stored_once(lake: Lake, tmp_path: Path) -> None:
    rows = [claim_row("WC-1"), claim_row("WC-2", VIN_B), claim_row("WC-1")]
    result = import_claims(lake, claims_csv(tmp_path / "claims.csv", rows))
    assert (result.rows, result.rejects) == (2, [])
    assert lake.read("warranty_claims").num_rows == 2
    assert not lake.exists("quarantine")


def test_the_same_repair_under_two_claim_ids_in_one_file(lake: Lake, tmp_path: Path) -> None:
    rows = [
        claim_row("WC-1"),
        claim_row("WC-2", cost="470.00", claim_date="2024-04-25"),  # same vehicle/day/labour/part
        claim_row("WC-3", part_number="IGN-C-331"),  # another part that day: its own repair
        claim_row("WC-4", VIN_B),  # another vehicle
        claim_row("WC-5", repair_date="2024-04-16"),  # another day
    ]
    result = import_claims(lake, claims_csv(tmp_path / "claims.csv", rows))
    assert result.rows == 4
    assert quarantined(lake) == [
        ("claims.csv:3", "duplicate of claim WC-1: same vehicle, day, labour and part")
    ]
    assert set(claims(lake)) == {"WC-1", "WC-3", "WC-4", "WC-5"}


def test_the_same_repair_under_two_claim_ids_across_imports(lake: Lake, tmp_path: Path) -> None:
    import_claims(lake, claims_csv(tmp_path / "monday.csv", [claim_row("WC-1")]))
    result = import_claims(
        lake,
        claims_csv(
            tmp_path / "tuesday.csv",
            [claim_row("WC-1"), claim_row("WC-9", cost="470.00"), claim_row("WC-2", VIN_B)],
        ),
    )
    assert result.rows == 2  # WC-1 again (merged) and WC-2
    assert quarantined(lake) == [
        ("tuesday.csv:3", "duplicate of claim WC-1: same vehicle, day, labour and part")
    ]
    assert set(claims(lake)) == {"WC-1", "WC-2"}
    assert claims(lake)["WC-1"]["source"] == "tuesday.csv"  # merged on the claim id


def test_importing_a_claims_file_twice_stores_it_once(lake: Lake, tmp_path: Path) -> None:
    path = claims_csv(
        tmp_path / "claims.csv",
        [
            claim_row("WC-1"),
            claim_row("WC-2", VIN_B, repair_date="2024-05-02", claim_date="2024-05-03"),
            claim_row("WC-3", mileage_km="-1"),
            claim_row("WC-4"),  # WC-1's repair
        ],
    )
    first = import_claims(lake, path)
    after_first = sorted(claims(lake).items())
    second = import_claims(lake, path)
    assert first.rows == second.rows == 2
    assert sorted(claims(lake).items()) == after_first
    assert lake.read("warranty_claims").num_rows == 2
    # the second run quarantines its own bad rows again, and nothing more
    reasons = [
        ("claims.csv:4", "mileage_km is negative (-1)"),
        ("claims.csv:5", "duplicate of claim WC-1: same vehicle, day, labour and part"),
    ]
    assert quarantined(lake) == sorted(reasons * 2)
    runs = lake.read("quarantine", columns=["run_id"])["run_id"].to_pylist()
    assert len(set(runs)) == 2


def test_a_claims_file_without_the_optional_comment_column_is_read(
    lake: Lake, tmp_path: Path
) -> None:
    header = tuple(c for c in CLAIM_COLUMNS if c != "comment")
    path = _csv(tmp_path / "claims.csv", header, [claim_row("WC-1")])
    assert import_claims(lake, path).rows == 1
    assert claims(lake)["WC-1"]["comment"] is None


@pytest.mark.parametrize("column", ["cost", "claim_id", "currency"])
def test_a_claims_file_without_a_required_column_is_refused(
    lake: Lake, tmp_path: Path, column: str
) -> None:
    header = tuple(c for c in CLAIM_COLUMNS if c != column)
    path = _csv(tmp_path / "claims.csv", header, [claim_row("WC-1")])
    with pytest.raises(InputError, match=f"lacks column\\(s\\) {column} "):
        import_claims(lake, path)
    assert not lake.exists("warranty_claims")
    assert not lake.exists("quarantine")


def test_a_production_file_without_a_required_column_is_refused(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    header = tuple(c for c in PRODUCTION_COLUMNS if c not in ("build_date", "market"))
    path = _csv(tmp_path / "production.csv", header, [production_row(VIN_A)])
    with pytest.raises(InputError, match="lacks column\\(s\\) build_date, market"):
        import_production(lake, path)
    assert not lake.exists("vehicle_production")
    assert not lake.exists("quarantine")


def test_an_unreadable_path_is_refused(lake: Lake, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(InputError, match=r"cannot read .*nowhere\.csv"):
        import_claims(lake, missing)
    with pytest.raises(InputError, match="cannot read"):
        import_production(lake, tmp_path)  # a directory
    assert not lake.exists("warranty_claims")


def test_a_file_in_another_encoding_is_refused_with_input_error(lake: Lake, tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    claims_csv(path, [claim_row("WC-1", dealer="Talleres García Madrid")])
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        import_claims(lake, path)


# -- production -------------------------------------------------------------------------------


def test_production_rows_are_stored_under_the_pseudonym(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    rows = [production_row(VIN_A), production_row(VIN_UNSOLD, sale_date="", model_year="2026")]
    result = import_production(lake, production_csv(tmp_path / "production.csv", rows))
    assert (result.table, result.rows, result.rejects) == ("vehicle_production", 2, [])
    stored = {r["vehicle_id"]: r for r in lake.read("vehicle_production").to_pylist()}
    assert stored[KEY.vehicle_id(VIN_A)] == {
        "vehicle_id": KEY.vehicle_id(VIN_A),
        "brand": "Fiat",
        "model_id": "fiat-tipo",
        "model_year": 2024,
        "plant": "Cassino",
        "build_date": date(2024, 1, 10),
        "sale_date": date(2024, 3, 1),
        "market": "IT",
        "region": "eu",
        "source": "production.csv",
    }
    unsold = stored[KEY.vehicle_id(VIN_UNSOLD)]
    assert (unsold["sale_date"], unsold["model_year"]) == (None, 2026)  # build year + 2 is fine


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        pytest.param(
            {"build_date": "2024-03-01", "sale_date": "2024-02-01"},
            "sold on 2024-02-01, before it was built (2024-03-01)",
            id="sale-before-build",
        ),
        pytest.param(
            {"build_date": FUTURE, "sale_date": ""},
            f"build_date {FUTURE} is in the future",
            id="build-in-the-future",
        ),
        pytest.param(
            {"sale_date": FUTURE},
            f"sale_date {FUTURE} is in the future",
            id="sale-in-the-future",
        ),
        pytest.param(
            {"market": "Italy"},
            "market 'Italy' is not an ISO 3166-1 alpha-2 code like 'DE'",
            id="market-name",
        ),
        pytest.param(
            {"market": "it"},
            "market 'it' is not an ISO 3166-1 alpha-2 code like 'DE'",
            id="market-lower-case",
        ),
        pytest.param(
            {"model_year": "2027"},
            "model_year 2027 is impossible for a build in 2024",
            id="model-year-too-late",
        ),
        pytest.param(
            {"model_year": "1975"},
            "model_year 1975 is impossible for a build in 2024",
            id="model-year-too-early",
        ),
        pytest.param(
            {"model_year": "MY24"}, "model_year 'MY24' is not a year", id="model-year-not-a-year"
        ),
        pytest.param({"build_date": ""}, "build_date is missing", id="no-build-date"),
        pytest.param(
            {"region": "EU"}, "region 'EU' must be a lower-case code like 'eu'", id="bad-region"
        ),
        pytest.param({"plant": ""}, "plant is missing", id="no-plant"),
        pytest.param({"vin": _wrong_check_digit(VIN_B)}, INVALID_VIN, id="bad-vin"),
    ],
)
def test_a_bad_production_row_is_quarantined_with_its_reason(
    tmp_path: Path, bad: dict[str, str], reason: str
) -> None:
    lake = Lake(tmp_path / "lake")
    rows = [production_row(VIN_A), production_row(VIN_B) | bad]
    result = import_production(lake, production_csv(tmp_path / "production.csv", rows))
    assert result.rows == 1
    assert quarantined(lake) == [("production.csv:3", reason)]
    assert lake.read("vehicle_production")["vehicle_id"].to_pylist() == [KEY.vehicle_id(VIN_A)]


def test_a_vin_listed_twice_in_a_production_file_keeps_the_first(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    rows = [production_row(VIN_A), production_row(VIN_A.lower(), market="DE")]
    result = import_production(lake, production_csv(tmp_path / "production.csv", rows))
    assert result.rows == 1
    assert quarantined(lake) == [("production.csv:3", "the same VIN is listed twice in the file")]
    assert lake.read("vehicle_production")["market"].to_pylist() == ["IT"]


def test_importing_a_production_file_twice_stores_it_once(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    rows = [production_row(VIN_A), production_row(VIN_B), production_row(VIN_B, market="DE")]
    path = production_csv(tmp_path / "production.csv", rows)
    import_production(lake, path)
    before = sorted(lake.read("vehicle_production").to_pylist(), key=lambda r: r["vehicle_id"])
    import_production(lake, path)
    after = sorted(lake.read("vehicle_production").to_pylist(), key=lambda r: r["vehicle_id"])
    assert after == before and len(after) == 2
    assert (
        quarantined(lake) == [("production.csv:4", "the same VIN is listed twice in the file")] * 2
    )


# -- pseudonymity and audit -------------------------------------------------------------------


def _strings(table: pa.Table) -> list[str]:
    return [str(v) for column in table.columns for v in column.to_pylist() if v is not None]


def test_the_stored_tables_never_hold_a_vin(lake: Lake, tmp_path: Path) -> None:
    rows = [claim_row("WC-1", comment=f"VIN {VIN_A[:8]}"), claim_row("WC-2", VIN_B.lower())]
    import_claims(lake, claims_csv(tmp_path / "claims.csv", rows))
    vins = (VIN_A, VIN_B, VIN_UNSOLD)
    for name in ("vehicle_production", "warranty_claims"):
        cells = _strings(lake.read(name))
        assert cells, name
        assert not [c for c in cells for v in vins if v in c.upper()], name
        raw = b"".join(p.read_bytes() for p in lake.path(name).rglob("*.parquet"))
        assert not [v for v in vins if v.encode() in raw or v.lower().encode() in raw], name


def test_the_quarantine_never_holds_a_vin(lake: Lake, tmp_path: Path) -> None:
    import_claims(lake, claims_csv(tmp_path / "claims.csv", [claim_row("WC-1", mileage_km="-1")]))
    assert quarantined(lake) == [("claims.csv:2", "mileage_km is negative (-1)")]
    assert not [c for c in _strings(lake.read("quarantine")) if VIN_A in c.upper()]


def test_an_import_writes_one_ingest_entry_to_the_audit_log(tmp_path: Path) -> None:
    lake, audit = Lake(tmp_path / "lake"), AuditLog(tmp_path)
    production = production_csv(tmp_path / "production.csv", [production_row(VIN_A)])
    made, made_run = import_warranty_file(
        lake, audit, KEY, production, production=True, currency="EUR"
    )
    (entry,) = audit.entries()
    assert entry.kind == "ingest"
    assert entry.details == {
        "run_id": made_run,
        "source": "warranty-production:production.csv",
        "rows": 1,
        "rejected": 0,
        "tables": {"vehicle_production": made.stored_version, "quarantine": None},
    }
    path = claims_csv(tmp_path / "claims.csv", [claim_row("WC-1"), claim_row("WC-2", cost="-3")])
    result, run_id = import_warranty_file(lake, audit, KEY, path, production=False, currency="EUR")
    entries = audit.entries("ingest")
    assert len(audit.entries()) == len(entries) == 2 and run_id != made_run
    assert entries[1].details == {
        "run_id": run_id,
        "source": "warranty-claims:claims.csv",
        "rows": 1,
        "rejected": 1,
        "tables": {
            "warranty_claims": lake.version("warranty_claims"),
            "quarantine": lake.version("quarantine"),
        },
    }
    assert result.stored_version == lake.version("warranty_claims") is not None
    assert (entries[1].principal, entries[1].purpose) == ("warranty-claims:claims.csv", "warranty")
    runs = lake.read("quarantine", columns=["run_id", "source"]).to_pylist()
    assert runs == [{"run_id": run_id, "source": "warranty-claims:claims.csv"}]
    audit.verify()


# -- the simulator's exports ------------------------------------------------------------------


def test_the_simulators_dirty_export_quarantines_exactly_its_six_bad_rows(tmp_path: Path) -> None:
    history = generate_warranty(
        WarrantyConfig(per_model_month=20, models=("fiat-tipo",)), pseudonyms=KEY
    )
    n_claims = history.claims.height
    assert n_claims > 0
    lake, audit = Lake(tmp_path / "lake"), AuditLog(tmp_path)
    production = write_production_csv(history, tmp_path / "production.csv")
    made, _ = import_warranty_file(lake, audit, KEY, production, production=True, currency="EUR")
    assert (made.rows, made.rejects) == (history.production.height, [])
    path = write_claims_csv(history, tmp_path / "claims.csv", dirty=True)
    result, _ = import_warranty_file(lake, audit, KEY, path, production=False, currency="EUR")

    first = history.claims.row(0, named=True)
    sale = history.production.filter(history.production["vin"] == first["vin"])["sale_date"][0]
    expected = {
        "WC-BAD-1": f"repaired on {sale - timedelta(days=20)}, before the sale ({sale})",
        "WC-BAD-2": "mileage_km is negative (-1200.0)",
        "WC-BAD-3": "vehicle is not in the production records: import them first",
        "WC-BAD-4": f"duplicate of claim {first['claim_id']}: same vehicle, day, labour and part",
        "WC-BAD-5": "cost in USD, this lake's claims are in EUR: convert it first "
        "(costs are summed)",
        "WC-BAD-6": INVALID_VIN,
    }
    got = {raw.split(",", 1)[0]: (where, why) for where, why, raw in result.rejects}
    assert got == {
        claim: (f"claims.csv:{n_claims + 2 + i}", reason)
        for i, (claim, reason) in enumerate(expected.items())
    }
    assert len(quarantined(lake)) == 6
    stored = lake.read("warranty_claims", columns=["claim_id", "vehicle_id"])
    assert result.rows == stored.num_rows == n_claims
    assert sorted(zip(*stored.to_pydict().values(), strict=True)) == sorted(
        history.claims.select("claim_id", "vehicle_id").iter_rows()
    )


def test_a_multi_line_comment_does_not_shift_the_locations(lake: Lake, tmp_path: Path) -> None:
    good = claims_csv(tmp_path / "claims.csv", [claim_row("WC-1", comment='"coil\nreplaced"')])
    bad = ",".join(claim_row("WC-2", mileage_km="-1", part_number="P-2").values())
    good.write_text(good.read_text(encoding="utf-8") + bad + "\n", encoding="utf-8")
    result = import_claims(lake, good)
    assert claims(lake)["WC-1"]["comment"] == "coil\nreplaced"
    assert [where for where, _, _ in result.rejects] == ["claims.csv:4"]  # its physical line


def test_a_corrected_claim_replaces_the_stored_one_and_frees_its_old_repair(
    lake: Lake, tmp_path: Path
) -> None:
    import_claims(lake, claims_csv(tmp_path / "a.csv", [claim_row("WC-1")]))
    corrected = claim_row("WC-1", repair_date="2024-04-16", claim_date="2024-04-21")
    assert import_claims(lake, claims_csv(tmp_path / "b.csv", [corrected])).rejects == []
    assert claims(lake)["WC-1"]["repair_date"] == date(2024, 4, 16)
    # the repair WC-1 used to name (15 April) may now be claimed by another id
    again = import_claims(lake, claims_csv(tmp_path / "c.csv", [claim_row("WC-2")]))
    assert again.rejects == [] and set(claims(lake)) == {"WC-1", "WC-2"}


def test_the_quarantined_row_names_its_vehicle_by_pseudonym(lake: Lake, tmp_path: Path) -> None:
    result = import_claims(
        lake, claims_csv(tmp_path / "claims.csv", [claim_row("WC-1", mileage_km="-1")])
    )
    assert result.reject_vehicles == [KEY.vehicle_id(VIN_A)]
    stored = lake.read("quarantine").to_pylist()
    assert [r["vehicle_id"] for r in stored] == [KEY.vehicle_id(VIN_A)]
    assert KEY.vehicle_id(VIN_A) in stored[0]["record"]
