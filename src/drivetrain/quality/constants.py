"""Control-chart constants, computed from their definitions rather than copied from a table.

For subgroups of ``n`` normal observations with standard deviation σ:

- ``d2(n)`` = E[R]/σ, the mean of the relative range W = R/σ, from
  ∫ [1 − Φ(x)ⁿ − (1 − Φ(x))ⁿ] dx (Tippett 1925);
- ``d3(n)`` = sd[R]/σ, from E[W²] = ∫ 2w P(W > w) dw with the range's
  distribution P(W ≤ w) = n ∫ φ(x) [Φ(x + w) − Φ(x)]ⁿ⁻¹ dx (Hartley 1942);
- ``c4(n)`` = E[s]/σ = √(2/(n−1)) Γ(n/2) / Γ((n−1)/2).

The chart factors follow from them (Montgomery, *Introduction to Statistical
Quality Control*, Appendix VI): A2 = 3/(d2√n), D3 = max(0, 1 − 3 d3/d2),
D4 = 1 + 3 d3/d2, A3 = 3/(c4√n), B3 = max(0, 1 − 3√(1 − c4²)/c4),
B4 = 1 + 3√(1 − c4²)/c4, E2 = 3/d2(2) for individuals charts. The published
tables round them to three or four decimals; tests check every entry of
n = 2…25 against Appendix VI. Computing them lets a chart take any subgroup
size and a sigma multiple other than 3.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from scipy import integrate, special, stats

from drivetrain.errors import InputError

MAX_RANGE_SIZE = 50  # ranges waste information beyond ~10; past 50 use an S chart


def _check(n: int, smallest: int = 2, largest: int | None = None) -> None:
    if n < smallest or (largest is not None and n > largest):
        upper = f" and at most {largest}" if largest is not None else ""
        raise InputError(
            f"a subgroup of {n} has no chart constant; it must hold at least {smallest}{upper}",
            hint="use an individuals (I-MR) chart for single measurements and an X̄-S chart "
            "for subgroups of more than 10",
        )


@cache
def d2(n: int) -> float:
    """E[R]/σ for subgroups of ``n`` normal observations."""
    _check(n, largest=MAX_RANGE_SIZE)

    def tail(x: float) -> float:
        cdf = float(special.ndtr(x))
        return 1.0 - cdf**n - (1.0 - cdf) ** n

    value, _ = integrate.quad(tail, -12.0, 12.0, limit=200, epsabs=1e-12, epsrel=1e-12)
    return float(value)


@cache
def d3(n: int) -> float:
    """sd[R]/σ for subgroups of ``n`` normal observations."""
    _check(n, largest=MAX_RANGE_SIZE)
    # E[W²] = ∫ 2w P(W > w) dw with P(W ≤ w) = n ∫ φ(x) [Φ(x + w) − Φ(x)]ⁿ⁻¹ dx, on a grid
    # fine enough for ten digits (Simpson's rule on smooth, fast-decaying integrands)
    x = np.linspace(-9.0, 9.0, 721)
    w = np.linspace(0.0, 13.0, 521)
    spread = special.ndtr(x[None, :] + w[:, None]) - special.ndtr(x)[None, :]
    below = n * integrate.simpson(stats.norm.pdf(x)[None, :] * spread ** (n - 1), x=x, axis=1)
    second = float(integrate.simpson(2.0 * w * (1.0 - below), x=w))
    return math.sqrt(second - d2(n) ** 2)


@cache
def c4(n: int) -> float:
    """E[s]/σ for subgroups of ``n`` normal observations (s with the n − 1 divisor)."""
    _check(n)
    return math.sqrt(2.0 / (n - 1)) * math.exp(math.lgamma(n / 2) - math.lgamma((n - 1) / 2))


def a2(n: int, k: float = 3.0) -> float:
    """X̄ limits from the mean range: X̿ ± A2·R̄."""
    return k / (d2(n) * math.sqrt(n))


def d3_factor(n: int, k: float = 3.0) -> float:
    """D3: the R chart's lower limit is D3·R̄ (zero up to n = 6)."""
    return max(0.0, 1.0 - k * d3(n) / d2(n))


def d4_factor(n: int, k: float = 3.0) -> float:
    """D4: the R chart's upper limit is D4·R̄."""
    return 1.0 + k * d3(n) / d2(n)


def a3(n: int, k: float = 3.0) -> float:
    """X̄ limits from the mean standard deviation: X̿ ± A3·s̄."""
    return k / (c4(n) * math.sqrt(n))


def b3(n: int, k: float = 3.0) -> float:
    """B3: the S chart's lower limit is B3·s̄ (zero up to n = 5)."""
    return max(0.0, 1.0 - k * math.sqrt(1.0 - c4(n) ** 2) / c4(n))


def b4(n: int, k: float = 3.0) -> float:
    """B4: the S chart's upper limit is B4·s̄."""
    return 1.0 + k * math.sqrt(1.0 - c4(n) ** 2) / c4(n)


def e2(k: float = 3.0) -> float:
    """E2: individuals limits from the mean moving range of two, X̄ ± E2·MR̄."""
    return k / d2(2)
