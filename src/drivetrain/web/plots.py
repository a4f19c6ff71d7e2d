"""Line and bar charts as server-drawn SVG: the geometry, computed here, drawn by two partials.

:func:`line_chart` places any number of :class:`Series` (x numbers, datetimes,
dates or category labels; a ``None`` y breaks the line) with optional
horizontal :class:`Reference` lines (limits, targets), vertical :class:`Marker`
lines (a phase boundary, the end of warranty) and :class:`Mark` points (a
signal, with what it means). :func:`bar_chart` draws :class:`Bar` s with an
optional cumulative line in percent against a right-hand axis, as a Pareto
chart has. Both return frozen dataclasses in SVG user units, with tick labels
and a data table already formatted; ``templates/_plot_line.html`` and
``_plot_bars.html`` draw them and hold no numbers of their own. Styles are CSS
class names (``console.css``), never inline, because of the console's CSP.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from drivetrain.errors import InputError
from drivetrain.web.charts import nice_ticks, time_ticks

X = float | int | datetime | date | str
#: Series styles cycled when a series names none (``plot-c1`` … in console.css).
PALETTE = ("c1", "c2", "c3", "c4", "c5", "c6")
_STYLE = re.compile(r"^[a-z0-9-]{1,32}$")


@dataclass(frozen=True, slots=True)
class Series:
    """A named line; ``legend`` is its legend text (default: the name; ``""``: none)."""

    name: str
    points: Sequence[tuple[X, float | None]]
    style: str = ""
    legend: str | None = None
    step: bool = False  # drawn as steps (limits that change from point to point)


@dataclass(frozen=True, slots=True)
class Reference:
    """A horizontal line at ``value``: a control limit, a centre line, a target."""

    value: float
    label: str
    style: str = "limit"


@dataclass(frozen=True, slots=True)
class Marker:
    """A vertical line at ``x``: a phase boundary, a date, the end of warranty."""

    x: X
    label: str
    style: str = "marker"


@dataclass(frozen=True, slots=True)
class Mark:
    """A point to point out (a control-chart signal), with what it means."""

    x: X
    y: float
    label: str
    style: str = "signal"


@dataclass(frozen=True, slots=True)
class Frame:
    """The SVG's size and its plot area (``left``..``right``, ``top``..``bottom``); a line
    chart labels its references in the margin right of the plot area."""

    width: float = 880.0
    height: float = 260.0
    left: float = 64.0
    right: float = 800.0
    top: float = 12.0
    bottom: float = 224.0


@dataclass(frozen=True, slots=True)
class DrawnLine:
    name: str
    css: str
    polylines: tuple[str, ...]  # SVG points, one per unbroken stretch
    dots: tuple[tuple[float, float], ...]  # lone points with no neighbour to join


@dataclass(frozen=True, slots=True)
class DrawnRule:
    """A reference or marker line: ``at`` is its y (horizontal) or x (vertical)."""

    at: float
    label: str
    css: str


@dataclass(frozen=True, slots=True)
class DrawnMark:
    x: float
    y: float
    label: str
    css: str


@dataclass(frozen=True, slots=True)
class LineChart:
    """A line chart's geometry, ticks, legend and data table; ``empty`` when nothing to draw."""

    title: str
    label: str  # the chart in words, for aria-label and <title>
    frame: Frame
    lines: tuple[DrawnLine, ...]
    references: tuple[DrawnRule, ...]
    markers: tuple[DrawnRule, ...]
    marks: tuple[DrawnMark, ...]
    x_ticks: tuple[tuple[float, str], ...]
    y_ticks: tuple[tuple[float, str], ...]
    legend: tuple[tuple[str, str], ...]  # (css class, text)
    x_title: str
    y_title: str
    columns: tuple[str, ...]
    table: tuple[tuple[str, ...], ...]
    empty: bool


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar; ``style`` e.g. ``highlight`` for the vital few, ``legend`` its legend text."""

    label: str
    value: float
    style: str = ""
    legend: str = ""


@dataclass(frozen=True, slots=True)
class DrawnBar:
    x: float
    y: float
    width: float
    height: float
    center: float
    label: str
    value: str
    css: str


@dataclass(frozen=True, slots=True)
class BarChart:
    """A bar chart's geometry, with the cumulative line and its right-hand axis if any."""

    title: str
    label: str
    frame: Frame
    bars: tuple[DrawnBar, ...]
    y_ticks: tuple[tuple[float, str], ...]
    right_ticks: tuple[tuple[float, str], ...]
    cumulative: str  # SVG polyline points, "" without a cumulative line
    cumulative_dots: tuple[tuple[float, float], ...]
    reference: DrawnRule | None  # on the cumulative axis (e.g. 80 %)
    legend: tuple[tuple[str, str], ...]  # (css class, text) of the bars' styles
    slanted: bool  # category labels drawn at an angle (many or long)
    y_title: str
    columns: tuple[str, ...]
    table: tuple[tuple[str, ...], ...]
    empty: bool


