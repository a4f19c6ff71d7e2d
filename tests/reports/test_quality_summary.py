"""quality-summary: the capability, signals, Pareto and PPM the quality commands compute."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from drivetrain.demo.quality_tour import phase1_capability
from drivetrain.errors import PolicyDenied
from drivetrain.governance.audit import AuditLog
from drivetrain.lake import Lake
from drivetrain.quality.charts import control_chart, signals_of
from drivetrain.quality.data import PURPOSE, PlantData, load_plant_data, measurement_subgroups
from drivetrain.quality.defects import pareto, supplier_ppm
from drivetrain.reports import build_report, settings_inputs
from drivetrain.reports.quality_summary import NAME
from tests.reports.conftest import DemoData, context_of
from tests.reports.test_fleet_health import pdf_text

pytestmark = pytest.mark.slow


def _plant(demo: DemoData, **window: datetime) -> PlantData:
    context = context_of(demo.settings, "quality", PURPOSE)
    return load_plant_data(Lake(demo.settings.lake_dir), context, **window)


def _two(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def test_capability_is_the_capability_commands(demo: DemoData) -> None:
    report = demo.built(NAME, "html").report
    # what 'drivetrain quality capability' computes with no --until
    reference = phase1_capability(_plant(demo), datetime.max.replace(tzinfo=UTC))
    table = report.table("Process capability")
    assert [r[0] for r in table.rows] == reference["characteristic"].to_list()
    for row, ref in zip(table.rows, reference.iter_rows(named=True), strict=True):
        assert int(row[2]) == ref["n"]
        assert row[3] == ref["method"]
        assert row[4:8] == tuple(_two(ref[k]) for k in ("cp", "cpk", "pp", "ppk"))
    assert any(row[5] != "—" for row in table.rows)  # some Cpk is there to compare


def test_signals_are_each_characteristics_own_chart(demo: DemoData) -> None:
    report = demo.built(NAME, "html").report
    data = _plant(demo)
    grouped = measurement_subgroups(data.measurements, data.characteristics)
    expected = {}
    for cid, kind in data.characteristics.select("characteristic_id", "chart").iter_rows():
        one = grouped.filter(pl.col("characteristic_id") == cid)
        chart = control_chart(one, kind, by="characteristic_id", rules="western_electric")
        expected[cid] = signals_of(chart.points).height
    assert report.summary["signals"] == expected
    assert sum(expected.values()) > 0
    rows = {r[0]: int(r[3]) for r in report.table("Control-chart signals").rows}
    assert rows == expected
    worst = max(expected, key=lambda c: expected[c])
    assert report.figures()[0].caption == f"Control chart of {worst}"


def test_pareto_and_supplier_ppm(demo: DemoData) -> None:
    report = demo.built(NAME, "html").report
    data = _plant(demo)
    assert data.inspections is not None and data.lots is not None
    failed = data.inspections.filter(pl.col("result") == "fail")
    ranked = pareto(failed, "defect_code", weight="defects", missing="label")
    rows = report.table("Defects by code").rows
    assert [(r[0], int(r[2])) for r in rows] == list(
        ranked.select("defect_code", "defects").iter_rows()
    )
    assert report.summary["failed_inspections"] == failed.height
    ppm = supplier_ppm(data.lots, by=("supplier", "part_number"), lot="lot_id")
    supplier_rows = report.table("Supplier PPM").rows
    assert [(r[0], r[1], r[5]) for r in supplier_rows] == [
        (s, p, f"{v:,.0f}") for s, p, v in ppm.select("supplier", "part_number", "ppm").iter_rows()
    ]
    flagged = report.table("Lots above their p-chart limit").rows
    assert "LOT-TH-2402-B" in [r[0] for r in flagged]  # the simulator's bad thermostat lot
    assert len(report.figures()) == 2  # a control chart and the Pareto


def test_html_and_pdf_carry_the_tables(demo: DemoData) -> None:
    page = demo.built(NAME, "html").content.decode("utf-8")
    built = demo.built(NAME, "pdf")
    text = pdf_text(built.content)
    for row in built.report.table("Process capability").rows:
        assert row[0] in text and row[0] in page
        for cell in row[4:8]:
            assert cell in text
    assert "—" in text  # the missing indices print as a dash, not a blank or a box
    assert built.report.output_id is not None and built.report.output_id in text


def test_the_period_narrows_measurements_and_lots(demo: DemoData) -> None:
    inputs = settings_inputs(demo.settings, since=date(2024, 2, 1), until=date(2024, 2, 1))
    context = context_of(demo.settings, "quality", PURPOSE)
    report = build_report(NAME, inputs, context).report
    window = _plant(
        demo, start=datetime(2024, 2, 1, tzinfo=UTC), end=datetime(2024, 2, 2, tzinfo=UTC)
    )
    assert report.summary["measurements"] == window.measurements.height > 0
    assert report.period == "2024-02-01 to 2024-02-01"
    assert report.params["since"] == "2024-02-01"


def test_a_fleet_analyst_may_not_read_the_plant(demo: DemoData) -> None:
    audit = AuditLog(demo.settings.data_dir)
    before = len(audit.entries(kind="ai_output"))
    context = context_of(demo.settings, "analyst-peugeot", PURPOSE)
    with pytest.raises(PolicyDenied):
        build_report(NAME, settings_inputs(demo.settings), context)
    assert len(audit.entries(kind="ai_output")) == before
    assert len(audit.entries(kind="denial")) > 0
