"""Paretos against hand counts and collections.Counter; supplier PPM intervals against
statsmodels' Clopper–Pearson; lot trends against a planted bad lot and scipy's Kendall/Theil–Sen."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import polars as pl
import pytest
from scipy import stats
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import proportion_confint

from drivetrain.errors import InputError
from drivetrain.quality.defects import (
    MISSING,
    OTHER,
    clopper_pearson,
    lot_trend,
    mann_kendall,
    pareto,
    supplier_ppm,
)

# 20 defects: scratch 10, dent 6, burr 3, stain 1 → shares .50 .30 .15 .05
SMALL = pl.DataFrame(
    {
        "code": ["scratch"] * 10 + ["dent"] * 6 + ["burr"] * 3 + ["stain"],
        "cost": [1.0] * 10 + [5.0] * 6 + [20.0] * 3 + [100.0],
        "station": ["S1", "S2"] * 10,
    }
)


def test_pareto_by_hand() -> None:
    got = pareto(SMALL, "code")
    assert got["code"].to_list() == ["scratch", "dent", "burr", "stain"]
    assert got["count"].to_list() == [10, 6, 3, 1]
    assert got["share"].to_list() == pytest.approx([0.5, 0.3, 0.15, 0.05])
    assert got["cumulative_share"].to_list() == pytest.approx([0.5, 0.8, 0.95, 1.0])
    assert got["rank"].to_list() == [1, 2, 3, 4]
    # dent reaches 0.8 exactly, so burr is not needed; at 0.75 dent is the one that crosses
    assert got["vital"].to_list() == [True, True, False, False]
    assert pareto(SMALL, "code", vital_share=0.75)["vital"].to_list() == [True, True, False, False]
    assert pareto(SMALL, "code", vital_share=0.85)["vital"].to_list() == [True, True, True, False]


def test_pareto_by_weight_by_hand() -> None:
    # cost: stain 100, burr 60, dent 30, scratch 10 of 200
    got = pareto(SMALL, "code", weight="cost")
    assert got["code"].to_list() == ["stain", "burr", "dent", "scratch"]
    assert got["cost"].to_list() == [100.0, 60.0, 30.0, 10.0]
    assert got["count"].to_list() == [1, 3, 6, 10]
    assert got["cumulative_share"].to_list() == pytest.approx([0.5, 0.8, 0.95, 1.0])
    assert got["vital"].to_list() == [True, True, False, False]


def test_pareto_of_two_columns_and_the_other_row() -> None:
    got = pareto(SMALL, ["code", "station"], top=3)
    assert got.height == 4 and got["rank"].to_list() == [1, 2, 3, 4]
    assert got.row(3, named=True)["code"] == OTHER and got.row(3, named=True)["station"] == OTHER
    assert got["count"].sum() == 20 and got["cumulative_share"][-1] == pytest.approx(1.0)
    assert got["share"].sum() == pytest.approx(1.0)
    assert pareto(SMALL, "code", top=10).equals(pareto(SMALL, "code"))


def random_defects(rows: int = 5000, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    codes = [f"D{k:02d}" for k in range(30)]
    weights = rng.dirichlet(np.full(30, 0.5))
    return pl.DataFrame(
        {
            "plant": rng.choice(["north", "south", "east"], rows).tolist(),
            "code": rng.choice(codes, rows, p=weights).tolist(),
            "minutes": rng.integers(1, 60, rows).tolist(),
        }
    )


def counter_pareto(codes: list[str], vital_share: float = 0.8) -> list[tuple[str, int, bool]]:
    counts = sorted(Counter(codes).items(), key=lambda kv: (-kv[1], kv[0]))
    total, running, out = sum(c for _, c in counts), 0, []
    for code, c in counts:
        out.append((code, c, running / total < vital_share))
        running += c
    return out


def test_pareto_matches_a_counter_on_random_data() -> None:
    frame = random_defects()
    got = pareto(frame, "code")
    assert list(zip(got["code"], got["count"], got["vital"], strict=True)) == counter_pareto(
        frame["code"].to_list()
    )
    assert got["cumulative_share"].to_list() == pytest.approx(
        np.cumsum(got["count"].to_numpy()) / frame.height
    )
    minutes: Counter[str] = Counter()
    for code, m in zip(frame["code"], frame["minutes"], strict=True):
        minutes[code] += m
    weighted = pareto(frame, "code", weight="minutes")
    assert dict(zip(weighted["code"], weighted["minutes"], strict=True)) == dict(minutes)
    assert weighted["minutes"].is_sorted(descending=True)


def test_pareto_within_groups_equals_separate_calls() -> None:
    frame = random_defects()
    together = pareto(frame, "code", within="plant", weight="minutes", top=8)
    for plant in ("east", "north", "south"):
        alone = pareto(frame.filter(pl.col("plant") == plant), "code", weight="minutes", top=8)
        mine = together.filter(pl.col("plant") == plant).drop("plant")
        assert mine.equals(alone), plant
    assert together["plant"].to_list() == sorted(together["plant"].to_list())


def test_null_categories_are_an_error_or_a_labelled_category() -> None:
    frame = pl.DataFrame({"code": ["a", None, "b", "a", None]})
    with pytest.raises(InputError, match=r"2 rows have no 'code' \(first: row 1\)"):
        pareto(frame, "code")
    got = pareto(frame, "code", missing="label")
    assert dict(zip(got["code"], got["count"], strict=True)) == {"a": 2, MISSING: 2, "b": 1}
    with pytest.raises(InputError, match=r"no 'plant'"):
        pareto(frame.with_columns(plant=pl.lit(None, pl.String)), "code", within="plant")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": "defect"}, r"no column 'defect'"),
        ({"by": "code", "weight": "station"}, r"not a number"),
        ({"by": "code", "vital_share": 0.0}, r"vital_share"),
        ({"by": "code", "top": 0}, r"top must be"),
        ({"by": "code", "missing": "drop"}, r"unknown missing"),
        ({"by": "code", "within": "code"}, r"both by and within"),
    ],
)
def test_pareto_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        pareto(SMALL, **kwargs)  # type: ignore[arg-type]


def test_pareto_rejects_negative_or_missing_weights() -> None:
    frame = SMALL.with_columns(cost=pl.when(pl.int_range(20) == 4).then(-1.0).otherwise("cost"))
    with pytest.raises(InputError, match=r"first: row 4"):
        pareto(frame, "code", weight="cost")
    with pytest.raises(InputError, match=r"add up to 0"):
        pareto(SMALL.with_columns(cost=pl.lit(0.0)), "code", weight="cost")


def lots_table(seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for supplier, part, rate in [
        ("acme", "P1", 800e-6),
        ("acme", "P2", 300e-6),
        ("bolt", "P1", 2e-3),
    ]:
        for k in range(40):
            n = int(rng.integers(500, 3000))
            rows.append(
                (supplier, part, f"{supplier}-{part}-{k:02d}", k, n, int(rng.binomial(n, rate)))
            )
    frame = pl.DataFrame(
        rows,
        schema=["supplier", "part_number", "lot", "received_date", "inspected", "defective"],
        orient="row",
    )
    return frame.sample(fraction=1.0, shuffle=True, seed=seed)  # arrival order ≠ row order


def test_supplier_ppm_and_clopper_pearson_against_statsmodels() -> None:
    lots = lots_table()
    for by in (("supplier",), ("supplier", "part_number")):
        got = supplier_ppm(lots, by=by, level=0.9)
        for row in got.iter_rows(named=True):
            mine = lots.filter(*[pl.col(k) == row[k] for k in by])
            x, n = int(mine["defective"].sum()), int(mine["inspected"].sum())
            assert (row["lots"], row["inspected"], row["defective"]) == (mine.height, n, x)
            assert row["ppm"] == pytest.approx(x / n * 1e6)
            low, high = proportion_confint(x, n, alpha=0.1, method="beta")
            assert row["ppm_lower"] == pytest.approx(low * 1e6, rel=1e-9, abs=1e-9)
            assert row["ppm_upper"] == pytest.approx(high * 1e6, rel=1e-9)
    x = np.array([0, 0, 1, 5, 50, 99, 100])
    n = np.array([1, 100, 100, 100, 100, 100, 100])
    lower, upper = clopper_pearson(x, n)
    expected = np.array(
        [proportion_confint(a, b, method="beta") for a, b in zip(x, n, strict=True)]
    )
    np.testing.assert_allclose(lower, expected[:, 0], atol=1e-12)
    np.testing.assert_allclose(upper, expected[:, 1], atol=1e-12)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"inspected": 0}, r"lot 'L-3' \(row 2\) has inspected ≤ 0"),
        ({"defective": -1}, r"lot 'L-3' \(row 2\) has defective < 0"),
        ({"defective": 60}, r"lot 'L-3' \(row 2\) has more defective than inspected"),
        ({"defective": None}, r"lot 'L-3' \(row 2\) has no inspected or defective"),
    ],
)
def test_bad_lots_are_named(change: dict[str, object], message: str) -> None:
    lots = pl.DataFrame(
        {
            "supplier": ["a", "a", "a", "b"],
            "part_number": ["p"] * 4,
            "lot": ["L-1", "L-2", "L-3", "L-4"],
            "received_date": [1, 2, 3, 4],
            "inspected": [50, 50, 50, 50],
            "defective": [0, 1, 2, 0],
        }
    )
    column, value = next(iter(change.items()))
    bad = lots.with_columns(
        pl.when(pl.col("lot") == "L-3").then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
    )
    with pytest.raises(InputError, match=message):
        supplier_ppm(bad)
    with pytest.raises(InputError, match=message):
        lot_trend(bad)
    with pytest.raises(InputError, match=r"no column 'vendor'"):
        supplier_ppm(lots, by="vendor")
    with pytest.raises(InputError, match=r"no column 'arrived'"):
        lot_trend(lots, order="arrived")


def test_lot_trend_flags_a_planted_bad_lot_and_no_clean_one() -> None:
    lots = lots_table()
    planted = "acme-P2-17"
    lots = lots.with_columns(
        defective=pl.when(pl.col("lot") == planted)
        .then(pl.col("inspected") // 50)  # 20 000 PPM in a 300 PPM stream
        .otherwise("defective")
    )
    result = lot_trend(lots)
    assert result.flagged()["lot"].to_list() == [planted]
    points = result.lots
    for _, group in points.group_by(["supplier", "part_number"]):
        assert group["received_date"].to_list() == sorted(group["received_date"].to_list())
        assert group["lot_index"].to_list() == list(range(1, 41))
    row = points.filter(pl.col("lot") == planted).row(0, named=True)
    group = lots.filter(pl.col("supplier") == "acme", pl.col("part_number") == "P2")
    p_bar = group["defective"].sum() / group["inspected"].sum()
    # the probability limit: the largest count whose upper tail is within a 3σ normal tail
    n = row["inspected"]
    ucl = scipy_stats.binom.isf(scipy_stats.norm.sf(3), n, p_bar) / n
    assert row["center_ppm"] == pytest.approx(p_bar * 1e6)
    assert row["ucl_ppm"] == pytest.approx(ucl * 1e6)
    assert row["lcl_ppm"] == 0.0  # p̄ − 3σ < 0 at these rates


def test_two_defectives_in_a_small_sample_of_a_good_supplier_are_not_a_signal() -> None:
    # p̄ = 700 PPM, 315 inspected: the normal UCL is p̄ + 3σ = 5,413 PPM, under the 6,349 PPM
    # of a lot with two defectives, which is no rare event (P(X ≥ 2) = 2.1 %)
    rows = [("s", "p", f"L{k}", k, 315, 0) for k in range(30)]
    rows[5] = ("s", "p", "L5", 5, 315, 2)
    rows[9] = ("s", "p", "L9", 9, 315, 2)
    rows[20] = ("s", "p", "L20", 20, 315, 2)
    rows[25] = ("s", "p", "L25", 25, 315, 1)
    lots = pl.DataFrame(rows, schema=["supplier", "part_number", "lot", "received_date", "inspected", "defective"], orient="row")  # fmt: skip
    p_bar = 7 / (30 * 315)
    assert p_bar + 3 * math.sqrt(p_bar * (1 - p_bar) / 315) < 2 / 315  # normal limit: flagged
    assert lot_trend(lots).flagged().is_empty()
    rows[12] = ("s", "p", "L12", 12, 315, 9)  # 28,571 PPM, as the bad thermostat lot
    assert lot_trend(pl.DataFrame(rows, schema=lots.columns, orient="row")).flagged()["lot"].to_list() == ["L12"]  # fmt: skip


def test_lot_trend_sees_a_supplier_getting_worse() -> None:
    rows = [
        ("s", "p", f"L{k}", k, 1000, d) for k, d in enumerate([0, 1, 0, 1, 2, 1, 3, 2, 4, 5, 4, 6])
    ]
    rows += [("t", "p", f"M{k}", k, 1000, d) for k, d in enumerate([6, 4, 5, 3, 3, 2, 1, 2, 0, 1])]
    rows += [("u", "p", "N0", 0, 1000, 1), ("u", "p", "N1", 1, 1000, 2)]
    lots = pl.DataFrame(
        rows,
        schema=["supplier", "part_number", "lot", "received_date", "inspected", "defective"],
        orient="row",
    )
    trend = lot_trend(lots).trend
    assert trend["supplier"].to_list() == ["s", "t", "u"]
    assert trend["direction"].to_list() == ["worsening", "improving", "none"]
    assert trend.row(2, named=True)["mk_s"] is None and trend["lots"].to_list() == [12, 10, 2]
    s_ppm = np.array([0, 1, 0, 1, 2, 1, 3, 2, 4, 5, 4, 6]) * 1000.0
    assert trend.row(0, named=True)["sen_slope_ppm"] == pytest.approx(
        stats.theilslopes(s_ppm, np.arange(12))[0]
    )


def test_lot_trend_false_alarms_on_clean_suppliers_stay_near_alpha() -> None:
    rng = np.random.default_rng(5)
    groups, per = 300, 30
    n = rng.integers(500, 2000, groups * per)
    lots = pl.DataFrame(
        {
            "supplier": np.repeat([f"s{g:03d}" for g in range(groups)], per),
            "part_number": "p",
            "received_date": np.tile(np.arange(per), groups),
            "inspected": n,
            "defective": rng.binomial(n, 1e-3),  # many zero and tied lots
        }
    )
    result = lot_trend(lots, lot=None)
    alarms = (result.trend["direction"] != "none").mean()
    assert 0.01 < alarms < 0.09  # alpha = 0.05 by construction
    assert result.flagged().height < 0.01 * groups * per  # 3σ on skewed low-p counts: under 1 %


def test_mann_kendall_against_scipy_kendall_tau() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=25).cumsum()  # no ties: Var(S) = n(n−1)(2n+5)/18
    s, z, p, tau, slope = mann_kendall(x)
    reference = stats.kendalltau(np.arange(25), x)
    assert tau == pytest.approx(reference.statistic)
    assert s == round(tau * 25 * 24 / 2)
    var = 25 * 24 * 55 / 18
    assert z == pytest.approx((s - np.sign(s)) / math.sqrt(var))
    assert p == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert slope == pytest.approx(stats.theilslopes(x, np.arange(25))[0])
    # ties: the variance loses Σ t(t−1)(2t+5)/18 (here two ties of 2 and one of 3)
    tied = np.array([0, 0, 1, 2, 2, 3, 5, 5, 5, 4, 6, 7])
    s, z, *_ = mann_kendall(tied)
    var = (12 * 11 * 29 - 2 * (2 * 1 * 9) - 3 * 2 * 11) / 18
    assert z == pytest.approx((s - 1) / math.sqrt(var))
    assert s == sum(np.sign(tied[j] - tied[i]) for i in range(12) for j in range(i + 1, 12))
