"""Checking and converting the inputs of ``process_capability``.

Values become a float array, subgroups integer codes (one per value), and the
specification and options are checked; whatever cannot be used raises InputError
saying what to do. Nothing is dropped or guessed.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any, Literal, TypeAlias

import numpy as np
import numpy.typing as npt
import polars as pl

from drivetrain.errors import InputError
from drivetrain.quality.capability_nonnormal import DISTRIBUTIONS

Within = Literal["pooled", "rbar", "sbar", "mrbar"]
Method = Literal["auto", "normal", "percentile", "fit"]
Values: TypeAlias = Sequence[float] | npt.NDArray[Any] | pl.Series
Labels: TypeAlias = Sequence[Hashable] | npt.NDArray[Any] | pl.Series | int
FloatArray = npt.NDArray[np.float64]
WITHIN = ("pooled", "rbar", "sbar", "mrbar")
METHODS = ("auto", "normal", "percentile", "fit")


def is_number(v: object) -> bool:
    return (
        isinstance(v, int | float | np.integer | np.floating)
        and not isinstance(v, bool | np.bool_)
        and math.isfinite(v)
    )


def _not_finite(count: int, total: int, first: int, shown: object) -> InputError:
    return InputError(
        f"{count} of {total} values are not finite numbers (the first, at position {first}, "
        f"is {shown!r})",
        hint="correct or remove them before computing capability; none is dropped silently",
    )


def _finite(array: FloatArray) -> FloatArray:
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise _not_finite(int(bad.size), int(array.size), int(bad[0]), float(array[bad[0]]))
    return array


def as_values(values: Values) -> FloatArray:
    if isinstance(values, pl.Series) and values.dtype.is_numeric():
        return _finite(values.cast(pl.Float64).to_numpy())  # a null becomes NaN
    if isinstance(values, np.ndarray) and values.dtype.kind in "iuf":
        return _finite(values.astype(np.float64).ravel())
    items: list[Any] = (
        values.ravel().tolist() if isinstance(values, np.ndarray)
        else values.to_list() if isinstance(values, pl.Series)
        else list(values)
    )  # fmt: skip
    bad = [i for i, v in enumerate(items) if not is_number(v)]
    if bad:
        raise _not_finite(len(bad), len(items), bad[0], items[bad[0]])
    return np.asarray(items, dtype=np.float64)


def subgroup_codes(subgroups: Labels | None, n: int) -> npt.NDArray[np.intp] | None:
    if subgroups is None:
        return None
    if isinstance(subgroups, bool):
        raise InputError(
            f"subgroups={subgroups} is neither labels nor a subgroup size",
            hint="pass one label per value, a size such as 5, or None",
        )
    if isinstance(subgroups, int | np.integer):
        if subgroups < 1:
            raise InputError(
                f"subgroups={subgroups} is not a subgroup size of 1 or more",
                hint="pass the number of consecutive values per subgroup, or labels",
            )
        return np.arange(n, dtype=np.intp) // int(subgroups)
    labels: Sequence[Hashable] = (
        subgroups.tolist() if isinstance(subgroups, np.ndarray)
        else subgroups.to_list() if isinstance(subgroups, pl.Series)
        else subgroups
    )  # fmt: skip
    if len(labels) != n:
        raise InputError(
            f"{len(labels)} subgroup labels for {n} values",
            hint="give one label per value, in the same order",
        )
    seen: dict[Hashable, int] = {}
    codes = np.empty(n, dtype=np.intp)
    for i, label in enumerate(labels):
        if label is None or (isinstance(label, float) and math.isnan(label)):
            raise InputError(
                f"the subgroup label at position {i} is missing",
                hint="label every value's subgroup, or pass subgroups=None for individual values",
            )
        codes[i] = seen.setdefault(label, len(seen))
    return codes


def check_specs(
    lsl: float | None, usl: float | None, target: float | None
) -> tuple[float | None, float | None, float | None]:
    for name, v in (("lsl", lsl), ("usl", usl), ("target", target)):
        if v is not None and not is_number(v):
            raise InputError(
                f"{name}={v!r} is not a finite number",
                hint="pass a number, or None when there is no such limit",
            )
    lo, hi = (None if v is None else float(v) for v in (lsl, usl))
    if lo is None and hi is None:
        raise InputError(
            "no specification limit: capability compares the process with its specification",
            hint="pass lsl=, usl= or both",
        )
    if lo is not None and hi is not None and lo >= hi:
        raise InputError(
            f"lsl={lo:g} is not below usl={hi:g}", hint="check the limits and their order"
        )
    if target is None:
        return lo, hi, None if lo is None or hi is None else (lo + hi) / 2.0
    t = float(target)
    if (lo is not None and t < lo) or (hi is not None and t > hi):
        raise InputError(
            f"target={t:g} lies outside the specification [{lo}, {hi}]",
            hint="the target must lie within the limits; check its units and the limits",
        )
    return lo, hi, t


def check_options(
    within: str, method: str, distribution: str | None, level: float, alpha: float
) -> None:
    if within not in WITHIN:
        raise InputError(f"within={within!r} is unknown", hint=f"use one of {', '.join(WITHIN)}")
    if method not in METHODS:
        raise InputError(f"method={method!r} is unknown", hint=f"use one of {', '.join(METHODS)}")
    if distribution is not None and (method != "fit" or distribution not in DISTRIBUTIONS):
        raise InputError(
            f"distribution={distribution!r} with method={method!r}",
            hint=f"distribution= takes {', '.join(DISTRIBUTIONS)} and needs method='fit'",
        )
    for name, v in (("level", level), ("alpha", alpha)):
        if not (is_number(v) and 0.0 < v < 1.0):
            raise InputError(f"{name}={v!r} is not a probability", hint="use e.g. 0.95 / 0.05")
