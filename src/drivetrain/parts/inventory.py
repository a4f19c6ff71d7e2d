"""Stocking decisions per part x location: reorder point and order-up-to level.

The policy is the periodic-review order-up-to policy (R, S) of Silver, Pyke &
Thomas (*Inventory and Production Management in Supply Chains*, 4th ed., ch. 6
and 7): every R periods, order up to S; an order arrives L periods later.
Unmet demand is backordered. S is set from the distribution of demand over
L + R periods, for a target

* **cycle service level**: P(no stock-out in a cycle) = P(D[L+R] <= S), or
* **fill rate**: the share of demand met from the shelf,
  1 - (E[(D[L+R] - S)+] - E[(D[L] - S)+]) / E[D[R]].

For spare parts the lead-time demand is far from normal, so the distribution
is not assumed: it is **bootstrapped** from the part's history in the manner of
Willemain, Smart & Schwarz (2004) - a two-state Markov chain for months with and
without demand, sizes resampled from the history's non-zero demands with
jitter - and rescaled to the forecast's mean, so that a forecast which foresees
more (a failure wave the fleet predicts) moves the whole distribution. The
normal approximation is kept as ``normal_demand`` for comparison.

The reorder point is s = S - E[D[R]]: where the inventory position falls to s,
an order is due. Expected units on hand are approximated by the average of the
expected stock just after an order arrives and just before the next one,
S - E[D[L]] - E[D[R]] / 2 plus the expected backorders (which the position
formula subtracts but the shelf never holds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

from drivetrain.errors import InputError

Target = Literal["cycle_service", "fill_rate"]
COLUMNS = ["target", "order_up_to", "expected_on_hand", "fill_rate", "cycle_service", "holding_cost"]


@dataclass(frozen=True, slots=True)
class StockingTerms:
    """How a part is replenished at a location, and what holding it costs."""

    lead_time: int  # periods from order to arrival
    review_period: int = 1  # periods between orders
    unit_cost: float = 1.0
    holding_rate: float = 0.25  # of the unit cost, per year
    periods_per_year: int = 12

    def validate(self) -> None:
        """Raise InputError naming the first impossible term."""
        if self.lead_time < 0:
            raise InputError(f"lead time {self.lead_time} is negative", hint="use 0 or more periods")
        if self.review_period < 1:
            raise InputError(
                f"review period {self.review_period} is below 1 period",
                hint="review at least once per period: 1 for every period, 3 for quarterly",
            )
        if not self.unit_cost > 0:
            raise InputError(
                f"unit cost {self.unit_cost} is not positive", hint="give the cost of one unit"
            )
        if not self.holding_rate >= 0:
            raise InputError(
                f"holding rate {self.holding_rate} is negative",
                hint="a fraction of the unit cost per year, e.g. 0.25",
            )
        if self.periods_per_year < 1:
            raise InputError(
                f"periods per year {self.periods_per_year} is below 1", hint="12 for months"
            )


@dataclass(frozen=True, slots=True)
class StockPolicy:
    """The levels and what they are expected to achieve."""

    reorder_point: float
    order_up_to: float
    safety_stock: float
    expected_on_hand: float
    cycle_service: float
    fill_rate: float
    holding_cost: float  # per year


def _history(history: np.ndarray) -> np.ndarray:
    h = np.asarray(history, dtype=np.float64)
    if h.ndim != 1 or h.size == 0:
        raise InputError("a demand history is one non-empty series of periods")
    if not np.isfinite(h).all() or (h < 0).any():
        raise InputError(
            "a demand history has negative or missing values",
            hint="prepare it with drivetrain.parts.demand.prepare_demand",
        )
    return h


def bootstrap_demand(
    history: np.ndarray,
    periods: int,
    *,
    draws: int = 2000,
    mean: float | None = None,
    rng: np.random.Generator,
) -> np.ndarray:
    """Samples of the total demand over ``periods`` future periods (see the module docstring).

    With ``mean`` (forecast units per period) the sizes are rescaled so the
    samples' expected demand per period is ``mean``. A history without demand
    gives zeros, or Poisson(mean x periods) when a positive mean is asked for
    (the fleet foresees demand the history has never seen).
    """
    h = _history(history)
    if periods < 1:
        return np.zeros(draws)
    occurs = h > 0
    sizes = h[occurs]
    if sizes.size == 0:
        if mean:
            return rng.poisson(mean * periods, draws).astype(np.float64)
        return np.zeros(draws)
    # transition probabilities of the zero / non-zero chain (Laplace-smoothed)
    prev, nxt = occurs[:-1], occurs[1:]
    p_nz_after_nz = (np.sum(prev & nxt) + 1) / (np.sum(prev) + 2)
    p_nz_after_z = (np.sum(~prev & nxt) + 1) / (np.sum(~prev) + 2)
    state = np.full(draws, occurs[-1])
    total = np.zeros(draws)
    hits = 0.0
    for _ in range(periods):
        p = np.where(state, p_nz_after_nz, p_nz_after_z)
        state = rng.random(draws) < p
        picked = rng.choice(sizes, draws)
        jittered = 1 + np.trunc(picked + rng.standard_normal(draws) * np.sqrt(picked))
        size = np.where(jittered <= 0, picked, jittered)
        total += np.where(state, size, 0.0)
        hits += float(np.mean(np.where(state, size, 0.0)))
    if mean is not None:
        per_period = hits / periods
        total = total * (mean / per_period) if per_period > 0 else total
    return total


def normal_demand(
    mean: float, sd: float, periods: int, *, draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Normal lead-time demand (mean and sd per period, independent periods), cut at zero."""
    return np.maximum(rng.normal(mean * periods, sd * np.sqrt(periods), draws), 0.0)