def number(value: float | None, digits: int = 3) -> str:
    """``value`` to ``digits`` significant digits, thousands separated; ``—`` for none."""
    if value is None or not math.isfinite(value):
        return "—"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) >= 10 ** (digits - 1):
        return f"{value:,.0f}"
    return f"{value:,.{digits}g}" if abs(value) >= 1e-4 else f"{value:.{digits}g}"


def _css(style: str) -> str:
    if not _STYLE.fullmatch(style):
        raise InputError(f"plot style {style!r} is not a CSS class name", hint="use a-z, 0-9, -")
    return f"plot-{style}"


def _moment(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _x_text(value: X) -> str:
    if isinstance(value, datetime):
        return _moment(value).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date | str):
        return value.isoformat() if isinstance(value, date) else value
    return number(float(value))


def _x_scale(
    values: Sequence[X], left: float, right: float
) -> tuple[Callable[[X], float], list[tuple[float, str]]]:
    """Where each x goes and the x ticks, for numbers, moments or categories."""
    first = values[0]
    if isinstance(first, str):
        order = list(dict.fromkeys(str(v) for v in values))
        band = (right - left) / len(order)
        where = {c: round(left + band * (i + 0.5), 1) for i, c in enumerate(order)}
        every = max(1, math.ceil(len(order) / 12))  # at most about a dozen labels

        def at_category(v: X) -> float:
            if not isinstance(v, str) or v not in where:
                raise InputError(f"{v!r} is not one of the chart's categories")
            return where[v]

        return at_category, [(where[c], c) for c in order[::every]]
    if isinstance(first, date):  # datetime is a date too
        moments = [_moment(v) for v in values if isinstance(v, date)]
        if len(moments) != len(values):
            raise InputError("a chart's x values mix moments with numbers or labels")
        start, end = min(moments), max(moments)
        span = max((end - start).total_seconds(), 1.0)

        def at_moment(v: X) -> float:
            if not isinstance(v, date):
                raise InputError(f"{v!r} is not a moment, as the chart's x values are")
            return round(left + (_moment(v) - start).total_seconds() / span * (right - left), 1)

        days = span / 86400
        fmt = "%Y-%m-%d" if days > 180 else "%b %d" if days >= 2 else "%H:%M"
        return at_moment, [(at_moment(t), t.strftime(fmt)) for t in time_ticks(start, end)]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise InputError("a chart's x values mix numbers with moments or labels")
    numbers = [float(v) for v in values if isinstance(v, int | float)]
    ticks = nice_ticks(min(numbers), max(numbers), most=8)
    low, high = ticks[0], ticks[-1]

    def at_number(v: X) -> float:
        if not isinstance(v, int | float):
            raise InputError(f"{v!r} is not a number, as the chart's x values are")
        return round(left + (float(v) - low) / (high - low) * (right - left), 1)

    return at_number, [(at_number(t), number(t)) for t in ticks]


