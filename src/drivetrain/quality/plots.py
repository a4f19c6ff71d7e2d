"""Quality charts: control charts, process capability and Pareto, drawn as the textbooks do.

Each chart is written to ``path`` in the format its suffix names (``.png``, or a
standalone ``.html`` page with the data as tables; see ``drivetrain.chart_files``).
Figures are ``matplotlib.figure.Figure`` objects on the Agg canvas, never
``pyplot``; each ``_figure_*`` builder returns its Figure, and the artists a
reader (or a test) looks for carry a ``gid``: ``value:``, ``center:``, ``ucl:``,
``lcl:``, ``dropped:`` and ``signal:`` followed by the statistic, ``phase2``;
``lsl``, ``usl``, ``target``, ``overall``, ``within``; ``bars``, ``cumulative``, ``vital``.

A control chart draws ``ControlChart.points`` of one characteristic: a panel per
statistic (X̄ above R or S, I above MR, CUSUM's two sums in one panel with ±H),
centre lines solid, limits dashed and stepped where they vary with subgroup size,
Phase I subgroups left out of the limits hollow, out-of-control points red with
the rules they break ("N5" is Nelson rule 5, "WE4" Western Electric rule 4; EWMA
and CUSUM points only have their limits), and a dotted line where Phase II begins.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, PercentFormatter

from drivetrain.chart_files import DPI, FIGSIZE, ChartTable, output_format, save_chart
from drivetrain.errors import InputError
from drivetrain.quality.rules import RULES, rule_names

Array = npt.NDArray[np.float64]
RED, BLUE, ORANGE, GREY = "#d62728", "#1f4e79", "#e07b00", "#b9c4cf"
LIMIT, CENTRE = "#b03a2e", "#2e7d32"
POINTS = ("size", "used", "statistic", "value", "center", "lcl", "ucl", "violations", "signal")
NOT_KEYS = (*POINTS, "phase", "rules", "reason")
# statistic | name in tables | y-axis label | centre-line label (mathtext)
_STATISTICS = r"""
xbar | X̄ | subgroup mean $\bar{X}$ | $\bar{\bar{X}}$
r | R | range R | $\bar{R}$
s | S | standard deviation S | $\bar{S}$
i | I | individual value | $\bar{X}$
mr | MR | moving range | $\overline{MR}$
p | p | fraction nonconforming p | $\bar{p}$
np | np | nonconforming np | $n\bar{p}$
c | c | nonconformities c | $\bar{c}$
u | u | nonconformities per unit u | $\bar{u}$
ewma | EWMA | EWMA | CL
cusum_upper | CUSUM C+ | CUSUM (standard errors) | 0
cusum_lower | CUSUM C− | CUSUM (standard errors) | 0
"""
_ROWS = [[f.strip() for f in line.split("|")] for line in _STATISTICS.strip().splitlines()]
NAMES = {row[0]: row[1] for row in _ROWS}
_YLABEL = {row[0]: row[2] for row in _ROWS}
_CENTRE = {row[0]: row[3] for row in _ROWS}
# panels top to bottom: location, attribute or memory charts above dispersion charts
PANELS = tuple(
    ("cusum_upper", "cusum_lower") if s == "cusum" else (s,)
    for s in ["xbar", "i", "p", "np", "c", "u", "ewma", "cusum", "r", "s", "mr"]
)
_STEPS: dict[str, Any] = {"lw": 1.1, "drawstyle": "steps-mid", "zorder": 2}
RULE_TEXT: dict[str, Any] = {"ha": "center", "fontsize": 6, "color": RED, "linespacing": 0.95}
LIMITS_HEADER = ("statistic", "subgroup size", "centre line", "LCL", "UCL")
MEMORY = ("ewma", "cusum_upper", "cusum_lower")  # judged by their limits alone
_INDEX_TABLE = """
cp = Cp | cpl = CPL | cpu = CPU | cpk = Cpk | pp = Pp | ppl = PPL | ppu = PPU | ppk = Ppk
cpm = Cpm | ppm_below = PPM < LSL | ppm_above = PPM > USL | ppm_total = PPM total
observed_ppm = PPM observed
"""
_INDEX = {
    name.strip(): label.strip()
    for line in _INDEX_TABLE.strip().splitlines()
    for name, _, label in (pair.partition("=") for pair in line.split("|"))
}
_SPREAD = (("mean", "Mean"), ("sigma_overall", "StDev overall"), ("sigma_within", "StDev within"))
_MONO: dict[str, Any] = {"family": "monospace", "fontsize": "x-small", "linespacing": 1.4}
_PROCESS = ("mean", "sigma_overall", "sigma_within", "n")  # shown as process data, not indices
MAX_BARS = 20  # beyond, a Pareto chart lumps the smallest categories into "Other", as Minitab


def _mpl(text: str) -> str:
    """Text matplotlib shows literally: a ``$`` would start mathtext."""
    return text.replace("$", r"\$")


def _require(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"the {what} lack column(s) {', '.join(missing)}",
            hint=f"they have {', '.join(frame.columns) or 'no columns'}",
        )
    if frame.is_empty():
        raise InputError(f"the {what} table is empty: nothing to plot")


def _new_figure(title: str) -> Figure:
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(_mpl(title), fontsize="large", fontweight="bold")
    return fig


def _fixed(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}" if math.isfinite(value) else "–"


def _number(value: float) -> str:
    return f"{value:.6g}"


def short_rule(rule_id: str) -> str:
    """A rule id as the charts label it: ``nelson5`` → ``N5``, ``we4`` → ``WE4``."""
    return rule_id.replace("nelson", "N").replace("we", "WE")


def _x(series: pl.Series) -> npt.NDArray[Any]:
    """Subgroups as matplotlib reads them; dates at microseconds, so half a day exists."""
    return (series.cast(pl.Datetime("us")) if series.dtype.is_temporal() else series).to_numpy()


def _one_characteristic(
    points: pl.DataFrame,
    key: Mapping[str, object] | None,
    phase2: pl.DataFrame | None,
    subgroup: str,
) -> tuple[pl.DataFrame, dict[str, object]]:
    """The points of one characteristic, both phases, sorted; and its key."""
    columns = [subgroup, *POINTS]
    _require(points, columns, "control-chart points")
    keys = [c for c in points.columns if c not in (subgroup, *NOT_KEYS)]
    phase = pl.col("phase") if "phase" in points.columns else pl.lit("I")
    data = points.select(*keys, *columns, phase.alias("phase"))
    if phase2 is not None:
        _require(phase2, [*keys, *columns], "Phase II points")
        later = phase2.select(*keys, *columns, pl.lit("II").alias("phase"))
        data = pl.concat([data, later], how="vertical_relaxed")
    for name, wanted in (key or {}).items():
        if name not in keys:
            hint = f"key columns: {', '.join(keys) or 'none'}"
            raise InputError(f"{name!r} is not a key column of the points", hint=hint)
        data = data.filter(pl.col(name) == wanted)
    found = data.select(keys).unique(maintain_order=True).rows() if keys else [()]
    if data.is_empty() or len(found) > 1:
        every = points.select(keys).unique(maintain_order=True).rows()
        shown = "; ".join(", ".join(map(str, r)) for r in every[:8]) + "…" * (len(every) > 8)
        problem = "no points match the key" if data.is_empty() else f"{len(found)} characteristics"
        raise InputError(
            f"{problem}: a control chart draws one characteristic",
            hint=f"pass key={{{keys[0]!r}: …}} naming one of: {shown}",
        )
    dtype = data.schema[subgroup]
    if not (dtype.is_numeric() or dtype in (pl.Date, pl.Datetime)):
        raise InputError(f"the {subgroup} column holds {dtype}: the x axis needs numbers or dates")
    if data.select("statistic", subgroup).is_duplicated().any():
        raise InputError(
            f"a {subgroup} appears twice for one statistic",
            hint="pass each subgroup once: Phase II points for subgroups after the Phase I ones",
        )
    unknown = set(data["statistic"]) - set(NAMES)
    if unknown:
        raise InputError(f"unknown statistic(s) {', '.join(sorted(unknown))} in the points")
    return data.sort(subgroup), dict(zip(keys, found[0], strict=True))


def _decimals(part: pl.DataFrame) -> int:
    """Decimals that tell the limits of a panel apart: 74.0143 for limits 0.026 apart."""
    high = part.select(pl.max_horizontal("ucl", "center").max()).item()
    low = part.select(pl.min_horizontal("lcl", "center").min()).item()
    span = high - low if high is not None and low is not None else math.nan
    if not (math.isfinite(span) and span > 0):
        span = float(np.nanmax(np.abs(part["value"].to_numpy()))) or 1.0
    return max(0, min(6, 2 - math.floor(math.log10(span))))


def _edges(x: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The subgroups and half a step beyond each end: where limit lines start and stop."""
    if x.size > 1:
        half = (x[-1] - x[0]) / (2 * (x.size - 1))
    else:
        half = np.timedelta64(12, "h") if np.issubdtype(x.dtype, np.datetime64) else 0.5
    return np.concatenate([[x[0] - half], x, [x[-1] + half]])


