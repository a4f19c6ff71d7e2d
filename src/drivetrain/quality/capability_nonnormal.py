"""The normality check and the non-normal models behind ``process_capability``.

Normality is the Anderson–Darling test with the mean and variance estimated
from the sample. The p-value is D'Agostino & Stephens' (1986, *Goodness-of-Fit
Techniques*, Table 4.9) approximation for the adjusted statistic
A*² = A²(1 + 0.75/n + 2.25/n²), the one R's ``nortest::ad.test`` and Minitab
use; the reported ``statistic`` is the unadjusted A², as they print it.
Written out rather than taken from ``scipy.stats.anderson``, whose p-value API
is changing between SciPy 1.17 and 1.19 and which interpolates tables.

Non-normal indices are the percentile (Clements 1989, *Quality Progress*
22(9); ISO 22514-2) form: with Xₚ the p-quantile of the process,

    Pp  = (USL - LSL) / (X_high - X_low)
    Ppu = (USL - X₀.₅) / (X_high - X₀.₅)
    Ppl = (X₀.₅ - LSL) / (X₀.₅ - X_low)
    Ppk = min(Ppl, Ppu)

with low/high = Φ(∓3) = 0.134990 % / 99.865010 % (the standard's "0.135 %"
kept exact, so a normal model gives exactly the normal Pp and Ppk). The
quantiles come from a distribution fitted by maximum likelihood
(``fit_positive``, ``best_positive_fit``) or from the data themselves
(``empirical_quantiles``); ``non_normal_indices`` puts them together with the
model's expected PPM.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import special, stats

from drivetrain.errors import InputError

FloatArray = npt.NDArray[np.float64]
Distribution = Literal["lognormal", "weibull", "gamma"]

P_LOW: Final = float(special.ndtr(-3.0))
P_HIGH: Final = float(special.ndtr(3.0))
# At least one observation is expected below X_low only from 1/P_LOW = 740.8 values on; with
# fewer, the empirical 0.135 % quantile is the sample minimum, not an estimate of the tail.
PERCENTILE_MIN_N: Final = math.ceil(1.0 / P_LOW)
AD_MIN_N: Final = 8  # nortest's lower limit for the D'Agostino–Stephens p-value
DISTRIBUTIONS: Final[tuple[Distribution, ...]] = ("lognormal", "weibull", "gamma")
_SCIPY: Final[dict[str, Any]] = {
    "lognormal": stats.lognorm,
    "weibull": stats.weibull_min,
    "gamma": stats.gamma,
}


@dataclass(frozen=True, slots=True)
class Normality:
    """An Anderson–Darling test of the sample against a normal distribution."""

    test: str
    statistic: float
    p_value: float
    normal: bool  # p_value ≥ alpha: the test does not reject normality
    n: int


@dataclass(frozen=True, slots=True)
class FittedModel:
    """A positive-support distribution fitted by maximum likelihood (location fixed at 0)."""

    name: Distribution
    params: tuple[float, ...]  # scipy's (shape, loc, scale)
    ad_statistic: float  # Anderson–Darling A² of the data against the fitted model

    def _frozen(self) -> Any:
        return _SCIPY[self.name](*self.params)

    def quantiles(self, probabilities: Sequence[float]) -> FloatArray:
        """The model's quantiles at ``probabilities``."""
        return np.asarray(self._frozen().ppf(np.asarray(probabilities)), dtype=np.float64)

    def below(self, limit: float) -> float:
        """P(X < limit) under the model."""
        return float(self._frozen().cdf(limit))

    def above(self, limit: float) -> float:
        """P(X > limit) under the model."""
        return float(self._frozen().sf(limit))


def _a_squared(log_cdf: FloatArray, log_sf_reversed: FloatArray) -> float:
    # A² = -n - (1/n) Σ (2i - 1) [ln F(x₍ᵢ₎) + ln(1 - F(x₍ₙ₊₁₋ᵢ₎))], in logs so that a far
    # outlier gives a large finite statistic instead of log(0)
    n = log_cdf.size
    weights = 2.0 * np.arange(1, n + 1) - 1.0
    return float(-n - np.mean(weights * (log_cdf + log_sf_reversed)))


def ad_p_value(a_squared: float, n: int) -> float:
    """D'Agostino–Stephens p-value of the A² statistic for a normal with estimated μ and sigma."""
    a = a_squared * (1.0 + 0.75 / n + 2.25 / n**2)
    if a < 0.2:
        p = 1.0 - math.exp(-13.436 + 101.14 * a - 223.73 * a**2)
    elif a < 0.34:
        p = 1.0 - math.exp(-8.318 + 42.796 * a - 59.938 * a**2)
    elif a < 0.6:
        p = math.exp(0.9177 - 4.279 * a - 1.38 * a**2)
    elif a < 153.0:  # the quadratic turns upward at A*² ≈ 153.5 (p ≈ 1e-190); beyond: 0
        p = math.exp(1.2937 - 5.709 * a + 0.0186 * a**2)
    else:
        p = 0.0
    return min(1.0, max(0.0, p))


def anderson_darling(values: FloatArray, alpha: float = 0.05) -> Normality:
    """Test ``values`` (at least 2, not all equal) for normality; ``normal`` when p ≥ alpha."""
    x = np.sort(values)
    w = (x - x.mean()) / x.std(ddof=1)
    a2 = _a_squared(special.log_ndtr(w), special.log_ndtr(-w[::-1]))
    p = ad_p_value(a2, x.size)
    return Normality("anderson-darling", a2, p, p >= alpha, int(x.size))