def _y_scale(
    values: Sequence[float], top: float, bottom: float
) -> tuple[Callable[[float], float], list[tuple[float, str]]]:
    ticks = nice_ticks(min(values), max(values))
    low, high = ticks[0], ticks[-1]

    def at(v: float) -> float:
        return round(top + (high - v) / (high - low) * (bottom - top), 1)

    return at, [(at(t), number(t)) for t in ticks]


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    references: Sequence[Reference] = (),
    markers: Sequence[Marker] = (),
    marks: Sequence[Mark] = (),
    x_title: str = "",
    y_title: str = "",
    y_include: Sequence[float] = (),
    frame: Frame | None = None,
) -> LineChart:
    """The geometry of ``series`` with their references, markers and marks.

    ``y_include``: values the y axis must reach (``(0,)`` to start at zero).
    The y axis covers the data, the references and the marks; markers outside
    the data's x range are left out.
    """
    frame = frame or Frame()
    xs = [x for s in series for x, y in s.points if y is not None and math.isfinite(y)]
    ys = [y for s in series for _, y in s.points if y is not None and math.isfinite(y)]
    columns: tuple[str, ...] = (x_title or "x", y_title or "y")
    if len(series) > 1:
        columns = ("Series", *columns)
    if not ys:
        return LineChart(
            title, f"{title}: no data", frame, (), (), (), (), (), (), (), x_title, y_title,
            columns, (), empty=True,
        )  # fmt: skip
    x_of, x_ticks = _x_scale(xs + [m.x for m in marks], frame.left, frame.right)
    every_y = ys + [r.value for r in references] + [m.y for m in marks] + list(y_include)
    y_of, y_ticks = _y_scale([v for v in every_y if math.isfinite(v)], frame.top, frame.bottom)
    lines: list[DrawnLine] = []
    legend: dict[tuple[str, str], None] = {}  # ordered, without duplicates
    rows: list[tuple[str, ...]] = []
    for index, one in enumerate(series):
        css = _css(one.style or PALETTE[index % len(PALETTE)])
        stretches: list[list[tuple[float, float]]] = [[]]
        for x, y in one.points:
            if y is None or not math.isfinite(y):
                if stretches[-1]:
                    stretches.append([])
                continue
            px, py = x_of(x), y_of(y)
            if one.step and stretches[-1]:
                stretches[-1].append((px, stretches[-1][-1][1]))
            stretches[-1].append((px, py))
        lines.append(
            DrawnLine(
                one.name,
                css,
                tuple(" ".join(f"{x},{y}" for x, y in s) for s in stretches if len(s) > 1),
                tuple(s[0] for s in stretches if len(s) == 1),
            )
        )
        text = one.name if one.legend is None else one.legend
        if text:
            legend.setdefault((css, text), None)
        for x, y in one.points:
            cells: tuple[str, ...] = (_x_text(x), number(y, 4))
            rows.append((one.name, *cells) if len(series) > 1 else cells)
    drawn_markers = []
    low_x, high_x = min(x_of(x) for x in xs), max(x_of(x) for x in xs)
    for marker in markers:
        try:
            at = x_of(marker.x)
        except InputError:
            continue  # not on this axis (a category it lacks, a moment on numbers)
        if low_x <= at <= high_x:
            drawn_markers.append(DrawnRule(at, marker.label, _css(marker.style)))
    n_points = sum(1 for s in series for _, y in s.points if y is not None)
    label = (
        f"{title}: {len(series)} series, {n_points} points"
        + (f", {y_title} from {number(min(ys))} to {number(max(ys))}" if y_title else "")
        + "".join(f"; {r.label} {number(r.value, 4)}" for r in references)
        + (f"; {len(marks)} points marked" if marks else "")
    )
    return LineChart(
        title=title,
        label=label,
        frame=frame,
        lines=tuple(lines),
        references=tuple(DrawnRule(y_of(r.value), r.label, _css(r.style)) for r in references),
        markers=tuple(drawn_markers),
        marks=tuple(DrawnMark(x_of(m.x), y_of(m.y), m.label, _css(m.style)) for m in marks),
        x_ticks=tuple(x_ticks),
        y_ticks=tuple(y_ticks),
        legend=tuple(legend),
        x_title=x_title,
        y_title=y_title,
        columns=columns,
        table=tuple(rows),
        empty=False,
    )


