"""Read-only SQL over the lake."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivetrain.errors import InputError
from drivetrain.lake import Lake, query

from .helpers import telemetry


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    lake = Lake(tmp_path / "lake")
    lake.append("telemetry", telemetry(["a", "b"], [1.0, 3.0]))
    lake.append("telemetry", telemetry(["c"], [8.0]))
    return lake


def test_select_sees_current_version(lake: Lake) -> None:
    result = query(lake, "SELECT count(*) AS n, sum(value) AS s FROM telemetry")
    assert result.to_pylist() == [{"n": 3, "s": 12.0}]


def test_version_pin(lake: Lake) -> None:
    result = query(lake, "SELECT sum(value) AS s FROM telemetry", versions={"telemetry": 0})
    assert result.to_pylist() == [{"s": 4.0}]


def test_tables_without_data_are_empty_not_missing(lake: Lake) -> None:
    assert query(lake, "SELECT count(*) AS n FROM trips").to_pylist() == [{"n": 0}]


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM telemetry",
        "CREATE TABLE x AS SELECT 1",
        "SELECT 1; SELECT 2",
        "COPY (SELECT 1) TO 'out.csv'",
        "ATTACH 'other.db'",
        "SET enable_external_access = true",
    ],
)
def test_anything_but_a_query_is_refused(lake: Lake, sql: str) -> None:
    with pytest.raises(InputError):
        query(lake, sql)


def test_file_system_is_out_of_reach(lake: Lake, tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    with pytest.raises(InputError, match=r"disabled|Permission"):
        query(lake, f"SELECT * FROM read_csv('{secret}')")


def test_bad_sql_names_the_problem(lake: Lake) -> None:
    with pytest.raises(InputError, match=r"SELEC|syntax"):
        query(lake, "SELEC 1")
