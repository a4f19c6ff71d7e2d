"""The warranty charts: real PNG and HTML files, and the numbers the figures draw."""

from __future__ import annotations

import base64
import io
import os
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.lines import Line2D
from reliability.Datasets import automotive, defective_sample
from reliability.Probability_plotting import plotting_positions

from drivetrain.errors import InputError
from drivetrain.warranty.claims_table import claims_per_thousand
from drivetrain.warranty.plots import (
    _figure_claims,
    _figure_cusum,
    _figure_probability,
    claims_per_thousand_plot,
    cusum_plot,
    weibull_paper_points,
    weibull_probability_plot,
)
from drivetrain.warranty.reliability import LifeFit, fit_life

AUTO = automotive()  # 10 failures and 21 suspensions of a vehicle component (km)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SIZE = (600, 960)  # rows × columns: 8 × 5 inches at 120 dpi
VOID = {"img", "meta", "link", "br", "hr", "input"}
# the automotive Weibull fit as the legend and the table name it
LABEL = "Weibull α=134,651 β=1.15"  # noqa: RUF001


@pytest.fixture(scope="module")
def weibull() -> LifeFit:
    return fit_life(AUTO.failures, AUTO.right_censored)


def _lines(fig: Figure) -> dict[str, Line2D]:
    return {str(line.get_label()): line for line in fig.axes[0].get_lines()}


def _labelled(fig: Figure, start: str) -> Line2D:
    (line,) = [v for k, v in _lines(fig).items() if k.startswith(start)]
    return line


def _assert_chart(png: bytes) -> None:
    assert png.startswith(PNG_SIGNATURE)
    image = imread(io.BytesIO(png), format="png")
    assert image.shape[:2] == SIZE
    colours = np.unique(image.reshape(-1, image.shape[2]), axis=0)
    assert len(colours) > 10  # lines, text and grid, not a blank canvas


