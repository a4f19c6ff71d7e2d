"""Control charts against Montgomery's worked examples and R's qcc (as mistat ports it).

Source of the examples: D. C. Montgomery, *Introduction to Statistical Quality
Control*, 7th ed., Wiley 2013 — Example 6.1 and Table 6.3 (piston-ring inside
diameters, 25 Phase I subgroups of 5 and 15 Phase II subgroups), Example 7.1
(orange-juice cans, p chart, 30 samples of 50), Example 7.3 (printed-circuit
boards, c chart, 26 samples of 100 boards), Examples 9.1 and 9.2 (Table 9.1:
30 observations, μ₀ = 10, σ = 1; CUSUM k = 0.5, h = 5; EWMA λ = 0.1,
L = 2.7). The data sets ship with pyspc (the same tables R's qcc ships).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from mistat.qcc import EWMA, QualityControlChart
from mistat.qcc.statistics import SD_estimator
from pyspc.sampledata import canjuice, circuits, pistonrings

from drivetrain.errors import InputError
from drivetrain.quality.charts import control_chart
from drivetrain.quality.subgroups import form_subgroups

# Montgomery Table 9.1 (Examples 9.1 and 9.2): the first 20 from N(10, 1), then a 1σ shift
TABLE_9_1 = [9.45, 7.99, 9.29, 11.66, 12.16, 10.18, 8.04, 11.46, 9.20, 10.34, 9.03, 11.47, 10.51, 9.40, 10.08, 9.37, 10.62, 10.31, 8.52, 10.84, 10.90, 9.33, 12.29, 11.50, 10.60, 11.08, 10.38, 11.62, 11.31, 10.52]  # fmt: skip


def long(matrix: np.ndarray, name: str = "ring", first: int = 1) -> pl.DataFrame:
    """A subgroups × measurements array as the long table the charts take."""
    rows = [
        (name, first + i, float(v)) for i, row in enumerate(matrix) for v in row if not np.isnan(v)
    ]
    return pl.DataFrame(rows, schema=["characteristic", "subgroup", "value"], orient="row")


def samples(table: np.ndarray, name: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "characteristic": [name] * len(table),
            "subgroup": list(range(1, len(table) + 1)),
            "size": table[:, 0].astype(float),
            "count": table[:, 1].astype(float),
        }
    )


def limits_of(chart, statistic: str) -> tuple[float, float, float]:
    row = chart.points.filter(pl.col("statistic") == statistic).row(0, named=True)
    return row["center"], row["lcl"], row["ucl"]


RINGS = pistonrings.astype(float)


def test_piston_rings_xbar_r_reproduce_example_6_1_and_qcc() -> None:
    chart = control_chart(long(RINGS[:25]), "xbar_r")
    center, lcl, ucl = limits_of(chart, "xbar")
    # the book: X̿ = 74.001, R̄ = 0.023, limits 73.988 and 74.014; R chart 0 and 0.049
    assert (center, lcl, ucl) == pytest.approx((74.001, 73.988, 74.014), abs=5e-4)
    r_center, r_lcl, r_ucl = limits_of(chart, "r")
    assert r_center == pytest.approx(0.023, abs=5e-4)
    assert r_lcl == 0.0 and r_ucl == pytest.approx(0.049, abs=1.5e-3)  # 2.114 × 0.023 rounded
    # qcc, whose d2 table has three decimals (2.326 for n = 5, exactly 2.32593): σ to 3e-5
    xbar = QualityControlChart(RINGS[:25], qcc_type="xbar")
    ranges = QualityControlChart(RINGS[:25], qcc_type="R")
    assert (lcl, ucl) == pytest.approx(tuple(xbar.limits.values[0]), rel=1e-8)
    assert r_center == pytest.approx(ranges.center, rel=1e-12)
    assert r_ucl == pytest.approx(ranges.limits.values[0][1], rel=1e-4)
    assert chart.parameters["sigma"][0] == pytest.approx(xbar.std_dev, rel=5e-5)
    assert chart.parameters["removed"][0] == 0 and not chart.signals().height


def test_piston_rings_phase_ii_flags_subgroups_37_to_39_beyond_the_upper_limit() -> None:
    chart = control_chart(long(RINGS[:25]), "xbar_r", rules="limits")
    watch = chart.monitor(long(RINGS[25:], first=26))
    beyond = watch.signals().filter(pl.col("statistic") == "xbar")
    assert beyond["subgroup"].to_list() == [37, 38, 39]  # Montgomery Fig. 6.5
    assert watch.points.filter(pl.col("statistic") == "r")["signal"].sum() == 0


def test_piston_rings_xbar_s_matches_qcc_uwave_sd() -> None:
    chart = control_chart(long(RINGS[:25]), "xbar_s")
    xbar = QualityControlChart(RINGS[:25], qcc_type="xbar", std_dev=SD_estimator.uwave_sd)
    spread = QualityControlChart(RINGS[:25], qcc_type="S")
    _, lcl, ucl = limits_of(chart, "xbar")
    assert (lcl, ucl) == pytest.approx(tuple(xbar.limits.values[0]), rel=1e-12)
    s_center, s_lcl, s_ucl = limits_of(chart, "s")
    assert (s_center, s_lcl, s_ucl) == pytest.approx(
        (spread.center, 0.0, spread.limits.values[0][1]), rel=1e-12
    )
    # Montgomery Example 6.3: limits 73.988 and 74.014, S chart UCL 0.0196 (from s̄ = 0.0094)
    assert (lcl, ucl) == pytest.approx((73.988, 74.014), abs=5e-4)


def test_unequal_subgroup_sizes_get_their_own_limits_as_in_qcc() -> None:
    data = RINGS[:25].copy()
    data[[2, 7, 11], 4] = np.nan  # three subgroups of 4
    data[[5, 19], 3:] = np.nan  # two of 3
    sizes = (~np.isnan(data)).sum(axis=1)
    pairs = (("xbar_r", SD_estimator.uwave_r, 1e-4), ("xbar_s", SD_estimator.uwave_sd, 1e-12))
    for chart_kind, estimator, tolerance in pairs:  # qcc's d2 has three decimals, its c4 is exact
        chart = control_chart(long(data), chart_kind)
        reference = QualityControlChart(data, qcc_type="xbar", std_dev=estimator)
        assert chart.parameters["sigma"][0] == pytest.approx(reference.std_dev, rel=tolerance)
        xbar = chart.points.filter(pl.col("statistic") == "xbar").sort("subgroup")
        assert xbar["center"][0] == pytest.approx(reference.center, rel=1e-12)
        spread = reference.std_dev / np.sqrt(sizes)
        sigma = chart.parameters["sigma"][0]
        assert xbar["ucl"].to_numpy() == pytest.approx(
            reference.center + 3 * sigma / np.sqrt(sizes), rel=1e-12
        )
        assert spread == pytest.approx(sigma / np.sqrt(sizes), rel=tolerance)
        assert xbar["size"].to_list() == sizes.tolist()


def test_orange_juice_p_chart_reproduces_example_7_1() -> None:
    frame = samples(canjuice, "cans")
    chart = control_chart(frame, "p", rules="limits", drop_beyond=False)
    center, lcl, ucl = limits_of(chart, "p")
    assert (center, lcl, ucl) == pytest.approx((0.2313, 0.0524, 0.4102), abs=5e-5)
    assert chart.signals()["subgroup"].to_list() == [15, 23]
    reference = QualityControlChart(canjuice[:, 1], qcc_type="p", sizes=canjuice[:, 0])
    assert (lcl, ucl) == pytest.approx(tuple(reference.limits.values[0]), rel=1e-12)
    # samples 15 and 23 had assignable causes (a new batch of cardboard, an inexperienced
    # operator): dropped, the revised limits are p̄ = 0.2150, UCL 0.3893, LCL 0.0407
    marked = frame.with_columns(pl.col("subgroup").is_in([15, 23]).alias("assignable"))
    revised = control_chart(marked, "p", rules="limits", drop_beyond=False, exclude="assignable")
    assert limits_of(revised, "p") == pytest.approx((0.2150, 0.0407, 0.3893), abs=5e-5)
    assert revised.parameters["removed"][0] == 2


def test_np_chart_equals_the_p_chart_scaled_and_refuses_unequal_sizes() -> None:
    frame = samples(canjuice, "cans")
    p_chart = control_chart(frame, "p", drop_beyond=False)
    np_chart = control_chart(frame, "np", drop_beyond=False)
    p_limits, np_limits = limits_of(p_chart, "p"), limits_of(np_chart, "np")
    assert np_limits == pytest.approx(tuple(50 * v for v in p_limits), rel=1e-12)
    uneven = frame.with_columns(
        pl.when(pl.col("subgroup") == 3).then(60.0).otherwise(pl.col("size")).alias("size")
    )
    with pytest.raises(InputError, match="p chart"):
        control_chart(uneven, "np")


def test_circuit_boards_c_chart_reproduces_example_7_3_with_phase_i_revision() -> None:
    frame = samples(circuits, "boards").drop("size")
    first = control_chart(frame, "c", rules="limits", drop_beyond=False)
    # the book computes the limits from c̄ rounded to 19.85 (33.22; exactly 33.211)
    assert limits_of(first, "c") == pytest.approx((19.85, 6.48, 33.22), abs=1e-2)
    assert first.signals()["subgroup"].to_list() == [6, 20]
    revised = control_chart(frame, "c", rules="limits")
    # the book drops samples 6 and 20 and revises: c̄ = 19.67, UCL 32.97, LCL 6.36
    assert limits_of(revised, "c") == pytest.approx((19.67, 6.36, 32.97), abs=5e-3)
    assert revised.parameters.select("removed", "iterations").row(0) == (2, 1)


def test_u_chart_limits_follow_each_samples_size() -> None:
    rng = np.random.default_rng(7)
    sizes = rng.integers(3, 12, 30).astype(float)
    counts = rng.poisson(2.0 * sizes).astype(float)
    frame = pl.DataFrame(
        {"characteristic": "paint", "subgroup": range(30), "size": sizes, "count": counts}
    )
    points = control_chart(frame, "u", drop_beyond=False).points.sort("subgroup")
    ubar = counts.sum() / sizes.sum()
    assert points["center"][0] == pytest.approx(ubar)
    assert points["ucl"].to_numpy() == pytest.approx(ubar + 3 * np.sqrt(ubar / sizes))
    assert points["lcl"].to_numpy() == pytest.approx(
        np.maximum(ubar - 3 * np.sqrt(ubar / sizes), 0)
    )


def test_individuals_chart_matches_qcc_xbar_one() -> None:
    values = RINGS[:25, 0]
    frame = pl.DataFrame({"characteristic": "bore", "subgroup": range(25), "value": values})
    chart = control_chart(frame, "imr", drop_beyond=False)
    reference = QualityControlChart(values, qcc_type="xbarone")
    assert chart.parameters["sigma"][0] == pytest.approx(reference.std_dev, rel=5e-4)  # 1.128
    assert limits_of(chart, "i")[1:] == pytest.approx(tuple(reference.limits.values[0]), rel=1e-6)
    mr = chart.points.filter(pl.col("statistic") == "mr").sort("subgroup")
    assert mr["value"][0] is None or np.isnan(mr["value"][0])
    mrbar = np.abs(np.diff(values)).mean()
    assert mr["ucl"][1] == pytest.approx(3.267 * mrbar, rel=2e-4)  # D4(2) = 3.267


def standard(chart_kind: str, **options) -> object:
    frame = pl.DataFrame({"characteristic": "x", "subgroup": range(1, 31), "value": TABLE_9_1})
    known = pl.DataFrame({"characteristic": ["x"], "center": [10.0], "sigma": [1.0]})
    chart = control_chart(frame, chart_kind, standards=known, **options)
    return chart


def test_cusum_reproduces_montgomery_table_9_2() -> None:
    chart = standard("cusum")
    upper = chart.points.filter(pl.col("statistic") == "cusum_upper").sort("subgroup")
    # Table 9.2: C⁺ at periods 25-30 and the signal at 29 (first beyond h = 5)
    assert upper["value"].to_list()[24:] == pytest.approx(
        [2.89, 3.47, 3.35, 4.47, 5.28, 5.30], abs=5e-3
    )
    assert upper.filter(pl.col("signal"))["subgroup"].to_list() == [29, 30]
    # against a plain loop of Page's recursion, both sides
    hi = lo = 0.0
    expected_hi, expected_lo = [], []
    for x in TABLE_9_1:
        hi, lo = max(0.0, x - 10.5 + hi), max(0.0, 9.5 - x + lo)
        expected_hi.append(hi)
        expected_lo.append(-lo)
    lower = chart.points.filter(pl.col("statistic") == "cusum_lower").sort("subgroup")
    assert upper["value"].to_list() == pytest.approx(expected_hi, abs=1e-12)
    assert lower["value"].to_list() == pytest.approx(expected_lo, abs=1e-12)


def test_ewma_reproduces_example_9_2_and_qcc() -> None:
    chart = standard("ewma", lam=0.1, ewma_l=2.7)
    points = chart.points.sort("subgroup")
    # Example 9.2: z1 = 9.945 with limits 10 ± 0.27 (= 2.7·√(0.1/1.9·(1 − 0.9²)))
    assert points.select("value", "lcl", "ucl").row(0) == pytest.approx(
        (9.945, 9.73, 10.27), abs=1e-9
    )
    reference = EWMA(np.array(TABLE_9_1), center=10, std_dev=1, smooth=0.1, nsigmas=2.7, sizes=1)
    assert points["value"].to_numpy() == pytest.approx(np.asarray(reference.y), abs=1e-12)
    assert points["ucl"].to_numpy() == pytest.approx(np.asarray(reference.ucl), abs=1e-12)
    assert chart.signals()["subgroup"].to_list() == [int(i) + 1 for i in reference.violations]


def test_many_characteristics_in_one_call_equal_one_call_each() -> None:
    rng = np.random.default_rng(3)
    frames = []
    for i, (mu, sd) in enumerate([(10.0, 1.0), (-5.0, 0.1), (200.0, 4.0)]):
        data = rng.normal(mu, sd, size=(30, 4))
        data[25:, :] += 2.5 * sd  # a shift at the end of each
        frames.append(long(data, name=f"c{i}"))
    together = control_chart(pl.concat(frames), "xbar_r", rules="nelson")
    for i, frame in enumerate(frames):
        alone = control_chart(frame, "xbar_r", rules="nelson")
        mine = together.points.filter(pl.col("characteristic") == f"c{i}")
        assert mine.sort("statistic", "subgroup").equals(alone.points.sort("statistic", "subgroup"))
        assert together.parameters.filter(pl.col("characteristic") == f"c{i}").equals(
            alone.parameters
        )


def test_streaming_in_pieces_flags_what_one_batch_flags() -> None:
    rng = np.random.default_rng(11)
    history = np.vstack([rng.normal(50.0, 2.0, size=(25, 5)), rng.normal(50.0, 2.0, size=(25, 5))])
    later = rng.normal(50.0, 2.0, size=(60, 5))
    later[30:] += np.linspace(0, 4.0, 30)[:, None]  # a drift
    two = pl.concat([long(history, "a"), long(history[::-1], "b")])
    chart = control_chart(two, "xbar_r", rules="nelson")
    future = pl.concat([long(later, "a", first=100), long(later * 0.5 + 25.0, "b", first=100)])
    batch = chart.monitor(future)
    state = None
    pieces = []
    for start in range(100, 160, 7):  # uneven chunks across the rule windows
        piece = future.filter(pl.col("subgroup").is_between(start, start + 6))
        step = chart.monitor(piece, state)
        state = step.state
        pieces.append(step.points)
    streamed = pl.concat(pieces)
    key = ["characteristic", "statistic", "subgroup"]
    assert streamed.sort(key).equals(batch.points.sort(key))
    assert batch.signals().height > 0
    for kind in ("ewma", "cusum"):
        memory = control_chart(two, kind)
        whole = memory.monitor(future).points.sort(key)
        state, parts = None, []
        for start in range(100, 160, 13):
            step = memory.monitor(
                future.filter(pl.col("subgroup").is_between(start, start + 12)), state
            )
            state, parts = step.state, [*parts, step.points]
        assert pl.concat(parts).sort(key).equals(whole), kind
    with pytest.raises(InputError, match="not after the last one"):
        chart.monitor(future.filter(pl.col("subgroup") == 120), batch.state)


def test_phase_i_revision_stops_when_most_of_the_data_is_out_of_control() -> None:
    rng = np.random.default_rng(5)
    wild = np.vstack(
        [rng.normal(0, 1, (10, 5)), rng.normal(0, 1, (20, 5)) + np.arange(20)[:, None]]
    )
    chart = control_chart(long(wild, "wild"), "xbar_r")
    row = chart.parameters.row(0, named=True)
    assert not row["in_control"] and "not in control" in row["note"]
    assert row["used"] >= 15  # never estimated from fewer than half of its subgroups


@pytest.mark.parametrize(
    ("frame", "chart_kind", "message"),
    [
        (
            pl.DataFrame(
                {
                    "characteristic": ["a"] * 4,
                    "subgroup": [1, 1, 2, 2],
                    "value": ["1.0", "x", "2", "3"],
                }
            ),
            "xbar_r",
            "not finite numbers",
        ),
        (
            pl.DataFrame(
                {
                    "characteristic": ["a"] * 4,
                    "subgroup": [1, 1, 2, 2],
                    "value": [1.0, None, 2.0, 3.0],
                }
            ),
            "xbar_r",
            "missing",
        ),
        (
            pl.DataFrame(
                {"characteristic": ["a"] * 3, "subgroup": [1, 2, 2], "value": [1.0, 2.0, 3.0]}
            ),
            "xbar_r",
            "chart=imr",
        ),
        (
            pl.DataFrame(
                {"characteristic": ["a"] * 3, "subgroup": [1, 2, 2], "value": [1.0, 2.0, 3.0]}
            ),
            "imr",
            "one measurement",
        ),
        (
            pl.DataFrame({"characteristic": ["a"] * 2, "subgroup": [1, 2], "value": [1.0, 2.0]}),
            "xbar-r",
            "unknown chart",
        ),
        (
            pl.DataFrame(
                {
                    "characteristic": ["a"] * 2,
                    "subgroup": [1, 2],
                    "size": [10, 10],
                    "count": [11, 2],
                }
            ),
            "p",
            "between 0 and the sample size",
        ),
        (
            pl.DataFrame({"station": ["a"] * 2, "subgroup": [1, 2], "value": [1.0, 2.0]}),
            "imr",
            "lack column",
        ),
    ],
)
def test_bad_input_is_refused_with_what_to_do(frame, chart_kind, message) -> None:
    with pytest.raises(InputError, match=message):
        control_chart(frame, chart_kind)


def test_unknown_rules_and_options_are_refused() -> None:
    frame = long(RINGS[:25])
    with pytest.raises(InputError, match="unknown run rule"):
        control_chart(frame, "xbar_r", rules=["nelson9"])
    with pytest.raises(InputError, match="unknown chart option"):
        control_chart(frame, "xbar_r", lambda_=0.2)
    with pytest.raises(InputError, match="no Phase I limits"):
        control_chart(frame, "xbar_r").monitor(long(RINGS[25:], name="other"))


def test_rational_subgroups_by_count_and_by_time_window() -> None:
    ts = pl.datetime_range(
        pl.datetime(2026, 3, 2, 6), pl.datetime(2026, 3, 2, 9, 50), interval="10m", eager=True
    )
    frame = pl.DataFrame(
        {"characteristic": "bore", "ts": ts, "value": np.arange(len(ts), dtype=float)}
    )
    by_count = form_subgroups(frame.reverse(), size=5)
    assert by_count.group_by("subgroup").len().sort("subgroup")["len"].to_list() == [5, 5, 5, 5, 4]
    assert by_count["value"].to_list() == sorted(by_count["value"].to_list())  # in time order
    hourly = form_subgroups(frame, every="1h")
    per_hour = hourly.group_by("subgroup").len().sort("subgroup")
    assert per_hour["len"].to_list() == [6, 6, 6, 6]
    assert per_hour["subgroup"].dt.hour().to_list() == [6, 7, 8, 9]
    chart = control_chart(hourly, "xbar_s")
    assert chart.points.filter(pl.col("statistic") == "xbar").height == 4
    with pytest.raises(InputError, match="not both"):
        form_subgroups(frame, size=5, every="1h")


def test_standards_replace_estimates_and_say_so() -> None:
    chart = standard("imr", k=2.0)
    assert chart.parameters.select("center", "sigma").row(0) == (10.0, 1.0)
    assert chart.parameters["note"][0] == "standard given"
    assert limits_of(chart, "i") == pytest.approx((10.0, 8.0, 12.0))  # k = 2 around the standard
