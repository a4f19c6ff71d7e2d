"""Chart files: a Figure saved as a PNG, or as a standalone HTML page with its data table.

The format is the path's suffix. Writes are atomic (a temporary file in the same
directory, then ``os.replace``): a reader sees the old chart or the new one,
never half of one.
"""

from __future__ import annotations

import base64
import io
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from matplotlib.figure import Figure

from drivetrain.errors import InputError

FIGSIZE = (8.0, 5.0)  # inches
DPI = 120  # a PNG of 960 × 600 pixels
FORMATS = (".png", ".html")
_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#222}}
img{{max-width:100%;height:auto}} table{{border-collapse:collapse;margin:1.5rem 0}}
th,td{{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}}
caption{{text-align:left;font-weight:bold;padding:.25rem 0}}</style></head>
<body><main><h1>{title}</h1>
<figure><img src="data:image/png;base64,{image}" alt="{alt}" width="{width}" height="{height}">
</figure>
{tables}
</main></body></html>
"""


@dataclass(frozen=True, slots=True)
class ChartTable:
    """Data shown under an HTML chart; the first cell of each row heads the row."""

    caption: str
    header: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]


def output_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"cannot write a chart to {path}: unknown format {path.suffix or '(no suffix)'!r}",
            hint="end the file name in .png (the chart) or .html (a page with chart and table)",
        )
    if not path.parent.is_dir():
        raise InputError(
            f"cannot write a chart to {path}: directory {path.parent} does not exist",
            hint="create the directory first, or choose another output path",
        )
    return suffix


def _html_table(table: ChartTable) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in table.header)
    body = "\n".join(
        f'<tr><th scope="row">{escape(row[0])}</th>'
        + "".join(f"<td>{escape(cell)}</td>" for cell in row[1:])
        + "</tr>"
        for row in table.rows
    )
    return (
        f"<table>\n<caption>{escape(table.caption)}</caption>\n"
        f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"
    )


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace`` (mode 0644)."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)  # not mkstemp's 0600: a web server may serve the file
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def save_chart(
    fig: Figure, path: Path, *, title: str, alt: str, tables: Sequence[ChartTable]
) -> Path:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    png = buffer.getvalue()
    if output_format(path) == ".html":
        page = _PAGE.format(
            title=escape(title),
            image=base64.b64encode(png).decode("ascii"),
            alt=escape(alt, quote=True),
            width=int(FIGSIZE[0] * DPI),
            height=int(FIGSIZE[1] * DPI),
            tables="\n".join(_html_table(t) for t in tables),
        )
        png = page.encode("utf-8")
    write_atomic(path, png)
    return path
