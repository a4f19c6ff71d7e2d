"""drivetrain parts backtest / forecast / plan on a demand export, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
from typer.testing import CliRunner

from drivetrain.cli.main import app
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
