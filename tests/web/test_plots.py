"""Line and bar chart geometry: points inside the plot area, where their values are, limits
at their y, ordered ticks, gaps, categories and moments on the x axis, nothing to draw."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from jinja2 import Environment

from drivetrain.errors import InputError
from drivetrain.web.pages import TEMPLATES
from drivetrain.web.plots import (
    Bar,
    BarChart,
    Frame,
    LineChart,
    Mark,
    Marker,
    Reference,
    Series,
    bar_chart,
    line_chart,
    number,
)


def _xy(polyline: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (p.split(",") for p in polyline.split())]


def _inside(chart: LineChart, x: float, y: float) -> bool:
    f = chart.frame
    return f.left <= x <= f.right and f.top <= y <= f.bottom


def _y_at(chart: LineChart, value: float) -> float:
    """The y of ``value`` by interpolating between the y ticks (labels are numbers)."""
    ticks = [(y, float(text.replace(",", ""))) for y, text in chart.y_ticks]
    (y0, v0), (y1, v1) = ticks[0], ticks[-1]
    return y0 + (value - v0) / (v1 - v0) * (y1 - y0)


def test_points_are_inside_the_plot_area_where_their_values_are() -> None:
    chart = line_chart(
        [Series("x̄", [(1, 10.0), (2, 12.0), (3, 11.0), (4, 14.0)])],
        title="Torque",
        references=[Reference(13.5, "UCL 13.5", "ucl"), Reference(11.0, "CL 11", "center")],
        x_title="subgroup",
        y_title="N.m",
    )
    assert not chart.empty
    (line,) = chart.lines
    (stretch,) = line.polylines
    xy = _xy(stretch)
    assert all(_inside(chart, x, y) for x, y in xy)
    assert [x for x, _ in xy] == sorted(x for x, _ in xy)
    assert xy[1][1] == pytest.approx(_y_at(chart, 12.0), abs=0.2)
    assert xy[3][1] < xy[0][1]  # higher values are higher up
    ucl, center = chart.references
    assert ucl.at == pytest.approx(_y_at(chart, 13.5), abs=0.2) and ucl.css == "plot-ucl"
    assert center.at == xy[2][1]  # the centre line at 11 goes through the point of 11
    assert "UCL 13.5 13.5" in chart.label and chart.columns == ("subgroup", "N.m")
    assert chart.table[0] == ("1", "10")


def test_ticks_are_ordered_and_cover_the_data_and_the_limits() -> None:
    chart = line_chart(
        [Series("p", [(0, 0.02), (10, 0.05)])],
        title="Share",
        references=[Reference(0.09, "UCL")],
        y_include=(0,),
    )
    ys = [y for y, _ in chart.y_ticks]
    assert ys == sorted(ys, reverse=True)  # SVG y grows downwards: values grow upwards
    values = [float(t) for _, t in chart.y_ticks]
    assert values[0] <= 0 and values[-1] >= 0.09
    xs = [x for x, _ in chart.x_ticks]
    assert xs == sorted(xs) and xs[0] == chart.frame.left and xs[-1] == chart.frame.right


def test_a_missing_value_breaks_the_line_and_a_lone_point_is_a_dot() -> None:
    chart = line_chart(
        [Series("rate", [(1, 1.0), (2, 2.0), (3, None), (4, 3.0), (5, None), (6, 2.0), (7, 1.0)])],
        title="Rate",
    )
    (line,) = chart.lines
    assert len(line.polylines) == 2 and len(line.dots) == 1
    assert len(_xy(line.polylines[0])) == 2


def test_step_series_hold_their_value_until_the_next_point() -> None:
    chart = line_chart([Series("UCL", [(1, 5.0), (2, 6.0)], step=True)], title="Limits")
    (a, corner, b) = _xy(chart.lines[0].polylines[0])
    assert corner == (b[0], a[1])


def test_marks_and_markers_are_placed_on_the_axes() -> None:
    chart = line_chart(
        [Series("x", [(i, float(i % 3)) for i in range(1, 21)])],
        title="Signals",
        marks=[Mark(5, 2.0, "subgroup 5: nelson1")],
        markers=[Marker(10, "Phase II"), Marker(99, "outside"), Marker("label", "wrong kind")],
    )
    (mark,) = chart.marks
    point = _xy(chart.lines[0].polylines[0])[4]
    assert (mark.x, mark.y) == point and mark.css == "plot-signal"
    (marker,) = chart.markers  # the one outside the data and the one not a number are left out
    assert marker.at == _xy(chart.lines[0].polylines[0])[9][0]


def test_moments_and_days_share_a_time_axis() -> None:
    t0 = datetime(2026, 4, 13, tzinfo=UTC)
    chart = line_chart(
        [
            Series("a", [(t0 + timedelta(days=d), float(d)) for d in range(5)]),
            Series("b", [(date(2026, 4, 14), 1.0), (date(2026, 4, 16), 2.0)]),
        ],
        title="Over time",
    )
    a, b = (_xy(line.polylines[0]) for line in chart.lines)
    assert a[0][0] == chart.frame.left and a[-1][0] == chart.frame.right
    assert b[0][0] == a[1][0] and b[1][0] == a[3][0]  # the same day, the same x
    assert [t for _, t in chart.x_ticks][:2] == ["Apr 13", "Apr 14"]
    assert chart.columns == ("Series", "x", "y") and chart.table[0][1] == "2026-04-13 00:00 UTC"
    assert [text for _, text in chart.legend] == ["a", "b"]


def test_categories_are_evenly_spaced_in_their_order() -> None:
    chart = line_chart(
        [Series("share", [("2024-01", 1.0), ("2024-02", 3.0), ("2024-03", 2.0)])], title="By month"
    )
    xs = [x for x, _ in _xy(chart.lines[0].polylines[0])]
    assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1], abs=0.1)
    assert [t for _, t in chart.x_ticks] == ["2024-01", "2024-02", "2024-03"]


def test_mixed_x_kinds_and_bad_styles_are_refused() -> None:
    with pytest.raises(InputError, match="mix"):
        line_chart([Series("a", [(1, 1.0), ("two", 2.0)])], title="Mixed")
    with pytest.raises(InputError, match="CSS class"):
        line_chart([Series("a", [(1, 1.0)], style='red" onclick="x')], title="Injected")


def test_legend_merges_series_of_one_kind() -> None:
    series = [
        Series(f"c{i}", [(1, 1.0), (2, 2.0)], style="muted", legend="other") for i in range(5)
    ]
    chart = line_chart([*series, Series("pooled", [(1, 1.0)], style="reference")], title="Many")
    assert chart.legend == (("plot-muted", "other"), ("plot-reference", "pooled"))


def test_empty_data_is_an_empty_chart() -> None:
    for series in ([], [Series("none", [])], [Series("nulls", [(1, None), (2, None)])]):
        chart = line_chart(series, title="Nothing")
        assert chart.empty and not chart.lines and not chart.table
        assert chart.label == "Nothing: no data"
    bars = bar_chart([], title="No bars", cumulative=[])
    assert bars.empty and not bars.bars


def test_bars_stand_on_zero_and_the_cumulative_line_uses_the_right_axis() -> None:
    chart = bar_chart(
        [Bar("FIT-CLIP", 69, "vital", "vital few"), Bar("ELE-CONN", 57, "vital", "vital few"),
         Bar("PNT-DMG", 19, legend="others")],
        title="Pareto",
        cumulative=[47.6, 86.9, 100.0],
        reference=Reference(80.0, "80 %"),
        y_title="defects",
    )  # fmt: skip
    f = chart.frame
    zero = next(y for y, text in chart.y_ticks if text == "0")
    assert zero == f.bottom
    first, second, third = chart.bars
    assert first.y + first.height == pytest.approx(zero) and first.height > second.height
    assert (
        first.x + first.width < second.x and f.left <= first.x and third.x + third.width <= f.right
    )
    assert first.css == "plot-vital" and third.css == "plot-bar"
    assert chart.legend == (("plot-vital", "vital few"), ("plot-bar", "others"))
    dots = chart.cumulative_dots
    assert [x for x, _ in dots] == [b.center for b in chart.bars]
    assert dots[-1][1] == f.top  # 100 % at the top of the plot area
    assert chart.reference is not None
    assert chart.reference.at == pytest.approx(f.top + 0.2 * (f.bottom - f.top), abs=0.1)
    assert [t for _, t in chart.right_ticks] == ["0 %", "20 %", "40 %", "60 %", "80 %", "100 %"]
    assert chart.table[0] == ("FIT-CLIP", "69", "47.6") and not chart.slanted


def test_many_or_long_categories_are_slanted() -> None:
    chart = bar_chart([Bar(f"LOT-TH-2402-{i}", float(i)) for i in range(12)], title="Lots")
    assert chart.slanted and chart.columns == ("Category", "Value")
    with pytest.raises(InputError):
        bar_chart([Bar("a", 1.0)], title="Mismatch", cumulative=[10.0, 20.0])


def test_numbers_read_as_people_write_them() -> None:
    assert [number(v) for v in (None, float("nan"), 3.0, 1234.5, 0.12345, 45.0279)] == [
        "—", "—", "3", "1,234", "0.123", "45",
    ]  # fmt: skip
    assert number(45.0279, 4) == "45.03" and number(0.00001234) == "1.23e-05"


def _render(template: str, macro: str, chart: LineChart | BarChart) -> str:
    env: Environment = TEMPLATES.env
    module = env.get_template(template).module
    return str(getattr(module, macro)(chart, "the-plot"))


def test_the_partials_draw_an_accessible_figure() -> None:
    line = line_chart(
        [Series("x", [(1, 1.0), (2, 2.0)])],
        title="A & B",
        references=[Reference(1.5, "UCL")],
        marks=[Mark(2, 2.0, "nelson1 <beyond>")],
    )
    html = _render("_plot_line.html", "line_plot", line)
    assert 'role="img"' in html and "<title>A &amp; B: 1 series" in html
    assert "<caption>A &amp; B: the plotted values</caption>" in html
    assert "nelson1 &lt;beyond&gt;" in html and 'class="plot-signal"' in html
    assert "style=" not in html
    bars = bar_chart([Bar("a", 1.0)], title="Bars", cumulative=[100.0])
    html = _render("_plot_bars.html", "bar_plot", bars)
    assert 'role="img"' in html and html.count("<table") == html.count("<caption>") == 1
    empty = _render("_plot_line.html", "line_plot", line_chart([], title="None"))
    assert "Nothing to plot." in empty and "<svg" not in empty


def test_a_frame_sets_the_plot_area() -> None:
    frame = Frame(width=400, height=200, left=40, right=380, top=10, bottom=170)
    chart = line_chart([Series("x", [(0, 0.0), (1, 1.0)])], title="Small", frame=frame)
    xy = _xy(chart.lines[0].polylines[0])
    assert xy[0] == (40, 170) and xy[-1] == (380, 10)
