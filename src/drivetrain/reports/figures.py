"""The reports' charts as PNG images, drawn as the capabilities' own charts are.

A capability that already draws a chart (quality's Pareto and control charts,
warranty's claims per thousand) draws it here too: its public ``*_plot``
function writes the PNG into a private temporary directory and the bytes are
read back, so a report shows exactly the chart ``drivetrain quality pareto
--plot`` would. The charts only reports have (a fleet's health distribution,
its findings by kind) are drawn here, on the Agg canvas, never ``pyplot``.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from drivetrain.chart_files import DPI, FIGSIZE

BLUE, GREY, RED, ORANGE, GREEN = "#1f4e79", "#b9c4cf", "#d62728", "#e07b00", "#2e7d32"


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes (no timestamp in the metadata: the same chart, the same bytes)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def captured(draw: Callable[[Path], Path]) -> bytes:
    """The PNG a ``*_plot(table, path, …)`` function writes, read back from a temporary file."""
    with tempfile.TemporaryDirectory(prefix="drivetrain-report-") as folder:
        return draw(Path(folder) / "chart.png").read_bytes()


def _mpl(text: str) -> str:
    """Text matplotlib shows literally: a ``$`` would start mathtext."""
    return text.replace("$", r"\$")


def bar_chart(
    labels: Sequence[str],
    counts: Sequence[int],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    colours: Sequence[str] | None = None,
    horizontal: bool = False,
) -> bytes:
    """Counts as bars, each labelled with its count."""
    fig = Figure(figsize=(FIGSIZE[0], FIGSIZE[1] * 0.8), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(_mpl(title), fontsize="large", fontweight="bold")
    ax = fig.add_subplot()
    names = [_mpl(label) for label in labels]
    colour = list(colours) if colours else [BLUE] * len(names)
    if horizontal:  # long names: one per line, the largest on top
        at = list(range(len(names)))[::-1]
        bars = ax.barh(at, counts, color=colour, gid="bars")
        ax.set_yticks(at, labels=names, fontsize="small")
        ax.set(xlabel=ylabel, ylabel=xlabel)
        ax.grid(True, axis="x", alpha=0.3)
    else:
        at = list(range(len(names)))
        bars = ax.bar(at, counts, color=colour, edgecolor="white", gid="bars")
        ax.set_xticks(at, labels=names, fontsize="small")
        ax.set(xlabel=xlabel, ylabel=ylabel)
        ax.grid(True, axis="y", alpha=0.3)
    ax.bar_label(bars, [f"{c:,}" for c in counts], padding=2, fontsize="x-small")
    ax.set_axisbelow(True)
    axis = ax.xaxis if horizontal else ax.yaxis
    axis.set_major_locator(MaxNLocator(integer=True))
    (ax.set_xlim if horizontal else ax.set_ylim)(0, max([*counts, 1]) * 1.12)
    return figure_png(fig)