def _draw(ax: Axes, part: pl.DataFrame, stat: str, subgroup: str, labelled: set[str]) -> None:
    x, y = _x(part[subgroup]), part["value"].to_numpy()
    colour = ORANGE if stat == "cusum_lower" else BLUE
    name = NAMES[stat] if stat in MEMORY[1:] else "_nolegend_"
    ax.plot(x, y, color=colour, lw=1, marker="o", ms=3.5, zorder=3, gid=f"value:{stat}", label=name)
    decimals, edge = _decimals(part), ax.get_yaxis_transform()
    for column in ("center", "ucl", "lcl"):
        line = part[column].to_numpy()
        if np.isnan(line).all():
            continue
        style = ("-", CENTRE) if column == "center" else ("--", LIMIT)
        padded = np.concatenate([line[:1], line, line[-1:]])
        ax.plot(_edges(x), padded, ls=style[0], color=style[1], gid=f"{column}:{stat}", **_STEPS)
        last = float(line[~np.isnan(line)][-1])
        symbol = _CENTRE[stat] if column == "center" else column.upper()
        if stat.startswith("cusum") and column != "center":
            symbol = "H" if column == "ucl" else "−H"
        text = "0" if symbol == "0" else f"{symbol} = {_fixed(last, decimals)}".replace("-", "−")
        if text not in labelled:  # CUSUM's two sums share the centre line
            labelled.add(text)
            ax.text(1.01, last, text, transform=edge, va="center", fontsize="x-small")
    dropped = ((part["phase"] == "I") & ~part["used"]).to_numpy()
    if dropped.any():
        hollow: dict[str, Any] = {
            "mfc": "white",
            "mec": colour,
            "zorder": 4,
            "label": "left out of the limits",
        }
        ax.plot(x[dropped], y[dropped], "o", ms=5, gid=f"dropped:{stat}", **hollow)
    flagged = part["signal"].to_numpy()
    if not flagged.any():
        return
    faces = np.where(dropped[flagged], "white", RED)  # a dropped point stays hollow
    red: dict[str, Any] = {"marker": "s", "edgecolors": RED, "zorder": 5, "gid": f"signal:{stat}"}
    ax.scatter(x[flagged], y[flagged], s=30, c=faces, **red)
    if stat in MEMORY:
        return
    centre, masks = part["center"].to_numpy(), part["violations"].to_numpy()
    for i in np.flatnonzero(flagged).tolist():
        up = not y[i] < centre[i]
        label = "\n".join(short_rule(r) for r in rule_names(int(masks[i])))
        place: dict[str, Any] = {"xytext": (0, 5 if up else -5), "va": "bottom" if up else "top"}
        ax.annotate(label, (x[i], y[i]), textcoords="offset points", **place, **RULE_TEXT)
    ax.margins(y=0.2)  # room for the rule labels


