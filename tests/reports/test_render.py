"""The renderers and the file writes, on a small hand-made report (fast, no lake)."""

from __future__ import annotations

import io
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from drivetrain.errors import InputError, NotFound
from drivetrain.reports import (
    BuiltReport,
    Figure,
    Paragraph,
    Report,
    Section,
    Table,
    check_format,
    output_path,
    render,
    report_definition,
    write_report,
)
from drivetrain.reports.figures import bar_chart
from drivetrain.reports.html import png_size

UNICODE = "σ = 0.42 – Cpk ≥ 1.33, cost 1 234 € × 2, μm, ±3σ, naïve"


def sample() -> Report:
    png = bar_chart(["a", "b"], [3, 5], title="A chart", xlabel="kind", ylabel="count")
    return Report(
        name="sample",
        title="Sample — report",
        period="2026-04-01 to 2026-04-07 (7 days)",
        principal="tester",
        purpose="vehicle_health",
        sections=(
            Section("Overview", (Paragraph(UNICODE), Paragraph("<script>alert(1)</script>"))),
            Section(
                "Numbers",
                (
                    Figure("The chart", png, "Two bars: a 3, b 5"),
                    Table(
                        "A table", ("name", "value"), (("x", "1,234.5"), ("y", "—")), (False, True)
                    ),
                ),
            ),
        ),
        inputs={"telemetry": 3},
        generated_at=datetime(2026, 4, 8, 6, 0, tzinfo=UTC),
        output_id="out-" + "0" * 32,
    )


def test_html_is_self_contained_and_escaped() -> None:
    page = render(sample(), "html").decode("utf-8")
    assert UNICODE in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # no external asset
    assert "<link" not in page and "@import" not in page
    assert page.count("data:image/png;base64,") == 1
    assert "@media print" in page and "@page" in page
    assert "drivetrain explain out-" + "0" * 32 in page
    assert 'class="num">1,234.5</td>' in page
    assert "telemetry@v3" in page


def test_pdf_prints_non_ascii_and_the_output_id() -> None:
    content = render(sample(), "pdf")
    assert content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(p.extract_text() for p in reader.pages)
    for word in ("σ = 0.42", "–", "€", "×", "μm", "≥", "—", "naïve"):
        assert word in text, word
    assert text.count("out-" + "0" * 32) >= len(reader.pages) + 1  # each footer and the end
    assert "1,234.5" in text
    fonts = {
        str(f["/BaseFont"])
        for page in reader.pages
        for f in page["/Resources"]["/Font"].values()  # type: ignore[index, union-attr]
    }
    assert all("DejaVu" in f for f in fonts)
    assert sum(len(p.images) for p in reader.pages) == 1


def test_png_size_reads_the_header() -> None:
    png = bar_chart(["a"], [1], title="t", xlabel="x", ylabel="y")
    assert png_size(png) == (960, 480)
    with pytest.raises(ValueError, match="not a PNG"):
        png_size(b"GIF89a" + b"\0" * 30)


def test_output_path_takes_the_suffix_or_refuses(tmp_path: Path) -> None:
    default = tmp_path / "reports"
    assert output_path(None, None, default) == (None, "html")
    assert output_path(None, "pdf", default) == (None, "pdf")
    assert output_path(tmp_path / "r.pdf", None, default) == (tmp_path / "r.pdf", "pdf")
    assert output_path(tmp_path, "pdf", default) == (None, "pdf")  # a directory: named later
    with pytest.raises(InputError, match=r"ends in \.html but the format is pdf"):
        output_path(tmp_path / "r.html", "pdf", default)
    with pytest.raises(InputError, match="does not exist"):
        output_path(tmp_path / "missing" / "r.html", None, default)
    with pytest.raises(InputError, match="neither a directory"):
        output_path(tmp_path / "no-suffix", None, default)
    with pytest.raises(InputError, match="unknown report format"):
        check_format("docx")
    with pytest.raises(NotFound, match="no report named") as caught:
        report_definition("weekly")
    assert caught.value.hint is not None and "fleet-health-weekly" in caught.value.hint


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r.html"
    target.write_text("the old report")
    built = BuiltReport(sample(), "html", render(sample(), "html"))

    def broken(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_report(built, target)
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]
    assert target.read_text() == "the old report"
    monkeypatch.undo()
    write_report(built, target)
    assert target.read_bytes() == built.content
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert built.filename == "sample-20260408T060000Z.html"
