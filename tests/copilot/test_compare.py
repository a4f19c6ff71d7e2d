"""compare_results on constructed result tables whose answers are known.

The fixtures in data/compare/ are small hand-written tables: a brake test (wide, a
numeric key, ``<m>_max`` limit columns), a battery cycling test (long format, ``;``
delimited, a ``unit`` column and ``lower_limit``/``upper_limit``) and an EMC scan with a
separate per-key limits table. Numbers are cross-checked against the raw CSV read with
the standard library.
"""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from drivetrain.copilot.compare import (
    Comparison,
    ComparisonError,
    DuplicateKeys,
    NoCommonKey,
    NonNumericMeasurement,
    UnitMismatch,
    compare_results,
)
from drivetrain.copilot.errors import CorruptDocument, EmptyDocument, UnsupportedFormat
from drivetrain.errors import InputError, NotFound

DATA = Path(__file__).parent / "data" / "compare"
BRAKE_A, BRAKE_B = DATA / "brake-2026-10.csv", DATA / "brake-2026-11.csv"
BRAKE_KEYS = ["speed_kmh", "surface"]


def _value(changes: pl.DataFrame, column: str, **key: object) -> dict[str, object]:
    rows = changes.filter(pl.col("column") == column, **key)
    assert rows.height == 1, rows
    return rows.row(0, named=True)


@pytest.fixture(scope="module")
def brake() -> Comparison:
    return compare_results(BRAKE_A, BRAKE_B, keys=BRAKE_KEYS)


def test_every_change_matches_the_raw_csv(brake: Comparison) -> None:
    def read(path: Path) -> dict[tuple[str, str], dict[str, str]]:
        with path.open(newline="") as f:
            return {(r["speed_kmh"], r["surface"]): r for r in csv.DictReader(f)}

    a, b = read(BRAKE_A), read(BRAKE_B)
    measured = ["stopping_distance_m", "mean_decel_ms2", "pad_temp_c"]
    assert brake.summary.measurements == tuple(measured)
    checked = 0
    for key in a.keys() & b.keys():
        for m in measured:
            va, vb = float(a[key][m]), float(b[key][m])
            row = _value(brake.changes, m, speed_kmh=int(key[0]), surface=key[1])
            assert row["abs_change"] == pytest.approx(vb - va)
            assert row["rel_change"] == pytest.approx((vb - va) / abs(va))
            assert row["change"] == ("unchanged" if va == vb else "changed")
            checked += 1
    assert checked == 4 * 3
    assert brake.changes.height == 6 * 3  # 4 matched rows, 1 added, 1 removed


def test_limits_from_max_columns_give_new_violations_and_fixes(brake: Comparison) -> None:
    new = _value(brake.changes, "stopping_distance_m", speed_kmh=100, surface="dry")
    assert (new["high_a"], new["high_b"], new["low_a"]) == (38.0, 38.0, None)
    assert (new["pass_a"], new["pass_b"], new["limit_status"]) == (True, False, "new_violation")
    fixed = _value(brake.changes, "stopping_distance_m", speed_kmh=100, surface="wet")
    assert fixed["limit_status"] == "fixed"
    assert _value(brake.changes, "pad_temp_c", speed_kmh=100, surface="dry")["limit_status"] is None
    counts = brake.summary.counts
    assert counts == {
        "rows_matched": 4,
        "rows_added": 1,
        "rows_removed": 1,
        "values_changed": 10,
        "new_violations": 1,
        "fixed": 1,
        "still_failing": 0,
    }
    assert "stopping_distance_m_max" not in brake.summary.measurements


def test_summary_cites_keys_values_and_both_files(brake: Comparison) -> None:
    sentences = brake.summary.sentences
    assert sentences[1] == (
        "stopping_distance_m at speed_kmh=100, surface=dry rose from 36.2 to 39.8 (+9.9 %) and "
        "now exceeds the limit 38 (B: brake-2026-11.csv row 3; A: brake-2026-10.csv row 3)."
    )
    assert "fell from 47.5 to 45.1 (-5.1 %) and is now within its limits" in sentences[2]
    text = brake.summary.text
    assert "Rows only in B (brake-2026-11.csv): speed_kmh=160, surface=dry (row 5)." in text
    assert "Rows only in A (brake-2026-10.csv): speed_kmh=130, surface=dry (row 5)." in text
    assert "Not compared: operator." in text
    assert brake.summary.not_compared == ("operator",)


def test_added_and_removed_rows_keep_their_row_numbers(brake: Comparison) -> None:
    added = _value(brake.changes, "pad_temp_c", speed_kmh=160, surface="dry")
    assert (added["change"], added["row_a"], added["row_b"], added["value_b"]) == (
        "added",
        None,
        5,
        510.0,
    )
    removed = _value(brake.changes, "pad_temp_c", speed_kmh=130, surface="dry")
    assert (removed["change"], removed["row_a"], removed["row_b"]) == ("removed", 5, None)
    assert isinstance(brake.changes.to_arrow(), pa.Table)