def _figure_control(
    points: pl.DataFrame,
    *,
    title: str,
    key: Mapping[str, object] | None = None,
    phase2: pl.DataFrame | None = None,
    subgroup: str = "subgroup",
) -> Figure:
    data, _ = _one_characteristic(points, key, phase2, subgroup)
    panels = [p for p in PANELS if p[0] in set(data["statistic"])]
    fig = _new_figure(title)
    ratios = [2 if p[0] in ("r", "s", "mr") else 3 for p in panels]
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False, height_ratios=ratios)[:, 0]
    x, phase = _x(data[subgroup]), data["phase"].to_numpy()
    split = None
    if {"I", "II"} <= set(phase):
        before, after = x[phase == "I"].max(), x[phase == "II"].min()
        if not after > before:
            raise InputError(f"Phase II starts at {subgroup} {after}, not after Phase I ends")
        split = before + (after - before) / 2
    for ax, panel in zip(axes, panels, strict=True):
        labelled: set[str] = set()
        for stat in panel:
            part = data.filter(pl.col("statistic") == stat)
            if not part.is_empty():
                _draw(ax, part, stat, subgroup, labelled)
        ax.set_ylabel(_YLABEL[panel[0]], fontsize="small")
        ax.tick_params(labelsize="small")
        ax.grid(True, alpha=0.3)
        if split is not None:
            ax.axvline(split, color="0.25", ls=":", lw=1.3, gid="phase2")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize="x-small", framealpha=0.9)
    if split is not None:
        top = axes[0].get_xaxis_transform()
        axes[0].text(split, 1.01, "Phase I ", transform=top, ha="right", fontsize="x-small")
        axes[0].text(split, 1.01, " Phase II", transform=top, ha="left", fontsize="x-small")
    bottom, edges = axes[-1], _edges(np.unique(x))
    bottom.set_xlim(edges[0], edges[-1] + (edges[-1] - edges[0]) / 50)  # room for rule labels
    bottom.set_xlabel(subgroup)
    if data.schema[subgroup].is_temporal():
        locator = AutoDateLocator()  # type: ignore[no-untyped-call]
        bottom.xaxis.set_major_locator(locator)
        bottom.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    elif data.schema[subgroup].is_integer():
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def _control_tables(data: pl.DataFrame, subgroup: str) -> list[ChartTable]:
    decimals = {s: _decimals(data.filter(pl.col("statistic") == s)) for s in set(data["statistic"])}
    limits = []
    groups = data.group_by("statistic", "size", maintain_order=True).agg("center", "lcl", "ucl")
    rank = pl.col("statistic").replace_strict({s: i for i, s in enumerate(NAMES)})  # X̄ before R
    for stat, size, *columns in groups.sort(rank, "size").iter_rows():
        cells, d = [], decimals[stat]
        for values in columns:
            line = np.asarray(values, dtype=np.float64)
            if np.isnan(line).all():
                cells.append("–")
                continue
            low, high = (_fixed(float(f(line)), d) for f in (np.nanmin, np.nanmax))
            cells.append(high if low == high else f"{low} to {high}")
        limits.append((NAMES[stat], f"{size:g}", *cells))
    flagged = []
    for row in data.filter(pl.col("signal")).sort(subgroup, "statistic").iter_rows(named=True):
        rules = "; ".join(
            f"{short_rule(r)}: {RULES[r].description}" for r in rule_names(row["violations"])
        )
        values = (_fixed(row[c], decimals[row["statistic"]]) for c in ("value", "lcl", "ucl"))
        flagged.append((str(row[subgroup]), row["phase"], NAMES[row["statistic"]], *values, rules))
    caption = "Points out of control and the rules they break" + ("" if flagged else ": none")
    return [
        ChartTable("Control limits by statistic and subgroup size", LIMITS_HEADER, limits),
        ChartTable(
            caption, (subgroup, "phase", "statistic", "value", "LCL", "UCL", "rules"), flagged
        ),
    ]


