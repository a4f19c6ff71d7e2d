"""Stocking levels for a whole table of parts x locations at once.

:func:`plan_stock` takes the long demand history, the forecast and the
replenishment terms of many series (``unique_id``) and returns one row of
levels per series: the fleet-wide face of the single-series policy in
:mod:`drivetrain.parts.inventory`. Each series draws its demand samples from a
generator derived from the seed and its id, so a row is the same whatever the
other series or the row order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl

from drivetrain.errors import InputError
from drivetrain.parts.inventory import (
    StockingTerms,
    Target,
    _history,
    bootstrap_demand,
    check_target,
    normal_demand,
    policy_for,
)

Method = Literal["bootstrap", "normal"]
_NEEDS = {
    "history": ("unique_id", "ds", "y"),
    "forecast": ("unique_id", "ds", "mean"),
    "terms": ("unique_id", "lead_time", "review_period", "unit_cost", "holding_rate"),
}
PLAN_SCHEMA: dict[str, type[pl.DataType]] = {
    "unique_id": pl.String,
    "method": pl.String,
    "lead_time": pl.Int64,
    "review_period": pl.Int64,
    "mean_per_period": pl.Float64,
    "reorder_point": pl.Float64,
    "order_up_to": pl.Float64,
    "safety_stock": pl.Float64,
    "expected_on_hand": pl.Float64,
    "cycle_service": pl.Float64,
    "fill_rate": pl.Float64,
    "holding_cost": pl.Float64,
    "stock_value": pl.Float64,
}


def _some(ids: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(repr(i) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _require(frame: pl.DataFrame, what: str) -> None:
    missing = [c for c in _NEEDS[what] if c not in frame.columns]
    if missing:
        raise InputError(
            f"the {what} table has no column {', '.join(missing)}",
            hint=f"it needs {', '.join(_NEEDS[what])}",
        )


def _by_id(frame: pl.DataFrame, what: str, value: str) -> dict[str, list[float]]:
    """The ``value`` column of each id, in ``ds`` order."""
    _require(frame, what)
    grouped = (
        frame.with_columns(pl.col("unique_id").cast(pl.String))
        .sort("unique_id", "ds")
        .group_by("unique_id", maintain_order=True)
        .agg(pl.col(value))
    )
    return dict(zip(grouped["unique_id"].to_list(), grouped[value].to_list(), strict=True))


def _series_rng(seed: int, unique_id: str) -> np.random.Generator:
    """A generator for one series: the same for the same seed and id, whatever the row order."""
    key = hashlib.blake2b(unique_id.encode(), digest_size=8).digest()
    return np.random.default_rng([seed, int.from_bytes(key, "little")])


def _terms_by_id(terms: pl.DataFrame) -> dict[str, StockingTerms]:
    _require(terms, "terms")
    rows = terms.select(_NEEDS["terms"]).with_columns(pl.col("unique_id").cast(pl.String))
    doubled = rows.filter(pl.col("unique_id").is_duplicated())["unique_id"].unique().sort()
    if len(doubled):
        raise InputError(
            f"the terms table has more than one row for {_some(doubled.to_list())}",
            hint="keep one row of lead_time, review_period, unit_cost, holding_rate per unique_id",
        )
    empty = rows.filter(pl.any_horizontal(pl.all().is_null()))["unique_id"].to_list()
    if empty:
        raise InputError(
            f"the terms of {_some([str(i) for i in empty])} have missing values",
            hint="fill lead_time, review_period, unit_cost and holding_rate for every unique_id",
        )
    out = {}
    for uid, lead, review, cost, rate in rows.iter_rows():
        out[uid] = StockingTerms(int(lead), int(review), float(cost), float(rate))
        try:
            out[uid].validate()
        except InputError as e:
            raise InputError(f"terms of {uid!r}: {e.message}", hint=e.hint) from e
    return out


def plan_stock(
    history: pl.DataFrame,
    forecast: pl.DataFrame,
    terms: pl.DataFrame,
    *,
    target: float,
    kind: Target = "cycle_service",
    draws: int = 2000,
    seed: int = 0,
    method: Method = "bootstrap",
) -> pl.DataFrame:
    """Reorder point and order-up-to level for every series of ``forecast``, one row each.

    Parameters
    ----------
    history
        Long demand history: ``unique_id``, ``ds``, ``y`` (units per period).
    forecast
        ``unique_id``, ``ds``, ``mean`` (forecast units per future period). The
        demand rate of a series is the mean of its first L + R forecast periods
        (of all of them if the forecast is shorter).
    terms
        ``unique_id``, ``lead_time``, ``review_period`` (periods), ``unit_cost``,
        ``holding_rate`` (of the unit cost, per year).
    method
        ``bootstrap`` (:func:`bootstrap_demand` of the history, rescaled to the
        forecast rate) or ``normal`` (:func:`normal_demand` with the forecast
        rate and the standard deviation of the history per period).

    Each series draws from its own generator, derived from ``seed`` and its id,
    so a row does not depend on the other series or on the row order. Returns
    the columns of :data:`PLAN_SCHEMA`, sorted by ``unique_id``; ``stock_value``
    is the order-up-to level at unit cost.
    """
    check_target(target, kind)
    if method not in ("bootstrap", "normal"):
        raise InputError(f"unknown method {method!r}", hint="bootstrap or normal")
    if draws < 1 or seed < 0:
        raise InputError(
            f"draws {draws} and seed {seed}: need at least 1 draw and a seed of 0 or more"
        )
    demand, rates = _by_id(history, "history", "y"), _by_id(forecast, "forecast", "mean")
    replenish = _terms_by_id(terms)
    for what, known, fix in (
        ("demand history", demand, "add their periods to history (0 where nothing was sold)"),
        ("terms", replenish, "add a terms row per unique_id"),
    ):
        absent = [uid for uid in rates if uid not in known]
        if absent:
            raise InputError(
                f"{len(absent)} forecast series have no {what}: {_some(absent)}",
                hint=f"{fix}, or drop them from the forecast",
            )
    rows = []
    for uid, means in rates.items():
        t = replenish[uid]
        ahead = np.asarray(means[: t.lead_time + t.review_period], dtype=np.float64)
        if not np.isfinite(ahead).all() or (ahead < 0).any():
            raise InputError(
                f"the forecast of {uid!r} has negative or missing means",
                hint="forecast units per period are 0 or more",
            )
        rate = float(ahead.mean())
        h, rng = np.asarray(demand[uid], dtype=np.float64), _series_rng(seed, uid)
        try:
            if method == "bootstrap":
                lt = bootstrap_demand(h, t.lead_time, draws=draws, mean=rate, rng=rng)
                ltr = bootstrap_demand(
                    h, t.lead_time + t.review_period, draws=draws, mean=rate, rng=rng
                )
            else:
                sd = float(_history(h).std(ddof=1)) if h.size > 1 else 0.0
                lt = normal_demand(rate, sd, t.lead_time, draws=draws, rng=rng)
                ltr = normal_demand(rate, sd, t.lead_time + t.review_period, draws=draws, rng=rng)
        except InputError as e:
            raise InputError(f"series {uid!r}: {e.message}", hint=e.hint) from e
        p = policy_for(lt, ltr, rate * t.review_period, t, target=target, kind=kind)
        rows.append((uid, method, t.lead_time, t.review_period, rate, p.reorder_point,
                     p.order_up_to, p.safety_stock, p.expected_on_hand, p.cycle_service,
                     p.fill_rate, p.holding_cost, p.order_up_to * t.unit_cost))  # fmt: skip
    return pl.DataFrame(rows, schema=PLAN_SCHEMA, orient="row")
