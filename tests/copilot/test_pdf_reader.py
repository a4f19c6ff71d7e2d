"""PDF: text and outline headings, tables kept as rows, encrypted and corrupt files."""

from __future__ import annotations

from pathlib import Path

import pypdf
import pytest
from fpdf import FPDF

from drivetrain.copilot import CorruptDocument, EmptyDocument, EncryptedDocument
from drivetrain.copilot.pdf_reader import read_pdf
from drivetrain.errors import InputError

from .conftest import write_pdf

RESULTS = [
    ("Speed (km/h)", "Distance (m)", "Limit (m)"),
    ("50", "12.1", "14.0"),
    ("80", "27.9", "30.0"),
    ("100", "41.3", "40.0"),
]
SECTIONS = [
    (0, "Brake test report", "This report covers the brake fade test of the ACC function."),
    (1, "Results", "Stopping distances were measured at three speeds."),
    (0, "Conclusion", "The stopping distance at 100 km/h exceeds its limit."),
]


@pytest.fixture
def report_pdf(tmp_path: Path) -> Path:
    return write_pdf(
        tmp_path / "report.pdf",
        SECTIONS,
        table=RESULTS,
        table_after=1,
        title="ACC brake test",
        new_page_for=[2],
    )


def test_outline_gives_heading_paths_and_pages(report_pdf: Path) -> None:
    doc = read_pdf(report_pdf.read_bytes())
    assert doc.title == "ACC brake test"
    by_text = {b.text: b for b in doc.blocks if b.kind == "text"}
    intro = by_text[SECTIONS[0][2]]
    assert intro.heading_path == ("Brake test report",)
    assert (intro.span.page_start, intro.span.page_end) == (1, 1)
    assert by_text[SECTIONS[1][2]].heading_path == ("Brake test report", "Results")
    last = by_text[SECTIONS[2][2]]
    assert last.heading_path == ("Conclusion",)
    assert last.span.page_start == 2
    # the heading lines themselves are not repeated as text
    assert "Results" not in by_text


def test_table_rows_stay_rows_and_keep_their_cells(report_pdf: Path) -> None:
    doc = read_pdf(report_pdf.read_bytes())
    table = next(b for b in doc.blocks if b.kind == "table")
    assert table.heading_path == ("Brake test report", "Results")
    assert table.table_header[0] == "| " + " | ".join(RESULTS[0]) + " |"
    assert [r.text for r in table.table_rows] == ["| " + " | ".join(r) + " |" for r in RESULTS[1:]]


def test_character_offsets_point_into_the_extracted_text(report_pdf: Path) -> None:
    data = report_pdf.read_bytes()
    reader = pypdf.PdfReader(report_pdf)
    extracted = "\f".join(p.extract_text(extraction_mode="layout") for p in reader.pages)
    for block in read_pdf(data).blocks:
        s = block.span
        assert s.char_start is not None and s.char_end is not None
        words = extracted[s.char_start : s.char_end].split()
        assert words[0] in block.text and words[-1] in block.text


def test_pdf_without_outline_still_reads_by_page(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(0, 6, "Page one text.", new_x="LMARGIN", new_y="NEXT")
    pdf.add_page()
    pdf.multi_cell(0, 6, "Page two text.")
    doc = read_pdf(bytes(pdf.output()))
    assert [(b.text, b.span.page_start, b.heading_path) for b in doc.blocks] == [
        ("Page one text.", 1, ()),
        ("Page two text.", 2, ()),
    ]


def _encrypted(src: Path, **passwords: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(src))
    writer.encrypt(**passwords)
    out = src.with_name("enc.pdf")
    with out.open("wb") as fh:
        writer.write(fh)
    return out.read_bytes()


def test_user_password_pdf_raises_encrypted_document(report_pdf: Path) -> None:
    data = _encrypted(report_pdf, user_password="s3cret", owner_password="owner")
    with pytest.raises(EncryptedDocument, match="password") as caught:
        read_pdf(data)
    assert isinstance(caught.value, InputError)
    assert caught.value.hint


def test_owner_password_only_pdf_is_read(report_pdf: Path) -> None:
    data = _encrypted(report_pdf, user_password="", owner_password="owner")
    assert any(SECTIONS[0][2] == b.text for b in read_pdf(data).blocks)


@pytest.mark.parametrize("cut", [0.3, 0.6])
def test_truncated_pdf_raises_corrupt_document(report_pdf: Path, cut: float) -> None:
    data = report_pdf.read_bytes()
    with pytest.raises(CorruptDocument, match="cannot be parsed"):
        read_pdf(data[: int(len(data) * cut)])


def test_not_a_pdf_raises_corrupt_document() -> None:
    with pytest.raises(CorruptDocument):
        read_pdf(b"%PDF-1.7\nthis is not really a PDF\n")


def test_pdf_without_text_layer_raises_empty_document() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(10, 10, 50, 50)
    with pytest.raises(EmptyDocument, match="no text layer"):
        read_pdf(bytes(pdf.output()))