def control_chart_plot(
    points: pl.DataFrame,
    path: Path,
    *,
    title: str,
    key: Mapping[str, object] | None = None,
    phase2: pl.DataFrame | None = None,
    subgroup: str = "subgroup",
) -> Path:
    """One characteristic's control chart from ``ControlChart.points`` (and Phase II points).

    ``key`` picks the characteristic by its key columns (``{"characteristic": "bore"}``)
    when ``points`` holds several; ``phase2`` is ``Monitoring.points``, drawn after a
    dotted line — or pass points of both phases in ``points``.
    """
    output_format(path)
    fig = _figure_control(points, title=title, key=key, phase2=phase2, subgroup=subgroup)
    data, found = _one_characteristic(points, key, phase2, subgroup)
    charts = "-".join(NAMES[p[0]].split()[0] for p in PANELS if p[0] in set(data["statistic"]))
    flagged = data.filter(pl.col("signal"))[subgroup].unique().sort().to_list()
    which = ", ".join(f"{k} {v}" for k, v in found.items()) or "one characteristic"
    alt = f"{charts} control chart of {which} over {data[subgroup].n_unique()} subgroups; " + (
        f"out of control at {subgroup} {', '.join(map(str, flagged))}"
        if flagged
        else "no point out of control"
    )
    return save_chart(fig, path, title=title, alt=alt, tables=_control_tables(data, subgroup))


