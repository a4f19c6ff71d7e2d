"""CSV/Parquet tables and chunking: header with every row group, no row ever split, caps."""

from __future__ import annotations

import csv
import io
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from drivetrain.copilot import CorruptDocument, EmptyDocument, chunk_document
from drivetrain.copilot.models import Block, ParsedDocument, Span
from drivetrain.copilot.table_reader import read_csv_table, read_parquet_table
from drivetrain.copilot.text_formats import read_markdown


def _results_csv(rows: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["test_id", "signal", "measured", "limit", "verdict", "note"])
    for i in range(rows):
        note = "long note, with a comma\nand a line break" if i == 7 else f"run {i}"
        verdict = "fail" if i % 5 == 0 else "pass"
        writer.writerow([f"T{i:03d}", "Vehicle.Speed", f"{i * 1.5:.1f}", "250", verdict, note])
    return out.getvalue()


def _md_rows(chunk_text: str) -> list[str]:
    return [ln for ln in chunk_text.splitlines() if ln.startswith("| T")]


def test_csv_chunks_repeat_the_header_and_cover_every_row_once() -> None:
    text = _results_csv(120)
    doc = read_csv_table(text)
    chunks = chunk_document("d", "Brake results", doc, max_words=60)
    assert len(chunks) > 3
    header = "| test_id | signal | measured | limit | verdict | note |"
    rows_seen: list[str] = []
    for chunk in chunks:
        lines = chunk.text.splitlines()
        assert lines[0] == header and re.fullmatch(r"\|(---\|)+", lines[1])
        assert all(ln.count(" | ") == 5 for ln in lines[2:])  # whole rows only
        assert chunk.words <= 60
        assert chunk.heading_path == ("Brake results",)
        rows_seen.extend(_md_rows(chunk.text))
    expected = [f"T{i:03d}" for i in range(120)]
    assert [r.split(" | ")[0][2:] for r in rows_seen] == expected


def test_csv_row_positions_match_the_file() -> None:
    text = _results_csv(10)
    doc = read_csv_table(text)
    rows = doc.blocks[0].table_rows
    parsed = list(csv.reader(io.StringIO(text)))
    for n, row in enumerate(rows, start=1):
        assert row.span.row_start == n
        s = row.span
        assert s.char_start is not None and s.char_end is not None
        record = next(csv.reader(io.StringIO(text[s.char_start : s.char_end])))
        assert record == parsed[n]
    multi = rows[7].span  # the note with a line break spans two lines
    assert multi.line_start is not None and multi.line_end == multi.line_start + 1


def test_a_row_longer_than_the_cap_is_kept_whole() -> None:
    long_note = " ".join(f"w{i}" for i in range(80))
    text = f"id,note\n1,short\n2,{long_note}\n3,short\n"
    chunks = chunk_document("d", "t", read_csv_table(text), max_words=30)
    holding = [c for c in chunks if "w79" in c.text]
    assert len(holding) == 1 and "w0 " in holding[0].text
    assert holding[0].text.splitlines()[0] == "| id | note |"


def test_parquet_table_rows_and_nulls() -> None:
    table = pa.table(
        {"test": ["a", "b", "c"], "value": [1.5, None, 3.0], "ok": [True, False, None]}
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    doc = read_parquet_table(buf.getvalue())
    block = doc.blocks[0]
    assert block.table_header[0] == "| test | value | ok |"
    assert [r.text for r in block.table_rows] == [
        "| a | 1.5 | True |",
        "| b |  | False |",
        "| c | 3.0 |  |",
    ]
    assert [r.span.row_start for r in block.table_rows] == [1, 2, 3]


def test_bad_tables_raise_input_errors() -> None:
    with pytest.raises(CorruptDocument, match="line 3 has 3 fields"):
        read_csv_table("a,b\n1,2\n1,2,3\n")
    with pytest.raises(EmptyDocument):
        read_csv_table("a,b\n")
    with pytest.raises(CorruptDocument):
        read_parquet_table(b"PAR1 not parquet at all")


def test_markdown_chunks_keep_headings_and_respect_the_cap() -> None:
    sentences = " ".join(f"Sentence number {i} talks about brake pads." for i in range(60))
    md = f"# Manual\n\n## Brakes\n\n{sentences}\n\n## Tyres\n\nShort.\n"
    doc = read_markdown(md)
    chunks = chunk_document("d", "Service manual", doc, max_words=50)
    brakes = [c for c in chunks if c.heading_path == ("Service manual", "Manual", "Brakes")]
    assert len(brakes) >= 7
    assert all(c.words <= 50 for c in chunks)
    assert all(c.text.rstrip().endswith(".") for c in brakes)  # cut at sentence ends
    # nothing lost, nothing repeated: the words of the chunks are the words of the body
    body_words = [*sentences.split(), "Short."]
    assert [w for c in chunks for w in c.text.split()] == body_words
    for c in chunks:  # character spans are exact for Markdown
        assert c.span.char_start is not None and c.span.char_end is not None
        assert md[c.span.char_start : c.span.char_end] == c.text
    assert chunks[-1].heading_path == ("Service manual", "Manual", "Tyres")


def test_title_is_not_repeated_when_it_is_the_top_heading() -> None:
    doc = read_markdown("# Service manual\n\n## Brakes\n\nText.\n")
    (chunk,) = chunk_document("d", "Service manual", doc)
    assert chunk.heading_path == ("Service manual", "Brakes")


def test_small_blocks_of_a_section_are_packed_and_sections_never_mixed() -> None:
    blocks = tuple(
        Block("text", f"para {i} of {sec}", (sec,), Span(line_start=i, line_end=i))
        for sec in ("A", "B")
        for i in range(1, 4)
    )
    chunks = chunk_document("d", "T", ParsedDocument("text", "T", blocks), max_words=100)
    assert [c.heading_path for c in chunks] == [("T", "A"), ("T", "B")]
    assert chunks[0].text == "para 1 of A\n\npara 2 of A\n\npara 3 of A"
    assert (chunks[0].span.line_start, chunks[0].span.line_end) == (1, 3)
    assert [c.chunk_id for c in chunks] == ["d-00000", "d-00001"]
