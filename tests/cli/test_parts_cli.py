"""drivetrain parts backtest / forecast / plan on a demand export, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from drivetrain.cli.main import app
from drivetrain.demo.governance_tour import DEMO_PRINCIPALS
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import explain


def _export(path: Path, *, negative: bool = False) -> Path:
    """An ERP-style export: part_number, location_id, month, quantity; 12 series x 30 months."""
    rng = np.random.default_rng(9)
    rows = []
    for i in range(12):
        p = 0.9 if i < 3 else 0.3
        for t in range(30):
            q = int(rng.poisson(4) + 1) if rng.random() < p else 0
            rows.append((f"P{i:02d}", "D1", f"{2022 + t // 12}-{t % 12 + 1:02d}-01", q))
    if negative:
        rows[5] = (*rows[5][:3], -1)
    frame = pl.DataFrame(rows, schema=["part_number", "location_id", "month", "quantity"],
                         orient="row")  # fmt: skip
    frame.write_csv(path)
    return path


def run(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "data"), "parts", *args])
    return result.exit_code, result.stdout, result.stderr


def test_backtest_forecast_and_plan_are_recorded(tmp_path: Path) -> None:
    demand = str(_export(tmp_path / "demand.csv"))
    code, out, err = run(tmp_path, "backtest", "--demand", demand, "--horizon", "3",
                         "--windows", "2", "--json")  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    models = {r["model"] for r in result["scores"]}
    assert {"Zero", "IMAPA", "auto"} <= models
    assert all(r["series_origins"] == 24 for r in result["scores"])
    code, out, err = run(tmp_path, "forecast", "--demand", demand, "--horizon", "4", "--out",
                         str(tmp_path / "f.csv"), "--plot", str(tmp_path / "fan.png"),
                         "--series", "P00@D1")  # fmt: skip
    assert code == 0, err
    forecast = pl.read_csv(tmp_path / "f.csv")
    assert forecast.height == 12 * 4 and forecast["forecast"].min() >= 0
    assert (tmp_path / "fan.png").read_bytes()[:4] == b"\x89PNG"
    code, out, err = run(tmp_path, "plan", "--demand", demand, "--service-level", "0.9",
                         "--lead-time", "2", "--json")  # fmt: skip
    assert code == 0, err
    plan = json.loads(out)
    rows = pl.DataFrame(plan["plan"])
    assert rows.height == 12 and (rows["cycle_service"] >= 0.9).all()
    assert (rows["order_up_to"] >= rows["reorder_point"]).all()
    explained = explain(AuditLog(tmp_path / "data"), plan["output_id"])
    assert explained.output_kind == "parts_plan"
    code, out, err = run(tmp_path, "plan", "--demand", demand, "--plot", str(tmp_path / "t.png"),
                         "--series", "P03@D1")  # fmt: skip
    assert code == 0 and "how it was produced: drivetrain explain out-" in out
    assert (tmp_path / "t.png").is_file()


def test_bad_exports_say_what_to_do(tmp_path: Path) -> None:
    bad = str(_export(tmp_path / "bad.csv", negative=True))
    code, _, err = run(tmp_path, "forecast", "--demand", bad)
    assert code == 65 and "negative" in err and "--returns-as-zero" in err
    code, out, err = run(tmp_path, "forecast", "--demand", bad, "--returns-as-zero")
    assert code == 0 and "counted as no demand" in out
    code, _, err = run(tmp_path, "plan", "--demand", str(tmp_path / "missing.csv"))
    assert code == 65 and "no demand file" in err
    code, _, err = run(tmp_path, "forecast", "--demand", bad, "--returns-as-zero", "--plot",
                       str(tmp_path / "x.png"))  # fmt: skip
    assert code == 65 and "--series" in err


@pytest.mark.slow
def test_the_lake_path_simulate_then_backtest_forecast_and_plan_with_the_fleet(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "principals.toml").write_text(DEMO_PRINCIPALS)
    code, out, err = run(tmp_path, "simulate", "--per-model-month", "60", "--out",
                         str(tmp_path / "export"), "--json")  # fmt: skip
    assert code == 0, err
    stored = json.loads(out)
    assert stored["rows"]["parts"] == 37 and stored["rows"]["parts_fleet_signal"] > 0
    assert {"parts.csv", "locations.csv", "demand.csv"} <= {p.name for p in (tmp_path / "export").iterdir()}  # fmt: skip
    # the lake needs a principal who may plan parts
    code, _, err = run(tmp_path, "plan")
    assert code == 65 and "--as" in err
    code, _, err = run(tmp_path, "plan", "--as", "warranty")
    assert code != 0 and "parts_planning" in err
    code, out, err = run(tmp_path, "backtest", "--as", "parts", "--fleet", "--models",
                         "Naive,auto", "--horizon", "3", "--windows", "2", "--json")  # fmt: skip
    assert code == 0, err
    scores = {r["model"]: r for r in json.loads(out)["scores"]}
    assert set(scores) == {"Naive", "auto", "auto+fleet"}
    code, out, err = run(tmp_path, "plan", "--as", "parts", "--fleet", "--json")
    assert code == 0, err
    plan = pl.DataFrame(json.loads(out)["plan"])
    # lead times from the master: 45 days (the HV module) is 2 months, 5 days is 1
    lead = dict(plan.select(pl.col("unique_id").str.split("@").list.get(0), "lead_time").unique().iter_rows())  # fmt: skip
    assert lead["HVM-96S"] == 2 and lead["OF-1120"] == 1
    assert plan["model"].str.ends_with("+fleet").all()
    # the cabin filter chain is planned under its newest number only
    assert not plan["unique_id"].str.starts_with("CF-3000@").any()
    assert plan["unique_id"].str.starts_with("CF-3020@").any()
    explained = explain(AuditLog(data), json.loads(out)["output_id"])
    assert explained.principal == "parts"
    assert any(s.startswith("lake:parts_fleet_signal@v") for s in explained.sources)
    # importing the export back is the same data: nothing new, nothing refused
    export = tmp_path / "export"
    code, out, err = run(tmp_path, "import", "--parts", str(export / "parts.csv"), "--locations",
                         str(export / "locations.csv"), "--demand", str(export / "demand.csv"),
                         "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["rejects"] == []
    # --fleet on an export has no signal to use
    code, _, err = run(tmp_path, "forecast", "--demand", str(export / "demand.csv"), "--fleet")
    assert code == 65 and "fleet signal" in err