def _capability_data(
    values: npt.ArrayLike,
    limits: tuple[float | None, float | None, float | None],
    indices: Mapping[str, float | None] | None,
) -> tuple[Array, float, float, dict[str, float | None]]:
    """The values, their mean and overall sigma (as given, else the sample's) and the indices."""
    x = np.asarray(values, dtype=np.float64).ravel()
    if x.size < 2 or not np.isfinite(x).all():
        bad = "fewer than 2 values" if x.size < 2 else f"{(~np.isfinite(x)).sum()} NaN/inf values"
        raise InputError(f"cannot plot capability: {bad}", hint="pass the finite measurements")
    for name, limit in zip(("lsl", "usl", "target"), limits, strict=True):
        if limit is not None and not math.isfinite(limit):
            raise InputError(f"{name} must be a finite number or None, not {limit}")
    lsl, usl, _ = limits
    if lsl is not None and usl is not None and not lsl < usl:
        raise InputError(f"LSL {lsl} is not below USL {usl}", hint="correct the specification")
    given: dict[str, float | None] = {}
    for name, value in (indices or {}).items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            hint = "pass the numeric indices only (None where an index is undefined)"
            raise InputError(f"index {name!r} is {value!r}, not a number", hint=hint)
        given[name.lower()] = None if value is None or not math.isfinite(value) else float(value)
    mean, sigma = given.get("mean"), given.get("sigma_overall")
    given["mean"] = mean = float(x.mean()) if mean is None else mean
    given["sigma_overall"] = sigma = float(x.std(ddof=1)) if sigma is None else sigma
    if not sigma > 0:
        raise InputError("the values do not vary: there is no distribution to draw")
    return x, mean, sigma, given


