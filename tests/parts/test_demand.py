"""Preparing demand: every irregularity is handled on purpose and counted."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import numpy as np
import polars as pl
import pytest

from drivetrain.errors import InputError
from drivetrain.parts.demand import prepare_demand, resolve_supersession

Row = tuple[str, object, float | None]


def _frame(rows: list[Row]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["unique_id", "ds", "y"], orient="row")


def _series(out: pl.DataFrame, uid: str) -> dict[object, float]:
    return dict(out.filter(pl.col("unique_id") == uid).select("ds", "y").iter_rows())


def test_gaps_unknowns_duplicates_and_short_series_are_counted() -> None:
    rows: list[Row] = [("A", t, 1.0) for t in range(14) if t not in (5, 7)]
    rows += [("A", 3, 2.0), ("A", 7, None), ("A", 14, None), ("A", 9, None)]
    rows += [("B", 0, 1.0), ("B", 1, 0.0)]  # an unknown row beside a known one (A, 9) is ignored
    out = prepare_demand(_frame(rows), freq=1)
    a = out.series.filter(pl.col("unique_id") == "A").sort("ds")
    assert a["ds"].to_list() == list(range(14))  # the trailing unknown is dropped
    assert a["y"][5] == 0.0 and a["y"][3] == 3.0 and a["y"][7] == 0.0
    assert out.report.gaps_filled == 1 and out.report.unknown_filled == 1
    assert out.report.unknown_trimmed == 1 and out.report.too_short == ("B",)
    assert out.short["unique_id"].unique().to_list() == ["B"]
    text = " ".join(out.report.lines())
    assert "1 missing periods filled" in text and "too short to forecast: B" in text


def test_unknowns_at_both_ends_are_trimmed_and_inside_read_as_zero() -> None:
    rows: list[Row] = [("A", 0, None), ("A", 1, None)]  # the series starts at period 2
    rows += [("A", t, float(t)) for t in range(2, 16) if t not in (6, 9)]
    rows += [("A", 6, None), ("A", 9, None), ("A", 16, None), ("A", 17, None)]
    out = prepare_demand(_frame(rows), freq=1)
    expected = {t: (0.0 if t in (6, 9) else float(t)) for t in range(2, 16)}
    assert _series(out.series, "A") == expected
    assert out.report.unknown_filled == 2 and out.report.unknown_trimmed == 4
    assert out.report.gaps_filled == 0 and out.report.periods == 14
    assert "2 unknown quantities inside a series read as zero, 4 at a series' ends dropped" in (
        out.report.lines()
    )


def test_duplicate_rows_of_one_period_are_summed() -> None:
    rows: list[Row] = [("A", t, 1.0) for t in range(12)]
    rows += [("A", 4, 2.5), ("A", 4, 0.5), ("A", 11, 7.0)]
    out = prepare_demand(_frame(rows), freq=1)
    got = _series(out.series, "A")
    assert got[4] == 4.0 and got[11] == 8.0 and got[0] == 1.0
    assert out.series.height == 12  # one row per period, not per issue
    assert out.report.gaps_filled == 0


def test_negative_demand_is_an_error_unless_counted_as_returns() -> None:
    frame = _frame([("A", t, -2.0 if t == 4 else 1.0) for t in range(12)])
    with pytest.raises(InputError, match=r"negative demand, e\.g\. A at 4"):
        prepare_demand(frame, freq=1)
    out = prepare_demand(frame, freq=1, negative="zero")
    assert out.series["y"][4] == 0.0 and out.report.negative_periods == 1
    assert "returns" in " ".join(out.report.lines())


def test_the_negative_error_names_the_offending_series() -> None:
    rows: list[Row] = [(uid, t, 1.0) for uid in ("P1", "P2", "P3") for t in range(12)]
    rows.append(("P2", 12, -3.0))
    with pytest.raises(InputError, match=r"1 periods have negative demand, e\.g\. P2 at 12: -3"):
        prepare_demand(_frame(rows), freq=1)
    out = prepare_demand(_frame(rows), freq=1, negative="zero")
    assert _series(out.series, "P2")[12] == 0.0 and out.report.negative_periods == 1
    assert "1 negative periods (returns) counted as no demand" in out.report.lines()


def test_months_must_be_first_days_and_columns_present() -> None:
    months = [date(2024, m, 1) for m in range(1, 13)]
    ok = prepare_demand(_frame([("A", d, 1.0) for d in months if d.month != 6]))
    assert ok.series.height == 12 and ok.report.gaps_filled == 1
    with pytest.raises(InputError, match="first day"):
        prepare_demand(_frame([("A", date(2024, 1, 15), 1.0)]))
    with pytest.raises(InputError, match="lacks the column"):
        prepare_demand(pl.DataFrame({"unique_id": ["A"], "ds": [1]}), freq=1)


def test_monthly_gaps_are_filled_with_the_missing_months() -> None:
    # across a year end, with a two-month hole and a duplicate month
    months = [date(2023 + (m // 12), m % 12 + 1, 1) for m in range(6, 22)]  # Jul 2023 .. Oct 2024
    kept = [d for d in months if d not in (date(2023, 12, 1), date(2024, 1, 1))]
    rows: list[Row] = [("A", d, 2.0) for d in kept] + [("A", date(2024, 3, 1), 1.0)]
    out = prepare_demand(_frame(rows), freq="MS")
    got = _series(out.series, "A")
    assert list(got) == months
    assert got[date(2023, 12, 1)] == 0.0 and got[date(2024, 1, 1)] == 0.0
    assert got[date(2024, 3, 1)] == 3.0 and got[date(2024, 2, 1)] == 2.0
    assert out.report.gaps_filled == 2 and out.series["ds"].dtype == pl.Date
    with pytest.raises(InputError, match="first day of the month"):
        prepare_demand(_frame([*rows, ("A", date(2024, 11, 2), 1.0)]), freq="MS")


def test_missing_columns_are_named() -> None:
    with pytest.raises(InputError, match=r"lacks the column\(s\) y\b"):
        prepare_demand(pl.DataFrame({"unique_id": ["A"], "ds": [1]}), freq=1)
    with pytest.raises(InputError, match=r"lacks the column\(s\) ds, unique_id"):
        prepare_demand(pl.DataFrame({"part": ["A"], "y": [1.0]}), freq=1)


def test_series_below_min_periods_are_kept_apart_and_listed() -> None:
    rows: list[Row] = [("long", t, 1.0) for t in range(12)]
    rows += [("short", t, 1.0) for t in range(11)]
    rows += [("gappy", 0, 1.0), ("gappy", 11, 1.0)]  # 12 periods once its gap is filled
    out = prepare_demand(_frame(rows), freq=1)
    assert sorted(out.series["unique_id"].unique()) == ["gappy", "long"]
    assert out.short["unique_id"].unique().to_list() == ["short"]
    assert out.short.height == 11 and out.report.too_short == ("short",)
    assert out.report.series == 2
    relaxed = prepare_demand(_frame(rows), freq=1, min_periods=11)
    assert relaxed.report.too_short == () and relaxed.short.is_empty()
    with pytest.raises(InputError, match="min_periods"):
        prepare_demand(_frame(rows), freq=1, min_periods=1)


def test_against_a_plain_python_completion_of_random_messy_demand() -> None:
    rng = np.random.default_rng(21)
    rows: list[Row] = []
    for i in range(40):
        start, length = int(rng.integers(0, 10)), int(rng.integers(3, 30))
        for t in range(start, start + length):
            draw = rng.random()
            if draw < 0.15:
                continue  # a gap
            y: float | None = None if draw < 0.25 else float(rng.integers(-2, 6))
            rows.append((f"S{i:02d}", t, y))
            if rng.random() < 0.1:  # a second issue in the same period
                rows.append((f"S{i:02d}", t, float(rng.integers(0, 4))))
    # the reference: the rules of the module docstring, row by row
    known: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    nulls: dict[str, list[int]] = defaultdict(list)
    for uid, t, y in rows:
        assert isinstance(t, int)
        if y is None:
            nulls[uid].append(t)
        else:
            known[uid][t] += max(y, 0.0)
    expected: dict[str, dict[int, float]] = {}
    gaps = filled = trimmed = 0
    for uid in sorted({r[0] for r in rows}):
        if uid not in known:
            trimmed += len(nulls[uid])
            continue
        first, last = min(known[uid]), max(known[uid])
        expected[uid] = {t: known[uid].get(t, 0.0) for t in range(first, last + 1)}
        inside = {t for t in nulls[uid] if first <= t <= last and t not in known[uid]}
        filled += len(inside)
        trimmed += sum(1 for t in nulls[uid] if not first <= t <= last)
        gaps += sum(1 for t in expected[uid] if t not in known[uid] and t not in inside)
    negatives = sum(1 for r in rows if r[2] is not None and r[2] < 0)
    assert negatives > 0 and gaps > 0 and filled > 0 and trimmed > 0  # the draw exercises it all

    out = prepare_demand(_frame(rows), freq=1, negative="zero")
    both = pl.concat([out.series, out.short])
    got = {uid: _series(both, uid) for uid in both["unique_id"].unique()}
    assert got == expected
    short = tuple(sorted(uid for uid, s in expected.items() if len(s) < 12))
    assert out.report.too_short == short
    assert out.report.series == len(expected) - len(short)
    assert out.report.periods == sum(len(s) for s in expected.values())
    assert (out.report.gaps_filled, out.report.unknown_filled) == (gaps, filled)
    assert (out.report.unknown_trimmed, out.report.negative_periods) == (trimmed, negatives)


def test_supersession_chains_resolve_to_the_newest_number() -> None:
    assert resolve_supersession({"B": "A", "C": "B", "D": None}) == {"A": "C", "B": "C"}
    assert resolve_supersession({"C": "B", "B": "A", "E": ""}) == {"A": "C", "B": "C"}
    assert resolve_supersession({"X": None}) == {}
    with pytest.raises(InputError, match="cycle"):
        resolve_supersession({"A": "B", "B": "A"})
    with pytest.raises(InputError, match="cycle"):
        resolve_supersession({"B": "A", "C": "B", "A": "C"})
    with pytest.raises(InputError, match="A is superseded by both B and C"):
        resolve_supersession({"B": "A", "C": "A"})


def test_supersession_chains_merge_into_the_newest_number_per_location() -> None:
    assert resolve_supersession({"B": "A", "C": "B", "D": None}) == {"A": "C", "B": "C"}
    with pytest.raises(InputError, match="cycle"):
        resolve_supersession({"A": "B", "B": "A"})
    with pytest.raises(InputError, match="superseded by both"):
        resolve_supersession({"B": "A", "C": "A"})
    rows: list[Row] = []
    for t in range(12):
        rows.append(("A@d1" if t < 6 else "C@d1", t, 2.0))
        rows.append(("A@d2", t, 1.0))
        rows.append(("A", t, 1.0))
    rows.append(("C@d1", 5, 1.0))  # the new number already sold in the switch month
    out = prepare_demand(_frame(rows), freq=1, superseded={"A": "C", "B": "C"})
    assert sorted(out.series["unique_id"].unique()) == ["C", "C@d1", "C@d2"]
    d1 = out.series.filter(pl.col("unique_id") == "C@d1").sort("ds")["y"].to_list()
    assert d1 == [2.0] * 5 + [3.0] + [2.0] * 6
    assert out.report.superseded == {"A@d1": "C@d1", "A@d2": "C@d2", "A": "C"}


def test_a_three_part_chain_merges_per_location_and_keeps_others() -> None:
    mapping = resolve_supersession({"B": "A", "C": "B"})
    rows: list[Row] = []
    for t in range(12):
        part = "A" if t < 4 else ("B" if t < 8 else "C")
        rows.append((f"{part}@dealer1", t, float(t)))
        rows.append((part, t, 1.0))
        rows.append(("Z@dealer1", t, 5.0))  # not in the chain
    rows.append(("B@dealer1", 9, 100.0))  # an old number still issued late: summed in
    out = prepare_demand(_frame(rows), freq=1, superseded=mapping)
    assert sorted(out.series["unique_id"].unique()) == ["C", "C@dealer1", "Z@dealer1"]
    dealer = _series(out.series, "C@dealer1")
    assert dealer == {t: float(t) + (100.0 if t == 9 else 0.0) for t in range(12)}
    assert _series(out.series, "C") == dict.fromkeys(range(12), 1.0)
    assert _series(out.series, "Z@dealer1") == dict.fromkeys(range(12), 5.0)
    assert out.report.superseded == {
        "A@dealer1": "C@dealer1",
        "B@dealer1": "C@dealer1",
        "A": "C",
        "B": "C",
    }
    assert "4 series of superseded part numbers merged into their successor's" in out.report.lines()


def test_the_report_says_every_case() -> None:
    rows: list[Row] = [("A", t, 1.0) for t in range(14) if t != 3]  # a gap at 3
    rows += [("A", 5, -1.0), ("A", 14, None), ("A", 3, None), ("A", 4, None)]
    rows += [("OLD", t, 1.0) for t in range(12)] + [("tiny", 0, 1.0)]
    out = prepare_demand(_frame(rows), freq=1, negative="zero", superseded={"OLD": "NEW"})
    lines = out.report.lines()
    assert lines[0] == "2 series, 27 series-periods"  # the periods count the short one too
    assert "1 negative periods (returns) counted as no demand" in lines
    assert "1 unknown quantities inside a series read as zero, 1 at a series' ends dropped" in lines
    assert "1 series of superseded part numbers merged into their successor's" in lines
    assert "1 series too short to forecast: tiny" in lines
    assert len(lines) == 5  # no gap line: period 3 was unknown, not missing
    clean = prepare_demand(_frame([("A", t, 1.0) for t in range(12)]), freq=1).report.lines()
    assert clean == ["1 series, 12 series-periods"]


def test_the_list_of_short_series_is_cut_after_five() -> None:
    rows: list[Row] = [(f"S{i}", 0, 1.0) for i in range(7)]
    lines = prepare_demand(_frame(rows), freq=1).report.lines()
    assert "7 series too short to forecast: S0, S1, S2, S3, S4 ..." in lines


def test_carparts_prepares_with_its_unknowns_reported(carparts: pl.DataFrame) -> None:
    out = prepare_demand(carparts, freq=1)
    nulls = carparts.filter(pl.col("y").is_null()).height
    assert out.report.unknown_filled + out.report.unknown_trimmed == nulls
    assert out.series["unique_id"].n_unique() + len(out.report.too_short) == 2674
    assert out.series["y"].min() == 0.0 and out.series["y"].null_count() == 0
