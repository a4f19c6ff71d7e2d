"""Shewhart limits: the process centre and sigma from Phase I data, and each point's limits.

Everything is a characteristics × subgroups matrix (see ``subgroups.Ragged``),
so limits for ten thousand characteristics come from one pass. The formulas
are those of Montgomery, *Introduction to Statistical Quality Control*
(chapters 6 and 7), written in terms of the process sigma so that subgroups of
unequal size get their own limits:

- X̄ charts: centre X̿ (the mean of all measurements), limits X̿ ± kσ/√nᵢ.
  σ is the mean of Rᵢ/d2(nᵢ) (R-based) or of sᵢ/c4(nᵢ) (S-based) over the
  subgroups — the "UWAVE" estimators of R's qcc — or, with
  ``sigma_method="pooled"``, √(Σ(nᵢ−1)sᵢ² / Σ(nᵢ−1)) / c4(Σ(nᵢ−1)+1). With
  equal sizes the R-based limits are X̿ ± A2·R̄ exactly.
- R chart: centre d2(nᵢ)σ, limits d2(nᵢ)σ ± k·d3(nᵢ)σ (D3·R̄ and D4·R̄ for
  equal sizes). S chart: centre c4(nᵢ)σ, limits ± kσ√(1 − c4²) (B3·s̄, B4·s̄).
- Individuals and moving range: σ = MR̄/d2(2) over moving ranges of two
  consecutive in-control points; limits X̄ ± kσ and, for MR, D4(2)·MR̄.
- p: p̄ = Σdᵢ/Σnᵢ, limits p̄ ± k√(p̄(1−p̄)/nᵢ) within [0, 1]; np needs one size.
- c: c̄ the mean count per inspection unit, limits c̄ ± k√c̄; u: ū = Σcᵢ/Σnᵢ,
  limits ū ± k√(ū/nᵢ). Lower limits below zero are set to zero.

Phase I removes subgroups beyond the limits and estimates again until none is
beyond (Montgomery §6.2: points with assignable causes are dropped and the
limits revised). Removal stops for a characteristic before it would leave
fewer than half of its subgroups: that process is not in control and its
limits say so in the chart's note.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from drivetrain.errors import InputError
from drivetrain.quality import constants

Matrix = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
Vector = npt.NDArray[np.float64]

VARIABLES = ("xbar_r", "xbar_s", "imr")
ATTRIBUTES = ("p", "np", "c", "u")


@dataclass(slots=True)
class SubgroupData:
    """Per-subgroup summaries, characteristics × subgroups, NaN where there is no subgroup."""

    size: Matrix  # measurements (variables) or units inspected (attributes)
    mean: Matrix | None = None
    range: Matrix | None = None
    sd: Matrix | None = None
    count: Matrix | None = None  # defectives (p, np) or nonconformities (c, u)
    moving_range: Matrix | None = None

    @property
    def present(self) -> Mask:
        return ~np.isnan(self.size)


@dataclass(frozen=True, slots=True)
class Statistic:
    """One plotted statistic of a chart and its limits, all characteristics × subgroups."""

    name: str
    value: Matrix
    center: Matrix
    se: Matrix  # the statistic's standard error: what run-rule zones are measured in
    lcl: Matrix
    ucl: Matrix
    primary: bool = True  # run rules apply; dispersion charts get rule 1 only

    @property
    def beyond(self) -> Mask:
        with np.errstate(invalid="ignore"):
            return (self.value > self.ucl) | (self.value < self.lcl)

    @property
    def z(self) -> Matrix:
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.value - self.center) / self.se


@dataclass(slots=True)
class Estimate:
    """Phase I parameters per characteristic and which subgroups they rest on."""

    center: Vector
    sigma: Vector  # process sigma (variables); NaN for attributes
    used: Mask
    iterations: npt.NDArray[np.int64]
    unstable: Mask = field(default_factory=lambda: np.zeros(0, dtype=bool))
    standard: Mask = field(default_factory=lambda: np.zeros(0, dtype=bool))


def factor(function: Callable[[int], float], sizes: Matrix) -> Matrix:
    """A chart constant for every subgroup size in a matrix (NaN stays NaN)."""
    out = np.full(sizes.shape, np.nan)
    finite = ~np.isnan(sizes)
    if not finite.any():
        return out
    low, high = np.nanmin(sizes), np.nanmax(sizes)
    if low == high:  # one subgroup size, the usual case: no sort of the whole matrix
        out[finite] = function(int(low))
        return out
    for n in np.unique(sizes[finite]):
        out[sizes == n] = function(int(n))
    return out


def _masked_mean(values: Matrix, use: Mask) -> Vector:
    total = np.where(use, values, 0.0).sum(axis=1)
    count = use.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _weighted(values: Matrix, weights: Matrix, use: Mask) -> Vector:
    w = np.where(use, weights, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean: Vector = (np.where(use, values, 0.0) * w).sum(axis=1) / w.sum(axis=1)
    return mean


def sigma_of(chart: str, data: SubgroupData, use: Mask, method: str) -> Vector:
    """The within-subgroup process sigma of each characteristic from its used subgroups."""
    if chart == "imr":
        assert data.moving_range is not None
        pair = use.copy()
        pair[:, 1:] &= use[:, :-1]
        pair[:, 0] = False
        return _masked_mean(data.moving_range, pair) / constants.d2(2)
    assert data.sd is not None and data.range is not None
    if method == "pooled":
        df = data.size - 1.0
        dof = np.where(use, df, 0.0).sum(axis=1)
        pooled = np.sqrt(_weighted(data.sd**2, df, use))
        unbias = np.array([constants.c4(int(d) + 1) if d >= 1 else np.nan for d in dof])
        result: Vector = pooled / unbias
        return result
    if chart == "xbar_r":
        return _masked_mean(data.range / factor(constants.d2, data.size), use)
    return _masked_mean(data.sd / factor(constants.c4, data.size), use)


def center_of(chart: str, data: SubgroupData, use: Mask) -> Vector:
    """The centre line's parameter: X̿, p̄, c̄ or ū of each characteristic."""
    if chart in VARIABLES:
        assert data.mean is not None
        return _weighted(data.mean, data.size, use)
    assert data.count is not None
    if chart == "c":
        return _masked_mean(data.count, use)
    counts = np.where(use, data.count, 0.0).sum(axis=1)
    sizes = np.where(use, data.size, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate: Vector = counts / sizes
    return rate


def shewhart(
    chart: str, data: SubgroupData, center: Vector, sigma: Vector, k: float
) -> list[Statistic]:
    """The plotted statistics of a Shewhart chart with their per-point limits."""
    n = data.size
    c = np.broadcast_to(center[:, None], n.shape)
    if chart in ("xbar_r", "xbar_s", "imr"):
        assert data.mean is not None
        s = np.broadcast_to(sigma[:, None], n.shape)
        se = s / np.sqrt(n)
        primary = Statistic(
            "i" if chart == "imr" else "xbar", data.mean, c, se, c - k * se, c + k * se
        )
        if chart == "imr":
            assert data.moving_range is not None
            spread, mid, dev = data.moving_range, constants.d2(2) * s, constants.d3(2) * s
            name = "mr"
        elif chart == "xbar_r":
            assert data.range is not None
            spread, mid, dev = data.range, factor(constants.d2, n) * s, factor(constants.d3, n) * s
            name = "r"
        else:
            assert data.sd is not None
            c4 = factor(constants.c4, n)
            spread, mid, dev = data.sd, c4 * s, s * np.sqrt(1.0 - c4**2)
            name = "s"
        dispersion = Statistic(
            name, spread, mid, dev, np.maximum(mid - k * dev, 0.0), mid + k * dev, primary=False
        )
        return [primary, dispersion]
    assert data.count is not None
    if chart == "p":
        value, se = data.count / n, np.sqrt(c * (1.0 - c) / n)
        return [Statistic("p", value, c, se, np.maximum(c - k * se, 0), np.minimum(c + k * se, 1))]
    if chart == "np":
        mid = c * n
        se = np.sqrt(mid * (1.0 - c))
        return [Statistic("np", data.count, mid, se, np.maximum(mid - k * se, 0), mid + k * se)]
    if chart == "c":
        se = np.sqrt(c)
        return [Statistic("c", data.count, c, se, np.maximum(c - k * se, 0), c + k * se)]
    value, se = data.count / n, np.sqrt(c / n)
    return [Statistic("u", value, c, se, np.maximum(c - k * se, 0), c + k * se)]


def estimate(
    chart: str,
    data: SubgroupData,
    *,
    k: float = 3.0,
    drop_beyond: bool = True,
    max_iterations: int = 10,
    sigma_method: str = "uwave",
    excluded: Mask | None = None,
) -> Estimate:
    """Phase I: centre and sigma, revised without out-of-control subgroups until stable.

    ``excluded`` subgroups (a known assignable cause) never enter the estimate.
    """
    present = data.present
    use = present.copy() if excluded is None else present & ~excluded
    total = use.sum(axis=1)
    floor = np.maximum(2, np.ceil(total / 2))
    iterations = np.zeros(present.shape[0], dtype=np.int64)
    unstable = np.zeros(present.shape[0], dtype=bool)
    for _ in range(max_iterations if drop_beyond else 0):
        center, sigma = center_of(chart, data, use), _sigma(chart, data, use, sigma_method)
        beyond = np.zeros(use.shape, dtype=bool)
        for statistic in shewhart(chart, data, center, sigma, k):
            beyond |= statistic.beyond
        beyond &= use
        revised = use & ~beyond
        keep = revised.sum(axis=1) >= floor
        changed = beyond.any(axis=1) & keep
        unstable |= beyond.any(axis=1) & ~keep
        if not changed.any():
            break
        use[changed] = revised[changed]
        iterations += changed
    center, sigma = center_of(chart, data, use), _sigma(chart, data, use, sigma_method)
    return Estimate(center, sigma, use, iterations, unstable)


def _sigma(chart: str, data: SubgroupData, use: Mask, method: str) -> Vector:
    if chart in VARIABLES:
        return sigma_of(chart, data, use, method)
    return np.full(use.shape[0], np.nan)


def check_sizes(chart: str, data: SubgroupData) -> None:
    """Refuse subgroup sizes the chart cannot take, saying which chart can."""
    n = data.size[data.present]
    if not n.size:
        raise InputError("there are no subgroups to chart")
    if chart in ("xbar_r", "xbar_s") and n.min() < 2:
        raise InputError(
            f"an {chart.replace('_', '-')} chart needs subgroups of 2 or more; some hold one",
            hint="chart single measurements with chart=imr, or subgroup them (form_subgroups)",
        )
    if chart == "xbar_r" and n.max() > constants.MAX_RANGE_SIZE:
        raise InputError(
            f"ranges of subgroups of {int(n.max())} waste most of the information",
            hint="use an X̄-S chart (chart=xbar_s) for subgroups of more than 10",
        )
    if chart == "imr" and n.max() > 1:
        raise InputError(
            "an individuals chart takes one measurement per subgroup; some subgroups hold more",
            hint="use chart=xbar_r or xbar_s, or give each measurement its own subgroup",
        )
    if chart in ("np", "c"):
        rows = data.size
        spread = np.nanmax(rows, axis=1) - np.nanmin(rows, axis=1)
        if np.nanmax(spread) > 0:
            other = "p" if chart == "np" else "u"
            raise InputError(
                f"an {chart} chart needs the same sample size in every subgroup; they differ",
                hint=f"use a {other} chart, which takes unequal sizes",
            )
    if chart in ATTRIBUTES and n.min() <= 0:
        raise InputError("a subgroup inspected no units; every sample size must be positive")
    if chart in ("p", "np"):
        assert data.count is not None
        counts = data.count[data.present]
        if (counts < 0).any() or (counts > n).any():
            raise InputError("defectives must lie between 0 and the sample size in every subgroup")
    elif chart in ATTRIBUTES:
        assert data.count is not None
        if (data.count[data.present] < 0).any():
            raise InputError("a count of nonconformities is negative")