def test_long_format_with_units_and_generic_limits() -> None:
    result = compare_results(DATA / "battery-cycling-500.csv", DATA / "battery-cycling-1000.csv")
    assert result.summary.keys == ("cell_id", "measurement")  # detected; ";" sniffed
    assert result.summary.measurements == ("value",)
    violations = result.changes.filter(pl.col("limit_status") == "new_violation")
    assert sorted(violations["measurement"].to_list()) == ["capacity", "internal_resistance"]
    assert set(violations["cell_id"]) == {"C03"}
    text = result.summary.text
    assert (
        "internal_resistance at cell_id=C03 rose from 27.1 to 29.6 mOhm (+9.2 %) and now "
        "exceeds the limit 28" in text
    )
    assert (
        "capacity at cell_id=C03 fell from 4.52 to 4.31 Ah (-4.6 %) and now falls below the limit 4.4"
        in text
    )


def test_limits_table_per_key_overrides_and_flags_new_rows() -> None:
    result = compare_results(
        DATA / "emc-2026-q3.csv", DATA / "emc-2026-q4.csv", limits=DATA / "emc-limits.csv"
    )
    assert result.summary.keys == ("band", "detector")  # operator differs, so it is no key
    status = {
        (r["band"], r["detector"]): r["limit_status"]
        for r in result.changes.filter(pl.col("column") == "emission_dbuv").iter_rows(named=True)
    }
    assert status == {
        ("FM", "peak"): "new_violation",
        ("FM", "average"): "passing",
        ("AM", "peak"): "fixed",
        ("AM", "average"): "passing",
        ("DAB", "peak"): "passing",
        ("GNSS", "peak"): "new_violation",  # a new row over its limit
    }
    assert result.summary.counts["new_violations"] == 2
    assert result.summary.columns_added == ("comment",)
    assert "emission_dbuv at band=GNSS, detector=peak is 18.2, new in B and now exceeds" in (
        result.summary.text
    )


def test_given_limits_mapping_wins_over_columns_and_both_sides_use_it() -> None:
    result = compare_results(
        BRAKE_A, BRAKE_B, keys=BRAKE_KEYS, limits={"stopping_distance_m": (None, 40.0)}
    )
    row = _value(result.changes, "stopping_distance_m", speed_kmh=100, surface="dry")
    assert (row["high_a"], row["high_b"], row["limit_status"]) == (40.0, 40.0, "passing")
    wet = _value(result.changes, "stopping_distance_m", speed_kmh=100, surface="wet")
    assert wet["limit_status"] == "still_failing"
    assert "and still exceeds the limit 40" in result.summary.text


def test_in_memory_tables_tolerance_zero_base_and_removed_failures() -> None:
    a = pl.DataFrame(
        {"test": ["t1", "t2", "t3", "t4"], "v": [0.0, 10.0, 5.0, 99.0], "v_upper_limit": [50.0] * 4}
    )
    b = pa.table(
        {"test": ["t1", "t2", "t3"], "v": [1.0, 10.0 + 1e-12, 5.5], "v_upper_limit": [50.0] * 3}
    )
    result = compare_results(a, b, names=("old run", "new run"))
    rows = {r["test"]: r for r in result.changes.iter_rows(named=True)}
    assert rows["t1"]["rel_change"] is None and rows["t1"]["abs_change"] == 1.0  # a = 0
    assert rows["t2"]["change"] == "unchanged"  # within the default tolerance
    assert compare_results(a, b, tolerance=0.2).changes["change"].to_list()[2] == "unchanged"
    assert rows["t4"]["limit_status"] == "removed_failing"
    assert "v at test=t4 was 99, gone in B (it exceeds the limit 50 in A) (A: old run row 4)." in (
        result.summary.text
    )


def test_a_value_on_its_limit_passes() -> None:
    a = pl.DataFrame({"test": ["lo", "hi", "in"], "v": [1.0, 2.0, 1.5]})
    b = pl.DataFrame({"test": ["lo", "hi", "in"], "v": [0.999, 2.0, 1.0]})
    result = compare_results(a, b, limits={"v": (1.0, 2.0)})
    status = dict(zip(result.changes["test"], result.changes["limit_status"], strict=True))
    assert status == {"lo": "new_violation", "hi": "passing", "in": "passing"}
    assert "v at test=lo fell from 1 to 0.999 (-0.1 %) and now falls below the limit 1" in (
        result.summary.text
    )


def test_keys_typed_differently_still_match(tmp_path: Path) -> None:
    a = pl.DataFrame({"speed_kmh": [50, 100], "d": [9.8, 36.2]})
    b = pl.DataFrame({"speed_kmh": ["50", "100"], "d": [9.8, 39.8]})
    result = compare_results(a, b, keys=["speed_kmh"])
    assert result.summary.counts["rows_matched"] == 2
    parquet = tmp_path / "b.parquet"
    pl.DataFrame({"speed_kmh": [50, 100], "d": [9.8, 39.8]}).write_parquet(parquet)
    assert compare_results(a, parquet, keys=["speed_kmh"]).summary.counts["values_changed"] == 1


