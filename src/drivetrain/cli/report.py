"""``drivetrain report …`` — HTML and PDF reports with charts, built on demand.

Each report reads its data as a principal (``--as``; by default the report's
own, e.g. ``fleet-health``) for the report's purpose, every read audited; the
built report is recorded with its provenance and its footer names the record
(``drivetrain explain ID``). To build reports on a schedule, run ``drivetrain
report build`` from cron or a systemd timer (docs/reports.md).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from drivetrain.cli.output import console, handle_errors, print_json, settings_of
from drivetrain.errors import InputError
from drivetrain.governance.access import AccessContext
from drivetrain.governance.principals import principal_named
from drivetrain.reports import (
    REPORTS,
    build_report,
    output_path,
    report_definition,
    settings_inputs,
    write_report,
)
from drivetrain.reports.files import REPORTS_DIR

app = typer.Typer(help=__doc__, no_args_is_help=True)
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{option} {text!r} is not a date", hint="write it as YYYY-MM-DD"
        ) from None


@app.command("list")
@handle_errors
def list_command(as_json: AsJson = False) -> None:
    """The reports there are: name, what they show, who builds them for what, their period.

    Example: drivetrain report list
    """
    if as_json:
        print_json(
            [
                {
                    "name": d.name,
                    "title": d.title,
                    "description": d.description,
                    "principal": d.principal,
                    "purpose": d.purpose,
                    "period": d.period,
                }
                for d in REPORTS.values()
            ]
        )
        return
    for d in REPORTS.values():
        console.print(
            f"[bold]{d.name}[/] — {d.title}", highlight=False, overflow="ignore", crop=False
        )
        console.print(f"  {d.description}", highlight=False)
        console.print(
            f"  read as {d.principal} (--as) for {d.purpose}; period: {d.period}", highlight=False
        )
    console.print("[dim]build one with: drivetrain report build NAME [--format pdf][/]")


@app.command("build")
@handle_errors
def build_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help=f"One of {', '.join(REPORTS)}.")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="html or pdf (default: --out's suffix, else html)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help=f"File (or existing directory) to write; default <data-dir>/{REPORTS_DIR}/."
        ),
    ] = None,
    principal: Annotated[
        str | None,
        typer.Option("--as", help="Principal who reads the data (default: the report's own)."),
    ] = None,
    since: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (UTC), included.")] = None,
    top: Annotated[int, typer.Option(min=1, help="Vehicles in the ranking table.")] = 20,
    as_json: AsJson = False,
) -> None:
    """Build a report and write it atomically: the file is complete, or not there at all.

    A report whose data is missing, or that the principal may not read for its purpose,
    fails with what to do, and writes nothing.
    Example: drivetrain report build fleet-health-weekly --format pdf --out fleet.pdf
    Example: drivetrain report build quality-summary --as quality --since 2024-02-01
    Example: drivetrain report build warranty-alerts --until 2024-06-30 --out reports/
    """
    settings = settings_of(ctx)
    definition = report_definition(name)
    first, last = _day(since, "--since"), _day(until, "--until")
    path, checked = output_path(out, fmt, settings.data_dir / REPORTS_DIR)
    who = principal or definition.principal
    context = AccessContext(
        principal_named(settings.resolved_principals_file, who), definition.purpose
    )
    inputs = settings_inputs(settings, since=first, until=last, top=top)
    with console.status(f"building {name} as {who} for {definition.purpose} …"):
        built = build_report(name, inputs, context, fmt=checked)
    if path is None:
        folder = out if out is not None else settings.data_dir / REPORTS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / built.filename
    write_report(built, path)
    report = built.report
    if as_json:
        print_json(
            {
                "report": name,
                "format": checked,
                "path": str(path),
                "bytes": len(built.content),
                "output_id": report.output_id,
                "period": report.period,
                "principal": report.principal,
                "purpose": report.purpose,
                "inputs": report.inputs,
                "summary": report.summary,
            }
        )
        return
    console.print(
        f"{report.title}, {report.period}: written to [bold]{path}[/] ({len(built.content):,} bytes)",
        highlight=False,
    )
    console.print(f"[dim]how it was produced: drivetrain explain {report.output_id}[/]")
