"""warranty-alerts: the alerts 'drivetrain warranty alerts' raises, with their evidence."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from drivetrain.errors import InputError, PolicyDenied
from drivetrain.fleet import list_vehicles
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import explain
from drivetrain.lake import Lake
from drivetrain.reports import build_report, settings_inputs
from drivetrain.reports.warranty_alerts import NAME, PURPOSE, claim_curves
from drivetrain.state import session_scope
from drivetrain.warranty import (
    DetectorConfig,
    latest_claim_date,
    load_warranty_data,
    warranty_alerts,
)
from tests.reports.conftest import DemoData, context_of
from tests.reports.test_fleet_health import pdf_text

pytestmark = pytest.mark.slow


def test_alerts_are_the_detectors(demo: DemoData) -> None:
    report = demo.built(NAME, "html").report
    settings = demo.settings
    context = context_of(settings, "warranty", PURPOSE)
    with session_scope(settings.resolved_state_url) as session:
        fleet = list_vehicles(session)
    data = load_warranty_data(Lake(settings.lake_dir), context, fleet=fleet)
    as_of = latest_claim_date(data)
    alerts = warranty_alerts(
        data, context, as_of, config=DetectorConfig(max_months=settings.warranty_months)
    )
    assert alerts, "the simulated supplier defect raises an alert"
    assert report.summary["as_of"] == as_of.isoformat()
    rows = report.table("Early-warning alerts").rows
    assert [(r[1], r[2], r[3], int(r[5].replace(",", ""))) for r in rows] == [
        (a.issue.causal_part, a.issue.model_id, a.issue.region, a.claims) for a in alerts
    ]
    assert [r[6] for r in rows] == [f"{a.claims_per_thousand:.1f}" for a in alerts]
    assert [r[7] for r in rows] == [f"{a.expected_per_thousand:.1f}" for a in alerts]
    assert rows[0][1] == "thermostat" and rows[0][2] == "fiat-tipo"  # the injected defect
    assert len(report.figures()) == min(len(alerts), 5)


def test_each_alert_is_recorded_and_cited(demo: DemoData) -> None:
    report = demo.built(NAME, "html").report
    audit = AuditLog(demo.settings.data_dir)
    ids = [a["output_id"] for a in report.summary["alerts"]]
    assert ids and all(i.startswith("out-") for i in ids)
    assert list(report.sources) == [f"warranty_alert {i}" for i in ids]
    for output_id in ids:
        assert explain(audit, output_id).output_kind == "warranty_alert"
    page = demo.built(NAME, "html").content.decode("utf-8")
    assert all(f"drivetrain explain {i}" in page for i in ids)


def test_claim_curves_are_claims_per_thousand_of_the_flagged_part(demo: DemoData) -> None:
    report = demo.built(NAME, "html").report
    context = context_of(demo.settings, "warranty", PURPOSE)
    data = load_warranty_data(Lake(demo.settings.lake_dir), context)
    as_of = date.fromisoformat(report.summary["as_of"])
    first = report.summary["alerts"][0]
    assert first["component"] == "thermostat"
    alert = warranty_alerts(data, context, as_of)[0]
    curves = claim_curves(data, alert, as_of)
    highlighted = curves.filter(pl.col("cohort").is_in(list(alert.issue.build_months)))
    others = curves.filter(~pl.col("cohort").is_in(list(alert.issue.build_months)))
    # the flagged build months' curves end far above the others'
    assert (
        highlighted["cumulative_per_thousand"].max() > 5 * others["cumulative_per_thousand"].max()
    )


def test_the_pdf_has_the_evidence(demo: DemoData) -> None:
    built = demo.built(NAME, "pdf")
    text = pdf_text(built.content)
    for alert in built.report.summary["alerts"]:
        assert alert["component"] in text
        assert f"{alert['claims_per_thousand']:.1f}" in text
        for comment in alert["comments"][:1]:
            assert comment["claim_id"] in text
    assert "×" in text  # the rate ratio's sign, in the embedded DejaVu font


def test_since_is_refused_and_until_is_the_analysis_date(demo: DemoData) -> None:
    context = context_of(demo.settings, "warranty", PURPOSE)
    with pytest.raises(InputError, match="no --since"):
        build_report(NAME, settings_inputs(demo.settings, since=date(2024, 1, 1)), context)
    early = build_report(NAME, settings_inputs(demo.settings, until=date(2023, 3, 31)), context)
    assert early.report.summary["as_of"] == "2023-03-31"
    assert early.report.summary["alerts"] == []
    assert "No emerging field issue" in early.content.decode("utf-8")


def test_a_quality_engineer_may_not_read_claims(demo: DemoData) -> None:
    context = context_of(demo.settings, "quality", PURPOSE)
    with pytest.raises(PolicyDenied):
        build_report(NAME, settings_inputs(demo.settings), context)