def check_target(target: float, kind: str) -> None:
    """Raise InputError unless ``target`` is in (0, 1) and ``kind`` is a known target."""
    if not 0 < target < 1:
        raise InputError(f"target {target} is not between 0 and 1", hint="e.g. 0.95")
    if kind not in ("cycle_service", "fill_rate"):
        raise InputError(f"unknown target kind {kind!r}", hint="cycle_service or fill_rate")


def _samples(samples: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim != 1 or x.size == 0 or not np.isfinite(x).all() or (x < 0).any():
        raise InputError(
            f"{what} must be a non-empty 1-D array of finite, non-negative demand samples",
            hint="draw them with bootstrap_demand or normal_demand",
        )
    return x


def _shortage(samples: np.ndarray, level: np.ndarray) -> np.ndarray:
    """E[(D - S)+] for each S in ``level``."""
    ordered = np.sort(samples)
    tail = np.concatenate([np.cumsum(ordered[::-1])[::-1], [0.0]])
    idx = np.searchsorted(ordered, level, side="right")
    expected: np.ndarray = (tail[idx] - (ordered.size - idx) * level) / ordered.size
    return expected


def policy_for(
    lt_demand: np.ndarray,
    ltr_demand: np.ndarray,
    review_demand_mean: float,
    terms: StockingTerms,
    *,
    target: float,
    kind: Target = "cycle_service",
) -> StockPolicy:
    """The smallest whole order-up-to level S reaching ``target`` (cycle service or fill rate).

    The reorder point is S - E[D[R]] rounded to whole units (at least 0).
    """
    terms.validate()
    check_target(target, kind)
    lt_demand, ltr_demand = _samples(lt_demand, "lt_demand"), _samples(ltr_demand, "ltr_demand")
    if not review_demand_mean >= 0:
        raise InputError(
            f"review-period demand {review_demand_mean} is negative or missing",
            hint="the forecast units per period times the review period",
        )
    top = float(np.ceil(ltr_demand.max())) + 1
    levels = np.arange(0.0, top + 1)
    ordered = np.sort(ltr_demand)
    cycle = np.searchsorted(ordered, levels, side="right") / ordered.size
    short = _shortage(ltr_demand, levels) - _shortage(lt_demand, levels)
    fill = (
        np.clip(1 - short / review_demand_mean, 0.0, 1.0)
        if review_demand_mean > 0
        else np.ones_like(levels)
    )
    reached = (cycle if kind == "cycle_service" else fill) >= target
    i = int(np.argmax(reached)) if reached.any() else levels.size - 1
    s_level = float(levels[i])
    backorders = float(_shortage(ltr_demand, np.array([s_level]))[0])
    on_hand = max(s_level - float(lt_demand.mean()) - review_demand_mean / 2 + backorders, 0.0)
    return StockPolicy(
        reorder_point=float(max(round(s_level - review_demand_mean), 0)),
        order_up_to=s_level,
        safety_stock=s_level - float(ltr_demand.mean()),
        expected_on_hand=on_hand,
        cycle_service=float(cycle[i]),
        fill_rate=float(fill[i]),
        holding_cost=on_hand * terms.unit_cost * terms.holding_rate,
    )


def simulate_policy(
    demand: np.ndarray, order_up_to: float, terms: StockingTerms
) -> tuple[float, float, float]:
    """Replay (R, S) with lead time L and backorders on a realised demand path.

    Starts with S on the shelf. Each period: what is due arrives (and first
    clears the backorders), demand is met from the shelf (the rest backordered),
    and at a review an order brings the inventory position back to S. An order
    placed after period t's demand arrives before period t + 1 + L's, so one
    order covers L + R periods of demand, as ``policy_for`` assumes. Returns the
    achieved fill rate, the share of review cycles without a stock-out, and the
    average units on hand at the end of a period.
    """
    terms.validate()
    d = _history(demand)
    if not order_up_to >= 0:
        raise InputError(f"order-up-to level {order_up_to} is negative", hint="use 0 or more units")
    lead, review = terms.lead_time, terms.review_period
    on_hand, backlog = float(order_up_to), 0.0
    pipeline = [0.0] * (lead + 1)
    met = total = 0.0
    stocked = []
    cycles_ok, cycles = 0, 0
    short_in_cycle = False
    for t, demand_t in enumerate(d):
        on_hand += pipeline.pop(0)
        pipeline.append(0.0)
        served = min(backlog, on_hand)  # arrivals first clear the backorders
        on_hand -= served
        backlog -= served
        now = min(demand_t, on_hand)
        on_hand -= now
        backlog += demand_t - now
        met, total = met + now, total + demand_t
        short_in_cycle |= now < demand_t
        stocked.append(on_hand)
        if (t + 1) % review == 0:
            position = on_hand - backlog + sum(pipeline)
            pipeline[lead] += max(order_up_to - position, 0.0)
            cycles += 1
            cycles_ok += not short_in_cycle
            short_in_cycle = False
    fill = met / total if total > 0 else 1.0
    return fill, (cycles_ok / cycles if cycles else 1.0), float(np.mean(stocked))


def tradeoff_curve(
    history: np.ndarray,
    mean: float,
    terms: StockingTerms,
    *,
    targets: Sequence[float] = (0.80, 0.85, 0.90, 0.95, 0.97, 0.99),
    kind: Target = "cycle_service",
    draws: int = 2000,
    seed: int = 0,
) -> pl.DataFrame:
    """Stock against service, one row per target: what a planner reads before choosing."""
    rng = np.random.default_rng(seed)
    lt = bootstrap_demand(history, terms.lead_time, draws=draws, mean=mean, rng=rng)
    ltr = bootstrap_demand(
        history, terms.lead_time + terms.review_period, draws=draws, mean=mean, rng=rng
    )
    rows = []
    for target in targets:
        p = policy_for(lt, ltr, mean * terms.review_period, terms, target=target, kind=kind)
        rows.append((target, p.order_up_to, p.expected_on_hand, p.fill_rate, p.cycle_service,
                     p.holding_cost))  # fmt: skip
    return pl.DataFrame(
        rows,
        schema=COLUMNS,
        orient="row",
    )
