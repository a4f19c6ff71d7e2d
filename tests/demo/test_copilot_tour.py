"""The demo's copilot section: the project's own documentation indexed and asked."""

from __future__ import annotations

from pathlib import Path

from drivetrain.demo.copilot_tour import QUESTIONS, copilot_tour, demo_corpora
from drivetrain.demo.governance_tour import DEMO_PRINCIPALS
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import explain
from drivetrain.settings import load_settings

DOCS = Path(__file__).parents[2] / "docs"


def test_the_tour_answers_from_the_projects_docs_with_citations(tmp_path: Path) -> None:
    assert DOCS in demo_corpora()  # the checkout's docs are found from the package
    (tmp_path / "principals.toml").write_text(DEMO_PRINCIPALS)
    settings = load_settings(data_dir=tmp_path)
    tour = copilot_tour(settings, folders=[DOCS])
    assert tour.report is not None and not tour.report.failed
    assert tour.report.chunks_added >= 50
    battery = tour.answers[0]
    assert battery.question == QUESTIONS[0] and battery.found
    assert any(c.passage.source.endswith("health.md") for c in battery.citations)
    assert "state of charge" in battery.text.lower() or "counter" in battery.text.lower()
    for result in tour.answers:  # every answer is on record, found or not
        assert result.output_id is not None
        assert explain(AuditLog(tmp_path), result.output_id).principal == "engineer"