class _Page(HTMLParser):
    """The parts of a chart page the tests look at."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.texts: dict[str, str] = {}
        self.images: list[dict[str, str | None]] = []
        self.tables: list[dict[str, Any]] = []
        self._tag: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:  # void elements have no end tag
            self._tag.append(tag)
        if tag == "img":
            self.images.append(dict(attrs))
        elif tag == "table":
            self.tables.append({"caption": "", "header": [], "rows": []})
        elif tag == "tr" and "tbody" in self._tag:
            self.tables[-1]["rows"].append([])
        elif tag in ("th", "td") and "tbody" in self._tag:
            self.tables[-1]["rows"][-1].append("")  # a cell, even an empty one

    def handle_endtag(self, tag: str) -> None:
        assert self._tag.pop() == tag, f"</{tag}> closes another element"

    def handle_data(self, data: str) -> None:
        if not self._tag:
            return
        tag = self._tag[-1]
        if tag in ("title", "h1"):
            self.texts[tag] = self.texts.get(tag, "") + data
        elif tag == "caption":
            self.tables[-1]["caption"] += data
        elif tag == "th" and "thead" in self._tag:
            self.tables[-1]["header"].append(data)
        elif tag in ("th", "td") and "tbody" in self._tag:
            self.tables[-1]["rows"][-1][-1] += data

    def image(self) -> bytes:
        (img,) = self.images
        src = str(img["src"])
        assert src.startswith("data:image/png;base64,")
        return base64.b64decode(src.removeprefix("data:image/png;base64,"), validate=True)


def test_paper_points_are_reliabilitys_plotting_positions_on_the_weibull_scale() -> None:
    x, y = weibull_paper_points(AUTO.failures, AUTO.right_censored)
    ages, unreliability = plotting_positions(
        failures=AUTO.failures, right_censored=AUTO.right_censored
    )
    order = np.argsort(ages)
    assert x.tolist() == sorted(AUTO.failures)
    expected = np.log(-np.log(1 - np.asarray(unreliability, dtype=float)[order]))
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    assert np.all(np.diff(y) > 0)


def test_without_censoring_the_points_are_benards_median_ranks() -> None:
    x, y = weibull_paper_points([30.0, 10.0, 50.0, 20.0, 40.0])
    assert x.tolist() == [10.0, 20.0, 30.0, 40.0, 50.0]
    f = 1 - np.exp(-np.exp(y))
    np.testing.assert_allclose(f, [(i - 0.3) / (5 + 0.4) for i in range(1, 6)], rtol=1e-12)


def test_the_weibull_line_is_straight_with_slope_beta_through_63_percent_at_alpha(
    weibull: LifeFit,
) -> None:
    fig = _figure_probability(
        AUTO.failures, AUTO.right_censored, [weibull], title="t", unit="km", warranty_end=60_000
    )
    alpha, beta = weibull.parameters["alpha"], weibull.parameters["beta"]
    points = _labelled(fig, "failures")
    np.testing.assert_allclose(
        points.get_ydata(), weibull_paper_points(AUTO.failures, AUTO.right_censored)[1]
    )
    line = _labelled(fig, "Weibull")
    xs, ys = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
    # on Weibull paper F = 1 - exp(-(t/alpha)^beta) is y = beta (ln t - ln alpha): at t = alpha,
    # y = 0, i.e. F = 1 - 1/e = 63.2 %
    at_alpha = np.interp(np.log(alpha), np.log(xs), ys)
    assert 1 - np.exp(-np.exp(at_alpha)) == pytest.approx(1 - np.exp(-1), abs=1e-4)
    slope, _ = np.polyfit(np.log(xs), ys, 1)
    assert slope == pytest.approx(beta, rel=1e-6)
    label = str(line.get_label())
    assert label.startswith(LABEL)
    assert f"P(fail by warranty end) {100 * weibull.p_fail(60_000):.3g}%" in label
    # B10 marked where the line crosses 10 %, the warranty end as a dashed vertical line
    b10 = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "D"]
    assert len(b10) == 1 and b10[0].get_xdata()[0] == pytest.approx(weibull.b10)
    assert b10[0].get_ydata()[0] == pytest.approx(np.log(-np.log(0.9)))
    end = _labelled(fig, "warranty end")
    assert list(end.get_xdata()) == [60_000, 60_000] and end.get_linestyle() == "--"
    ticks = {t.get_text(): t.get_position()[1] for t in fig.axes[0].get_yticklabels()}
    assert {"0.1%", "10%", "63.2%", "99%"} <= set(ticks)
    assert ticks["63.2%"] == pytest.approx(np.log(-np.log(1 - 0.632)))


def test_a_defective_subpopulation_line_flattens_at_ds() -> None:
    data = defective_sample()
    ds = fit_life(data.failures, data.right_censored, distribution="weibull_ds")
    fig = _figure_probability(data.failures, data.right_censored, [ds], title="t", unit="days")
    ys = np.asarray(_labelled(fig, "Weibull DS").get_ydata(), float)
    ceiling = np.log(-np.log(1 - ds.parameters["DS"]))
    assert np.all(ys <= ceiling + 1e-9) and ys[-1] == pytest.approx(ceiling, abs=1e-3)
    assert "DS=12.5%" in str(_labelled(fig, "Weibull DS").get_label())


def test_probability_plot_as_png_and_as_an_accessible_html_page(
    tmp_path: Path, weibull: LifeFit
) -> None:
    png = weibull_probability_plot(
        AUTO.failures,
        AUTO.right_censored,
        [weibull],
        tmp_path / "paper.png",
        title="Pump",
        unit="km",
    )
    _assert_chart(png.read_bytes())

    title = 'Pump <rear> & "front"'
    page_path = weibull_probability_plot(
        AUTO.failures,
        AUTO.right_censored,
        [weibull],
        tmp_path / "paper.html",
        title=title,
        unit="km",
        warranty_end=60_000,
    )
    text = page_path.read_text(encoding="utf-8")
    assert "<rear>" not in text  # escaped
    page = _Page(text)
    assert page.texts == {"title": title, "h1": title}
    assert "10 failures and 21 running units" in str(page.images[0]["alt"])
    _assert_chart(page.image())
    fitted, points = page.tables
    assert fitted["header"] == ["distribution and parameters", "B10", "P(fail by 60,000 km)"]
    assert fitted["rows"] == [
        [
            LABEL,
            "19,170",
            f"{100 * weibull.p_fail(60_000):.3g}%",
        ]
    ]
    assert len(points["rows"]) == len(AUTO.failures)
    assert points["rows"][0] == ["5,248", "2.56%"]  # reliability's first position, 0.02559


def _claims_table() -> pl.DataFrame:
    """Three build months of 50 vehicles; the second has three times the claims."""
    vehicles, claims = [], []
    for b, build in enumerate(["2026-01", "2026-02", "2026-03"]):
        for v in range(50):
            vid = f"{build}-{v}"
            sale = date(2026, 1 + b, 15)
            vehicles.append((vid, build, sale))
            if v % (5 if build == "2026-02" else 15) == 0:
                claims.append((vid, sale + timedelta(days=20 + 3 * v)))
    return claims_per_thousand(
        pl.DataFrame(claims, schema=["vehicle_id", "claim_date"], orient="row"),
        pl.DataFrame(vehicles, schema=["vehicle_id", "build_month", "sale_date"], orient="row"),
        date(2026, 9, 1),
    )


def test_a_highlighted_cohort_is_thick_and_red_the_others_thin_and_grey() -> None:
    table = _claims_table()
    fig = _figure_claims(table, title="t", highlight=["2026-02"])
    lines = fig.axes[0].get_lines()
    (bad,) = [ln for ln in lines if ln.get_label() == "2026-02"]
    r, g, b = to_rgb(bad.get_color())
    assert r > 0.8 and g < 0.3 and b < 0.3
    expected = table.filter(pl.col("cohort") == "2026-02")["cumulative_per_thousand"].to_list()
    assert list(bad.get_ydata()) == pytest.approx(expected)
    others = [ln for ln in lines if ln is not bad]
    assert len(others) == 2
    for line in others:
        r, g, b = to_rgb(line.get_color())
        assert r == g == b  # grey
        assert line.get_linewidth() < bad.get_linewidth() / 2
    legend = fig.axes[0].get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == ["other cohorts (2)", "2026-02"]


def test_claims_page_holds_the_cohort_by_month_pivot(tmp_path: Path) -> None:
    table = _claims_table()
    page = _Page(
        claims_per_thousand_plot(
            table, tmp_path / "claims.html", title="Claims", highlight=["2026-02"]
        ).read_text()
    )
    _assert_chart(page.image())
    (pivot,) = page.tables
    months = int(table["mis"].to_numpy().max())
    assert pivot["header"] == ["cohort", *(f"month {m}" for m in range(1, months + 1))]
    assert [row[0] for row in pivot["rows"]] == ["2026-01", "2026-02", "2026-03"]
    value = table.filter((pl.col("cohort") == "2026-02") & (pl.col("mis") == 2))
    assert pivot["rows"][1][2] == f"{value['cumulative_per_thousand'][0]:.1f}"
    # the youngest cohort has not reached the last month: an empty cell, not zero
    assert all(len(row) == len(pivot["header"]) for row in pivot["rows"])
    assert pivot["rows"][2][-1] == "" and pivot["rows"][0][-1] != ""


def test_cohort_names_are_escaped_in_the_alt_text_and_the_table(tmp_path: Path) -> None:
    name = 'Plant "A" <2> & co'
    table = _claims_table().with_columns(pl.col("cohort").replace("2026-02", name))
    path = claims_per_thousand_plot(table, tmp_path / "t.html", title="t", highlight=[name])
    page = _Page(path.read_text())
    assert str(page.images[0]["alt"]).endswith(f"highlighted: {name}")
    assert name in [row[0] for row in page.tables[0]["rows"]]


def _statistic() -> pl.DataFrame:
    days = [date(2026, 1, 1) + timedelta(weeks=k) for k in range(6)]
    return pl.DataFrame(
        {
            "as_of": days,
            "statistic": [0.0, 3.99, 2.0, 4.0, 3.0, 6.0],  # reaching the threshold is an alert
            "naive": [1.0, 1.0, 1.0, 1.0, 4.5, 1.0],
        }
    )


def test_the_first_crossing_of_the_threshold_is_marked() -> None:
    fig = _figure_cusum(_statistic(), title="t", threshold=4.0)
    alert = _labelled(fig, "detector statistic: first alert")
    assert str(alert.get_label()).endswith("2026-01-22")
    assert alert.get_xdata()[0] == np.datetime64("2026-01-22")
    assert alert.get_ydata()[0] == 4.0
    assert str(_labelled(fig, "naive: first alert").get_label()).endswith("2026-01-29")
    assert list(_labelled(fig, "threshold").get_ydata()) == [4.0, 4.0]
    quiet = _figure_cusum(_statistic().drop("naive"), title="t", threshold=10.0)
    assert not [k for k in _lines(quiet) if "first alert" in k]
    assert any(k.startswith("no alert") for k in _lines(quiet))


def test_cusum_png_and_page(tmp_path: Path) -> None:
    _assert_chart(cusum_plot(_statistic(), tmp_path / "c.png", title="c", threshold=4).read_bytes())
    page = _Page(cusum_plot(_statistic(), tmp_path / "c.html", title="c", threshold=4).read_text())
    (table,) = page.tables
    assert table["header"] == ["analysis date", "statistic", "naive", "at or above threshold"]
    assert [row[-1] for row in table["rows"]] == ["no", "no", "no", "yes", "no", "yes"]
    assert "first alert on 2026-01-22" in str(page.images[0]["alt"])


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda d: cusum_plot(_statistic(), d / "c.pdf", title="c", threshold=4), ".png"),
        (lambda d: cusum_plot(_statistic(), d / "no" / "c.png", title="c", threshold=4), "no"),
        (
            lambda d: cusum_plot(
                _statistic().drop("statistic"), d / "c.png", title="c", threshold=4
            ),
            "statistic",
        ),
        (lambda d: cusum_plot(_statistic().clear(), d / "c.png", title="c", threshold=4), "empty"),
        (
            lambda d: cusum_plot(
                _statistic().with_columns(pl.col("as_of").cast(pl.String)),
                d / "c.png",
                title="c",
                threshold=4,
            ),
            "dates",
        ),
        (
            lambda d: claims_per_thousand_plot(
                _claims_table().drop("mis", "cohort"), d / "t.png", title="t"
            ),
            "cohort, mis",
        ),
        (
            lambda d: claims_per_thousand_plot(
                _claims_table(), d / "t.png", title="t", highlight=["2031-13"]
            ),
            "2031-13",
        ),
        (lambda d: weibull_probability_plot([], None, [], d / "p.png", title="p"), "no failure"),
        (
            lambda d: weibull_probability_plot([10.0, -1.0], None, [], d / "p.png", title="p"),
            "-1.0",
        ),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(tmp_path: Path, call: Any, words: str) -> None:
    with pytest.raises(InputError) as error:
        call(tmp_path)
    assert words in str(error.value)
    assert list(tmp_path.rglob("*")) == []


def test_a_bad_suffix_says_which_formats_exist(tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        cusum_plot(_statistic(), tmp_path / "chart.svg", title="c", threshold=4)
    assert error.value.hint is not None and ".png" in error.value.hint


def test_writes_are_atomic_and_leave_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "chart.png"
    cusum_plot(_statistic(), target, title="first", threshold=4)
    first = target.read_bytes()
    cusum_plot(_statistic(), target, title="second", threshold=4)  # replaces it
    assert [p.name for p in tmp_path.iterdir()] == ["chart.png"]
    assert target.read_bytes() != first
    assert target.stat().st_mode & 0o777 == 0o644
    kept = target.read_bytes()

    def broken(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        cusum_plot(_statistic(), target, title="third", threshold=4)
    assert [p.name for p in tmp_path.iterdir()] == ["chart.png"]  # the temporary file is gone
    assert target.read_bytes() == kept  # and the old chart is whole