# -- bad input: each a clear InputError subclass with a hint ----------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_numeric_key_must_be_given_and_the_error_suggests_it() -> None:
    with pytest.raises(DuplicateKeys) as err:
        compare_results(BRAKE_A, BRAKE_B)
    assert "brake-2026-10.csv" in err.value.message
    assert err.value.hint == "pass keys=['speed_kmh', 'surface']"


def test_duplicate_given_keys_name_the_rows() -> None:
    with pytest.raises(DuplicateKeys) as err:
        compare_results(BRAKE_A, BRAKE_B, keys=["speed_kmh"])
    assert "speed_kmh=100 on rows 3, 4" in err.value.message


def test_no_common_key(tmp_path: Path) -> None:
    numbers = pl.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]})
    with pytest.raises(NoCommonKey, match="no text column"):
        compare_results(numbers, numbers)
    with pytest.raises(NoCommonKey, match="not all in both"):
        compare_results(BRAKE_A, BRAKE_B, keys=["vin"])
    a = pl.DataFrame({"test": ["t1"], "v": [1.0]})
    with pytest.raises(NoCommonKey, match="no row of B matches"):
        compare_results(a, pl.DataFrame({"test": ["t9"], "v": [1.0]}))


def test_non_numeric_measurement_names_the_cell(tmp_path: Path) -> None:
    bad = _write(tmp_path / "b.csv", BRAKE_B.read_text().replace("39.8", "n/a"))
    with pytest.raises(NonNumericMeasurement) as err:
        compare_results(BRAKE_A, bad, keys=BRAKE_KEYS)
    assert (
        "B: 'stopping_distance_m' in b.csv is not numeric (row 3 holds 'n/a')" in err.value.message
    )
    with pytest.raises(NonNumericMeasurement):
        compare_results(BRAKE_A, BRAKE_B, keys=BRAKE_KEYS, measurements=["operator"])


def test_units_must_agree(tmp_path: Path) -> None:
    a = DATA / "battery-cycling-500.csv"
    other = _write(
        tmp_path / "b.csv", a.read_text().replace("C02;capacity;4.66;Ah", "C02;capacity;4660;mAh")
    )
    with pytest.raises(UnitMismatch) as err:
        compare_results(a, other)
    assert "capacity" in err.value.message and "'Ah'" in err.value.message
    assert "'mAh' in b.csv row 4" in err.value.message
    no_unit = pl.read_csv(a, separator=";").drop("unit")
    with pytest.raises(UnitMismatch, match="only A gives a unit for 'value'"):
        compare_results(a, no_unit)


def test_empty_missing_unsupported_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(EmptyDocument, match="has no rows"):
        compare_results(_write(tmp_path / "head.csv", "a,b\n"), BRAKE_B)
    with pytest.raises(EmptyDocument):
        compare_results(BRAKE_A, _write(tmp_path / "zero.csv", ""))
    with pytest.raises(NotFound):
        compare_results(tmp_path / "nope.csv", BRAKE_B)
    with pytest.raises(UnsupportedFormat):
        compare_results(_write(tmp_path / "a.xlsx", "x"), BRAKE_B)
    with pytest.raises(CorruptDocument):
        compare_results(_write(tmp_path / "ragged.csv", "a,b\n1,2,3,4\n5\n"), BRAKE_B)
    with pytest.raises(CorruptDocument):
        compare_results(_write(tmp_path / "bad.parquet", "not parquet"), BRAKE_B)


def test_bad_limits(tmp_path: Path) -> None:
    with pytest.raises(ComparisonError, match="not compared"):
        compare_results(BRAKE_A, BRAKE_B, keys=BRAKE_KEYS, limits={"stoping_distance": (0, 1)})
    table = _write(tmp_path / "l.csv", "measurement,operator,high\npad_temp_c,jk,400\n")
    with pytest.raises(ComparisonError, match="the limits have columns"):
        compare_results(BRAKE_A, BRAKE_B, keys=BRAKE_KEYS, limits=table)
    twice = _write(tmp_path / "t.csv", "measurement,high\npad_temp_c,400\npad_temp_c,500\n")
    with pytest.raises(ComparisonError, match="several limits"):
        compare_results(BRAKE_A, BRAKE_B, keys=BRAKE_KEYS, limits=twice)


def test_every_error_is_an_input_error_with_a_hint() -> None:
    for call in (
        lambda: compare_results(BRAKE_A, BRAKE_B),
        lambda: compare_results(BRAKE_A, BRAKE_B, keys=["vin"]),
        lambda: compare_results(BRAKE_A, BRAKE_B, keys=BRAKE_KEYS, measurements=["operator"]),
    ):
        with pytest.raises(InputError) as err:
            call()
        assert err.value.hint
