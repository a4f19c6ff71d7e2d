"""The claims-per-thousand table on a worked example computed by hand."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from drivetrain.errors import InputError
from drivetrain.warranty.claims_table import claims_per_thousand

VEHICLES = pl.DataFrame(
    {
        "vehicle_id": ["v1", "v2", "v3", "v4"],
        "build_month": ["2026-01", "2026-01", "2026-01", "2026-02"],
        "sale_date": [date(2026, 1, 10), date(2026, 1, 20), date(2026, 3, 5), date(2026, 4, 20)],
    }
)
CLAIMS = pl.DataFrame(
    {
        "vehicle_id": ["v1", "v1", "v3", "v2", "v9"],
        "claim_date": [
            date(2026, 1, 25),  # v1, day 15: month 1
            date(2026, 3, 15),  # v1, day 64: month 3
            date(2026, 4, 20),  # v3, day 46: month 2, which v3 has not completed yet
            date(2026, 1, 15),  # v2, before its sale: not counted
            date(2026, 2, 1),  # unknown vehicle: not counted
        ],
    }
)


def test_the_worked_example() -> None:
    # by 2026-05-01, v1 (111 days) and v2 (101 days) have completed 3 months, v3 (57 days) 1,
    # v4 (11 days) none: at risk 3, 2, 2 in months 1-3 of cohort 2026-01
    table = claims_per_thousand(CLAIMS, VEHICLES, date(2026, 5, 1), max_months=6)
    assert table.select("cohort", "mis", "at_risk", "claims").rows() == [
        ("2026-01", 1, 3, 1),
        ("2026-01", 2, 2, 0),
        ("2026-01", 3, 2, 1),
    ]
    assert table["per_thousand"].to_list() == pytest.approx([1000 / 3, 0.0, 500.0])
    assert table["cumulative_per_thousand"].to_list() == pytest.approx(
        [1000 / 3, 1000 / 3, 1000 / 3 + 500]
    )


def test_a_later_analysis_date_matures_the_younger_vehicles() -> None:
    table = claims_per_thousand(CLAIMS, VEHICLES, date(2026, 6, 1), max_months=6)
    month2 = table.filter((pl.col("cohort") == "2026-01") & (pl.col("mis") == 2))
    assert month2.select("at_risk", "claims").row(0) == (3, 1)  # v3's claim now counts
    assert "2026-02" in table["cohort"].to_list()  # v4 has completed its first month


def test_missing_columns_are_named() -> None:
    with pytest.raises(InputError, match="sale_date"):
        claims_per_thousand(CLAIMS, VEHICLES.drop("sale_date"), date(2026, 5, 1))
