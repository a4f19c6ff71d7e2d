"""The reports by name, and building one: read, record its provenance, render.

:func:`build_report` is what the CLI (``drivetrain report build NAME``) and the
API (``GET /api/v1/reports/NAME``) both call: the report's builder reads the
lake as the access context may (a refusal raises ``PolicyDenied`` before
anything is rendered), the report is recorded with the provenance API (kind
``report``: the tables and versions it read, the outputs it cites, who asked
and why), and the record's id is printed in the report's footer, so
``drivetrain explain <id>`` tells a reader where the numbers came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from importlib.metadata import version as package_version
from typing import Literal

from drivetrain.errors import InputError, NotFound
from drivetrain.fleet import list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import record_output
from drivetrain.lake import Lake
from drivetrain.reports import fleet_health, quality_summary, warranty_alerts
from drivetrain.reports.html import render_html
from drivetrain.reports.models import Report, ReportInputs
from drivetrain.reports.pdf import render_pdf
from drivetrain.settings import Settings
from drivetrain.state import migrate, session_scope

Format = Literal["html", "pdf"]
FORMATS: tuple[Format, ...] = ("html", "pdf")
MEDIA_TYPES: dict[Format, str] = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
OUTPUT_KIND = "report"
Builder = Callable[[ReportInputs, AccessContext], Report]


@dataclass(frozen=True, slots=True)
class ReportDefinition:
    """A report people can ask for by name."""

    name: str
    title: str
    description: str
    purpose: str  # what its reads are for
    principal: str  # who builds it on the command line unless --as names another
    period: str  # what --since/--until mean for it
    builder: Builder


REPORTS: dict[str, ReportDefinition] = {
    d.name: d
    for d in (
        ReportDefinition(
            fleet_health.NAME,
            "Fleet health — weekly",
            "Vehicles scanned and needing attention, the most urgent, health distribution, "
            "findings by kind and vehicles by market.",
            fleet_health.PURPOSE,
            fleet_health.PRINCIPAL,
            "the last 7 days of telemetry; --since/--until pick other days",
            fleet_health.fleet_health_weekly,
        ),
        ReportDefinition(
            quality_summary.NAME,
            "Manufacturing quality — summary",
            "Capability (Cp, Cpk, Pp, Ppk) per characteristic, control-chart signals, the "
            "defect Pareto and supplier PPM.",
            quality_summary.PURPOSE,
            quality_summary.PRINCIPAL,
            "every measurement and inspection; --since/--until narrow them",
            quality_summary.quality_summary,
        ),
        ReportDefinition(
            warranty_alerts.NAME,
            "Warranty — early-warning alerts",
            "Emerging field issues with their evidence and claims per thousand by month in "
            "service of the flagged components.",
            warranty_alerts.PURPOSE,
            warranty_alerts.PRINCIPAL,
            "claims up to --until (default: the last claim filed); no --since",
            warranty_alerts.warranty_alerts_report,
        ),
    )
}


def report_definition(name: str) -> ReportDefinition:
    """The report ``name``; NotFound lists the known ones."""
    if name not in REPORTS:
        raise NotFound(
            f"no report named {name!r}",
            hint=f"reports: {', '.join(REPORTS)} ('drivetrain report list')",
        )
    return REPORTS[name]


def check_format(fmt: str) -> Format:
    """``fmt`` if it is one of :data:`FORMATS`, else an InputError."""
    for known in FORMATS:
        if fmt == known:
            return known
    raise InputError(f"unknown report format {fmt!r}", hint="html or pdf")


@dataclass(frozen=True, slots=True)
class BuiltReport:
    """A report, rendered: the document's bytes, its media type and a file name for it."""

    report: Report
    format: Format
    content: bytes

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]

    @property
    def filename(self) -> str:
        stamp = self.report.generated_at.strftime("%Y%m%dT%H%M%SZ")
        return f"{self.report.name}-{stamp}.{self.format}"


def record_report(audit: AuditLog, report: Report, fmt: Format) -> Report:
    """Record ``report`` with the provenance API; the report with its output id."""
    output_id = record_output(
        audit,
        kind=OUTPUT_KIND,
        model=f"drivetrain.reports ({report.name})",
        version=package_version("drivetrain"),
        params={"report": report.name, "format": fmt, "period": report.period, **report.params},
        inputs=report.inputs,
        sources=list(report.sources),
        principal=report.principal,
        purpose=report.purpose,
    )
    return report.with_output(output_id)


def render(report: Report, fmt: Format) -> bytes:
    """The report as an HTML page or a PDF."""
    return render_html(report).encode("utf-8") if fmt == "html" else render_pdf(report)


def build_report(
    name: str, inputs: ReportInputs, context: AccessContext, *, fmt: str = "html"
) -> BuiltReport:
    """Build report ``name`` as ``context`` may read its data, record it, render it.

    Raises what the builder raises — ``NotFound`` when the report's data is not in
    the lake (its hint names the command that produces it), ``PolicyDenied`` when
    the principal may not read it for the report's purpose — before anything is
    recorded or rendered.
    """
    definition = report_definition(name)
    checked = check_format(fmt)
    if context.purpose != definition.purpose:
        raise InputError(
            f"report {name} reads for the purpose {definition.purpose}, not {context.purpose}"
        )
    report = record_report(inputs.audit, definition.builder(inputs, context), checked)
    return BuiltReport(report, checked, render(report, checked))


def settings_inputs(
    settings: Settings, *, since: date | None = None, until: date | None = None, top: int = 20
) -> ReportInputs:
    """Inputs over the settings' data directory: its lake, audit log and registered fleet."""
    url = settings.resolved_state_url
    migrate(url)
    with session_scope(url) as session:
        vehicles = list_vehicles(session)
    return ReportInputs(
        lake=Lake(settings.lake_dir),
        audit=AuditLog(settings.ensure_data_dir()),
        vehicles=vehicles,
        currency=settings.warranty_currency,
        warranty_months=settings.warranty_months,
        since=since,
        until=until,
        top=top,
    )
