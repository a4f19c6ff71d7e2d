"""The CLI's output layer: rich tables for people, JSON for machines, errors without tracebacks."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any, ParamSpec, TypeVar

import pyarrow as pa
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from drivetrain.errors import DrivetrainError
from drivetrain.settings import Settings

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")


def settings_of(ctx: typer.Context) -> Settings:
    """The settings the root command built (``drivetrain --data-dir ...``)."""
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Print a DrivetrainError as 'error: …' plus its hint and exit with its code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DrivetrainError as exc:
            err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
            if exc.hint:
                err_console.print(f"[dim]hint:[/] {exc.hint}", highlight=False)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def print_json(data: Any) -> None:
    """Write ``data`` as JSON on standard output (no colour, no wrapping)."""
    sys.stdout.write(json.dumps(data, default=_jsonable, indent=2) + "\n")


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


def print_arrow(result: pa.Table, *, as_json: bool, max_rows: int = 50) -> None:
    """Show a query result: a table (first ``max_rows``) or JSON records."""
    if as_json:
        print_json(result.to_pylist())
        return
    shown = result.slice(0, max_rows)
    print_table(None, shown.column_names, (tuple(r.values()) for r in shown.to_pylist()))
    if result.num_rows > max_rows:
        console.print(f"[dim]… {result.num_rows - max_rows} more rows (use --json for all)[/]")


def progress_bar() -> Progress:
    """A progress bar on standard error, so --json output stays clean."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )
