"""Reports: HTML and PDF documents with charts, built from the same data the console shows.

Three reports, by name (:data:`REPORTS`): ``fleet-health-weekly``,
``quality-summary`` and ``warranty-alerts``. :func:`build_report` runs one as an
access context (principal and purpose) may read its data, records it with the
provenance API (kind ``report``) and renders it as a self-contained HTML page or
a PDF whose footer names the record; :func:`write_report` writes it atomically.
See docs/reports.md.
"""

from drivetrain.reports.files import output_path, write_report
from drivetrain.reports.models import (
    Figure,
    Paragraph,
    Report,
    ReportInputs,
    Section,
    Table,
)
from drivetrain.reports.registry import (
    FORMATS,
    MEDIA_TYPES,
    OUTPUT_KIND,
    REPORTS,
    BuiltReport,
    Format,
    ReportDefinition,
    build_report,
    check_format,
    render,
    report_definition,
    settings_inputs,
)

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "OUTPUT_KIND",
    "REPORTS",
    "BuiltReport",
    "Figure",
    "Format",
    "Paragraph",
    "Report",
    "ReportDefinition",
    "ReportInputs",
    "Section",
    "Table",
    "build_report",
    "check_format",
    "output_path",
    "render",
    "report_definition",
    "settings_inputs",
    "write_report",
]
