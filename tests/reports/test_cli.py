"""``drivetrain report list`` and ``build`` through Typer's CliRunner, on a root like main's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from typer.testing import CliRunner, Result

from drivetrain.cli import report as report_cli
from drivetrain.errors import NotFound, PolicyDenied
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import explain
from drivetrain.reports import REPORTS
from drivetrain.settings import Settings, load_settings
from tests.reports.conftest import DemoData, files_under

runner = CliRunner()
root = typer.Typer()
root.add_typer(report_cli.app, name="report")


@root.callback()
def _main(ctx: typer.Context, data_dir: Annotated[Path, typer.Option("--data-dir")]) -> None:
    ctx.obj = load_settings(data_dir=data_dir)  # as drivetrain.cli.main's callback does


def run(settings: Settings, *args: str) -> Result:
    return runner.invoke(root, ["--data-dir", str(settings.data_dir), "report", *args])


def ok(result: Result) -> Any:
    assert result.exit_code == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


def test_list_names_every_report(empty_settings: Settings) -> None:
    listed = ok(run(empty_settings, "list", "--json"))
    assert [r["name"] for r in listed] == list(REPORTS)
    assert {r["name"]: r["purpose"] for r in listed} == {
        "fleet-health-weekly": "vehicle_health",
        "quality-summary": "manufacturing_quality",
        "warranty-alerts": "warranty",
    }
    table = run(empty_settings, "list")
    assert table.exit_code == 0 and "quality-summary" in table.stdout


def test_build_help_has_examples(empty_settings: Settings) -> None:
    result = run(empty_settings, "build", "--help")
    assert result.exit_code == 0
    assert "Example: drivetrain report build fleet-health-weekly" in result.stdout


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("fleet-health-weekly", "drivetrain demo"),
        ("quality-summary", "drivetrain quality simulate"),
        ("warranty-alerts", "drivetrain warranty import"),
    ],
)
def test_missing_data_is_a_clear_error_and_no_file(
    empty_settings: Settings, name: str, hint: str
) -> None:
    out = empty_settings.data_dir / "out"
    out.mkdir()
    result = run(empty_settings, "build", name, "--out", str(out / f"{name}.pdf"))
    assert result.exit_code == NotFound.exit_code, result.stdout
    assert "error:" in result.stderr and hint in result.stderr
    assert files_under(out) == []
    assert not (empty_settings.data_dir / "reports").exists()


@pytest.mark.slow
def test_build_writes_the_file_and_records_it(demo: DemoData, tmp_path: Path) -> None:
    target = tmp_path / "fleet.pdf"
    built = ok(
        run(
            demo.settings,
            "build",
            "fleet-health-weekly",
            "--out",
            str(target),
            "--top",
            "3",
            "--json",
        )
    )
    assert built["path"] == str(target) and built["format"] == "pdf"
    assert target.read_bytes().startswith(b"%PDF-") and target.stat().st_size == built["bytes"]
    assert len(built["summary"]["ranking"]) == 3
    record = explain(AuditLog(demo.settings.data_dir), built["output_id"])
    assert record.output_kind == "report" and record.principal == "fleet-health"
    assert record.inputs == built["inputs"] and record.params["format"] == "pdf"
    assert files_under(tmp_path) == [target]  # no temporary file left


@pytest.mark.slow
def test_build_into_the_data_dir_by_default(demo: DemoData) -> None:
    result = run(demo.settings, "build", "quality-summary", "--format", "html")
    assert result.exit_code == 0, result.stderr
    written = sorted((demo.settings.data_dir / "reports").glob("quality-summary-*.html"))
    assert written and "drivetrain explain out-" in result.stdout
    assert "<!DOCTYPE html>" in written[-1].read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_refused_principal_writes_nothing(demo: DemoData, tmp_path: Path) -> None:
    audit = AuditLog(demo.settings.data_dir)
    before = len(audit.entries(kind="ai_output"))
    for name in REPORTS:  # a parts planner may read none of these tables for their purposes
        refused = run(demo.settings, "build", name, "--as", "parts", "--out", str(tmp_path))
        assert refused.exit_code == PolicyDenied.exit_code, refused.stdout
        assert "error:" in refused.stderr and "parts" in refused.stderr
    assert files_under(tmp_path) == []
    assert len(audit.entries(kind="ai_output")) == before


def test_bad_arguments_are_refused_before_any_read(empty_settings: Settings) -> None:
    bad_day = run(empty_settings, "build", "fleet-health-weekly", "--since", "last week")
    assert bad_day.exit_code == 65 and "YYYY-MM-DD" in bad_day.stderr
    mismatch = run(
        empty_settings,
        "build",
        "quality-summary",
        "--format",
        "pdf",
        "--out",
        str(empty_settings.data_dir / "q.html"),
    )
    assert mismatch.exit_code == 65 and "ends in .html" in mismatch.stderr
    unknown = run(empty_settings, "build", "weekly")
    assert unknown.exit_code == NotFound.exit_code and "fleet-health-weekly" in unknown.stderr
    nobody = run(empty_settings, "build", "quality-summary", "--as", "nobody")
    assert nobody.exit_code == NotFound.exit_code and "no principal" in nobody.stderr
