"""Defect Paretos and supplier quality over long tables, many groups in one call.

- ``pareto``: counts (or a summed weight such as cost or defect count) by
  category — defect code, station, shift — sorted descending, with share,
  cumulative share, rank and Juran's "vital few": the categories that make up
  the first ``vital_share`` of the total, the one that crosses the line
  included. ``within`` gives one Pareto per group (plant, line) in the same
  call; ``top`` rolls the tail into "(other)". A null category raises an
  ``InputError`` unless ``missing="label"`` counts it as "(missing)"; rows are
  never dropped silently.
- ``supplier_ppm``: defective parts per million per supplier (or supplier ×
  part, …) with the exact Clopper–Pearson interval (Clopper & Pearson,
  Biometrika 26, 1934) from beta quantiles.
- ``lot_trend``: per supplier × part, lot-by-lot PPM in received order, each
  lot judged against its own sample size's upper p-chart limit, as a probability
  limit: the lot is above it when P(X ≥ dᵢ | nᵢ, p̄) is below the tail of a 3σ
  normal limit (0.135 %) — with a few defectives per few hundred units the
  normal p̄ + 3√(p̄(1−p̄)/nᵢ) would flag lots with two (Montgomery, *Introduction
  to Statistical Quality Control*, §7.2.2 on probability limits); ``lcl_ppm`` is
  the normal one, clipped at 0. And a
  Mann–Kendall trend test with Sen's slope (Mann, Econometrica 13, 1945;
  Kendall, *Rank Correlation Methods*, 1975; Sen, JASA 63, 1968).

Why Mann–Kendall for the trend: lot PPMs are skewed, often zero and now and
then wild; a rank test needs no distribution, no link function and no
dispersion model, is not pulled by one terrible lot, and answers the buyer's
question (are lots getting worse, in order?). Its price: it weighs every lot
alike whatever its size, and sees only monotone trends. Ties (many zero-PPM
lots) are corrected for in the variance; the z statistic uses the continuity
correction; Sen's slope is in PPM per lot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy import stats

from drivetrain.errors import InputError

MISSING = "(missing)"
OTHER = "(other)"
_GROUP = "__group"
Vector = npt.NDArray[np.float64]


def _names(columns: str | Sequence[str] | None) -> list[str]:
    if columns is None:
        return []
    return [columns] if isinstance(columns, str) else list(columns)


def _require(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise InputError(
            f"{what}: no column {', '.join(map(repr, absent))}",
            hint=f"the table has {', '.join(frame.columns) or 'no columns'}",
        )


def _first_row(mask: pl.Series) -> int:
    return int(mask.arg_true()[0])


def pareto(
    frame: pl.DataFrame,
    by: str | Sequence[str],
    *,
    weight: str | None = None,
    vital_share: float = 0.8,
    top: int | None = None,
    within: str | Sequence[str] | None = None,
    missing: str = "error",
) -> pl.DataFrame:
    """Pareto table of ``by`` (one or more category columns), per ``within`` group.

    Returns the ``within`` and ``by`` columns, ``count`` (rows), the summed
    ``weight`` column when one is given, ``share`` and ``cumulative_share`` of
    the group's total, ``rank`` (1 = largest; ties by category) and ``vital``.
    With ``top``, categories ranked below it become one "(other)" row per group
    (rank top + 1, vital if any of them was); category columns are then strings.
    """
    keys, groups = _names(by), _names(within)
    if not keys:
        raise InputError("pareto needs at least one category column in by")
    if set(keys) & set(groups):
        raise InputError(f"columns {sorted(set(keys) & set(groups))} are in both by and within")
    _require(frame, [*groups, *keys, *([weight] if weight else [])], "pareto")
    if not 0 < vital_share <= 1:
        raise InputError(f"vital_share must be in (0, 1], not {vital_share}")
    if top is not None and top < 1:
        raise InputError(f"top must be 1 or more, not {top}")
    if missing not in ("error", "label"):
        raise InputError(f"unknown missing={missing!r}", hint="use 'error' or 'label'")
    data = frame.select(*groups, *keys, *([weight] if weight else []))
    for column in [*groups, *keys]:
        nulls = data[column].is_null()
        if not nulls.any():
            continue
        if missing == "error":
            raise InputError(
                f"{int(nulls.sum())} rows have no {column!r} (first: row {_first_row(nulls)})",
                hint=f"fill them, or pass missing='label' to count them as {MISSING!r}",
            )
        data = data.with_columns(pl.col(column).cast(pl.String).fill_null(MISSING))
    if weight is not None:
        values = data[weight]
        if not values.dtype.is_numeric():
            raise InputError(f"weight column {weight!r} is {values.dtype}, not a number")
        bad = values.is_null() | values.is_nan() if values.dtype.is_float() else values.is_null()
        bad = bad | (values < 0).fill_null(False)
        if bad.any():
            row = _first_row(bad)
            raise InputError(
                f"weight {weight!r} is missing or negative in {int(bad.sum())} rows "
                f"(first: row {row}, {values[row]!r})",
                hint="a Pareto adds up non-negative amounts; fix or filter those rows",
            )
    if not groups:
        data = data.with_columns(pl.lit(0).alias(_GROUP))
    over = groups or [_GROUP]
    value = weight or "count"
    table = (
        data.group_by(*over, *keys)
        .agg(pl.len().cast(pl.Int64).alias("count"), *([pl.col(weight).sum()] if weight else []))
        .sort([*over, value, *keys], descending=[False] * len(over) + [True] + [False] * len(keys))
    )
    total = pl.col(value).sum().over(over)
    before = (pl.col(value).cum_sum().over(over) - pl.col(value)) / total
    table = table.with_columns(
        share=pl.col(value) / total,
        cumulative_share=pl.col(value).cum_sum().over(over) / total,
        rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(over),
        vital=before < vital_share - 1e-12,
    )
    empty = table.filter(pl.col("share").is_nan())
    if empty.height:
        where = "" if not groups else f" in {empty.select(groups).row(0, named=True)}"
        raise InputError(f"the weights add up to 0{where}; there is nothing to rank")
    if top is not None:
        table = _roll_up(table, over, keys, value, top)
    columns = [*groups, *keys, "count", *([weight] if weight else [])]
    return table.sort([*over, "rank"]).select(
        *columns, "share", "cumulative_share", "rank", "vital"
    )


def _roll_up(
    table: pl.DataFrame, over: list[str], keys: list[str], value: str, top: int
) -> pl.DataFrame:
    table = table.with_columns(pl.col(keys).cast(pl.String))
    head, tail = table.filter(pl.col("rank") <= top), table.filter(pl.col("rank") > top)
    if not tail.height:
        return table
    sums = ["count", value] if value != "count" else ["count"]
    other = tail.group_by(over).agg(
        *[pl.lit(OTHER).alias(k) for k in keys],
        *[pl.col(c).sum() for c in sums],
        pl.col("share").sum(),
        pl.lit(1.0).alias("cumulative_share"),
        pl.lit(top + 1, dtype=pl.Int64).alias("rank"),
        pl.col("vital").any(),
    )
    return pl.concat([head, other.select(head.columns)], how="vertical_relaxed")


def _check_lots(
    lots: pl.DataFrame, keys: Sequence[str], inspected: str, defective: str, lot: str | None
) -> None:
    _require(lots, [*keys, inspected, defective], "lots")
    n, d = lots[inspected], lots[defective]
    for column in (n, d):
        if not column.dtype.is_numeric():
            raise InputError(f"column {column.name!r} is {column.dtype}, not a count")

    def name(row: int) -> str:
        if lot is not None and lot in lots.columns:
            return f"lot {lots[lot][row]!r} (row {row})"
        return f"row {row}"

    checks = [
        (n.is_null() | d.is_null(), "has no inspected or defective count"),
        ((n <= 0).fill_null(False), f"has {inspected} ≤ 0"),
        ((d < 0).fill_null(False), f"has {defective} < 0"),
        ((d > n).fill_null(False), f"has more {defective} than {inspected}"),
        ((n.cast(pl.Float64) % 1 != 0) | (d.cast(pl.Float64) % 1 != 0), "has a fractional count"),
    ]
    for bad, what in checks:
        if bad.fill_null(False).any():
            row = _first_row(bad.fill_null(False))
            raise InputError(
                f"{name(row)} {what} ({inspected}={n[row]}, {defective}={d[row]}); "
                f"{int(bad.sum())} such rows",
                hint="every lot needs a whole inspected count > 0 and 0 ≤ defective ≤ inspected",
            )


def clopper_pearson(
    defective: npt.ArrayLike, inspected: npt.ArrayLike, level: float = 0.95
) -> tuple[Vector, Vector]:
    """Exact two-sided interval for a binomial proportion, as fractions."""
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1, not {level}")
    x, n = np.asarray(defective, dtype=np.float64), np.asarray(inspected, dtype=np.float64)
    alpha = 1.0 - level
    lower = np.where(x > 0, stats.beta.ppf(alpha / 2, np.maximum(x, 1), n - x + 1), 0.0)
    upper = np.where(x < n, stats.beta.ppf(1 - alpha / 2, x + 1, np.maximum(n - x, 1)), 1.0)
    return lower, upper


def supplier_ppm(
    lots: pl.DataFrame,
    *,
    by: str | Sequence[str] = ("supplier",),
    inspected: str = "inspected",
    defective: str = "defective",
    level: float = 0.95,
    lot: str | None = "lot",
) -> pl.DataFrame:
    """Defective PPM per ``by`` group with its exact (Clopper–Pearson) interval.

    One row per lot in; out: ``by``, ``lots``, summed ``inspected`` and
    ``defective``, ``ppm``, ``ppm_lower``, ``ppm_upper``. ``lot`` names the
    column used to point at a bad row in errors.
    """
    keys = _names(by)
    _check_lots(lots, keys, inspected, defective, lot)
    table = (
        lots.group_by(keys, maintain_order=True)
        .agg(
            pl.len().cast(pl.Int64).alias("lots"),
            pl.col(inspected).cast(pl.Int64).sum(),
            pl.col(defective).cast(pl.Int64).sum(),
        )
        .sort(keys)
    )
    lower, upper = clopper_pearson(table[defective].to_numpy(), table[inspected].to_numpy(), level)
    return table.with_columns(
        ppm=pl.col(defective) / pl.col(inspected) * 1e6,
        ppm_lower=pl.Series(lower * 1e6),
        ppm_upper=pl.Series(upper * 1e6),
    )


@dataclass(frozen=True, slots=True)
class LotTrend:
    """Lot-by-lot p-chart points and one trend row per group."""

    lots: pl.DataFrame
    trend: pl.DataFrame

    def flagged(self) -> pl.DataFrame:
        """The lots above their upper control limit."""
        return self.lots.filter(pl.col("above_ucl"))


def mann_kendall(values: npt.ArrayLike) -> tuple[int, float, float, float, float]:
    """Mann–Kendall S, z, two-sided p, Kendall's tau-a and Sen's slope of ``x`` in order."""
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    i, j = np.triu_indices(n, k=1)
    s = int(np.sign(x[j] - x[i]).sum())
    _, ties = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - np.sum(ties * (ties - 1) * (2 * ties + 5))) / 18.0
    z = 0.0 if s == 0 or var <= 0 else (s - np.sign(s)) / np.sqrt(var)
    p = float(2 * stats.norm.sf(abs(z)))
    return s, float(z), p, s / (n * (n - 1) / 2), float(np.median((x[j] - x[i]) / (j - i)))


def lot_trend(
    lots: pl.DataFrame,
    *,
    by: str | Sequence[str] = ("supplier", "part_number"),
    order: str = "received_date",
    inspected: str = "inspected",
    defective: str = "defective",
    lot: str | None = "lot",
    sigma: float = 3.0,
    alpha: float = 0.05,
) -> LotTrend:
    """Lot PPMs in received order with per-lot p-chart limits, and a trend per group.

    ``lots`` of the result: one row per lot with ``lot_index`` (1 = first
    received), ``ppm``, the group's ``center_ppm`` (p̄), the lot's own
    ``lcl_ppm``/``ucl_ppm`` and ``above_ucl``. ``trend``: per group ``lots``,
    Mann–Kendall ``mk_s``, ``mk_z``, ``mk_p``, ``kendall_tau``,
    ``sen_slope_ppm`` (PPM per lot) and ``direction`` ("worsening",
    "improving" or "none" at ``alpha``); null below 3 lots.
    """
    keys = _names(by)
    _check_lots(lots, keys, inspected, defective, lot)
    _require(lots, [order], "lot_trend")
    if lots[order].null_count():
        row = _first_row(lots[order].is_null())
        raise InputError(f"row {row} has no {order!r}; lots cannot be put in received order")
    if sigma <= 0 or not 0 < alpha < 1:
        raise InputError(f"sigma must be > 0 and alpha in (0, 1), not {sigma} and {alpha}")
    tie_break = [lot] if lot is not None and lot in lots.columns else []
    p_bar = pl.col(defective).sum().over(keys) / pl.col(inspected).sum().over(keys)
    spread = sigma * (p_bar * (1 - p_bar) / pl.col(inspected)).sqrt()
    points = (
        lots.sort([*keys, order, *tie_break])
        .with_columns(
            lot_index=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(keys),
            ppm=pl.col(defective) / pl.col(inspected) * 1e6,
            center_ppm=p_bar * 1e6,
            lcl_ppm=(p_bar - spread).clip(lower_bound=0.0) * 1e6,
            _p_bar=p_bar,
        )
    )
    # Probability limits: the exact binomial tail of a kσ normal limit. With a few
    # defectives in a few hundred units the normal approximation's UCL sits below two
    # defectives and flags ordinary lots; the binomial limit does not.
    tail = float(stats.norm.sf(sigma))
    n = points[inspected].to_numpy().astype(np.int64)
    d = points[defective].to_numpy().astype(np.int64)
    p0 = points["_p_bar"].to_numpy()
    limit = stats.binom.isf(tail, n, p0)  # the largest count still within the limit
    points = points.drop("_p_bar").with_columns(
        ucl_ppm=pl.Series(limit / n * 1e6),
        above_ucl=pl.Series(stats.binom.sf(d - 1, n, p0) < tail),
    )
    rows = []
    for group in points.partition_by(keys, maintain_order=True, as_dict=False):
        ppm = group["ppm"].to_numpy()
        stat = mann_kendall(ppm) if ppm.size >= 3 else (None,) * 5
        rows.append((*group.select(keys).row(0), ppm.size, *stat))
    schema: dict[str, pl.DataType] = {k: points.schema[k] for k in keys}
    schema |= {"lots": pl.Int64(), "mk_s": pl.Int64()}
    schema |= {c: pl.Float64() for c in ("mk_z", "mk_p", "kendall_tau", "sen_slope_ppm")}
    trend = pl.DataFrame(rows, schema=schema, orient="row").with_columns(
        direction=pl.when(pl.col("mk_p") >= alpha)
        .then(pl.lit("none"))
        .when(pl.col("mk_s") > 0)
        .then(pl.lit("worsening"))
        .when(pl.col("mk_s") < 0)
        .then(pl.lit("improving"))
        .otherwise(pl.lit("none"))
    )
    return LotTrend(points, trend)
