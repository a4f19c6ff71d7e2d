"""The fleet signal: due jobs, failures and shares, against scipy and Monte Carlo references."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from scipy.stats import norm, weibull_min

from drivetrain.errors import InputError
from drivetrain.parts.fleet_signal import (
    allocate,
    demand_shares,
    due_in_months,
    failures_in_months,
)

MONTHS = [date(2024, m, 1) for m in range(1, 7)]  # Jan-Jun 2024
EDGES = [date(2024, m, 1) for m in range(1, 8)]  # their starts, and 1 July (the horizon's end)


def _due(**overrides: object) -> pl.DataFrame:
    row: dict[str, object] = {
        "vehicle_id": "V1",
        "part_number": "P1",
        "as_of": date(2024, 1, 20),
        "days_left": 60.0,
        "days_left_low": 20.0,
        "days_left_high": 110.0,
    }
    row.update(overrides)
    return pl.DataFrame([row])


def _p_by_month(out: pl.DataFrame) -> dict[date, float]:
    return dict(zip(out["month"].to_list(), out["p"].to_list(), strict=True))


# due_in_months ------------------------------------------------------------------------------


def test_due_probabilities_are_the_normal_cdf_differences() -> None:
    as_of = date(2024, 1, 20)
    out = _p_by_month(due_in_months(_due(), MONTHS, confidence=0.80))
    sd = 90.0 / (2 * 1.2815515655446004)  # z of a two-sided 80% interval
    day = [(edge - as_of).days for edge in EDGES]
    cdf = norm.cdf(day, loc=60.0, scale=sd)
    cdf[0] = 0.0  # January holds everything before 1 Feb, the overdue tail included
    for i, month in enumerate(MONTHS):
        assert out.get(month, 0.0) == pytest.approx(cdf[i + 1] - cdf[i], abs=1e-12)
    beyond = norm.sf((date(2024, 7, 1) - as_of).days, loc=60.0, scale=sd)
    assert sum(out.values()) == pytest.approx(1.0 - beyond, abs=1e-12)


def test_due_probabilities_match_a_monte_carlo_of_the_due_day() -> None:
    as_of = date(2024, 1, 20)
    jobs = _due(days_left=40.0, days_left_low=-10.0, days_left_high=100.0, quantity=2.0)
    out = due_in_months(jobs, MONTHS)
    assert out["quantity"].to_list() == [2.0] * out.height
    sd = 110.0 / (2 * norm.ppf(0.95))
    draws = np.random.default_rng(7).normal(40.0, sd, 200_000)
    # bins by day from as_of: everything before 1 Feb is January (due now or during January)
    bins = [-np.inf] + [(edge - as_of).days for edge in EDGES[1:]] + [np.inf]
    freq = np.histogram(draws, bins=bins)[0] / draws.size
    got = _p_by_month(out)
    for i, month in enumerate(MONTHS):
        assert abs(got.get(month, 0.0) - freq[i]) < 0.005


def test_a_zero_width_interval_is_a_point_mass() -> None:
    out = due_in_months(_due(days_left=45.0, days_left_low=45.0, days_left_high=45.0), MONTHS)
    # 20 Jan + 45 days = 5 March
    assert out.select("month", "p").rows() == [(date(2024, 3, 1), 1.0)]


def test_the_already_due_mass_lands_in_the_as_of_month() -> None:
    # due 30 days ago, give or take a day or two: due now, i.e. in March, the as_of month
    jobs = _due(as_of=date(2024, 3, 10), days_left=-30.0, days_left_low=-32.0, days_left_high=-28.0)
    out = due_in_months(jobs, MONTHS)
    assert out.select("month", "p").rows() == [(date(2024, 3, 1), pytest.approx(1.0))]


def test_months_before_the_as_of_month_are_not_returned() -> None:
    out = due_in_months(_due(as_of=date(2024, 3, 10)), MONTHS)
    assert out["month"].min() == date(2024, 3, 1)


@pytest.mark.parametrize(
    ("jobs", "months", "confidence", "message"),
    [
        (_due().drop("days_left_high"), MONTHS, 0.9, "days_left_high"),
        (_due(days_left_low=None), MONTHS, 0.9, "missing"),
        (_due(days_left_low=50.0, days_left_high=40.0, days_left=45.0), MONTHS, 0.9, "below"),
        (_due(days_left=200.0), MONTHS, 0.9, "outside its interval"),
        (_due(), MONTHS, 1.0, "confidence"),
        (_due(), MONTHS, 0.0, "confidence"),
        (_due(), [date(2024, 1, 15)], 0.9, "first-of-month"),
        (_due(), [date(2024, 2, 1), date(2024, 1, 1)], 0.9, "increasing"),
        (_due(), [date(2024, 1, 1), date(2024, 1, 1)], 0.9, "increasing"),
    ],
)
def test_due_in_months_refuses_bad_input(
    jobs: pl.DataFrame, months: list[date], confidence: float, message: str
) -> None:
    with pytest.raises(InputError, match=message) as caught:
        due_in_months(jobs, months, confidence=confidence)
    assert caught.value.hint


# failures_in_months -------------------------------------------------------------------------

SHAPE, SCALE = 2.5, 900.0


def _weibull(t: np.ndarray) -> np.ndarray:
    return np.asarray(weibull_min.cdf(t, SHAPE, scale=SCALE))


def test_failures_match_the_weibull_conditional_probabilities() -> None:
    as_of = date(2024, 1, 10)
    units = pl.DataFrame(
        {"part_number": ["P1", "P1", "P2"], "market": ["DE", "DE", "FR"],
         "age_days": [100.0, 700.0, 400.0], "count": [30.0, 5.0, 12.0]}
    )  # fmt: skip
    out = failures_in_months(units, _weibull, as_of, MONTHS)
    starts = [max(0, (edge - as_of).days) for edge in EDGES]  # January counts from 10 Jan
    for part, market, groups in [("P1", "DE", [(100.0, 30.0), (700.0, 5.0)]),
                                 ("P2", "FR", [(400.0, 12.0)])]:  # fmt: skip
        got = out.filter((pl.col("part_number") == part) & (pl.col("market") == market))
        assert got["month"].to_list() == MONTHS
        for i in range(len(MONTHS)):
            exp = var = 0.0
            for age, count in groups:
                sf = weibull_min.sf([age, age + starts[i], age + starts[i + 1]], SHAPE, scale=SCALE)
                p = (sf[1] - sf[2]) / sf[0]
                exp += count * p
                var += count * p * (1 - p)
            assert got["expected"][i] == pytest.approx(exp, rel=1e-9)
            assert got["variance"][i] == pytest.approx(var, rel=1e-9)


def test_failures_match_a_monte_carlo_of_conditional_lifetimes() -> None:
    as_of, age = date(2024, 1, 10), 600.0
    units = pl.DataFrame(
        {"part_number": ["P1"], "market": ["DE"], "age_days": [age], "count": [1.0]}
    )
    out = failures_in_months(units, _weibull, as_of, MONTHS)
    rng = np.random.default_rng(11)
    # a lifetime given survival to `age`: inverse cdf of a uniform on [F(age), 1)
    u = rng.uniform(_weibull(np.array([age]))[0], 1.0, 200_000)
    remaining = weibull_min.ppf(u, SHAPE, scale=SCALE) - age
    bins = [max(0, (edge - as_of).days) for edge in EDGES]
    freq = np.histogram(remaining, bins=bins)[0] / remaining.size
    assert np.abs(out["expected"].to_numpy() - freq).max() < 0.005


def test_failure_variance_on_a_hand_computed_example() -> None:
    def uniform(t: np.ndarray) -> np.ndarray:  # life uniform on [0, 100] days
        return np.clip(t / 100.0, 0.0, 1.0)

    units = pl.DataFrame(
        {"part_number": ["P"] * 3, "market": ["M"] * 3,
         "age_days": [0.0, 50.0, 150.0], "count": [1.0, 2.0, 4.0]}
    )  # fmt: skip
    out = failures_in_months(units, uniform, date(2024, 1, 1), MONTHS[:2])
    # age 0: Jan 31/100, Feb 29/100. Age 50 (survival 0.5): Jan 31/50, Feb 19/50.
    # Age 150: past the support, cannot fail: 0.
    assert out["expected"].to_list() == pytest.approx([0.31 + 2 * 0.62, 0.29 + 2 * 0.38])
    assert out["variance"].to_list() == pytest.approx(
        [0.31 * 0.69 + 2 * 0.62 * 0.38, 0.29 * 0.71 + 2 * 0.38 * 0.62]
    )


def test_failures_count_only_the_future() -> None:
    def uniform(t: np.ndarray) -> np.ndarray:
        return np.clip(t / 100.0, 0.0, 1.0)

    units = pl.DataFrame({"part_number": ["P"], "market": ["M"], "age_days": [0.0], "count": [1.0]})
    out = failures_in_months(units, uniform, date(2024, 2, 11), MONTHS[:3])
    # January is over; February counts from the 11th: 19 days (11-29 Feb)
    assert out["month"].to_list() == [date(2024, 2, 1), date(2024, 3, 1)]
    assert out["expected"].to_list() == pytest.approx([0.19, 0.31])


_UNITS = pl.DataFrame({"part_number": ["P"], "market": ["M"], "age_days": [10.0], "count": [3.0]})


@pytest.mark.parametrize(
    ("units", "cdf", "message"),
    [
        (_UNITS.drop("market"), _weibull, "market"),
        (_UNITS.with_columns(pl.lit(-1.0).alias("age_days")), _weibull, "age_days"),
        (_UNITS.with_columns(pl.lit(-2.0).alias("count")), _weibull, "count"),
        (_UNITS, lambda t: t / 10.0, r"outside \[0, 1\]"),
        (_UNITS, lambda t: np.exp(-t / 100.0), "decreases"),
    ],
)
def test_failures_in_months_refuses_bad_input(
    units: pl.DataFrame, cdf: object, message: str
) -> None:
    with pytest.raises(InputError, match=message) as caught:
        failures_in_months(units, cdf, date(2024, 1, 1), MONTHS)  # type: ignore[arg-type]
    assert caught.value.hint


# allocate -----------------------------------------------------------------------------------


def test_allocation_matches_a_monte_carlo_of_multinomial_thinning() -> None:
    rng = np.random.default_rng(5)
    p = rng.uniform(0.05, 0.6, 40)  # each unit's probability of needing the part this month
    shares = np.array([0.5, 0.3, 0.2])
    expected = pl.DataFrame(
        {"part_number": ["P"], "market": ["M"], "month": [MONTHS[0]],
         "expected": [p.sum()], "variance": [(p * (1 - p)).sum()]}
    )  # fmt: skip
    split = pl.DataFrame(
        {"part_number": ["P"] * 3, "market": ["M"] * 3,
         "location_id": ["L1", "L2", "L3"], "share": shares.tolist()}
    )  # fmt: skip
    out = allocate(expected, split).sort("location_id")
    n = 200_000
    totals = (rng.random((n, p.size)) < p).sum(axis=1)
    per_location = rng.multinomial(totals, shares)
    mc_mean, mc_var = per_location.mean(axis=0), per_location.var(axis=0)
    assert out["expected"].to_numpy() == pytest.approx(mc_mean, rel=0.01)
    assert out["variance"].to_numpy() == pytest.approx(mc_var, rel=0.03)
    # and not the naive s²·Var, which would miss the split's own noise
    assert np.all(shares**2 * (p * (1 - p)).sum() < 0.9 * mc_var)


def _expected(**extra: list[object]) -> pl.DataFrame:
    return pl.DataFrame(
        {"part_number": ["P", "P"], "market": ["A", "B"], "month": [MONTHS[0]] * 2,
         "expected": [4.0, 2.0], "variance": [3.0, 1.0], **extra}
    )  # fmt: skip


_SHARES = pl.DataFrame(
    {"part_number": ["P"] * 3, "market": ["A", "A", "B"],
     "location_id": ["D1", "R1", "R1"], "share": [0.75, 0.25, 1.0]}
)  # fmt: skip


def test_allocation_sums_a_location_over_its_markets_and_keeps_extra_keys() -> None:
    out = allocate(_expected(source=["health", "warranty"]), _SHARES)
    assert out.columns == ["part_number", "location_id", "month", "expected", "variance", "source"]
    rows = {(r["location_id"], r["source"]): r for r in out.iter_rows(named=True)}
    assert set(rows) == {("D1", "health"), ("R1", "health"), ("R1", "warranty")}
    assert rows["D1", "health"]["expected"] == pytest.approx(3.0)
    assert rows["D1", "health"]["variance"] == pytest.approx(0.75**2 * 3 + 0.75 * 0.25 * 4)
    assert rows["R1", "warranty"]["variance"] == pytest.approx(1.0)
    merged = allocate(_expected(), _SHARES).filter(pl.col("location_id") == "R1")
    assert merged["expected"].to_list() == pytest.approx([1.0 + 2.0])
    assert merged["variance"].to_list() == pytest.approx([0.25**2 * 3 + 0.25 * 0.75 * 4 + 1.0])


def test_shares_that_do_not_sum_to_one_are_refused() -> None:
    bad = _SHARES.with_columns(
        pl.when(pl.col("location_id") == "R1").then(0.2).otherwise(pl.col("share")).alias("share")
    )
    with pytest.raises(InputError, match=r"part_number P, market A, share 0\.95"):
        allocate(_expected(), bad)


def test_a_market_without_shares_is_refused_not_dropped() -> None:
    with pytest.raises(InputError, match="no shares for part P in B") as caught:
        allocate(_expected(), _SHARES.filter(pl.col("market") == "A"))
    assert caught.value.hint is not None and "shares" in caught.value.hint


def test_allocate_names_missing_columns() -> None:
    with pytest.raises(InputError, match="variance"):
        allocate(_expected().drop("variance"), _SHARES)


# demand_shares ------------------------------------------------------------------------------

LOCATIONS = pl.DataFrame(
    {"location_id": ["D1", "D2", "R1", "W1", "D3", "D4"],
     "kind": ["dealer", "dealer", "regional", "central", "dealer", "dealer"],
     "market": ["A", "A", "A", "A", "B", "B"]}
)  # fmt: skip


def _history() -> pl.DataFrame:
    return pl.DataFrame(
        {"part_number": ["P1", "P1", "P1", "P1", "P1", "P2", "P3"],
         "location_id": ["D1", "D1", "D2", "R1", "W1", "D1", "D3"],
         "quantity": [3.0, 1.0, 2.0, 2.0, 100.0, 5.0, 4.0]}
    )  # fmt: skip


def test_demand_shares_on_a_hand_computed_example() -> None:
    out = demand_shares(_history(), LOCATIONS)
    got = {(r[0], r[1], r[2]): r[3] for r in out.rows()}
    want = {
        # P1 in A: D1 4, D2 2, R1 2 of 8 (the central warehouse W1 is not of the kinds)
        ("P1", "A", "D1"): 0.5, ("P1", "A", "D2"): 0.25, ("P1", "A", "R1"): 0.25,
        ("P1", "B", "D3"): 0.5, ("P1", "B", "D4"): 0.5,  # no history in B: equal dealers
        ("P2", "A", "D1"): 1.0, ("P2", "A", "D2"): 0.0, ("P2", "A", "R1"): 0.0,
        ("P2", "B", "D3"): 0.5, ("P2", "B", "D4"): 0.5,
        # P3 never issued in A: the dealers share equally, the regional gets none
        ("P3", "A", "D1"): 0.5, ("P3", "A", "D2"): 0.5, ("P3", "A", "R1"): 0.0,
        ("P3", "B", "D3"): 1.0, ("P3", "B", "D4"): 0.0,
    }  # fmt: skip
    assert got.keys() == want.keys()
    for key, share in want.items():
        assert got[key] == pytest.approx(share), key


def test_demand_shares_sum_to_one_and_feed_allocate() -> None:
    rng = np.random.default_rng(2)
    history = pl.DataFrame(
        {"part_number": rng.choice(["P1", "P2", "P3"], 300).tolist(),
         "location_id": rng.choice(["D1", "D2", "R1", "D3"], 300).tolist(),
         "quantity": rng.poisson(2.0, 300).astype(float).tolist()}
    )  # fmt: skip
    out = demand_shares(history, LOCATIONS)
    sums = out.group_by("part_number", "market").agg(pl.col("share").sum())
    assert sums.height == 3 * 2
    assert sums["share"].to_numpy() == pytest.approx(np.ones(sums.height), abs=1e-12)
    market = pl.DataFrame(
        {"part_number": ["P1", "P1"], "market": ["A", "B"], "month": [MONTHS[0]] * 2,
         "expected": [6.0, 3.0], "variance": [2.0, 1.0]}
    )  # fmt: skip
    assert allocate(market, out)["expected"].sum() == pytest.approx(9.0)


def test_a_market_without_dealers_shares_equally_over_its_locations() -> None:
    locations = pl.DataFrame(
        {"location_id": ["D1", "R1", "R2"], "kind": ["dealer", "regional", "regional"],
         "market": ["A", "B", "B"]}
    )  # fmt: skip
    history = pl.DataFrame({"part_number": ["P"], "location_id": ["D1"], "quantity": [3.0]})
    out = demand_shares(history, locations).filter(pl.col("market") == "B")
    assert out["share"].to_list() == [0.5, 0.5]


def test_demand_shares_refuse_bad_input() -> None:
    with pytest.raises(InputError, match="quantity"):
        demand_shares(_history().drop("quantity"), LOCATIONS)
    with pytest.raises(InputError, match="negative"):
        demand_shares(_history().with_columns(pl.lit(-1.0).alias("quantity")), LOCATIONS)
    with pytest.raises(InputError, match="X9"):
        demand_shares(
            pl.DataFrame({"part_number": ["P"], "location_id": ["X9"], "quantity": [1.0]}),
            LOCATIONS,
        )
    with pytest.raises(InputError, match="no location is of kind"):
        demand_shares(_history(), LOCATIONS, kinds=("hub",))


def test_months_are_calendar_months() -> None:
    # a due day on 31 Jan falls in January, on 1 Feb in February (month boundaries by day)
    jan = due_in_months(_due(as_of=date(2024, 1, 1), days_left=30.5, days_left_low=30.5,
                             days_left_high=30.5), MONTHS)  # fmt: skip
    feb = due_in_months(_due(as_of=date(2024, 1, 1), days_left=31.0, days_left_low=31.0,
                             days_left_high=31.0), MONTHS)  # fmt: skip
    assert jan["month"].to_list() == [date(2024, 1, 1)]
    assert feb["month"].to_list() == [date(2024, 1, 1) + timedelta(days=31)]