def bar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    cumulative: Sequence[float] | None = None,
    reference: Reference | None = None,
    y_title: str = "",
    frame: Frame | None = None,
) -> BarChart:
    """The geometry of ``bars`` (left to right), from zero up.

    ``cumulative``: one value in percent (0–100) per bar, drawn as a line at the
    bars' centres against a right-hand 0–100 % axis; ``reference`` is a line on
    that axis (e.g. 80 %).
    """
    frame = frame or Frame(right=824.0, bottom=200.0)
    if cumulative is not None and len(cumulative) != len(bars):
        raise InputError(f"{len(cumulative)} cumulative values for {len(bars)} bars")
    columns = ("Category", y_title or "Value") + (("Cumulative %",) if cumulative else ())
    if not bars:
        return BarChart(
            title, f"{title}: no data", frame, (), (), (), "", (), None, (), False, y_title,
            columns, (), empty=True,
        )  # fmt: skip
    y_of, y_ticks = _y_scale([0.0, *(b.value for b in bars)], frame.top, frame.bottom)
    band = (frame.right - frame.left) / len(bars)
    drawn = []
    for i, one in enumerate(bars):
        top, zero = y_of(max(one.value, 0.0)), y_of(min(one.value, 0.0))
        center = frame.left + band * (i + 0.5)
        drawn.append(
            DrawnBar(
                x=round(center - band * 0.35, 1),
                y=top,
                width=round(band * 0.7, 1),
                height=round(zero - top, 1),
                center=round(center, 1),
                label=one.label,
                value=number(one.value, 4),
                css=_css(one.style or "bar"),
            )
        )
    points: list[tuple[float, float]] = []
    right_ticks: list[tuple[float, str]] = []
    drawn_reference = None
    if cumulative is not None:

        def share_y(v: float) -> float:
            return round(frame.top + (100 - v) / 100 * (frame.bottom - frame.top), 1)

        points = [(b.center, share_y(v)) for b, v in zip(drawn, cumulative, strict=True)]
        right_ticks = [(share_y(v), f"{v} %") for v in range(0, 101, 20)]
        if reference is not None:
            drawn_reference = DrawnRule(
                share_y(reference.value), reference.label, _css(reference.style)
            )
    rows: list[tuple[str, ...]] = [(b.label, number(b.value, 4)) for b in bars]
    if cumulative is not None:
        rows = [(*row, number(c, 3)) for row, c in zip(rows, cumulative, strict=True)]
    slanted = len(bars) > 8 or max(len(b.label) for b in bars) * 7 > band
    label = f"{title}: {len(bars)} bars, " + ", ".join(
        f"{b.label} {number(b.value)}" for b in bars[:10]
    ) + ("…" if len(bars) > 10 else "")  # fmt: skip
    return BarChart(
        title=title,
        label=label,
        frame=frame,
        bars=tuple(drawn),
        y_ticks=tuple(y_ticks),
        right_ticks=tuple(right_ticks),
        cumulative=" ".join(f"{x},{y}" for x, y in points),
        cumulative_dots=tuple(points),
        reference=drawn_reference,
        legend=tuple(
            dict.fromkeys(
                (b.css, one.legend) for b, one in zip(drawn, bars, strict=True) if one.legend
            )
        ),
        slanted=slanted,
        y_title=y_title,
        columns=columns,
        table=tuple(rows),
        empty=False,
    )
