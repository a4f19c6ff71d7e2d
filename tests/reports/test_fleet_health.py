"""fleet-health-weekly: its numbers are fleet_scan's over the same week, in HTML and PDF."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader

from drivetrain.errors import NotFound, PolicyDenied
from drivetrain.fleet import VehicleRecord, list_vehicles
from drivetrain.governance.audit import AuditLog
from drivetrain.health.scan import ScanReport, fleet_scan
from drivetrain.lake import Lake
from drivetrain.reports import build_report, settings_inputs
from drivetrain.reports.fleet_health import NAME, findings_by_kind
from drivetrain.state import session_scope
from tests.reports.conftest import DemoData, context_of

pytestmark = pytest.mark.slow


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _reference(demo: DemoData) -> tuple[ScanReport, list[VehicleRecord]]:
    """fleet_scan, run here on the last 7 days over the vehicles fleet-health may read."""
    settings = demo.settings
    lake = Lake(settings.lake_dir)
    days = lake.partitions("telemetry")
    with session_scope(settings.resolved_state_url) as session:
        fleet = list_vehicles(session)
    allowed = [v for v in fleet if v.region != "cn"]  # fleet-health is not scoped to cn
    context = context_of(settings, "fleet-health", "vehicle_health")
    scan = fleet_scan(lake, context, allowed, since=days[-1] - timedelta(days=6), until=days[-1])
    return scan, allowed


def test_ranking_and_counts_equal_the_fleet_scans(demo: DemoData) -> None:
    report = demo.built(NAME, "html").report
    scan, allowed = _reference(demo)
    ranking = scan.ranking
    assert ranking.height > 0
    table = report.table("Top ")
    assert [r[1] for r in table.rows] == ranking["vehicle_id"].head(20).to_list()
    assert [r[5] for r in table.rows] == [f"{h:.0f}" for h in ranking["health"].head(20)]
    assert [r[6] for r in table.rows] == [f"{a:.2f}" for a in ranking["attention"].head(20)]
    assert [int(r[7]) for r in table.rows] == ranking["findings"].head(20).to_list()
    summary = report.summary
    assert summary["vehicles_visible"] == len(allowed)
    assert summary["vehicles_scanned"] == scan.vehicles
    assert summary["needing_attention"] == ranking.height
    assert summary["anomalies"] == scan.detection.anomalies.height
    # every finding the ranking counts is in the by-kind chart, once
    assert sum(summary["findings_by_kind"].values()) == ranking["findings"].sum()
    assert dict(findings_by_kind(scan).iter_rows()) == summary["findings_by_kind"]
    assert sum(summary["health_bands"].values()) == scan.vehicles
    markets = report.table("Vehicles by market")
    assert sum(int(r[2]) for r in markets.rows) == len(allowed)
    assert sum(int(r[4]) for r in markets.rows) == ranking.height
    assert {r[0] for r in markets.rows} == {v.market for v in allowed}


def test_the_period_is_the_last_seven_days_of_telemetry(demo: DemoData) -> None:
    report = demo.built(NAME, "html").report
    last = Lake(demo.settings.lake_dir).partitions("telemetry")[-1]
    assert report.summary["until"] == last.isoformat()
    assert report.summary["since"] == (last - timedelta(days=6)).isoformat()
    assert report.period.endswith("(7 days)")
    assert len(report.figures()) == 2  # health distribution, findings by kind


def test_html_and_pdf_show_the_same_numbers(demo: DemoData) -> None:
    html = demo.built(NAME, "html")
    pdf = demo.built(NAME, "pdf")
    page = html.content.decode("utf-8")
    text = pdf_text(pdf.content)
    assert pdf.content.startswith(b"%PDF-")
    for row in pdf.report.table("Top ").rows:
        assert row[1] in page and row[1] in text
        assert f">{row[6]}<" in page and row[6] in text
    assert html.report.output_id in page
    assert pdf.report.output_id is not None
    assert text.count(pdf.report.output_id) >= len(PdfReader(io.BytesIO(pdf.content)).pages)
    assert page.count("data:image/png;base64,") == 2


def test_since_and_until_pick_the_days(demo: DemoData) -> None:
    days = Lake(demo.settings.lake_dir).partitions("telemetry")
    first, last = days[1], days[3]
    inputs = settings_inputs(demo.settings, since=first, until=last)
    context = context_of(demo.settings, "fleet-health", "vehicle_health")
    report = build_report(NAME, inputs, context).report
    assert report.period == f"{first} to {last} (3 days)"
    assert report.summary["days_with_data"] == 3
    later = settings_inputs(demo.settings, since=days[-1] + timedelta(days=30))
    with pytest.raises(NotFound, match="no telemetry between") as caught:
        build_report(NAME, later, context)
    assert caught.value.hint is not None and str(days[0]) in caught.value.hint


def test_a_brand_scoped_analyst_sees_only_its_brand(demo: DemoData) -> None:
    context = context_of(demo.settings, "analyst-peugeot", "vehicle_health")
    report = build_report(NAME, settings_inputs(demo.settings), context).report
    assert report.principal == "analyst-peugeot"
    assert {r[2] for r in report.table("Top ").rows} == {"Peugeot"}
    assert (
        report.summary["vehicles_visible"]
        < demo.built(NAME, "html").report.summary["vehicles_visible"]
    )


def test_a_principal_without_telemetry_access_is_refused(demo: DemoData) -> None:
    audit = AuditLog(demo.settings.data_dir)
    before = len(audit.entries(kind="ai_output"))
    context = context_of(demo.settings, "quality", "vehicle_health")
    with pytest.raises(PolicyDenied):
        build_report(NAME, settings_inputs(demo.settings), context)
    assert len(audit.entries(kind="ai_output")) == before  # no scan, no report recorded
    denial = audit.entries(kind="denial")[-1]
    assert (denial.principal, denial.details["table"]) == ("quality", "telemetry")
