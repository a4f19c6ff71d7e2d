"""Fixtures of the copilot tests: the embedding model (loaded once), document writers.

The real corpus in ../shared/data/docs is read in place. Without it the tests
that need it skip, unless CI=true, where they fail: CI must not go green by
skipping.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest
from fpdf import FPDF

from drivetrain.copilot import MiniLMEmbedder

CORPUS_DIR = Path(__file__).parents[2].parent / "shared/data/docs"
IN_CI = os.environ.get("CI", "").strip().lower() == "true"


def unavailable(reason: str) -> None:
    """Skip locally; in CI a missing prerequisite is a failure, not a silent skip."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true, so this does not skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def embedder() -> MiniLMEmbedder:
    """The real all-MiniLM-L6-v2, shared by every test (loading it takes ~5 s)."""
    return MiniLMEmbedder()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not (CORPUS_DIR / "uptane").is_dir():
        unavailable(f"the shared document corpus is not at {CORPUS_DIR}")
    return CORPUS_DIR


def write_pdf(
    path: Path,
    sections: Sequence[tuple[int, str, str]],
    *,
    table: Sequence[Sequence[str]] | None = None,
    table_after: int = 0,
    title: str | None = None,
    new_page_for: Sequence[int] = (),
) -> Path:
    """A PDF with bookmarked sections ``(level, heading, body)``; the table after section n."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    if title:
        pdf.set_title(title)
    pdf.add_page()
    for n, (level, heading, body) in enumerate(sections):
        if n in new_page_for:
            pdf.add_page()
        pdf.start_section(heading, level=level)
        pdf.set_font("helvetica", style="B", size=12)
        pdf.multi_cell(0, 7, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=11)
        pdf.multi_cell(0, 6, body, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)
        if table is not None and n == table_after:
            with pdf.table() as t:
                for values in table:
                    row = t.row()
                    for value in values:
                        row.cell(value)
            pdf.ln(4)
    pdf.output(str(path))
    return path
