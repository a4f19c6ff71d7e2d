"""What a report is made of: sections of paragraphs, tables and figures, and where it came from.

A builder (one per report, see :mod:`drivetrain.reports.registry`) reads the
lake through an access context and returns a :class:`Report`; the renderers
(:mod:`drivetrain.reports.html`, :mod:`drivetrain.reports.pdf`) turn the same
model into an HTML page or a PDF, so both show the same numbers. Table cells
are text, formatted once by the builder; ``summary`` keeps the key numbers
unformatted for ``--json`` and for programs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from drivetrain.errors import InputError
from drivetrain.fleet import VehicleRecord
from drivetrain.governance.audit import AuditLog
from drivetrain.lake import Lake


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A paragraph of plain text."""

    text: str


@dataclass(frozen=True, slots=True)
class Table:
    """A table of text cells; ``numeric`` columns are right-aligned."""

    caption: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...] = ()

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.header):
                raise ValueError(
                    f"a row of {self.caption!r} has {len(row)} cells, not {len(self.header)}"
                )

    def is_numeric(self, column: int) -> bool:
        return column < len(self.numeric) and self.numeric[column]


@dataclass(frozen=True, slots=True)
class Figure:
    """A chart as a PNG image, with a caption and a text alternative."""

    caption: str
    png: bytes = field(repr=False)
    alt: str


Block = Paragraph | Table | Figure


@dataclass(frozen=True, slots=True)
class Section:
    """A heading and what goes under it."""

    heading: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class Report:
    """A built report: the document, who built it for what, and the data it was built from."""

    name: str
    title: str
    period: str  # as people read it, e.g. "2026-04-17 to 2026-04-23 (7 days)"
    principal: str
    purpose: str
    sections: tuple[Section, ...]
    inputs: dict[str, int]  # lake table → version read
    generated_at: datetime
    params: dict[str, Any] = field(default_factory=dict)  # what was asked (recorded)
    sources: tuple[str, ...] = ()  # outputs and records the report cites
    summary: dict[str, Any] = field(default_factory=dict)  # the key numbers, unformatted
    output_id: str | None = None  # its provenance record (``drivetrain explain``)

    def with_output(self, output_id: str) -> Report:
        return replace(self, output_id=output_id)

    def tables(self) -> list[Table]:
        """Every table of every section, in order."""
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]

    def table(self, caption_start: str) -> Table:
        """The first table whose caption starts with ``caption_start``."""
        for table in self.tables():
            if table.caption.startswith(caption_start):
                return table
        raise KeyError(caption_start)

    def figures(self) -> list[Figure]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Figure)]


@dataclass(frozen=True, slots=True)
class ReportInputs:
    """Where a builder reads from, and what the caller asked for.

    ``vehicles`` are the registered vehicles (the governed reads narrow them to
    what the principal may read); ``since``/``until`` are UTC days, inclusive.
    """

    lake: Lake
    audit: AuditLog
    vehicles: Sequence[VehicleRecord] = ()
    since: date | None = None
    until: date | None = None
    top: int = 20
    currency: str = "EUR"
    warranty_months: int = 36

    def __post_init__(self) -> None:
        if self.since is not None and self.until is not None and self.until < self.since:
            raise InputError(
                f"--until {self.until} is before --since {self.since}",
                hint="the period runs from --since to --until, both days included",
            )
        if self.top < 1:
            raise InputError(f"top must be 1 or more, not {self.top}")

    def window(self) -> tuple[datetime | None, datetime | None]:
        """``[since, until]`` as the half-open UTC interval ``[start, end)``."""
        start = (
            None if self.since is None else datetime.combine(self.since, datetime.min.time(), UTC)
        )
        end = None
        if self.until is not None:
            end = datetime.combine(self.until, datetime.min.time(), UTC) + timedelta(days=1)
        return start, end


def fmt_number(value: float | None, decimals: int = 2) -> str:
    """A number as the tables show it: thousands separated, ``—`` when there is none."""
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{decimals}f}" if math.isfinite(value) else "—"


def now_utc() -> datetime:
    """When a report is generated (seconds: the footer shows it)."""
    return datetime.now(UTC).replace(microsecond=0)
