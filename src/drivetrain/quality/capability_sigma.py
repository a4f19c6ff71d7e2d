"""Within-subgroup (short-term) sigma for ``process_capability``, with its degrees of freedom.

The estimators ("pooled", "rbar", "sbar"; MR̄/d2(2) for individual values) and their
degrees of freedom, which the Cp/Cpk intervals use, are those described in
``drivetrain.quality.capability``; a given ``sigma_within`` overrides them, with unknown
freedom. The overall sigma is the sample standard deviation, computed there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from drivetrain.errors import InputError
from drivetrain.quality.capability_input import FloatArray, Within, is_number
from drivetrain.quality.constants import MAX_RANGE_SIZE, c4, d2

_SBAR_FACTOR = ((2, 0.88), (3, 0.92), (4, 0.94), (5, 0.95), (7, 0.96), (9, 0.97), (17, 0.98))


@dataclass(frozen=True, slots=True)
class Sigma:
    """A within sigma and the degrees of freedom its intervals use."""

    value: float
    df: float | None  # degrees of freedom for the intervals; None when unknown


def within_sigma(
    x: FloatArray,
    codes: npt.NDArray[np.intp] | None,
    within: Within,
    sigma_within: float | None,
    notes: list[str],
) -> Sigma:
    """The given ``sigma_within``, or the ``within`` estimate from the subgroups ``codes``
    (None: individual values); notes what it assumes, and refuses a zero spread."""
    if sigma_within is not None:
        if not (is_number(sigma_within) and sigma_within > 0):
            raise InputError(
                f"sigma_within={sigma_within!r} is not a positive number",
                hint="pass the short-term standard deviation (e.g. a chart's Phase I R̄/d2), "
                "or None to estimate it from the subgroups",
            )
        sigma = Sigma(float(sigma_within), None)
        notes.append("sigma_within was given: no Cp/Cpk intervals (its freedom is unknown)")
    else:
        sigma = _estimate(x, codes, within, notes)
    if sigma.value <= 0.0:
        raise InputError(
            "the within-subgroup spread is zero: every subgroup holds identical values",
            hint="measure finer, or pass sigma_within= from a chart's Phase I",
        )
    return sigma


def _describe_sizes(sizes: npt.NDArray[np.int64]) -> str:
    found, counts = np.unique(sizes, return_counts=True)
    return ", ".join(f"{c} of {s}" for s, c in zip(found[::-1], counts[::-1], strict=True))


def _estimate(
    x: FloatArray, codes: npt.NDArray[np.intp] | None, within: Within, notes: list[str]
) -> Sigma:
    sizes = np.bincount(codes) if codes is not None else np.ones(x.size, dtype=np.int64)
    if sizes.max() == 1:  # individual values
        if within in ("rbar", "sbar"):
            raise InputError(
                f"within={within!r} needs subgroups of two or more values; these are "
                "individual values",
                hint="pass subgroups= (labels or a size), or leave within= at its default for "
                "the moving-range estimate",
            )
        notes.append("individual values: sigma within is MR̄/d2(2) of consecutive values")
        return Sigma(float(np.abs(np.diff(x)).mean()) / d2(2), x.size - 1.0)
    assert codes is not None
    if within == "mrbar":
        raise InputError(
            f"within='mrbar' is for individual values; these are in subgroups of up to "
            f"{sizes.max()}",
            hint="use within='pooled', 'rbar' or 'sbar', or drop subgroups=",
        )
    means = np.bincount(codes, weights=x) / sizes
    squares = np.bincount(codes, weights=(x - means[codes]) ** 2)
    k = sizes.size
    if within == "pooled":
        df = int((sizes - 1).sum())
        if (ones := int((sizes == 1).sum())) > 0:
            notes.append(f"{ones} subgroup(s) of one value add no within-subgroup freedom")
        return Sigma(math.sqrt(squares.sum() / df) / c4(df + 1), float(df))
    if within == "rbar":
        if np.unique(sizes).size > 1:
            raise InputError(
                f"within='rbar' needs subgroups of equal size; these have {_describe_sizes(sizes)}"
                " values",
                hint="use within='pooled', which weighs each subgroup by its degrees of freedom",
            )
        m = int(sizes[0])
        if m > MAX_RANGE_SIZE:
            raise InputError(
                f"within='rbar' has no d2 for subgroups of {m}", hint="use within='pooled'"
            )
        ordered = x[np.argsort(codes, kind="stable")]
        starts = np.arange(0, x.size, m)
        ranges = np.maximum.reduceat(ordered, starts) - np.minimum.reduceat(ordered, starts)
        return Sigma(float(ranges.mean()) / d2(m), 0.9 * k * (m - 1))
    if (ones := int((sizes == 1).sum())) > 0:
        raise InputError(
            f"within='sbar' needs two or more values in every subgroup; {ones} of {k} hold one",
            hint="use within='pooled', where a subgroup of one simply adds no information",
        )
    spread = np.sqrt(squares / (sizes - 1)) / np.array([c4(int(m)) for m in sizes])
    mean_size = x.size / k
    factor = next((f for top, f in _SBAR_FACTOR if round(mean_size) <= top), 0.99)
    factor = 1.0 if mean_size >= 65 else factor
    return Sigma(float(spread.mean()), factor * k * (mean_size - 1.0))
