"""A report as one self-contained HTML page: charts embedded as PNG data, no external asset.

The page (``templates/report.html.j2``) carries its own CSS, including print
rules (A4 pages, table headers repeated, figures never split), so printing it
from a browser gives a clean document as well. Text is escaped by Jinja2.
"""

from __future__ import annotations

import base64
import struct
from importlib.metadata import version as package_version
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from drivetrain.reports.models import Block, Figure, Paragraph, Report

TEMPLATE = "report.html.j2"
MAX_CITED = 10  # sources named in the footer; the provenance record has them all
_ENV = Environment(
    loader=PackageLoader("drivetrain.reports", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG image, in pixels (from its IHDR chunk)."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def _block(block: Block) -> dict[str, Any]:
    if isinstance(block, Paragraph):
        return {"kind": "paragraph", "text": block.text}
    if isinstance(block, Figure):
        width, height = png_size(block.png)
        return {
            "kind": "figure",
            "caption": block.caption,
            "alt": block.alt,
            "data": base64.b64encode(block.png).decode("ascii"),
            "width": width,
            "height": height,
        }
    return {
        "kind": "table",
        "caption": block.caption,
        "header": block.header,
        "rows": block.rows,
        "numeric": [block.is_numeric(i) for i in range(len(block.header))],
    }


def render_html(report: Report) -> str:
    """The report as an HTML page."""
    sections = [
        {"heading": s.heading, "blocks": [_block(b) for b in s.blocks]} for s in report.sections
    ]
    view = {
        "title": report.title,
        "period": report.period,
        "principal": report.principal,
        "purpose": report.purpose,
        "generated_at": report.generated_at,
        "name": report.name,
        "output_id": report.output_id,
        "sources": report.sources,
        "sections": sections,
    }
    return _ENV.get_template(TEMPLATE).render(
        report=view,
        inputs=sorted(report.inputs.items()),
        cited=list(report.sources[:MAX_CITED]),
        version=package_version("drivetrain"),
    )
