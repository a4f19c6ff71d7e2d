"""chart_study and capability_study chart the plant as 'drivetrain quality' and the demo do."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from drivetrain.cli.main import app
from drivetrain.demo.governance_tour import DEMO_PRINCIPALS
from drivetrain.demo.plant_generator import PlantConfig
from drivetrain.demo.quality_tour import phase1_capability, simulate_plant
from drivetrain.demo.warranty_generator import WarrantyConfig, generate_warranty
from drivetrain.errors import InputError, NotFound
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import load_principals
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.lake import Lake
from drivetrain.quality.data import PlantData, load_plant_data
from drivetrain.quality.studies import capability_study, chart_study

CUTOFF = datetime(2024, 2, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PlantData]:
    data_dir = tmp_path_factory.mktemp("plant-studies")
    (data_dir / "principals.toml").write_text(DEMO_PRINCIPALS, encoding="utf-8")
    lake, audit = Lake(data_dir / "lake"), AuditLog(data_dir)
    keys = PseudonymKey.load_or_create(data_dir)
    history = generate_warranty(
        WarrantyConfig(per_model_month=20, models=("fiat-tipo",)), pseudonyms=keys
    )
    simulate_plant(lake, audit, keys, history.production, data_dir / "plant", PlantConfig())
    principal = load_principals(data_dir / "principals.toml")["quality"]
    return data_dir, load_plant_data(lake, AccessContext(principal, "manufacturing_quality"))


def _cli(data_dir: Path, *args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), "quality", *args, "--json"])
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_the_chart_is_the_cli_chart(plant: tuple[Path, PlantData]) -> None:
    data_dir, data = plant
    study = chart_study(data, "TH-OPEN", phase1_until=CUTOFF, rules="limits")
    cli = _cli(data_dir, "chart", "TH-OPEN", "--as", "quality", "--phase1-until",
               "2024-02-01T00:00:00Z", "--rules", "limits")  # fmt: skip
    assert study.chart == "xbar_r" and study.rules == ("nelson1",)
    assert study.parameters == pytest.approx(dict(cli["parameters"]))  # type: ignore[call-overload]
    expected = [(s["phase"], s["subgroup"], s["statistic"]) for s in cli["signals"]]  # type: ignore[attr-defined]
    got = list(study.signals.select("phase", "subgroup", "statistic").iter_rows())
    assert got == expected and any(phase == "II" for phase, _, _ in got)
    assert set(study.points["phase"]) == {"I", "II"}
    limits = study.limits()
    assert set(limits["statistic"]) == {"xbar", "r"}
    xbar = limits.filter(pl.col("statistic") == "xbar").row(0, named=True)
    assert xbar["center"] == pytest.approx(study.parameters["center"])
    assert xbar["lcl"] < xbar["center"] < xbar["ucl"]


def test_without_a_cutoff_every_subgroup_is_phase_one(plant: tuple[Path, PlantData]) -> None:
    _, data = plant
    study = chart_study(data, "LEAK")
    assert study.chart == "ewma" and set(study.points["phase"]) == {"I"}
    assert chart_study(data, "LEAK", chart="xbar_s").chart == "xbar_s"


def test_bad_requests_say_what_to_do(plant: tuple[Path, PlantData]) -> None:
    _, data = plant
    with pytest.raises(NotFound, match="known: "):
        chart_study(data, "NOPE")
    with pytest.raises(InputError, match="before"):
        chart_study(data, "TH-OPEN", phase1_until=datetime(2000, 1, 1, tzinfo=UTC))
    with pytest.raises(InputError, match="unknown chart"):
        chart_study(data, "TH-OPEN", chart="pie")


def test_the_capability_is_the_demo_and_cli_capability(plant: tuple[Path, PlantData]) -> None:
    data_dir, data = plant
    study = capability_study(data, CUTOFF)
    assert study.equals(phase1_capability(data, CUTOFF))
    cli = _cli(data_dir, "capability", "--as", "quality", "--until", "2024-02-01T00:00:00Z")
    rows = {r["characteristic"]: r for r in cli["capability"]}  # type: ignore[attr-defined]
    for row in study.iter_rows(named=True):
        assert row["cpk"] == pytest.approx(rows[row["characteristic"]]["cpk"])
    everything = capability_study(data)
    assert (everything["n"] > study["n"]).all()
