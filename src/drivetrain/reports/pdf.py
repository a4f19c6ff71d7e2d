"""A report as a PDF (fpdf2): A4, the charts as PNG images, the tables as tables.

The text is set in DejaVu Sans, the TrueType font that ships with matplotlib
(``mpl-data/fonts/ttf``), embedded as a subset: "σ", "–", "€", "×" and the
like print as they should, and the PDF's text can be searched and extracted.
Every page's footer names the report's provenance record.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.fonts import FontFace

from drivetrain.reports.html import png_size
from drivetrain.reports.models import Figure, Paragraph, Report, Table

FONT = "DejaVu"
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
ACCENT = (31, 78, 121)
MUTED = (91, 102, 117)
BAND = (243, 246, 249)


class _Document(FPDF):
    """A4 pages whose footer names the report and its output id."""

    def __init__(self, report: Report) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.report = report
        for style, name in FONT_FILES.items():
            self.add_font(FONT, style, FONT_DIR / name)
        self.set_margins(14, 14, 14)
        self.set_auto_page_break(auto=True, margin=16)
        self.set_title(f"{report.title} · {report.period}")
        self.set_author(report.principal)
        self.set_creator("drivetrain")
        self.set_creation_date(report.generated_at)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7)
        self.set_text_color(*MUTED)
        record = self.report.output_id or "not recorded"
        self.cell(
            0, 4, f"{self.report.name} · output {record} · page {self.page_no()}/{{nb}}", align="C"
        )


def _heading(pdf: FPDF, text: str, size: float) -> None:
    pdf.set_font(FONT, "B", size)
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)


def _paragraph(pdf: FPDF, text: str, size: float = 9.5) -> None:
    pdf.set_font(FONT, "", size)
    pdf.multi_cell(0, size * 0.47, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)


def _figure(pdf: FPDF, figure: Figure) -> None:
    width, height = png_size(figure.png)
    w = pdf.epw * 0.92
    h = w * height / width
    room = pdf.page_break_trigger - pdf.get_y() - 8  # the caption's lines below
    if h > room >= 0.6 * h:  # shrunk a little rather than a half-empty page
        w, h = w * room / h, room
    elif h > room:
        pdf.add_page()
    pdf.image(
        io.BytesIO(figure.png), x=pdf.l_margin + (pdf.epw - w) / 2, w=w, h=h, alt_text=figure.alt
    )
    pdf.set_font(FONT, "", 7.5)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(0, 3.6, figure.caption, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(2)


def _widths(table: Table) -> list[float]:
    """Column widths in proportion to their text (a long column wraps, a short one does not)."""
    sizes = []
    for i, head in enumerate(table.header):
        longest = max([len(word) for word in head.split()] + [len(r[i]) for r in table.rows] + [1])
        sizes.append(min(max(longest, 3), 42))
    return [float(s) for s in sizes]


def _table(pdf: FPDF, table: Table) -> None:
    columns = len(table.header)
    size = 8.0 if columns <= 6 else 7.0 if columns <= 9 else 6.0
    pdf.set_font(FONT, "B", 8.5)
    pdf.multi_cell(0, 4.2, table.caption, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", size)
    align = tuple("RIGHT" if table.is_numeric(i) else "LEFT" for i in range(columns))
    with pdf.table(
        col_widths=_widths(table),
        text_align=align,
        width=pdf.epw,
        line_height=size * 0.5,
        headings_style=FontFace(emphasis="BOLD", fill_color=BAND),
        borders_layout="HORIZONTAL_LINES",
        padding=0.8,
    ) as grid:
        grid.row(list(table.header))
        for cells in table.rows:
            grid.row(list(cells))
    pdf.ln(3)


def render_pdf(report: Report) -> bytes:
    """The report as PDF bytes."""
    pdf = _Document(report)
    pdf.alias_nb_pages()
    pdf.add_page()
    _heading(pdf, report.title, 17)
    pdf.set_font(FONT, "", 9)
    pdf.set_text_color(*MUTED)
    for line in (
        f"Period: {report.period}",
        f"Read as {report.principal}, for the purpose {report.purpose}",
        f"Generated {report.generated_at:%Y-%m-%d %H:%M:%S} UTC",
    ):
        pdf.cell(0, 4.6, line, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y() + 1.5, pdf.l_margin + pdf.epw, pdf.get_y() + 1.5)
    pdf.ln(5)
    pdf.set_line_width(0.2)
    pdf.set_draw_color(190, 198, 208)
    for section in report.sections:
        if pdf.get_y() + 30 > pdf.page_break_trigger:
            pdf.add_page()
        pdf.ln(2)
        _heading(pdf, section.heading, 12.5)
        pdf.ln(1)
        for block in section.blocks:
            if isinstance(block, Paragraph):
                _paragraph(pdf, block.text)
            elif isinstance(block, Figure):
                _figure(pdf, block)
            else:
                _table(pdf, block)
    pdf.ln(4)
    inputs = ", ".join(f"{t}@v{v}" for t, v in sorted(report.inputs.items())) or "none"
    _heading(pdf, "Where the numbers come from", 10)
    record = report.output_id or "not recorded"
    _paragraph(
        pdf,
        f"Report output {record}. How it was produced, and proof that its record "
        f"was not altered: drivetrain explain {record}",
        8,
    )
    _paragraph(pdf, f"Data read: {inputs}. Cites {len(report.sources)} record(s).", 8)
    return bytes(pdf.output())
