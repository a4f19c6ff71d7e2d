"""Life-data fits with right-censored units: Weibull, lognormal, exponential, defective subpopulation.

Warranty data are mostly *suspensions*: for every unit that failed, many are
still running at their current age. The fits here are the maximum-likelihood
fits of the ``reliability`` package (Fitters), which handle right censoring and
give Fisher-matrix confidence bounds, wrapped so that drivetrain code gets
plain numbers and a clear error instead of a meaningless fit:

* ``weibull`` — 2-parameter Weibull (scale ``alpha``, shape ``beta``): the
  workhorse of automotive reliability (beta < 1 infant mortality, ~1 random,
  > 1 wear-out);
* ``lognormal`` and ``exponential`` — for comparison (AICc, BIC, Anderson-Darling);
* ``weibull_ds`` — Weibull with a *defective subpopulation*: only a fraction
  ``DS`` of the units can fail at all (a bad supplier lot among good parts), the
  shape ``reliability``'s ``Datasets.defective_sample`` has;
* ``weibull_3p`` — Weibull with a threshold ``gamma`` (no failure before it: a
  failure-free life, e.g. of a fatigue specimen). Not in :data:`DISTRIBUTIONS`
  (the comparison set): a threshold needs a reason.

Every fit reports B10 (the age by which 10 % fail) and the probability of
failing by a given age (e.g. the end of warranty), each with its bounds where
the package gives them. Fewer than :data:`MIN_FAILURES` failures raise
:class:`TooFewFailures`: with two failures a Weibull "fits" anything.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from drivetrain.errors import InputError

log = logging.getLogger(__name__)
Distribution = Literal["weibull", "lognormal", "exponential", "weibull_ds", "weibull_3p"]
DISTRIBUTIONS: tuple[Distribution, ...] = ("weibull", "lognormal", "exponential", "weibull_ds")
MIN_FAILURES = 5
_PARAMETERS: dict[str, tuple[str, ...]] = {
    "weibull": ("alpha", "beta"),
    "lognormal": ("mu", "sigma"),
    "exponential": ("Lambda",),
    "weibull_ds": ("alpha", "beta", "DS"),
    "weibull_3p": ("alpha", "beta", "gamma"),
}


class TooFewFailures(InputError):
    """Not enough failures for a fit that means anything."""


@dataclass(frozen=True, slots=True)
class LifeFit:
    """One fitted life distribution and what it says."""

    distribution: Distribution
    parameters: dict[str, float]
    bounds: dict[str, tuple[float, float]]  # confidence bounds of each parameter
    standard_errors: dict[str, float]  # Fisher-matrix standard error of each parameter
    failures: int
    censored: int
    confidence: float
    loglik: float
    aicc: float
    bic: float
    anderson_darling: float
    b10: float  # age by which 10 % of the population fails (inf if it never does)
    _model: Any = field(repr=False, compare=False)

    def cdf(self, ages: np.ndarray) -> np.ndarray:
        """F(age) of every age at once (days, like the fit's data)."""
        ages = np.asarray(ages, dtype=np.float64)
        if ages.size == 0:
            return np.zeros(ages.shape)
        value = self._model.distribution.CDF(xvals=ages.ravel().tolist(), show_plot=False)
        return np.asarray(value, dtype=np.float64).reshape(ages.shape)

    def p_fail(self, age: float) -> float:
        """Probability that a unit fails by ``age`` (e.g. the end of warranty)."""
        value = self._model.distribution.CDF(xvals=[float(age)], show_plot=False)
        return float(np.asarray(value).ravel()[0])


def _fitter(distribution: Distribution) -> Any:
    os.environ.setdefault("MPLBACKEND", "Agg")  # the package draws with matplotlib
    from reliability import Fitters

    return {
        "weibull": Fitters.Fit_Weibull_2P,
        "lognormal": Fitters.Fit_Lognormal_2P,
        "exponential": Fitters.Fit_Exponential_1P,
        "weibull_ds": Fitters.Fit_Weibull_DS,
        "weibull_3p": Fitters.Fit_Weibull_3P,
    }[distribution]


def _ages(values: Sequence[float] | np.ndarray, what: str) -> np.ndarray:
    ages = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(ages).all() or (ages <= 0).any():
        bad = ages[~np.isfinite(ages) | (ages <= 0)][0]
        raise InputError(
            f"{what} must be positive, finite ages; got {bad}",
            hint="ages are time in service at failure or at the last observation (e.g. days)",
        )
    return ages


def fit_life(
    failures: Sequence[float] | np.ndarray,
    right_censored: Sequence[float] | np.ndarray = (),
    *,
    distribution: Distribution = "weibull",
    confidence: float = 0.95,
) -> LifeFit:
    """Fit ``distribution`` to failure ages and the ages of units still running."""
    if distribution not in _PARAMETERS:
        raise InputError(
            f"unknown distribution {distribution!r}", hint=f"one of {', '.join(DISTRIBUTIONS)}"
        )
    if not 0 < confidence < 1:
        raise InputError(f"confidence {confidence} is not between 0 and 1")
    failed = _ages(failures, "failure ages")
    running = _ages(right_censored, "censored ages") if len(right_censored) else np.array([])
    if len(failed) < MIN_FAILURES:
        raise TooFewFailures(
            f"{len(failed)} failure(s) among {len(failed) + len(running)} units: too few for a "
            f"{distribution} fit (at least {MIN_FAILURES})",
            hint="wait for more failures, or pool components, models or build windows",
        )
    kwargs: dict[str, Any] = {
        "failures": failed,
        "right_censored": running if len(running) else None,
        "show_probability_plot": False,
        "print_results": False,
        "CI": confidence,
    }
    if distribution != "weibull_ds":
        kwargs["quantiles"] = [0.1]
    with contextlib.redirect_stdout(io.StringIO()) as said:  # the package prints its warnings
        model = _fitter(distribution)(**kwargs)
    if said.getvalue().strip():
        log.debug("reliability says: %s", said.getvalue().strip())
    names = _PARAMETERS[distribution]
    parameters = {n: float(getattr(model, n)) for n in names}
    bounds = {
        n: (float(getattr(model, f"{n}_lower")), float(getattr(model, f"{n}_upper"))) for n in names
    }
    errors = {n: float(getattr(model, f"{n}_SE")) for n in names}
    b10 = float(np.asarray(model.distribution.quantile(0.1)).ravel()[0]) if (
        distribution != "weibull_ds" or parameters["DS"] > 0.1
    ) else float("inf")  # fmt: skip
    return LifeFit(
        distribution=distribution,
        parameters=parameters,
        bounds=bounds,
        standard_errors=errors,
        failures=len(failed),
        censored=len(running),
        confidence=confidence,
        loglik=float(model.loglik),
        aicc=float(model.AICc),
        bic=float(model.BIC),
        anderson_darling=float(model.AD),
        b10=b10,
        _model=model,
    )


def compare_fits(
    failures: Sequence[float] | np.ndarray,
    right_censored: Sequence[float] | np.ndarray = (),
    distributions: Sequence[Distribution] = DISTRIBUTIONS,
) -> list[LifeFit]:
    """Every distribution fitted, best (lowest AICc) first."""
    fits = [fit_life(failures, right_censored, distribution=d) for d in distributions]
    return sorted(fits, key=lambda f: f.aicc)
