"""Where the ``drivetrain parts`` commands get their demand: a CSV export, or the lake.

With ``--demand FILE`` a command reads a demand export (no lake, no principal:
the file is the caller's). Without it, the command reads the lake's parts
tables as the principal ``--as`` names, for the purpose ``parts_planning``;
superseded part numbers are merged along the parts master's chains, and lead
times and unit costs come from the master. Every run names its sources (the
file's SHA-256, or the lake tables and versions) in its provenance record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from drivetrain.cli.output import console, settings_of
from drivetrain.errors import InputError
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import principal_named
from drivetrain.governance.provenance import record_output
from drivetrain.lake import Lake
from drivetrain.parts.data import (
    PURPOSE,
    PartsData,
    demand_series,
    latest_vintage,
    load_parts_data,
    signal_series,
)
from drivetrain.parts.demand import Frequency, PreparedDemand, prepare_demand
from drivetrain.settings import Settings

Demand = Annotated[
    Path | None,
    typer.Option("--demand", help="Demand history CSV (see the group help); default: the lake."),
]
AsPrincipal = Annotated[
    str | None,
    typer.Option(
        "--as", help="Principal who reads the lake (principals_file), for parts_planning."
    ),
]


@dataclass(frozen=True, slots=True)
class DemandInput:
    """The prepared demand, its period kind, where it came from, and who read it."""

    prepared: PreparedDemand
    freq: Frequency
    sources: list[str]
    principal: str
    data: PartsData | None = None  # the lake's tables, when read from the lake

    def signal(self) -> pl.DataFrame:
        """The lake's fleet signal (``unique_id, ds, issued, expected, variance``)."""
        if self.data is None:
            raise InputError(
                "--fleet needs the lake's fleet signal",
                hint="drop --demand to read the lake (after 'drivetrain parts simulate')",
            )
        return signal_series(self.data)

    def latest_signal(self) -> pl.DataFrame:
        """The newest vintage issued by the end of the history (what a planner has today)."""
        return latest_vintage(self.signal(), self.prepared.series.select(pl.col("ds").max()).item())


def read_csv(path: Path, returns_as_zero: bool) -> DemandInput:
    """A demand export (see the group help) as prepared demand."""
    if not path.is_file():
        raise InputError(f"no demand file at {path}", hint="export the demand history as CSV")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        raw = pl.read_csv(path, infer_schema_length=10_000)
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not a readable CSV: {exc}") from exc
    names = set(raw.columns)
    if "unique_id" not in names and {"part_number", "location_id"} <= names:
        raw = raw.with_columns(
            (
                pl.col("part_number").cast(pl.String) + "@" + pl.col("location_id").cast(pl.String)
            ).alias("unique_id")
        )
    raw = raw.rename({k: v for k, v in (("month", "ds"), ("quantity", "y")) if k in names})
    if "ds" not in raw.columns:
        raise InputError(f"{path} has no ds (or month) column", hint="see drivetrain parts --help")
    freq: Frequency = 1 if raw.schema["ds"].is_integer() else "MS"
    if freq == "MS":
        raw = raw.with_columns(pl.col("ds").cast(pl.String).str.to_date(strict=False))
    prepared = prepare_demand(raw, freq=freq, negative="zero" if returns_as_zero else "error")
    return DemandInput(prepared, freq, [f"{path.name} sha256:{digest}"], "cli")


def read_lake(settings: Settings, principal: str | None, returns_as_zero: bool) -> DemandInput:
    """The lake's demand as ``principal`` may read it for parts planning."""
    if principal is None:
        raise InputError(
            "reading the lake needs a principal",
            hint="pass --as NAME (a parts planner of the principals file), or --demand FILE",
        )
    who = principal_named(settings.resolved_principals_file, principal)
    context = AccessContext(who, PURPOSE)
    data = load_parts_data(Lake(settings.lake_dir), context, audit=AuditLog(settings.data_dir))
    prepared = demand_series(data, negative="zero" if returns_as_zero else "error")
    return DemandInput(prepared, "MS", data.sources(), principal, data)


def read_demand(
    ctx: typer.Context, demand: Path | None, principal: str | None, returns_as_zero: bool
) -> DemandInput:
    if demand is not None:
        return read_csv(demand, returns_as_zero)
    return read_lake(settings_of(ctx), principal, returns_as_zero)


def record(ctx: typer.Context, kind: str, params: dict[str, Any], source: DemandInput) -> str:
    """Record a forecast, backtest or plan for ``drivetrain explain``; returns its id."""
    return record_output(
        AuditLog(settings_of(ctx).ensure_data_dir()),
        kind=kind,
        model="drivetrain.parts (statsforecast models by demand class)",
        version=package_version("drivetrain"),
        params=params,
        inputs={},
        sources=source.sources,
        principal=source.principal,
        purpose=PURPOSE,
    )


def report(source: DemandInput) -> None:
    for line in source.prepared.report.lines():
        console.print(f"[dim]{line}[/]")
