"""Preparing demand: every irregularity is handled on purpose and counted."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from drivetrain.errors import InputError
from drivetrain.parts.demand import prepare_demand, resolve_supersession


def _frame(rows: list[tuple[str, object, float | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["unique_id", "ds", "y"], orient="row")


def test_gaps_unknowns_duplicates_and_short_series_are_counted() -> None:
    rows: list[tuple[str, object, float | None]] = [("A", t, 1.0) for t in range(14) if t not in (5, 7)]
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


def test_negative_demand_is_an_error_unless_counted_as_returns() -> None:
    frame = _frame([("A", t, -2.0 if t == 4 else 1.0) for t in range(12)])
    with pytest.raises(InputError, match=r"negative demand, e\.g\. A at 4"):
        prepare_demand(frame, freq=1)
    out = prepare_demand(frame, freq=1, negative="zero")
    assert out.series["y"][4] == 0.0 and out.report.negative_periods == 1
    assert "returns" in " ".join(out.report.lines())


def test_months_must_be_first_days_and_columns_present() -> None:
    months = [date(2024, m, 1) for m in range(1, 13)]
    ok = prepare_demand(_frame([("A", d, 1.0) for d in months if d.month != 6]))
    assert ok.series.height == 12 and ok.report.gaps_filled == 1
    with pytest.raises(InputError, match="first day"):
        prepare_demand(_frame([("A", date(2024, 1, 15), 1.0)]))
    with pytest.raises(InputError, match="lacks the column"):
        prepare_demand(pl.DataFrame({"unique_id": ["A"], "ds": [1]}), freq=1)


def test_supersession_chains_merge_into_the_newest_number_per_location() -> None:
    assert resolve_supersession({"B": "A", "C": "B", "D": None}) == {"A": "C", "B": "C"}
    with pytest.raises(InputError, match="cycle"):
        resolve_supersession({"A": "B", "B": "A"})
    with pytest.raises(InputError, match="superseded by both"):
        resolve_supersession({"B": "A", "C": "A"})
    rows: list[tuple[str, object, float | None]] = []
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


def test_carparts_prepares_with_its_unknowns_reported(carparts: pl.DataFrame) -> None:
    out = prepare_demand(carparts, freq=1)
    nulls = carparts.filter(pl.col("y").is_null()).height
    assert out.report.unknown_filled + out.report.unknown_trimmed == nulls
    assert out.series["unique_id"].n_unique() + len(out.report.too_short) == 2674
    assert out.series["y"].min() == 0.0 and out.series["y"].null_count() == 0
