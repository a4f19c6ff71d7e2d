"""Markdown and plain text: front matter, headings, fences, tables, exact positions."""

from __future__ import annotations

from drivetrain.copilot.text_formats import read_markdown, read_plain_text

HUGO = """---
title: "Brake Service"
date: 2024-03-01T10:00:00+01:00
weight: 3
brand: Fiat
vehicle_program: P-500e
labels: [service, Confidential]
---
Intro paragraph before any heading.

## Bleeding the brakes

Open the bleeder screw.
Close it again.

```yaml
# not a heading: a YAML comment inside a fence
key: value
```

### Torque values

| Part | Torque (N·m) |
|------|--------------|
| Caliper bolt | 28 |
| Bleeder screw | 7 |

Setext heading
==============

Last words.
"""


def test_hugo_front_matter_gives_metadata_and_is_not_text() -> None:
    doc = read_markdown(HUGO)
    assert doc.title == "Brake Service"
    assert doc.meta["brand"] == "Fiat"
    assert doc.meta["program"] == "P-500e"
    assert doc.meta["labels"] == ("service", "Confidential")
    assert str(doc.meta["date"]).startswith("2024-03-01T10:00:00")
    assert all("weight" not in b.text and "title:" not in b.text for b in doc.blocks)


def test_headings_fences_and_tables_become_blocks_under_their_path() -> None:
    doc = read_markdown(HUGO)
    by_text = {b.text.splitlines()[0]: b for b in doc.blocks}
    assert by_text["Intro paragraph before any heading."].heading_path == ()
    assert by_text["Open the bleeder screw."].heading_path == ("Bleeding the brakes",)
    fence = by_text["```yaml"]
    assert fence.kind == "code" and "# not a heading" in fence.text
    assert fence.heading_path == ("Bleeding the brakes",)
    table = next(b for b in doc.blocks if b.kind == "table")
    assert table.heading_path == ("Bleeding the brakes", "Torque values")
    assert [r.text for r in table.table_rows] == ["| Caliper bolt | 28 |", "| Bleeder screw | 7 |"]
    assert table.table_header[0] == "| Part | Torque (N·m) |"
    assert by_text["Last words."].heading_path == ("Setext heading",)


def test_block_positions_are_exact_slices_of_the_source() -> None:
    doc = read_markdown(HUGO)
    lines = HUGO.splitlines()
    for block in doc.blocks:
        s = block.span
        assert s.char_start is not None and s.char_end is not None
        assert HUGO[s.char_start : s.char_end] == block.text
        assert s.line_start is not None and s.line_end is not None
        assert "\n".join(lines[s.line_start - 1 : s.line_end]) == block.text
    for row in next(b for b in doc.blocks if b.kind == "table").table_rows:
        assert row.span.line_start is not None
        assert lines[row.span.line_start - 1] == row.text


def test_toml_front_matter_and_anchored_atx_headings() -> None:
    text = '+++\ntitle = "Spec"\nversion = "2.1"\n+++\n# Design # {#design}\n\nBody.\n'
    doc = read_markdown(text)
    assert doc.meta == {"title": "Spec", "version": "2.1"}
    assert doc.blocks[0].heading_path == ("Design",)


def test_kramdown_rfc_header_ends_at_the_first_part_marker() -> None:
    text = (
        "---\ntitle: Uptane-like\nnormative:\n  # a YAML comment\n  RFC2119:\n"
        "--- abstract\n\nShort abstract.\n\n--- middle\n\n# Introduction\n\nHello.\n"
    )
    doc = read_markdown(text)
    assert doc.title == "Uptane-like"
    assert [b.text for b in doc.blocks] == ["Short abstract.", "Hello."]
    assert doc.blocks[1].heading_path == ("Introduction",)


def test_invalid_front_matter_is_reported_not_fatal() -> None:
    doc = read_markdown("---\ntitle: [unclosed\n---\nText.\n")
    assert doc.warnings and "front matter ignored" in doc.warnings[0]
    assert [b.text for b in doc.blocks] == ["Text."]


def test_plain_text_numbered_headings_nest_by_their_number() -> None:
    text = (
        "The Update Framework Specification\n\nVersion 0.9\n\n1. Introduction\n\n"
        "1.1. Scope\n\n   This document describes a framework.\n\n2. System overview\n\n"
        "   Roles are listed below:\n\n2.1.4. Timestamp role\n\n   The timestamp role signs.\n"
    )
    doc = read_plain_text(text)
    assert doc.title == "The Update Framework Specification"
    assert doc.meta["version"] == "0.9"
    paths = {b.text.strip(): b.heading_path for b in doc.blocks}
    assert paths["This document describes a framework."] == ("1 Introduction", "1.1 Scope")
    assert paths["Roles are listed below:"] == ("2 System overview",)
    assert paths["The timestamp role signs."] == ("2 System overview", "2.1.4 Timestamp role")


def test_a_heading_written_with_a_no_break_space_is_a_heading() -> None:
    # the TUF specification writes "##\u00a0Update the snapshot role"
    doc = read_markdown("# Spec\n\n## Timestamp\n\nText one.\n\n##\u00a0Snapshot\n\nText two.\n")
    paths = {b.heading_path for b in doc.blocks}
    assert ("Spec", "Snapshot") in paths and ("Spec", "Timestamp") in paths


def test_a_table_without_outer_pipes_is_a_table() -> None:
    # as the VSS documentation writes its datatype tables
    text = (
        "# Types\n\nName | Datatype | Min\n-----|----------|----\nuint8 | unsigned 8 bit | 0\n"
        "int8 | signed 8 bit | -128\n\nAfter the table.\n"
    )
    doc = read_markdown(text)
    tables = [b for b in doc.blocks if b.kind == "table"]
    assert len(tables) == 1 and "int8 | signed 8 bit | -128" in tables[0].text
    assert any(b.kind == "text" and b.text.startswith("After the table") for b in doc.blocks)
    prose = read_markdown("# T\n\nA sentence with a | pipe.\n\nAnother one.\n")
    assert not [b for b in prose.blocks if b.kind == "table"]
