"""Process capability: the spread of a stable process against its specification.

One characteristic: ``process_capability``; many, from one long table: ``capability_table``.

Sigma. Within (short-term) sigma from subgroups, chosen by ``within``: ``"pooled"`` (default,
as Minitab) s_p/c4(df + 1), s_p² = Σ(nᵢ - 1)sᵢ²/df, df = Σ(nᵢ - 1), right for unequal sizes (a
subgroup of one adds no degrees of freedom); ``"rbar"`` R̄/d2(n), equal sizes only; ``"sbar"``
the mean of sᵢ/c4(nᵢ) (qcc's UWAVE-SD). Individual values (no subgroups, or all of one) use
MR̄/d2(2) of consecutive values. ``sigma_within`` given (e.g. a chart's Phase I estimate)
overrides them. Overall (long-term) sigma is the sample standard deviation, n - 1 divisor and
no c4, as Minitab.

Indices (Montgomery, *Introduction to Statistical Quality Control*, 7th ed., ch. 8), with
s_w the within and s the overall sigma: Cp = (USL - LSL)/6s_w, Cpu = (USL - x̄)/3s_w,
Cpl = (x̄ - LSL)/3s_w, Cpk = min(Cpl, Cpu); Pp, Ppl, Ppu, Ppk the same with s. Cpm (Chan,
Cheng & Spiring 1988) = min(USL - T, T - LSL)/3τ with τ = √(s² + (x̄ - T)²), Montgomery's
Ĉp/√(1 + V²), V = (x̄ - T)/s — on the overall sigma, as Minitab reports it. T defaults to the
midpoint of two limits.

Intervals at ``level``, two-sided:

- Cp, Pp: Ĉ·√(χ²(a/2; df)/df) to Ĉ·√(χ²(1 - a/2; df)/df), a = 1 - level, df that of the
  sigma: N - 1 overall; within as Minitab — Σ(nᵢ - 1) pooled, 0.9·k(n - 1) R̄,
  f_n·k(n̄ - 1) s̄, N - 1 moving range; none when sigma_within is given (df unknown).
- Cpk, Ppk: Bissell (1990, *Applied Statistics* 39, 331–340),
  Ĉ ± z(1 - a/2)·√(1/(9N) + Ĉ²/(2df)).
- Cpm: Boyles (1991, *J. Quality Technology* 23, 17–26), the chi-square interval with
  df = N(1 + ξ²)²/(1 + 2ξ²), ξ = (x̄ - T)/s (derived for T at the midpoint).

Expected PPM comes from the normal model with x̄ and s (Minitab's expected overall
performance) or from the fitted distribution's tails. Non-normal capability (``method``
"fit" or "percentile", or "auto" when Anderson–Darling rejects normality) gives the
percentile indices of ``capability_nonnormal`` and, as Minitab, only the overall ones: no
Cp/Cpk, no Cpm, no intervals — each absence is said in ``notes``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import polars as pl
from scipy import special, stats

from drivetrain.errors import InputError
from drivetrain.quality.capability_input import (
    FloatArray,
    Labels,
    Method,
    Values,
    Within,
    as_values,
    check_options,
    check_specs,
    subgroup_codes,
)
from drivetrain.quality.capability_nonnormal import (
    AD_MIN_N,
    PERCENTILE_MIN_N,
    Distribution,
    Normality,
    anderson_darling,
    non_normal_indices,
)
from drivetrain.quality.capability_sigma import Sigma, within_sigma

__all__ = ["Capability", "Interval", "Normality", "capability_table", "process_capability"]


@dataclass(frozen=True, slots=True)
class Interval:
    """A two-sided confidence interval at ``level`` (0.95 for 95 %)."""

    low: float
    high: float
    level: float


@dataclass(frozen=True, slots=True)
class Capability:
    """Capability of one characteristic; indices are None where the specification or the
    model does not define them, and ``notes`` says why."""

    n: int
    mean: float
    median: float
    sigma_within: float | None
    sigma_overall: float
    lsl: float | None
    usl: float | None
    target: float | None
    method: str  # "normal", "percentile" or the fitted distribution ("lognormal", ...)
    cp: float | None
    cpl: float | None
    cpu: float | None
    cpk: float | None
    pp: float | None
    ppl: float | None
    ppu: float | None
    ppk: float | None
    cpm: float | None
    cp_ci: Interval | None
    cpk_ci: Interval | None
    pp_ci: Interval | None
    ppk_ci: Interval | None
    cpm_ci: Interval | None
    ppm_below: float | None  # expected parts per million below LSL, from the model
    ppm_above: float | None
    ppm_total: float | None
    observed_ppm: float  # outside the specification in the data, per million
    normality: Normality
    notes: tuple[str, ...]


def _indices(
    mean: float, sigma: float, lsl: float | None, usl: float | None
) -> tuple[float | None, float | None, float | None, float]:
    lower = (mean - lsl) / (3.0 * sigma) if lsl is not None else None
    upper = (usl - mean) / (3.0 * sigma) if usl is not None else None
    both = (usl - lsl) / (6.0 * sigma) if lsl is not None and usl is not None else None
    return both, lower, upper, min(v for v in (lower, upper) if v is not None)


def _chi2_interval(value: float | None, df: float | None, level: float) -> Interval | None:
    if value is None or df is None or df <= 0:
        return None
    q = stats.chi2.ppf([(1.0 - level) / 2.0, (1.0 + level) / 2.0], df)
    return Interval(value * math.sqrt(q[0] / df), value * math.sqrt(q[1] / df), level)


def _bissell_interval(value: float, n: int, df: float | None, level: float) -> Interval | None:
    if df is None or df <= 0:
        return None
    half = float(special.ndtri((1.0 + level) / 2.0)) * math.sqrt(
        1.0 / (9.0 * n) + value**2 / (2.0 * df)
    )
    return Interval(value - half, value + half, level)


def process_capability(
    values: Values,
    *,
    lsl: float | None = None,
    usl: float | None = None,
    target: float | None = None,
    subgroups: Labels | None = None,
    sigma_within: float | None = None,
    within: Within = "pooled",
    method: Method = "auto",
    distribution: Distribution | None = None,
    level: float = 0.95,
    alpha: float = 0.05,
) -> Capability:
    """Capability indices, intervals, normality and expected PPM of one characteristic.

    ``values`` are the measurements in production order (a 2-D array is one subgroup per
    row); ``subgroups`` one label per value, or a subgroup size for consecutive runs.
    ``method="auto"`` keeps the normal model unless Anderson–Darling rejects it at ``alpha``;
    then it fits lognormal, Weibull and gamma when every value is positive and takes the
    smallest A², else the empirical percentiles when there are 741 values or more, else it
    refuses. Nothing is dropped or guessed: bad input raises InputError saying what to do.
    """
    check_options(within, method, distribution, level, alpha)
    lo, hi, t = check_specs(lsl, usl, target)
    if isinstance(values, np.ndarray) and values.ndim == 2:
        if subgroups is not None:
            raise InputError(
                "a 2-D array is already in subgroups (one per row) and subgroups= was given too",
                hint="drop subgroups=, or pass the values flat with their labels",
            )
        subgroups = values.shape[1]
    x = as_values(values)
    n = int(x.size)
    if n < 2:
        raise InputError(f"{n} value(s): capability needs at least 2", hint="collect more data")
    if float(np.ptp(x)) == 0.0:
        raise InputError(
            f"all {n} values equal {x[0]:g}, so the process spread is zero and no index exists",
            hint="the gauge resolution is probably too coarse for the tolerance; measure finer",
        )
    codes = subgroup_codes(subgroups, n)
    notes: list[str] = []
    mean, median, s = float(x.mean()), float(np.median(x)), float(x.std(ddof=1))
    normality = anderson_darling(x, alpha)
    if n < AD_MIN_N:
        notes.append(f"n = {n} < {AD_MIN_N}: the normality test has little power")
    sigma = within_sigma(x, codes, within, sigma_within, notes)
    if lo is None or hi is None:
        notes.append("one-sided specification: Cp and Pp undefined")
    chosen = _resolve_method(method, normality, x)
    if t is None and chosen == "normal":
        notes.append("one-sided specification and no target: Cpm undefined")
    elif target is None and chosen == "normal":
        notes.append("no target given: Cpm uses the midpoint of the specification")
    if chosen == "normal" and not normality.normal:
        notes.append(
            f"normality is rejected (Anderson–Darling p = {normality.p_value:.3g}) but the "
            "normal model was used as asked"
        )
    outside = (x < lo) if lo is not None else np.zeros(n, dtype=bool)
    outside = outside | (x > hi) if hi is not None else outside
    common: dict[str, Any] = {
        "n": n, "mean": mean, "median": median, "sigma_within": sigma.value,
        "sigma_overall": s, "lsl": lo, "usl": hi, "target": t,
        "observed_ppm": float(outside.mean()) * 1e6, "normality": normality,
    }  # fmt: skip
    if chosen == "normal":
        return _normal(common, sigma, level, notes)
    return _non_normal(common, x, chosen, distribution, notes)


def _resolve_method(method: Method, normality: Normality, x: FloatArray) -> str:
    if method != "auto":
        return method
    if normality.normal:
        return "normal"
    if float(x.min()) > 0.0:
        return "fit"
    if x.size >= PERCENTILE_MIN_N:
        return "percentile"
    raise InputError(
        f"the data are not normal (Anderson–Darling p = {normality.p_value:.3g}) and include "
        f"values ≤ 0, so no lognormal, Weibull or gamma model applies, and {x.size} values are "
        f"too few for the percentile method (it needs {PERCENTILE_MIN_N})",
        hint="shift the data to a natural zero, collect more, or pass method='normal' to "
        "accept the normal model knowingly",
    )


def _normal(common: dict[str, Any], sigma: Sigma, level: float, notes: list[str]) -> Capability:
    n, mean, s = common["n"], common["mean"], common["sigma_overall"]
    lo, hi, t = common["lsl"], common["usl"], common["target"]
    cp, cpl, cpu, cpk = _indices(mean, sigma.value, lo, hi)
    pp, ppl, ppu, ppk = _indices(mean, s, lo, hi)
    cpm = cpm_ci = None
    if t is not None:
        half = min(v for v in (None if hi is None else hi - t, None if lo is None else t - lo)
                   if v is not None)  # fmt: skip
        cpm = half / (3.0 * math.hypot(s, mean - t))
        xi2 = ((mean - t) / s) ** 2
        cpm_ci = _chi2_interval(cpm, n * (1.0 + xi2) ** 2 / (1.0 + 2.0 * xi2), level)
    below = float(special.ndtr((lo - mean) / s)) * 1e6 if lo is not None else None
    above = float(special.ndtr((mean - hi) / s)) * 1e6 if hi is not None else None
    return Capability(
        **common, method="normal", cp=cp, cpl=cpl, cpu=cpu, cpk=cpk,
        pp=pp, ppl=ppl, ppu=ppu, ppk=ppk, cpm=cpm,
        cp_ci=_chi2_interval(cp, sigma.df, level),
        cpk_ci=_bissell_interval(cpk, n, sigma.df, level),
        pp_ci=_chi2_interval(pp, n - 1.0, level),
        ppk_ci=_bissell_interval(ppk, n, n - 1.0, level), cpm_ci=cpm_ci,
        ppm_below=below, ppm_above=above,
        ppm_total=sum(v for v in (below, above) if v is not None), notes=tuple(notes),
    )  # fmt: skip


def _non_normal(
    common: dict[str, Any],
    x: FloatArray,
    chosen: str,
    distribution: Distribution | None,
    notes: list[str],
) -> Capability:
    found = non_normal_indices(x, common["lsl"], common["usl"], chosen, distribution)
    return Capability(
        **common, method=found.method, cp=None, cpl=None, cpu=None, cpk=None,
        pp=found.pp, ppl=found.ppl, ppu=found.ppu, ppk=found.ppk, cpm=None,
        cp_ci=None, cpk_ci=None, pp_ci=None, ppk_ci=None, cpm_ci=None,
        ppm_below=found.ppm_below, ppm_above=found.ppm_above, ppm_total=found.ppm_total,
        notes=(*notes, *found.notes),
    )  # fmt: skip


_INTERVALS = ("cp", "cpk", "pp", "ppk", "cpm")
_FLOATS = (
    "mean", "median", "sigma_within", "sigma_overall", "lsl", "usl", "target",
    "cp", "cpl", "cpu", "cpk", "pp", "ppl", "ppu", "ppk", "cpm",
    *(f"{i}_{end}" for i in _INTERVALS for end in ("low", "high")),
    "ppm_below", "ppm_above", "ppm_total", "observed_ppm", "normality_p",
)  # fmt: skip


def _row(cap: Capability) -> dict[str, Any]:
    row = {f.name: getattr(cap, f.name) for f in fields(cap) if f.name in _FLOATS}
    for name in _INTERVALS:
        ci: Interval | None = getattr(cap, f"{name}_ci")
        row[f"{name}_low"], row[f"{name}_high"] = (ci.low, ci.high) if ci else (None, None)
    p = cap.normality.p_value
    return {**row, "n": cap.n, "method": cap.method, "normality_p": p,
            "normal": cap.normality.normal, "notes": list(cap.notes), "error": None}  # fmt: skip


def capability_table(
    frame: pl.DataFrame,
    *,
    by: str | Sequence[str] = "characteristic",
    value: str = "value",
    subgroup: str | None = "subgroup",
    lsl: str | None = "lsl",
    usl: str | None = "usl",
    target: str | None = "target",
    within: Within = "pooled",
    method: Method = "auto",
    distribution: Distribution | None = None,
    level: float = 0.95,
    alpha: float = 0.05,
) -> pl.DataFrame:
    """``process_capability`` for every characteristic of a long table, one row each.

    The specification columns must be constant within a characteristic (null for a
    missing limit); a subgroup column that is all null in a characteristic means individual
    values there. A characteristic whose data cannot give an index (too few values, a
    constant sample, a NaN, ...) gets a row with ``n``, its limits and the reason in
    ``error``, the indices null; the other rows are unaffected. Rows come in order of
    first appearance. Columns: the keys, ``n``, ``method``, the numbers of ``Capability``
    (each interval as ``<index>_low``/``<index>_high``), ``normality_p``, ``normal``,
    ``notes`` (what each result leaves out or assumes) and ``error``.
    """
    keys = [by] if isinstance(by, str) else list(by)
    if not keys:
        raise InputError("by= names no column", hint="name the column(s) that tell apart "
                         "characteristics, e.g. by='characteristic'")  # fmt: skip
    named = {"value": value, "subgroup": subgroup, "lsl": lsl, "usl": usl, "target": target}
    needed = [*keys, *(c for c in named.values() if c is not None)]
    if missing := [c for c in needed if c not in frame.columns]:
        raise InputError(
            f"the table lacks column(s) {', '.join(missing)}",
            hint=f"it has {', '.join(frame.columns)}; pass the right names, or None for "
            "subgroup/lsl/usl/target columns it does not have",
        )
    out_names = ["n", "method", *_FLOATS, "normal", "notes", "error"]
    if clash := [k for k in keys if k in out_names]:
        raise InputError(
            f"key column(s) {', '.join(clash)} clash with result columns",
            hint="rename them before calling capability_table",
        )
    for column in (value, lsl, usl, target):
        if column is not None and not (
            frame.schema[column].is_numeric() or frame.schema[column] == pl.Null
        ):
            raise InputError(
                f"column {column!r} holds {frame.schema[column]}, not numbers",
                hint="cast it to a float column first, correcting entries that do not parse",
            )
    rows: list[dict[str, Any]] = []
    for key, group in frame.group_by(keys, maintain_order=True):
        where = ", ".join(f"{k}={v!r}" for k, v in zip(keys, key, strict=True))
        spec = {name: _constant(group, named[name], where) for name in ("lsl", "usl", "target")}
        labels = group.get_column(subgroup) if subgroup is not None else None
        if labels is not None and labels.null_count() == labels.len():
            labels = None  # a characteristic measured one part at a time
        try:
            cap = process_capability(
                group.get_column(value), **spec, subgroups=labels, within=within,
                method=method, distribution=distribution, level=level, alpha=alpha,
            )  # fmt: skip
            row = _row(cap)
        except InputError as exc:
            row = {"n": group.height, **spec, "error": f"{where}: {exc}"}
        rows.append({**dict(zip(keys, key, strict=True)), **row})
    schema: dict[str, Any] = {k: frame.schema[k] for k in keys}
    schema |= {"n": pl.Int64, "method": pl.String, **dict.fromkeys(_FLOATS, pl.Float64)}
    schema |= {"normal": pl.Boolean, "notes": pl.List(pl.String), "error": pl.String}
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema)


def _constant(group: pl.DataFrame, column: str | None, where: str) -> float | None:
    if column is None:
        return None
    distinct = group.get_column(column).unique(maintain_order=True).to_list()
    if len(distinct) > 1:
        raise InputError(
            f"{column} differs within {where}: {', '.join(map(str, distinct))}",
            hint="a characteristic has one specification; correct it, or tell the "
            "variants apart with another key column in by=",
        )
    return None if distinct[0] is None else float(distinct[0])
