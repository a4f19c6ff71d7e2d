"""CSV and Parquet test-result tables into one Markdown table block.

The block keeps every row with its position (CSV: its source lines; both: its
1-based data row), so the chunker can cut the table into row groups that each
repeat the header and never split a row.
"""

from __future__ import annotations

import csv
import io
import math

import pyarrow as pa
import pyarrow.parquet as pq

from drivetrain.copilot.errors import CorruptDocument, EmptyDocument
from drivetrain.copilot.models import Block, ParsedDocument, Span, TableRow


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return " ".join(str(value).split()).replace("|", "\\|")


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table_block(header: list[str], rows: list[TableRow], whole: Span) -> ParsedDocument:
    if not rows:
        raise EmptyDocument("the table has a header but no rows", hint="add rows or leave it out")
    head = (_line([_cell(h) for h in header]), "|" + "---|" * len(header))
    text = "\n".join([*head, *(r.text for r in rows)])
    block = Block("table", text, (), whole, head, tuple(rows))
    return ParsedDocument(format="table", title=None, blocks=(block,))


def read_csv_table(text: str) -> ParsedDocument:
    """A CSV file (delimiter sniffed among ``,;\\t|``) as one table block."""
    if not text.strip():
        raise EmptyDocument("the CSV file is empty", hint="check the export that produced it")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:8192], ",;\t|")
    except csv.Error:
        dialect = csv.excel
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
        width = len(header)
        rows: list[TableRow] = []
        last_line = reader.line_num
        for number, record in enumerate(reader, start=1):
            first, last_line = last_line + 1, reader.line_num
            if not any(c.strip() for c in record):
                continue
            if len(record) != width:
                raise CorruptDocument(
                    f"CSV line {first} has {len(record)} fields, the header has {width}",
                    hint="fix the quoting or the delimiter of that line",
                )
            span = Span(
                line_start=first,
                line_end=last_line,
                row_start=number,
                row_end=number,
                char_start=starts[first - 1],
                char_end=starts[min(last_line, len(starts) - 1)],
            )
            rows.append(TableRow(_line([_cell(c) for c in record]), span))
    except csv.Error as exc:
        raise CorruptDocument(
            f"the CSV cannot be parsed at line {reader.line_num}: {exc}",
            hint="check its quoting and encoding",
        ) from exc
    whole = Span(line_start=1, line_end=last_line, char_start=0, char_end=len(text))
    if rows:
        whole = Span(
            line_start=1,
            line_end=last_line,
            row_start=1,
            row_end=rows[-1].span.row_end,
            char_start=0,
            char_end=len(text),
        )
    return _table_block(header, rows, whole)


def read_parquet_table(data: bytes) -> ParsedDocument:
    """A Parquet file as one table block (rows located by their 1-based row number)."""
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        raise CorruptDocument(
            f"the Parquet file cannot be read ({exc})",
            hint="check that the file is complete and really Parquet",
        ) from exc
    header = table.column_names
    columns = [table.column(name).to_pylist() for name in header]
    rows = [
        TableRow(
            _line([_cell(col[i]) for col in columns]),
            Span(row_start=i + 1, row_end=i + 1),
        )
        for i in range(table.num_rows)
    ]
    return _table_block(header, rows, Span(row_start=1, row_end=max(table.num_rows, 1)))
