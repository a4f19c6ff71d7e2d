"""Life-data fits on the real vehicle data `reliability` ships, against independent references."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import LogNormalFitter, WeibullFitter
from reliability.Datasets import automotive, defective_sample
from scipy.optimize import minimize

from drivetrain.errors import InputError
from drivetrain.warranty import TooFewFailures, compare_fits, fit_life

AUTO = automotive()  # 10 failures and 21 suspensions of a vehicle component (km)
DEFECTIVE = defective_sample()  # 1,350 failures, 12,295 suspensions, a defective subpopulation


def _lifelines_data(failures: list[float], censored: list[float]) -> tuple[np.ndarray, np.ndarray]:
    ages = np.concatenate([failures, censored])
    observed = np.concatenate([np.ones(len(failures)), np.zeros(len(censored))])
    return ages, observed


def test_weibull_agrees_with_lifelines_and_with_a_direct_likelihood() -> None:
    fit = fit_life(AUTO.failures, AUTO.right_censored)
    ages, observed = _lifelines_data(AUTO.failures, AUTO.right_censored)
    reference = WeibullFitter().fit(ages, observed)
    assert fit.parameters["alpha"] == pytest.approx(reference.lambda_, rel=1e-4)
    assert fit.parameters["beta"] == pytest.approx(reference.rho_, rel=1e-4)

    # the censored Weibull log-likelihood, maximised with scipy from a different start
    f, c = np.asarray(AUTO.failures), np.asarray(AUTO.right_censored)

    def negative(theta: np.ndarray) -> float:
        alpha, beta = np.exp(theta)
        logf = np.log(beta / alpha) + (beta - 1) * np.log(f / alpha) - (f / alpha) ** beta
        return float(-(logf.sum() - ((c / alpha) ** beta).sum()))

    best = minimize(negative, x0=np.log([50_000.0, 2.0]), method="Nelder-Mead",
                    options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 5000})  # fmt: skip
    alpha, beta = np.exp(best.x)
    assert fit.parameters["alpha"] == pytest.approx(alpha, rel=1e-4)
    assert fit.parameters["beta"] == pytest.approx(beta, rel=1e-4)
    assert fit.loglik == pytest.approx(-best.fun, rel=1e-6)
    lo, hi = fit.bounds["beta"]
    assert lo < fit.parameters["beta"] < hi
    # B10 is the Weibull quantile alpha * (-ln 0.9)^(1/beta)
    assert fit.b10 == pytest.approx(alpha * (-np.log(0.9)) ** (1 / beta), rel=1e-4)
    assert fit.p_fail(fit.b10) == pytest.approx(0.1, abs=1e-6)


def test_lognormal_agrees_with_lifelines() -> None:
    fit = fit_life(AUTO.failures, AUTO.right_censored, distribution="lognormal")
    ages, observed = _lifelines_data(AUTO.failures, AUTO.right_censored)
    reference = LogNormalFitter().fit(ages, observed)
    assert fit.parameters["mu"] == pytest.approx(reference.mu_, rel=1e-4)
    assert fit.parameters["sigma"] == pytest.approx(reference.sigma_, rel=1e-3)


def test_exponential_is_failures_over_total_time_on_test() -> None:
    """The textbook closed form of the censored exponential MLE: r / sum of all ages."""
    fit = fit_life(AUTO.failures, AUTO.right_censored, distribution="exponential")
    total = sum(AUTO.failures) + sum(AUTO.right_censored)
    assert fit.parameters["Lambda"] == pytest.approx(len(AUTO.failures) / total, rel=1e-4)


def test_a_defective_subpopulation_is_found_and_fits_better_than_one_weibull() -> None:
    fits = {f.distribution: f for f in compare_fits(DEFECTIVE.failures, DEFECTIVE.right_censored,
                                                    ("weibull", "weibull_ds"))}  # fmt: skip
    ds, single = fits["weibull_ds"], fits["weibull"]
    assert ds.failures == 1350 and ds.censored == 12295
    assert ds.aicc < single.aicc - 100  # far better: most units can never fail
    share = ds.parameters["DS"]
    lo, hi = ds.bounds["DS"]
    assert lo < share < hi and 0.099 < share < 0.2  # at least the 9.9 % that did fail
    assert ds.p_fail(10 * max(DEFECTIVE.right_censored)) == pytest.approx(share, abs=1e-3)
    assert single.parameters["beta"] < 1  # one Weibull mistakes the mixture for infant mortality


def test_too_few_failures_or_bad_ages_are_refused() -> None:
    with pytest.raises(TooFewFailures, match="3 failure"):
        fit_life([100.0, 200.0, 300.0], [400.0] * 50)
    with pytest.raises(InputError, match="positive"):
        fit_life([100.0, -5.0, 300.0, 10.0, 20.0])
    with pytest.raises(InputError, match="unknown distribution"):
        fit_life(AUTO.failures, distribution="gamma")  # type: ignore[arg-type]


# Meeker and Escobar (1998): cycles to fatigue failure (thousands) of 72 alloy specimens, the
# last five unfailed at 300. The SAS/QC User's Guide (PROC RELIABILITY, "Three-Parameter
# Weibull") publishes the maximum-likelihood estimates: scale 93.2642, shape 1.3202,
# threshold 92.9928 (standard error 1.9516).
ALLOY = [
    94, 96, 99, 99, 104, 108, 112, 114, 117, 117, 118, 121, 121, 123, 129, 131, 133, 135, 136, 139,
    139, 140, 141, 141, 143, 144, 149, 149, 152, 153, 159, 159, 159, 159, 162, 168, 168, 169, 170, 170,
    171, 172, 173, 176, 177, 180, 180, 184, 187, 188, 189, 190, 196, 197, 203, 205, 211, 213, 224, 226,
    227, 256, 257, 269, 271, 274, 291, 300, 300, 300, 300, 300,
]  # fmt: skip


def test_the_published_three_parameter_weibull_example() -> None:
    fit = fit_life(ALLOY[:67], ALLOY[67:], distribution="weibull_3p")
    assert len(ALLOY) == 72 and ALLOY[67:] == [300] * 5
    assert fit.parameters["alpha"] == pytest.approx(93.2642, abs=5e-4)
    assert fit.parameters["beta"] == pytest.approx(1.3202, abs=5e-4)
    assert fit.parameters["gamma"] == pytest.approx(92.9928, abs=5e-4)
    assert fit.standard_errors["gamma"] == pytest.approx(1.9516, abs=5e-4)
    # SAS puts normal bounds on the estimate (89.1676 to 96.8179); reliability puts them on
    # its logarithm: the same standard error, a slightly asymmetric interval
    lo, hi = fit.bounds["gamma"]
    z = 1.959964
    assert lo == pytest.approx(92.9928 * np.exp(-z * 1.9516 / 92.9928), abs=1e-3)
    assert hi == pytest.approx(92.9928 * np.exp(z * 1.9516 / 92.9928), abs=1e-3)
    assert fit.p_fail(fit.parameters["gamma"]) == pytest.approx(0.0, abs=1e-9)
