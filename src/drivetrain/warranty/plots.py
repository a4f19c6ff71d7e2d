"""Warranty charts: Weibull probability paper, claims per thousand, early-warning statistic.

Each chart is written to ``path`` in the format its suffix names: ``.png`` (the
chart alone) or ``.html`` (a standalone page: a title, the chart embedded as a
base64 PNG with alt text, and the data as an HTML table for screen readers and
for people who would rather read the numbers).

The charts are drawn on ``matplotlib.figure.Figure`` objects with the Agg
canvas, never through ``pyplot``: no global figure state, no GUI backend. Each
``_figure_*`` builder returns the Figure, so tests can inspect its lines. Files
are written atomically (a temporary file in the same directory, then
``os.replace``): a reader sees the old chart or the new one, never half of one.

The points on probability paper are ``reliability``'s median-rank plotting
positions, adjusted for the right-censored units between the failures.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from itertools import cycle
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from drivetrain.chart_files import (
    DPI,
    FIGSIZE,
    ChartTable,
    output_format,
    save_chart,
)
from drivetrain.errors import InputError
from drivetrain.warranty.claims_table import require_columns
from drivetrain.warranty.reliability import LifeFit

Ages = Sequence[float] | npt.NDArray[np.float64]
Array = npt.NDArray[np.float64]
RED = "#d62728"
HIGHLIGHT_COLOURS = (RED, "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")
FIT_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")
# unreliabilities labelled on Weibull paper (those inside the plotted range)
_PAPER = (1e-4, 1e-3, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.632, 0.9, 0.99, 0.999)
_NAMES = {"weibull_ds": "Weibull DS", "weibull_3p": "Weibull 3P"}
_GREEK = "αβγμσλ"
_SYMBOLS = dict(zip(("alpha", "beta", "gamma", "mu", "sigma", "Lambda"), _GREEK, strict=True))


def _num(value: float) -> str:
    if not math.isfinite(value):
        return "never" if value > 0 else "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _percent(p: float) -> str:
    return f"{100 * p:.3g}%"


def _mpl(text: str) -> str:
    """Text matplotlib shows literally: a ``$`` would start mathtext."""
    return text.replace("$", r"\$")


def _weibull_y(unreliability: npt.ArrayLike) -> Array:
    """The Weibull-paper ordinate ln(-ln(1 - F)): -inf at F = 0, +inf at F = 1."""
    with np.errstate(divide="ignore"):
        return np.log(-np.log1p(-np.asarray(unreliability, dtype=np.float64)))


def fit_label(fit: LifeFit) -> str:
    """A fit as the legend names it, e.g. ``Weibull α=171 β=1.30``."""  # noqa: RUF002
    parts = [_NAMES.get(fit.distribution, fit.distribution.capitalize())]
    for name, value in fit.parameters.items():
        if name == "DS":
            parts.append(f"DS={100 * value:.1f}%")
        elif name in ("beta", "sigma"):
            parts.append(f"{_SYMBOLS[name]}={value:.2f}")
        else:
            parts.append(f"{_SYMBOLS.get(name, name)}={_num(value)}")
    return " ".join(parts)


def _ages(values: Ages | None, what: str, *, required: bool = False) -> Array:
    ages = np.asarray([] if values is None else values, dtype=np.float64).ravel()
    if required and not ages.size:
        raise InputError(f"no {what} to plot", hint="pass at least one failure age")
    bad = ages[~np.isfinite(ages) | (ages <= 0)]
    if bad.size:
        raise InputError(
            f"{what} must be positive, finite ages; got {bad[0]}",
            hint="ages are time in service at failure or at the last observation (e.g. days)",
        )
    return ages


def _need(frame: pl.DataFrame, columns: tuple[str, ...], what: str) -> None:
    require_columns(frame, columns, what)
    if frame.is_empty():
        raise InputError(f"the {what} table is empty: nothing to plot")


def _new_figure(title: str) -> Figure:
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(_mpl(title), fontsize="large", fontweight="bold")
    return fig


def _finish(ax: Axes, xlabel: str, ylabel: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.45)
    ax.legend(loc="upper left", fontsize="small", framealpha=0.9)


def weibull_paper_points(failures: Ages, right_censored: Ages | None = None) -> tuple[Array, Array]:
    """Failure ages (sorted) and their Weibull-paper ordinates ln(-ln(1 - F)).

    F is ``reliability``'s median-rank plotting position, adjusted for the right-censored
    units (still running) among the failures.
    """
    failed = _ages(failures, "failure ages", required=True)
    running = _ages(right_censored, "right-censored ages")
    os.environ.setdefault("MPLBACKEND", "Agg")  # the package imports pyplot
    from reliability.Probability_plotting import plotting_positions

    x, f = plotting_positions(
        failures=failed, right_censored=running if running.size else None, sort=True
    )
    return np.asarray(x, dtype=np.float64), _weibull_y(np.asarray(f, dtype=np.float64))


def _figure_probability(
    failures: Ages,
    right_censored: Ages | None,
    fits: Sequence[LifeFit],
    *,
    title: str,
    unit: str = "days in service",
    warranty_end: float | None = None,
) -> Figure:
    x, y = weibull_paper_points(failures, right_censored)
    running = _ages(right_censored, "right-censored ages")
    if warranty_end is not None and not (math.isfinite(warranty_end) and warranty_end > 0):
        raise InputError(f"warranty_end must be a positive age, not {warranty_end}")
    ends = [] if warranty_end is None else [warranty_end]
    span = np.concatenate([x, running, [f.b10 for f in fits if math.isfinite(f.b10)], ends])
    low, high = float(span.min()) / 2, float(span.max()) * 2
    grid = np.geomspace(low, high, 400)

    fig = _new_figure(title)
    ax = fig.add_subplot()
    ax.set_xscale("log")
    ax.plot(x, y, "o", color="0.15", ms=4.5, zorder=5, label=f"failures (n={len(x)})")
    if running.size:  # a rug along the bottom: where the suspensions are
        label = f"running units (censored, n={running.size})"
        rug = np.full(running.size, 0.025)  # in axes coordinates
        ax.plot(
            running, rug, "|", ms=9, color="0.5", transform=ax.get_xaxis_transform(), label=label
        )
    if warranty_end is not None:
        label = _mpl(f"warranty end: {_num(warranty_end)} {unit}")
        ax.axvline(warranty_end, color="0.25", ls="--", lw=1.2, label=label)
    y10 = float(_weibull_y(0.1))
    for fit, colour in zip(fits, cycle(FIT_COLOURS), strict=False):
        curve = _weibull_y(fit._model.distribution.CDF(xvals=grid, show_plot=False))
        label = f"{fit_label(fit)}\nB10 {_num(fit.b10)}"
        if warranty_end is not None:
            p = fit.p_fail(warranty_end)
            label += f", P(fail by warranty end) {_percent(p)}"
            ax.plot([warranty_end], _weibull_y([p]), "o", ms=7, color=colour, mfc="white", zorder=6)
        shown = np.isfinite(curve)
        ax.plot(grid[shown], curve[shown], color=colour, lw=2, label=_mpl(label))
        if math.isfinite(fit.b10):
            ax.plot([fit.b10], [y10], "D", ms=7, color=colour, mec="white", zorder=6)

    bottom = min(float(_weibull_y(0.001)), float(y.min()) - 0.6)  # room for the rug
    top = max(float(_weibull_y(0.99)), float(y.max()) + 0.3)
    ticks = [p for p in _PAPER if bottom <= _weibull_y(p) <= top]
    ax.set_ylim(bottom, top)
    ax.set_yticks([float(_weibull_y(p)) for p in ticks], labels=[f"{100 * p:g}%" for p in ticks])
    ax.set_xlim(low, high)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _num(v)))
    ax.grid(True, which="minor", axis="x", alpha=0.15)
    _finish(ax, _mpl(f"{unit} (log scale)"), "unreliability F, % failed (Weibull scale)")
    return fig


def weibull_probability_plot(
    failures: Ages,
    right_censored: Ages | None,
    fits: Sequence[LifeFit],
    path: Path,
    *,
    title: str,
    unit: str = "days in service",
    warranty_end: float | None = None,
) -> Path:
    """Failures on Weibull probability paper with each fit's CDF, its B10 and the warranty end.

    ``warranty_end`` is an age in ``unit``; each fit's P(fail by it) goes in the legend.
    A ``weibull_ds`` fit's line flattens at its defective share DS.
    """
    output_format(path)
    fig = _figure_probability(
        failures, right_censored, fits, title=title, unit=unit, warranty_end=warranty_end
    )
    x, y = weibull_paper_points(failures, right_censored)
    unreliability = -np.expm1(-np.exp(y))
    rows = [(_num(a), _percent(f)) for a, f in zip(x.tolist(), unreliability.tolist(), strict=True)]
    points = ChartTable("Failures (median ranks, adjusted for censoring)", (unit, "F"), rows)
    header = ["distribution and parameters", "B10"]
    rows_fit = [[fit_label(f), _num(f.b10)] for f in fits]
    if warranty_end is not None:
        header.append(f"P(fail by {_num(warranty_end)} {unit})")
        for row, fit in zip(rows_fit, fits, strict=True):
            row.append(_percent(fit.p_fail(warranty_end)))
    fitted = ChartTable("Fitted distributions", tuple(header), [tuple(r) for r in rows_fit])
    running = _ages(right_censored, "right-censored ages").size
    alt = f"Weibull probability plot of {len(x)} failures and {running} running units" + (
        f", with {'; '.join(fit_label(f) for f in fits)}" if fits else ""
    )
    tables = [fitted, points] if fits else [points]
    return save_chart(fig, path, title=title, alt=alt, tables=tables)


def _claims_data(table: pl.DataFrame, highlight: Sequence[str]) -> tuple[pl.DataFrame, list[str]]:
    _need(table, ("cohort", "mis", "cumulative_per_thousand"), "claims-per-thousand")
    data = table.select(pl.col("cohort").cast(pl.String), "mis", "cumulative_per_thousand")
    if data.select("cohort", "mis").is_duplicated().any():
        raise InputError(
            "the claims-per-thousand table has more than one row for a cohort and month",
            hint="pass the output of claims_per_thousand: one row per cohort and month in service",
        )
    wanted = list(dict.fromkeys(highlight))
    cohorts = data["cohort"].unique().sort().to_list()
    unknown = [c for c in wanted if c not in cohorts]
    if unknown:
        raise InputError(
            f"highlighted cohort(s) {', '.join(unknown)} not in the claims-per-thousand table",
            hint=f"cohorts in the table: {', '.join(cohorts)}",
        )
    return data.sort("cohort", "mis"), wanted


def _figure_claims(table: pl.DataFrame, *, title: str, highlight: Sequence[str] = ()) -> Figure:
    data, wanted = _claims_data(table, highlight)
    series = {
        str(key[0]): (part["mis"].to_numpy(), part["cumulative_per_thousand"].to_numpy())
        for key, part in data.group_by("cohort", maintain_order=True)
    }
    others = [c for c in series if c not in wanted]
    fig = _new_figure(title)
    ax = fig.add_subplot()
    for i, cohort in enumerate(others):  # one legend entry for all of them
        label = f"other cohorts ({len(others)})" if i == 0 else "_nolegend_"
        ax.plot(*series[cohort], color="0.72", lw=1, zorder=1, label=label)
    for cohort, colour in zip(wanted, cycle(HIGHLIGHT_COLOURS), strict=False):
        ax.plot(*series[cohort], color=colour, lw=2.8, marker="o", ms=3.5, label=_mpl(cohort))
    ax.set_xlim(1, max(2, int(data["mis"].to_numpy().max())))
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _finish(ax, "months in service", "cumulative claims per 1,000 vehicles at risk")
    return fig


def claims_per_thousand_plot(
    table: pl.DataFrame, path: Path, *, title: str, highlight: Sequence[str] = ()
) -> Path:
    """Cumulative claims per thousand vehicles at risk by month in service, a line per cohort.

    ``table`` is what ``claims_per_thousand`` returns. The ``highlight`` cohorts are drawn
    thick in colour (the first red), every other cohort thin and grey.
    """
    output_format(path)
    fig = _figure_claims(table, title=title, highlight=highlight)
    data, wanted = _claims_data(table, highlight)
    months = sorted(int(m) for m in data["mis"].unique())
    values = {(c, int(m)): v for c, m, v in data.iter_rows()}
    cohorts = data["cohort"].unique(maintain_order=True).to_list()
    cells = {key: "" if v is None else f"{v:.1f}" for key, v in values.items()}
    pivot = ChartTable(
        "Cumulative claims per 1,000 vehicles at risk, by cohort and month in service",
        ("cohort", *(f"month {m}" for m in months)),
        [(c, *(cells.get((c, m), "") for m in months)) for c in cohorts],
    )
    alt = f"Cumulative claims per thousand by month in service for {len(cohorts)} cohorts" + (
        f"; highlighted: {', '.join(wanted)}" if wanted else ""
    )
    return save_chart(fig, path, title=title, alt=alt, tables=[pivot])


def _statistic_data(frame: pl.DataFrame, threshold: float) -> pl.DataFrame:
    _need(frame, ("as_of", "statistic"), "detector statistic")
    if not math.isfinite(threshold):
        raise InputError(f"threshold must be a finite number, not {threshold}")
    if frame.schema["as_of"] not in (pl.Date, pl.Datetime):
        raise InputError(
            f"column as_of holds {frame.schema['as_of']}, not dates",
            hint="pass the analysis dates as a polars Date column",
        )
    values = ["statistic", *(["naive"] if "naive" in frame.columns else [])]
    data = frame.select("as_of", *values).drop_nulls("statistic").sort("as_of")
    if data.is_empty():
        raise InputError("the detector statistic is null on every date: nothing to plot")
    return data.with_columns(pl.col(c).cast(pl.Float64) for c in values)


def _first_crossing(data: pl.DataFrame, column: str, threshold: float) -> int | None:
    # an alarm on reaching h, as drivetrain.warranty.early_warning decides it
    above = (data[column] >= threshold).fill_null(False).to_list()
    return above.index(True) if True in above else None


def _figure_cusum(frame: pl.DataFrame, *, title: str, threshold: float) -> Figure:
    data = _statistic_data(frame, threshold)
    dates = data["as_of"].to_numpy()
    fig = _new_figure(title)
    ax = fig.add_subplot()
    styles = {"statistic": ("#1f77b4", 2.0, "detector statistic"), "naive": ("0.55", 1.2, "naive")}
    for column in data.columns[1:]:
        colour, width, name = styles[column]
        values = data[column].to_numpy()
        ax.plot(dates, values, color=colour, lw=width, marker=".", label=name)
        first = _first_crossing(data, column, threshold)
        if first is not None:
            edge = RED if column == "statistic" else colour
            label = f"{name}: first alert {data['as_of'][first]:%Y-%m-%d}"
            ax.plot(
                dates[first], values[first], "o", ms=11, mfc="none", mec=edge, mew=2, label=label
            )
    ax.axhline(threshold, color=RED, ls="--", lw=1.2, label=f"threshold {threshold:g}")
    if _first_crossing(data, "statistic", threshold) is None:
        ax.plot([], [], " ", label="no alert: the statistic stays below the threshold")
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    _finish(ax, "analysis date", "statistic")
    return fig


def cusum_plot(frame: pl.DataFrame, path: Path, *, title: str, threshold: float) -> Path:
    """A detector's statistic by analysis date, its decision threshold and its first alert.

    ``frame``: ``as_of`` (date), ``statistic`` and optionally ``naive`` (a simpler detector's
    statistic on the same scale). The alert is the first date the statistic reaches ``threshold``.
    """
    output_format(path)
    fig = _figure_cusum(frame, title=title, threshold=threshold)
    data = _statistic_data(frame, threshold)
    rows = [
        (
            f"{day:%Y-%m-%d}",
            *("" if v is None else f"{v:.4g}" for v in rest),
            "yes" if rest[0] >= threshold else "no",
        )
        for day, *rest in data.iter_rows()
    ]
    header = ("analysis date", "statistic", *data.columns[2:], "at or above threshold")
    table = ChartTable(
        f"Detector statistic by analysis date (threshold {threshold:g})", header, rows
    )
    first = _first_crossing(data, "statistic", threshold)
    alt = (
        f"Detector statistic on {data.height} analysis dates against threshold {threshold:g}: "
        + ("no alert" if first is None else f"first alert on {data['as_of'][first]:%Y-%m-%d}")
    )
    return save_chart(fig, path, title=title, alt=alt, tables=[table])
