"""HTML: heading paths (numbered xml2rfc headings too), skipped navigation, tables."""

from __future__ import annotations

import re
from pathlib import Path

from drivetrain.copilot.html_reader import read_html

PAGE = """<!DOCTYPE html>
<html><head><title>Service Bulletin 42</title>
<meta name="dct.issued" content="2024-05-06" />
<style>p { color: red; }</style><script>var x = "<p>not text</p>";</script></head>
<body>
<nav><a href="/">Home</a> navigation links</nav>
<ul class="toc"><li>1. Scope</li><li>2. Procedure</li></ul>
<h1 id="s1">1. Scope</h1>
<p>Applies to   vehicles built before
   2023.</p>
<h1 id="s2">2. Procedure</h1>
<h1 id="s21">2.1. Preparation</h1>
<ul><li>Disconnect the battery.</li><li>Wait &amp; check the voltage.</li></ul>
<table><tr><th>Step</th><th>Torque</th></tr>
<tr><td>Caliper</td><td>28 N&middot;m</td></tr>
<tr><td>Wheel | bolt</td><td>120 N&middot;m</td></tr></table>
<h2>Notes</h2><pre>  keep
  indentation</pre>
</body></html>
"""


def test_title_date_and_skipped_elements() -> None:
    doc = read_html(PAGE)
    assert doc.title == "Service Bulletin 42"
    assert doc.meta["date"] == "2024-05-06"
    text = "\n".join(b.text for b in doc.blocks)
    assert "navigation links" not in text
    assert "not text" not in text and "color" not in text
    assert "1. Scope\n" not in text  # the table of contents is skipped


def test_numbered_headings_nest_by_number_and_text_is_normalised() -> None:
    doc = read_html(PAGE)
    by_start = {b.text[:12]: b for b in doc.blocks}
    scope = by_start["Applies to v"]
    assert scope.text == "Applies to vehicles built before 2023."
    assert scope.heading_path == ("1. Scope",)
    battery = by_start["Disconnect t"]
    assert battery.heading_path == ("2. Procedure", "2.1. Preparation")
    assert by_start["Wait & check"].heading_path == ("2. Procedure", "2.1. Preparation")
    pre = next(b for b in doc.blocks if b.kind == "code")
    assert pre.text == "  keep\n  indentation"
    # an unnumbered h2 after numbered h1s of depth 2 goes under the closest depth-1 heading
    assert pre.heading_path == ("2. Procedure", "Notes")


def test_table_becomes_a_markdown_table_with_rows_located() -> None:
    doc = read_html(PAGE)
    table = next(b for b in doc.blocks if b.kind == "table")
    assert table.table_header[0] == "| Step | Torque |"
    assert [r.text for r in table.table_rows] == [
        "| Caliper | 28 N·m |",
        "| Wheel \\| bolt | 120 N·m |",
    ]
    lines = PAGE.splitlines()
    for row in table.table_rows:
        assert row.span.line_start is not None
        assert "<tr>" in lines[row.span.line_start - 1]


def test_block_positions_point_at_their_source_lines() -> None:
    doc = read_html(PAGE)
    lines = PAGE.splitlines()
    for block in doc.blocks:
        s = block.span
        assert s.line_start is not None and s.line_end is not None
        source = " ".join(lines[s.line_start - 1 : s.line_end])
        first_word = re.sub(r"[^\w]", " ", block.text).split()[0]
        assert first_word in source


def test_uptane_ieee_release_headings(corpus_dir: Path) -> None:
    html = (corpus_dir / "uptane/ieee-isto-6100.1.0.0.uptane-standard.html").read_text("ascii")
    doc = read_html(html)
    # the heading texts as they appear in the file, found independently with a regex
    numbered = re.findall(r'<a href="#rfc\.section\.([\d.]+)">[\d.]+</a> <a[^>]*>([^<]+)</a>', html)
    titles = {f"{num}. {text.strip()}" for num, text in numbered}
    paths = {p for b in doc.blocks for p in b.heading_path}
    assert "5.3.2. Director repository" in titles
    assert len(titles) > 60
    assert titles <= paths  # every numbered section heads some text (its own or a subsection's)
    director = [b for b in doc.blocks if b.heading_path[-1:] == ("5.3.2. Director repository",)]
    assert director and director[0].heading_path[:2] == (
        "5. Detailed design of Uptane",
        "5.3. Server / repository implementation requirements",
    )
    assert "Director repository instructs ECUs" in director[0].text
