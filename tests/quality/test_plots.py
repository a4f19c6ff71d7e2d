"""The quality charts: real PNG and HTML files, and the numbers the figures draw.

Control charts are built with ``control_chart`` on Montgomery's piston rings (Example 6.1:
25 Phase I subgroups of 5, then 15 Phase II subgroups of which 37-39 are above the UCL) and
orange-juice cans (Example 7.1: samples 15 and 23 out of control, dropped from the limits).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex
from matplotlib.dates import ConciseDateFormatter, num2date
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PIL import Image
from pyspc.sampledata import canjuice, pistonrings

from drivetrain.errors import InputError
from drivetrain.quality.charts import ControlChart, Monitoring, control_chart
from drivetrain.quality.plots import (
    _figure_capability,
    _figure_control,
    _figure_pareto,
    capability_plot,
    control_chart_plot,
    pareto_plot,
    short_rule,
)

RINGS = pistonrings.astype(float)
SIZE = (960, 600)  # 8 × 5 inches at 120 dpi


def long(matrix: np.ndarray, name: str = "ring", first: int = 1) -> pl.DataFrame:
    rows = [(name, first + i, float(v)) for i, row in enumerate(matrix) for v in row]
    return pl.DataFrame(rows, schema=["characteristic", "subgroup", "value"], orient="row")


@pytest.fixture(scope="module")
def rings() -> tuple[ControlChart, Monitoring]:
    chart = control_chart(long(RINGS[:25]), "xbar_r")
    return chart, chart.monitor(long(RINGS[25:], first=26))


@pytest.fixture(scope="module")
def cans() -> ControlChart:
    frame = pl.DataFrame(
        {
            "characteristic": "cans",
            "subgroup": range(1, 31),
            "size": canjuice[:, 0].astype(float),
            "count": canjuice[:, 1].astype(float),
        }
    )
    return control_chart(frame, "p")


def artist(fig: Figure, gid: str, panel: int | None = None) -> Line2D | PathCollection:
    axes = fig.axes if panel is None else [fig.axes[panel]]
    found = [a for ax in axes for a in (*ax.lines, *ax.collections) if a.get_gid() == gid]
    assert len(found) == 1, f"{len(found)} artists with gid {gid}"
    return found[0]


def line(fig: Figure, gid: str) -> Line2D:
    found = artist(fig, gid)
    assert isinstance(found, Line2D)
    return found


def flagged_x(fig: Figure, statistic: str) -> list[float]:
    dots = artist(fig, f"signal:{statistic}")
    assert isinstance(dots, PathCollection)
    return dots.get_offsets()[:, 0].tolist()


def assert_png(path: Path) -> None:
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.size == SIZE


def both_phases(chart: ControlChart, watch: Monitoring) -> pl.DataFrame:
    return pl.concat([chart.points, watch.points]).sort("statistic", "subgroup")


def test_control_chart_png_is_a_valid_image(rings, tmp_path: Path) -> None:
    chart, watch = rings
    out = control_chart_plot(
        chart.points, tmp_path / "rings.png", title="Rings", phase2=watch.points
    )
    assert out == tmp_path / "rings.png"
    assert_png(out)


def test_xbar_r_panels_limits_signals_and_phase_line(rings) -> None:
    chart, watch = rings
    fig = _figure_control(chart.points, title="Rings", phase2=watch.points)
    assert [ax.get_ylabel() for ax in fig.axes] == [r"subgroup mean $\bar{X}$", "range R"]
    points = both_phases(chart, watch)
    for statistic in ("xbar", "r"):
        expected = points.filter(pl.col("statistic") == statistic)
        np.testing.assert_allclose(line(fig, f"value:{statistic}").get_ydata(), expected["value"])
        for column in ("center", "ucl", "lcl"):
            drawn = line(fig, f"{column}:{statistic}")
            assert drawn.get_linestyle() == ("-" if column == "center" else "--")
            # half a subgroup beyond each end, then one step per subgroup
            np.testing.assert_allclose(drawn.get_ydata()[1:-1], expected[column])
            assert drawn.get_xdata()[0] == 0.5 and drawn.get_xdata()[-1] == 40.5
    assert line(fig, "ucl:xbar").get_ydata()[1] == pytest.approx(74.0143, abs=5e-5)
    signalled = watch.signals().filter(pl.col("statistic") == "xbar")["subgroup"].to_list()
    assert {37, 38, 39} <= set(signalled)
    assert flagged_x(fig, "xbar") == signalled
    for panel in (0, 1):
        assert list(artist(fig, "phase2", panel).get_xdata()) == [25.5, 25.5]
    labels = {t.xy[0]: t.get_text() for t in fig.axes[0].texts if hasattr(t, "xy")}
    rules = watch.signals().filter(pl.col("subgroup") == 38, pl.col("statistic") == "xbar")
    assert labels[38] == "\n".join(short_rule(r) for r in rules["rules"][0])
    assert labels[38].startswith("N1")
    edge = [t.get_text() for t in fig.axes[0].texts if not hasattr(t, "xy")]
    assert "UCL = 74.0143" in edge and "LCL = 73.9880" in edge
    assert not [a for a in fig.axes[0].lines if str(a.get_gid()).startswith("dropped")]


def test_no_red_points_and_no_separator_for_an_in_control_phase_one(rings) -> None:
    chart, _ = rings
    fig = _figure_control(chart.points, title="Rings, Phase I")
    assert not [c for ax in fig.axes for c in ax.collections if str(c.get_gid()).startswith("sig")]
    assert not [ln for ax in fig.axes for ln in ax.lines if ln.get_gid() == "phase2"]


def test_dropped_phase_one_points_are_hollow(cans) -> None:
    fig = _figure_control(cans.points, title="Cans")
    dropped = cans.points.filter(~pl.col("used"))["subgroup"].to_list()
    assert {15, 23} <= set(dropped)  # Montgomery's assignable causes, out of the revised limits
    hollow = line(fig, "dropped:p")
    assert list(hollow.get_xdata()) == dropped
    assert hollow.get_markerfacecolor() == "white"
    signalled = cans.signals()["subgroup"].to_list()
    assert flagged_x(fig, "p") == signalled
    faces = [to_hex(f) for f in artist(fig, "signal:p").get_facecolors()]
    assert faces == ["#ffffff" if s in dropped else "#d62728" for s in signalled]


def test_limits_varying_with_subgroup_size_are_steps() -> None:
    rng = np.random.default_rng(7)
    size = rng.integers(50, 150, 30).astype(float)
    frame = pl.DataFrame(
        {
            "characteristic": "solder",
            "subgroup": range(30),
            "size": size,
            "count": rng.binomial(size.astype(int), 0.05).astype(float),
        }
    )
    chart = control_chart(frame, "p")
    fig = _figure_control(chart.points, title="Solder")
    ucl = line(fig, "ucl:p")
    assert ucl.get_drawstyle() == "steps-mid"
    np.testing.assert_allclose(ucl.get_ydata()[1:-1], chart.points["ucl"])
    assert len(set(ucl.get_ydata())) > 10


def test_cusum_has_both_sums_in_one_panel_with_plus_minus_h(rings) -> None:
    chart = control_chart(long(RINGS[:25]), "cusum")
    watch = chart.monitor(long(RINGS[25:], first=26))
    fig = _figure_control(chart.points, title="CUSUM", phase2=watch.points)
    assert len(fig.axes) == 1
    assert set(line(fig, "ucl:cusum_upper").get_ydata()) == {5.0}
    assert set(line(fig, "lcl:cusum_lower").get_ydata()) == {-5.0}
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "H = 5.00" in texts and "−H = −5.00" in texts
    legend = fig.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["CUSUM C+", "CUSUM C−"]
    signalled = watch.signals()["subgroup"].to_list()
    upper = watch.signals().filter(pl.col("statistic") == "cusum_upper")["subgroup"].to_list()
    assert upper and flagged_x(fig, "cusum_upper") == upper == signalled


def test_imr_and_ewma_panels() -> None:
    values = pl.DataFrame({"characteristic": "v", "subgroup": range(30), "value": RINGS[:30, 0]})
    fig = _figure_control(control_chart(values, "imr").points, title="I-MR")
    assert [ax.get_ylabel() for ax in fig.axes] == ["individual value", "moving range"]
    ewma = control_chart(long(RINGS[:25]), "ewma")
    fig = _figure_control(ewma.points, title="EWMA")
    np.testing.assert_allclose(line(fig, "ucl:ewma").get_ydata()[1:-1], ewma.points["ucl"])


def test_dates_on_the_x_axis_and_the_phase_line_between_two_days(rings) -> None:
    day = datetime(2024, 3, 1, 6)
    to_dates = pl.col("subgroup").map_elements(
        lambda i: day + timedelta(days=i), return_dtype=pl.Datetime("us")
    )
    chart = control_chart(long(RINGS[:25]).with_columns(to_dates), "xbar_r")
    watch = chart.monitor(long(RINGS[25:], first=26).with_columns(to_dates))
    fig = _figure_control(chart.points, title="By day", phase2=watch.points)
    assert isinstance(fig.axes[-1].xaxis.get_major_formatter(), ConciseDateFormatter)
    separator = artist(fig, "phase2", panel=0)
    assert isinstance(separator, Line2D)
    assert set(separator.get_xdata()) == {np.datetime64(day + timedelta(days=25, hours=12), "us")}
    signalled = watch.signals().filter(pl.col("statistic") == "xbar")["subgroup"].to_list()
    drawn = [num2date(x).replace(tzinfo=None) for x in flagged_x(fig, "xbar")]
    assert drawn == signalled


def test_html_page_has_the_limits_and_the_flagged_subgroups(rings, tmp_path: Path) -> None:
    chart, watch = rings
    mixed = pl.concat([chart.points, watch.points])  # both phases in one frame also works
    page = control_chart_plot(mixed, tmp_path / "rings.html", title="Piston rings").read_text()
    assert 'alt="X̄-R control chart of characteristic ring over 40 subgroups' in page
    limits, flagged = re.findall(r"<table>.*?</table>", page, flags=re.DOTALL)
    assert "<td>74.0012</td><td>73.9880</td><td>74.0143</td>" in limits
    rows = re.findall(r'<tr><th scope="row">(\d+)</th><td>II</td><td>X̄</td>', flagged)
    expected = watch.signals().filter(pl.col("statistic") == "xbar")["subgroup"].to_list()
    assert [int(r) for r in rows] == expected
    assert "N1: one point beyond the control limits" in flagged


def test_one_characteristic_is_chosen_by_key(rings) -> None:
    chart = control_chart(pl.concat([long(RINGS[:25]), long(RINGS[:25] + 1, "bore")]), "xbar_r")
    with pytest.raises(InputError, match="2 characteristics") as error:
        _figure_control(chart.points, title="two")
    assert "ring" in str(error.value) and "bore" in str(error.value)
    fig = _figure_control(chart.points, title="bore", key={"characteristic": "bore"})
    assert line(fig, "center:xbar").get_ydata()[0] == pytest.approx(75.0012, abs=1e-4)
    with pytest.raises(InputError, match="no points match"):
        _figure_control(chart.points, title="x", key={"characteristic": "shaft"})
    with pytest.raises(InputError, match="not a key column"):
        _figure_control(chart.points, title="x", key={"station": "A"})


def test_bad_control_chart_inputs(rings, tmp_path: Path) -> None:
    chart, _ = rings
    with pytest.raises(InputError, match="lack column"):
        _figure_control(chart.points.drop("ucl"), title="x")
    with pytest.raises(InputError, match="empty"):
        _figure_control(chart.points.clear(), title="x")
    with pytest.raises(InputError, match="appears twice"):
        _figure_control(chart.points, title="x", phase2=chart.points)
    with pytest.raises(InputError, match="unknown format"):
        control_chart_plot(chart.points, tmp_path / "rings.svg", title="x")
    assert not list(tmp_path.iterdir())


VALUES = RINGS[:25].ravel()
INDICES = {"cp": 1.02, "cpk": 1.0, "ppk": 0.96, "ppm_total": 3300.0, "sigma_within": 0.0098}


def test_capability_lines_densities_and_indices(tmp_path: Path) -> None:
    fig = _figure_capability(VALUES, lsl=73.97, usl=74.03, target=74.0, title="c", indices=INDICES)
    assert set(line(fig, "lsl").get_xdata()) == {73.97}
    assert set(line(fig, "usl").get_xdata()) == {74.03}
    assert set(line(fig, "target").get_xdata()) == {74.0}
    assert line(fig, "within").get_linestyle() == "--"
    overall = line(fig, "overall")
    peak = overall.get_xdata()[np.argmax(overall.get_ydata())]
    assert peak == pytest.approx(VALUES.mean(), abs=2e-4)
    box = fig.axes[1].texts[0].get_text()
    assert re.search(r"Cpk +1\.00", box) and re.search(r"PPM total +3,300", box)
    assert "Pp " not in box  # only the indices given
    assert_png(capability_plot(VALUES, tmp_path / "c.png", lsl=73.97, usl=74.03, title="c"))
    page = capability_plot(
        VALUES, tmp_path / "c.html", lsl=None, usl=74.03, title="c", indices=INDICES
    ).read_text()
    assert "<caption>Capability indices</caption>" in page and "<td>1.02</td>" in page


def test_capability_without_within_sigma_or_limits() -> None:
    fig = _figure_capability(VALUES, lsl=None, usl=None, title="c")
    assert not [ln for ln in fig.axes[0].lines if ln.get_gid() in ("within", "lsl", "usl")]


@pytest.mark.parametrize(
    ("values", "options", "message"),
    [
        ([1.0], {}, "fewer than 2"),
        ([1.0, float("nan"), 2.0], {}, "NaN"),
        ([2.0, 2.0, 2.0], {}, "do not vary"),
        (VALUES, {"lsl": 74.03, "usl": 73.97}, "not below USL"),
        (VALUES, {"indices": {"method": "normal"}}, "not a number"),
    ],
)
def test_bad_capability_inputs(values, options, message) -> None:
    with pytest.raises(InputError, match=message):
        _figure_capability(values, **{"lsl": None, "usl": None, "title": "c", **options})


DEFECTS = pl.DataFrame(
    {"defect": ["scratch", "dent", "burr", "dent", "crack", "paint"], "n": [12, 30, 3, 15, 1, 30]}
)


def test_pareto_bars_descend_and_the_cumulative_line_ends_at_100(tmp_path: Path) -> None:
    fig = _figure_pareto(DEFECTS, category="defect", count="n", title="p")
    ax, twin = fig.axes
    bars = [p for p in ax.patches if p.get_gid() == "bars" or p.get_height() > 0]
    heights = [b.get_height() for b in bars]
    assert heights == [45, 30, 12, 3, 1]  # the two dent rows summed
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "dent",
        "paint",
        "scratch",
        "burr",
        "crack",
    ]
    cumulative = line(fig, "cumulative").get_ydata()
    np.testing.assert_allclose(cumulative, 100 * np.cumsum(heights) / 91)
    assert cumulative[-1] == 100.0
    assert twin.get_ylim() == (0.0, 100.0) and ax.get_ylim() == (0.0, 91.0)
    assert set(line(fig, "vital").get_ydata()) == {80.0}
    colours = [to_hex(b.get_facecolor()) for b in bars]
    assert colours[:2] == ["#1f4e79"] * 2 and colours[2] != colours[0]  # 82 % after two bars
    assert_png(pareto_plot(DEFECTS, tmp_path / "p.png", category="defect", count="n", title="p"))
    page = pareto_plot(DEFECTS, tmp_path / "p.html", category="defect", count="n", title="p")
    assert '<th scope="row">dent</th><td>45</td><td>49.5 %</td>' in page.read_text()


def test_pareto_lumps_a_long_tail_into_other() -> None:
    table = pl.DataFrame({"cause": [f"c{i:02d}" for i in range(30)], "count": range(30, 0, -1)})
    fig = _figure_pareto(table, category="cause", title="p")
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert len(labels) == 20 and labels[-1] == "Other (11)"


@pytest.mark.parametrize(
    ("table", "options", "message"),
    [
        (DEFECTS.drop("n"), {}, "lack column"),
        (DEFECTS.clear(), {}, "empty"),
        (DEFECTS.with_columns(n=pl.lit(-1)), {}, "negative"),
        (DEFECTS.with_columns(n=pl.lit(0)), {}, "zero"),
        (DEFECTS, {"vital_share": 0.0}, "vital_share"),
    ],
)
def test_bad_pareto_inputs(table, options, message) -> None:
    with pytest.raises(InputError, match=message):
        _figure_pareto(table, category="defect", count="n", title="p", **options)
