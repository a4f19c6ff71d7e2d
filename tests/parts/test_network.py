"""plan_network and forecast_network plan the lake's network as 'drivetrain parts' does."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from drivetrain.cli.main import app
from drivetrain.demo.governance_tour import DEMO_PRINCIPALS
from drivetrain.demo.parts_generator import PartsConfig
from drivetrain.demo.parts_tour import simulate_parts
from drivetrain.demo.warranty_generator import WarrantyConfig
from drivetrain.errors import NotFound
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import load_principals
from drivetrain.lake import Lake
from drivetrain.parts.data import PartsData, load_parts_data
from drivetrain.parts.network import forecast_network, plan_network


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PartsData]:
    data_dir = tmp_path_factory.mktemp("parts-network")
    (data_dir / "principals.toml").write_text(DEMO_PRINCIPALS, encoding="utf-8")
    lake, audit = Lake(data_dir / "lake"), AuditLog(data_dir)
    warranty = WarrantyConfig(per_model_month=20, models=("fiat-tipo",), as_of=date(2025, 6, 30))
    simulate_parts(lake, audit, warranty=warranty, config=PartsConfig(dealers_per_market=1))
    principal = load_principals(data_dir / "principals.toml")["parts"]
    return data_dir, load_parts_data(lake, AccessContext(principal, "parts_planning"))


def _cli(data_dir: Path, *args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), "parts", *args, "--json"])
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


@pytest.mark.parametrize("fleet", [False, True])
def test_the_plan_is_the_cli_plan(network: tuple[Path, PartsData], fleet: bool) -> None:
    data_dir, data = network
    made = plan_network(data, target=0.9, fleet=fleet)
    flags = ["--fleet"] if fleet else []
    cli = _cli(data_dir, "plan", "--as", "parts", "--service-level", "0.9", *flags)
    expected = pl.DataFrame(cli["plan"]).sort("unique_id")
    got = made.plan.sort("unique_id")
    assert got.height == expected.height == made.forecast.prepared.series["unique_id"].n_unique()
    assert got["unique_id"].to_list() == expected["unique_id"].to_list()
    assert got["model"].to_list() == expected["model"].to_list()
    for column in ("reorder_point", "order_up_to", "mean_per_period", "stock_value"):
        assert got[column].to_list() == pytest.approx(expected[column].to_list(), rel=1e-9)
    totals = made.totals()
    assert totals["series"] == got.height
    assert totals["stock_value"] == pytest.approx(dict(cli["totals"])["stock_value"])  # type: ignore[call-overload]
    assert all(m.endswith("+fleet") for m in got["model"]) is fleet
    assert (got["cycle_service"] >= 0.9).all()


def test_the_forecast_is_the_cli_forecast(network: tuple[Path, PartsData], tmp_path: Path) -> None:
    data_dir, data = network
    made = forecast_network(data, horizon=4, fleet=True)
    out = tmp_path / "forecast.csv"
    result = CliRunner().invoke(
        app,
        ["--data-dir", str(data_dir), "parts", "forecast", "--as", "parts", "--horizon", "4",
         "--fleet", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    expected = pl.read_csv(out, try_parse_dates=True).sort("unique_id", "ds")
    got = made.forecast.sort("unique_id", "ds")
    assert got.height == expected.height == 4 * made.prepared.series["unique_id"].n_unique()
    assert got["forecast"].to_list() == pytest.approx(expected["forecast"].to_list(), rel=1e-9)
    assert sum(made.classes.values()) == made.prepared.series["unique_id"].n_unique()


def test_fleet_needs_a_fleet_signal(network: tuple[Path, PartsData]) -> None:
    _, data = network
    without = PartsData(data.parts, data.locations, data.demand, None, data.versions)
    assert plan_network(without).plan.height > 0
    with pytest.raises(NotFound, match="no fleet signal"):
        plan_network(without, fleet=True)
