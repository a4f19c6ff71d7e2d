"""What the ``drivetrain warranty`` commands share: options, settings, the governed load."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from drivetrain.errors import InputError
from drivetrain.fleet import list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import principal_named
from drivetrain.lake import Lake
from drivetrain.settings import Settings
from drivetrain.state import migrate, session_scope
from drivetrain.warranty import WarrantyData, load_warranty_data

PURPOSE = "warranty"

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
AsPrincipal = Annotated[
    str, typer.Option("--as", help="Principal who reads (principals_file); purpose warranty.")
]
AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="Analysis date YYYY-MM-DD (default: the last claim filed)."),
]
Plot = Annotated[
    Path | None, typer.Option("--plot", help="Write the chart to this .png or .html file.")
]


def parse_day(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{what} {text!r} is not a date", hint="write it as YYYY-MM-DD") from None


def load_data(settings: Settings, principal: str) -> tuple[WarrantyData, AccessContext, AuditLog]:
    url = settings.resolved_state_url
    migrate(url)
    with session_scope(url) as session:
        fleet = list_vehicles(session)
    context = AccessContext(principal_named(settings.resolved_principals_file, principal), PURPOSE)
    audit = AuditLog(settings.data_dir)
    data = load_warranty_data(Lake(settings.lake_dir), context, fleet=fleet, audit=audit)
    return data, context, audit