def _capability_rows(
    n: int, limits: tuple[float | None, ...], given: Mapping[str, float | None]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Rows of process data and of indices, as the side box and the HTML tables show them."""
    named = [("LSL", limits[0]), ("Target", limits[2]), ("USL", limits[1]), ("Sample N", n)]
    named += [(label, given.get(k)) for k, label in _SPREAD if given.get(k) is not None]
    process = [(label, "–" if v is None else _number(v)) for label, v in named]
    rows = []
    for name in [*_INDEX, *(k for k in given if k not in _INDEX and k not in _PROCESS)]:
        value = given.get(name, math.inf)
        if value is None or math.isfinite(value):
            text = "–" if value is None else f"{value:.2f}"
            if value is not None and "ppm" in name:
                text = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
            rows.append((_INDEX.get(name, name), text))
    return process, rows


def _figure_capability(
    values: npt.ArrayLike,
    *,
    lsl: float | None,
    usl: float | None,
    target: float | None = None,
    title: str,
    indices: Mapping[str, float | None] | None = None,
) -> Figure:
    x, mean, overall, given = _capability_data(values, (lsl, usl, target), indices)
    within = given.get("sigma_within") or 0.0
    fig = _new_figure(title)
    ax, side = fig.subplots(1, 2, width_ratios=(3, 1))
    edges = np.histogram_bin_edges(x, bins="auto")
    ax.hist(x, bins=edges, color="#a6c8e0", edgecolor="white", label=f"measurements (n={x.size})")
    marks = [v for v in (lsl, usl, target) if v is not None]
    reach = 3.5 * max(overall, within)
    low, high = min(x.min(), mean - reach, *marks), max(x.max(), mean + reach, *marks)
    grid = np.linspace(low - 0.04 * (high - low), high + 0.04 * (high - low), 400)
    scale = x.size * float(edges[1] - edges[0])  # the densities on the histogram's count scale
    for gid, sigma, colour, style in (
        ("overall", overall, BLUE, "-"),
        ("within", within, ORANGE, "--"),
    ):
        if sigma > 0:
            density = np.exp(-0.5 * ((grid - mean) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
            label = f"normal, {gid} σ = {sigma:.4g}"
            ax.plot(grid, density * scale, color=colour, ls=style, lw=1.8, gid=gid, label=label)
    top = ax.get_xaxis_transform()
    for gid, name, value, colour, style in (
        ("lsl", "LSL", lsl, RED, "--"),
        ("target", "Target", target, CENTRE, "-."),
        ("usl", "USL", usl, RED, "--"),
    ):
        if value is not None:
            ax.axvline(value, color=colour, ls=style, lw=1.6, gid=gid)
            label = f"{name}\n{_number(value)}"
            ax.text(value, 1.01, label, transform=top, ha="center", va="bottom", color=colour)
    ax.set(xlim=(grid[0], grid[-1]), xlabel="measurement", ylabel="frequency")
    ax.tick_params(labelsize="small")
    ax.grid(True, axis="y", alpha=0.3)
    process, rows = _capability_rows(x.size, (lsl, usl, target), given)
    lines = ["Process data", *(f"{k:<14}{v:>10}" for k, v in process)]
    lines += ["", "Capability", *(f"{k:<14}{v:>10}" for k, v in rows)] if rows else []
    side.axis("off")
    side.text(0, 1, "\n".join(lines), transform=side.transAxes, va="top", **_MONO)
    handles, labels = ax.get_legend_handles_labels()
    side.legend(handles, labels, loc="lower left", fontsize="x-small", frameon=False)
    return fig


def capability_plot(
    values: npt.ArrayLike,
    path: Path,
    *,
    lsl: float | None,
    usl: float | None,
    target: float | None = None,
    title: str,
    indices: Mapping[str, float | None] | None = None,
) -> Path:
    """A capability histogram: the values, fitted normal densities, the specification, indices.

    ``indices`` are shown as given (``cp``, ``cpk``, ``pp``, ``ppk``, ``cpm``, ``ppm_total``…,
    as ``capability`` computes them; nothing is computed here); ``mean``, ``sigma_overall``
    and ``sigma_within`` among them set the densities (overall solid, within dashed).
    """
    output_format(path)
    fig = _figure_capability(values, lsl=lsl, usl=usl, target=target, title=title, indices=indices)
    x, _, _, given = _capability_data(values, (lsl, usl, target), indices)
    process, rows = _capability_rows(x.size, (lsl, usl, target), given)
    counts, edges = np.histogram(x, bins="auto")
    bins = [
        (f"{_number(a)} to {_number(b)}", str(c))
        for a, b, c in zip(edges, edges[1:], counts, strict=False)
    ]
    tables = [ChartTable("Process data", ("quantity", "value"), process)]
    tables += [ChartTable("Capability indices", ("index", "value"), rows)] if rows else []
    tables.append(ChartTable("Histogram", ("measurement bin", "count"), bins))
    spec = ", ".join(f"{k} {_number(v)}" for k, v in (("LSL", lsl), ("USL", usl)) if v is not None)
    alt = f"Capability histogram of {x.size} values, a fitted normal density, {spec or 'no limits'}"
    alt += "".join(f"; {k} {v}" for k, v in rows[:4])
    return save_chart(fig, path, title=title, alt=alt, tables=tables)


def _pareto_data(
    table: pl.DataFrame, category: str, count: str, vital_share: float
) -> pl.DataFrame:
    """Categories by count, largest first, with share, cumulative share and the vital few."""
    _require(table, [category, count], "Pareto")
    if not 0 < vital_share <= 1:
        raise InputError(f"vital_share must be in (0, 1], not {vital_share}", hint="0.8 is usual")
    if not table.schema[count].is_numeric():
        raise InputError(f"the {count} column holds {table.schema[count]}, not counts")
    data = table.select(
        pl.col(category).cast(pl.String).fill_null("(missing)").alias("category"),
        pl.col(count).cast(pl.Float64).alias("count"),
    )
    bad = data.filter(~pl.col("count").is_finite().fill_null(False) | (pl.col("count") < 0))
    if bad.height:
        hint = f"the first is {category} {bad['category'][0]!r}; counts are 0 or more"
        raise InputError(
            f"{bad.height} rows have a missing, negative or infinite {count}", hint=hint
        )
    data = data.group_by("category").agg(pl.col("count").sum())
    data = data.sort(["count", "category"], descending=[True, False])
    if data["count"].sum() <= 0:
        raise InputError(f"every {count} is zero: nothing to rank")
    lumped = data.height > MAX_BARS
    if lumped:
        rest = data.slice(MAX_BARS - 1)
        other = {"category": [f"Other ({rest.height})"], "count": [rest["count"].sum()]}
        data = pl.concat([data.head(MAX_BARS - 1), pl.DataFrame(other)])
    share = 100 * pl.col("count") / pl.col("count").sum()
    cumulative = pl.col("count").cum_sum() / pl.col("count").cum_sum().last() * 100  # ends at 100
    named = pl.int_range(pl.len()) < data.height - lumped  # "Other" is never one of the vital few
    vital = (cumulative - share < 100 * vital_share - 1e-9) & named
    return data.with_columns(share=share, cumulative=cumulative, vital=vital)


def _figure_pareto(
    table: pl.DataFrame,
    *,
    category: str,
    count: str = "count",
    title: str,
    vital_share: float = 0.8,
) -> Figure:
    data = _pareto_data(table, category, count, vital_share)
    fig = _new_figure(title)
    ax = fig.add_subplot()
    at, counts, vital = np.arange(data.height), data["count"].to_numpy(), data["vital"].to_numpy()
    total = float(counts.sum())
    bars = ax.bar(at, counts, color=np.where(vital, BLUE, GREY), edgecolor="white", gid="bars")
    tall = counts > 0.12 * total  # labelled inside: the cumulative line meets the first bar's top
    for inside, padding, colour in ((True, -12, "white"), (False, 2, "0.15")):
        labels = [f"{c:,.4g}" if t == inside else "" for c, t in zip(counts, tall, strict=True)]
        ax.bar_label(bars, labels, padding=padding, color=colour, fontsize="x-small")
    names = [_mpl(c) for c in data["category"]]
    turn = data.height > 8 or max(map(len, names)) > 10
    ticks: dict[str, Any] = {"rotation": 35 if turn else 0, "ha": "right" if turn else "center"}
    ax.set_xticks(at, labels=names, rotation_mode="anchor", fontsize="small", **ticks)
    # the bars on the scale of the cumulative line: the total count is 100 %
    ax.set(
        xlim=(-0.6, data.height - 0.4), ylim=(0, total), xlabel=_mpl(category), ylabel=_mpl(count)
    )
    twin = ax.twinx()
    line: dict[str, Any] = {"color": RED, "marker": "o", "ms": 4, "lw": 1.6, "clip_on": False}
    twin.plot(at, data["cumulative"].to_numpy(), gid="cumulative", label="cumulative %", **line)
    reference = f"{100 * vital_share:g} %"
    twin.axhline(100 * vital_share, color="0.35", ls="--", lw=1, gid="vital", label=reference)
    twin.set(ylim=(0, 100), ylabel="cumulative share")
    twin.yaxis.set_major_formatter(PercentFormatter())
    few = int(vital.sum())
    handles = [
        Patch(color=BLUE, label=f"vital few ({few})"),
        Patch(color=GREY, label=f"trivial many ({data.height - few})"),
        *twin.get_lines(),
    ]
    ax.legend(handles=handles, loc="center right", fontsize="x-small", framealpha=0.9)
    for axis in (ax, twin):
        axis.tick_params(labelsize="small")
    return fig


def pareto_plot(
    table: pl.DataFrame,
    path: Path,
    *,
    category: str,
    count: str = "count",
    title: str,
    vital_share: float = 0.8,
) -> Path:
    """A Pareto chart: categories by count, largest first, with the cumulative share.

    Rows of one category are summed; beyond 20 categories the smallest make one "Other" bar.
    The vital few, the categories it takes to reach ``vital_share`` of the total, are blue.
    """
    output_format(path)
    fig = _figure_pareto(
        table, category=category, count=count, title=title, vital_share=vital_share
    )
    data = _pareto_data(table, category, count, vital_share)
    rows = [(c, f"{n:g}", f"{p:.1f} %", f"{s:.1f} %", "yes" * v) for c, n, p, s, v in data.rows()]
    header = (category, count, "share", "cumulative share", "vital few")
    ranked = ChartTable(f"{count} by {category}, largest first", header, rows)
    vital = data.filter("vital")["category"].to_list()
    alt = f"Pareto chart of {count} over {data.height} {category} categories; vital few: "
    return save_chart(fig, path, title=title, alt=alt + ", ".join(vital), tables=[ranked])
