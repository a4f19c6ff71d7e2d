"""Scores of remaining-useful-life estimates against the true RUL.

``phm08_score`` is the asymmetric scoring function of the PHM08 data
challenge (Saxena et al., 2008) used with NASA C-MAPSS: with ``d = predicted -
true``, ``exp(-d / 13) - 1`` for early estimates (``d < 0``) and
``exp(d / 10) - 1`` for late ones, summed over units. A late estimate (the
unit fails before it was expected to) costs more than an early one by the
same amount. Lower is better; a perfect estimate scores 0.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from drivetrain.errors import InputError

ArrayLike = npt.ArrayLike


def _vector(values: ArrayLike, name: str) -> npt.NDArray[np.float64]:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} is not a sequence of numbers ({exc})") from exc
    if array.ndim != 1:
        raise InputError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _pair(predicted: ArrayLike, actual: ArrayLike) -> tuple[npt.NDArray[np.float64], ...]:
    p, a = _vector(predicted, "predicted"), _vector(actual, "actual")
    if len(p) != len(a):
        raise InputError(f"{len(p)} predictions for {len(a)} true values")
    if not len(p):
        raise InputError("no estimates to score")
    missing = int(np.count_nonzero(~np.isfinite(p)))
    if missing:
        raise InputError(
            f"{missing} of {len(p)} estimates are missing or not finite",
            hint="score only the units whose status is 'ok' and compare the count",
        )
    if not np.isfinite(a).all():
        raise InputError("the true RUL has missing or non-finite values")
    return p, a


def rmse(predicted: ArrayLike, actual: ArrayLike) -> float:
    """Root mean squared error of RUL estimates, in the unit of the RUL."""
    p, a = _pair(predicted, actual)
    return math.sqrt(float(np.mean((p - a) ** 2)))


def phm08_score(predicted: ArrayLike, actual: ArrayLike) -> float:
    """PHM08 score: sum of ``exp(-d/13) - 1`` (early, d < 0) and ``exp(d/10) - 1`` (late)."""
    p, a = _pair(predicted, actual)
    d = p - a
    return float(np.sum(np.where(d < 0, np.expm1(-d / 13.0), np.expm1(d / 10.0))))


def interval_coverage(low: ArrayLike, high: ArrayLike, actual: ArrayLike) -> float:
    """Share of true values inside ``[low, high]``; ``high`` may be ``inf`` (open-ended)."""
    lo, a = _pair(low, actual)
    hi = _vector(high, "high")
    if len(hi) != len(a):
        raise InputError(f"{len(hi)} upper bounds for {len(a)} true values")
    if np.isnan(hi).any():
        raise InputError("upper bounds are missing", hint="score only units with status 'ok'")
    if (hi < lo).any():
        raise InputError("an interval has high < low")
    return float(np.mean((a >= lo) & (a <= hi)))
