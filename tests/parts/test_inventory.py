"""Stocking levels against the textbook's normal formulas and against a replay of the policy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

from drivetrain.errors import InputError
from drivetrain.parts.inventory import (
    StockingTerms,
    bootstrap_demand,
    normal_demand,
    policy_for,
    simulate_policy,
    tradeoff_curve,
)

TERMS = StockingTerms(lead_time=2, review_period=1)


def test_cycle_service_and_fill_rate_levels_match_the_normal_formulas() -> None:
    rng = np.random.default_rng(0)
    mu, sd = 100.0, 20.0  # per period; L + R = 3 periods
    lt = normal_demand(mu, sd, 2, draws=400_000, rng=rng)
    ltr = normal_demand(mu, sd, 3, draws=400_000, rng=rng)
    sigma = sd * np.sqrt(3)
    p = policy_for(lt, ltr, mu, TERMS, target=0.95)
    # S is whole units: the smallest integer at or above the formula's level
    assert p.order_up_to == pytest.approx(3 * mu + stats.norm.ppf(0.95) * sigma, abs=1.5)
    # fill rate: the normal loss function G(k) = pdf(k) - k (1 - cdf(k)) over L+R, minus
    # the same over L (Silver, Pyke & Thomas, periodic review with backorders)
    def short(s: float, m: float, v: float) -> float:
        k = (s - m) / v
        return float(v * (stats.norm.pdf(k) - k * stats.norm.sf(k)))

    def gap(s: float) -> float:
        return 1 - (short(s, 3 * mu, sigma) - short(s, 2 * mu, sd * np.sqrt(2))) / mu - 0.98

    expected = optimize.brentq(gap, 200.0, 500.0)
    f = policy_for(lt, ltr, mu, TERMS, target=0.98, kind="fill_rate")
    assert f.order_up_to == pytest.approx(expected, abs=1.5)
    assert f.fill_rate >= 0.98 and f.reorder_point == pytest.approx(f.order_up_to - mu)


def _compound(rng: np.random.Generator, n: int) -> np.ndarray:
    """Spare-part demand: a demand in 30 % of periods, of 1 + Poisson(2) units."""
    return np.where(rng.random(n) < 0.3, 1 + rng.poisson(2.0, n), 0).astype(float)


def test_the_bootstrap_keeps_the_share_of_empty_periods_and_takes_a_forecast_mean() -> None:
    rng = np.random.default_rng(1)
    history = _compound(rng, 400)
    one = bootstrap_demand(history, 1, draws=50_000, rng=rng)
    assert np.mean(one == 0) == pytest.approx(np.mean(history == 0), abs=0.03)
    scaled = bootstrap_demand(history, 4, draws=50_000, mean=5.0, rng=rng)
    assert scaled.mean() == pytest.approx(20.0, rel=0.03)
    fresh = bootstrap_demand(np.zeros(12), 3, draws=50_000, mean=2.0, rng=rng)
    assert fresh.mean() == pytest.approx(6.0, rel=0.03)  # the Poisson fallback
    assert not bootstrap_demand(np.zeros(12), 3, draws=10, rng=rng).any()
    for bad in (np.array([1.0, -1.0]), np.array([np.nan]), np.ones((2, 2)), np.array([])):
        with pytest.raises(InputError):
            bootstrap_demand(bad, 2, rng=rng)


def test_the_estimated_fill_rate_is_what_a_replay_of_the_policy_achieves() -> None:
    rng = np.random.default_rng(2)
    # with the true lead-time demand distribution, the formulas are the replay's outcome
    lt = _compound(rng, 400_000).reshape(-1, 2).sum(axis=1)
    ltr = _compound(rng, 600_000).reshape(-1, 3).sum(axis=1)
    mean = 0.3 * 3.0
    policy = policy_for(lt, ltr, mean, TERMS, target=0.95, kind="fill_rate")
    fill, cycle, on_hand = simulate_policy(_compound(rng, 50_000), policy.order_up_to, TERMS)
    assert fill == pytest.approx(policy.fill_rate, abs=0.01)
    assert cycle == pytest.approx(policy.cycle_service, abs=0.01)
    assert on_hand == pytest.approx(policy.expected_on_hand, rel=0.1)
    # from a bootstrap of 600 periods of history, the target is reached (the jitter
    # makes the bootstrap a little wider than the truth: it errs towards service)
    history = _compound(rng, 600)
    boot_lt = bootstrap_demand(history, 2, draws=20_000, mean=mean, rng=rng)
    boot_ltr = bootstrap_demand(history, 3, draws=20_000, mean=mean, rng=rng)
    boot = policy_for(boot_lt, boot_ltr, mean, TERMS, target=0.95, kind="fill_rate")
    achieved, _, _ = simulate_policy(_compound(rng, 50_000), boot.order_up_to, TERMS)
    assert 0.95 <= achieved <= boot.fill_rate + 0.03
    curve = tradeoff_curve(history, mean, TERMS)
    assert curve["order_up_to"].is_sorted() and curve["cycle_service"].is_sorted()
    assert (curve["cycle_service"] >= curve["target"]).all()


def test_a_replay_by_hand() -> None:
    # S = 4, L = 1, R = 1: an order placed after period t's demand arrives before
    # period t + 2's. Demand 3, 3, 0, 5:
    # t0: shelf 4, demand 3 -> shelf 1; position 1, order 3 (arrives before t2)
    # t1: shelf 1, demand 3 -> 1 met, 2 backordered, shelf 0; position 0 - 2 + 3 = 1, order 3
    # t2: +3 clears the 2 backordered -> shelf 1, demand 0; position 1 + 3 = 4, order 0
    # t3: +3 -> shelf 4, demand 5 -> 4 met, 1 backordered, shelf 0
    fill, cycle, on_hand = simulate_policy(
        np.array([3.0, 3.0, 0.0, 5.0]), 4, StockingTerms(lead_time=1)
    )
    assert fill == pytest.approx(8 / 11) and cycle == pytest.approx(2 / 4)
    assert on_hand == pytest.approx((1 + 0 + 1 + 0) / 4)


def test_impossible_terms_and_targets_are_refused() -> None:
    lt = ltr = np.ones(10)
    with pytest.raises(InputError, match="between 0 and 1"):
        policy_for(lt, ltr, 1.0, TERMS, target=1.0)
    with pytest.raises(InputError, match="lead time"):
        policy_for(lt, ltr, 1.0, StockingTerms(lead_time=-1), target=0.9)


def test_the_reorder_point_is_whole_units_and_bad_inputs_are_refused() -> None:
    rng = np.random.default_rng(4)
    lt, ltr = rng.poisson(1.3, 5000).astype(float), rng.poisson(2.0, 5000).astype(float)
    p = policy_for(lt, ltr, 0.7, TERMS, target=0.9)
    assert p.reorder_point == p.order_up_to - 1  # S - 0.7, rounded
    assert p.order_up_to == stats.poisson.ppf(0.9, 2.0)  # 5000 draws: P(D <= 4) = 0.947
    with pytest.raises(InputError, match="unknown target kind"):
        policy_for(lt, ltr, 0.7, TERMS, target=0.9, kind="fill")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="lt_demand"):
        policy_for(np.array([]), ltr, 0.7, TERMS, target=0.9)
    with pytest.raises(InputError, match="review period"):
        simulate_policy(np.ones(4), 3, StockingTerms(lead_time=1, review_period=0))