def fit_positive(values: FloatArray, name: Distribution) -> FittedModel:
    """Fit ``name`` to all-positive ``values`` by maximum likelihood with the origin fixed at 0."""
    rv = _SCIPY[name]
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            params = tuple(float(p) for p in rv.fit(values, floc=0.0))
    except (ValueError, RuntimeError, FloatingPointError) as exc:
        raise InputError(
            f"the {name} fit to {values.size} values did not converge ({exc})",
            hint="try another distribution= or method='percentile' with more data",
        ) from exc
    if not all(math.isfinite(p) for p in params) or params[-1] <= 0.0:
        raise InputError(
            f"the {name} fit to {values.size} values gave unusable parameters {params}",
            hint="try another distribution= or method='percentile' with more data",
        )
    frozen = rv(*params)
    x = np.sort(values)
    a2 = _a_squared(
        np.asarray(frozen.logcdf(x), dtype=np.float64),
        np.asarray(frozen.logsf(x[::-1]), dtype=np.float64),
    )
    return FittedModel(name, params, a2)


def best_positive_fit(values: FloatArray) -> tuple[FittedModel, tuple[FittedModel, ...]]:
    """The candidate with the smallest Anderson–Darling A², and every candidate that fitted.

    A² rather than AIC because it weighs the tails, which is where capability is decided;
    the candidates all have two free parameters, so neither criterion favours one by size.
    """
    fitted: list[FittedModel] = []
    for name in DISTRIBUTIONS:
        try:
            fitted.append(fit_positive(values, name))
        except InputError:
            continue
    if not fitted:
        raise InputError(
            f"none of {', '.join(DISTRIBUTIONS)} could be fitted to the {values.size} values",
            hint="use method='percentile' with at least "
            f"{PERCENTILE_MIN_N} values, or method='normal' knowingly",
        )
    ranked = tuple(sorted(fitted, key=lambda m: m.ad_statistic))
    return ranked[0], ranked


def empirical_quantiles(values: FloatArray) -> FloatArray:
    """X_low, X₀.₅, X_high of the data (numpy's linear rule, R's type 7)."""
    if values.size < PERCENTILE_MIN_N:
        raise InputError(
            f"the percentile method needs at least {PERCENTILE_MIN_N} values to estimate the "
            f"0.135 % and 99.865 % points; there are {values.size}",
            hint="collect more data, or use method='fit' to extrapolate the tails with a "
            "fitted distribution",
        )
    return np.asarray(np.quantile(values, [P_LOW, 0.5, P_HIGH]), dtype=np.float64)


def percentile_indices(
    quantiles: FloatArray, lsl: float | None, usl: float | None
) -> tuple[float | None, float | None, float | None, float]:
    """(Pp, Ppl, Ppu, Ppk) from the X_low, X₀.₅, X_high quantiles."""
    low, median, high = (float(q) for q in quantiles)
    if not (low < median < high):
        raise InputError(
            f"the 0.135 %, 50 % and 99.865 % points ({low:.6g}, {median:.6g}, {high:.6g}) "
            "are not distinct, so percentile indices are undefined",
            hint="the data are too coarse (gauge resolution) or too few; measure finer or "
            "collect more",
        )
    ppl = (median - lsl) / (median - low) if lsl is not None else None
    ppu = (usl - median) / (high - median) if usl is not None else None
    pp = (usl - lsl) / (high - low) if lsl is not None and usl is not None else None
    ppk = min(v for v in (ppl, ppu) if v is not None)
    return pp, ppl, ppu, ppk


@dataclass(frozen=True, slots=True)
class NonNormalIndices:
    """The overall indices and expected PPM of a non-normal model, and what it assumed."""

    method: str  # "percentile" or the fitted distribution
    pp: float | None
    ppl: float | None
    ppu: float | None
    ppk: float
    ppm_below: float | None
    ppm_above: float | None
    ppm_total: float | None
    notes: tuple[str, ...]


def non_normal_indices(
    values: FloatArray,
    lsl: float | None,
    usl: float | None,
    method: str,
    distribution: Distribution | None = None,
) -> NonNormalIndices:
    """Percentile indices by ``method`` "percentile" (the data's quantiles) or "fit" (the
    named ``distribution``, or the best candidate by A²), with the model's expected PPM."""
    notes: list[str] = []
    below = above = total = None
    if method == "percentile":
        quantiles = empirical_quantiles(values)
        name = "percentile"
        notes.append("percentile method: no distribution model, so no expected PPM")
    else:
        if float(values.min()) <= 0.0:
            raise InputError(
                f"method='fit' needs positive values for a lognormal, Weibull or gamma model; "
                f"the smallest of the {values.size} is {values.min():g}",
                hint="shift the data to a natural zero, or use method='percentile' with at "
                f"least {PERCENTILE_MIN_N} values",
            )
        if distribution is not None:
            model = fit_positive(values, distribution)
        else:
            model, ranked = best_positive_fit(values)
            notes.append(
                "best fit by Anderson–Darling A²: "
                + ", ".join(f"{m.name} {m.ad_statistic:.3g}" for m in ranked)
            )
        name = model.name
        quantiles = model.quantiles([P_LOW, 0.5, P_HIGH])
        below = model.below(lsl) * 1e6 if lsl is not None else None
        above = model.above(usl) * 1e6 if usl is not None else None
        total = sum(v for v in (below, above) if v is not None)
    pp, ppl, ppu, ppk = percentile_indices(quantiles, lsl, usl)
    notes.append(
        f"non-normal model ({name}): percentile Pp/Ppk (ISO 22514-2); Cp, Cpk, Cpm and "
        "the intervals are not defined for it"
    )
    return NonNormalIndices(name, pp, ppl, ppu, ppk, below, above, total, tuple(notes))
