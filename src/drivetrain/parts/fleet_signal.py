"""The fleet signal: other capabilities' predictions turned into expected parts per month.

Vehicle health predicts when each vehicle's job falls due (remaining life with
an interval); warranty fits a life distribution per part. Neither is imported
here (a capability does not import another): their outputs arrive as plain
frames and callables in the schemas below, and leave as what ``fleet_demand``
combines with the statistical forecast: expected units and variance per part,
location and month.

Months are first-of-month ``datetime.date`` values; month ``m`` covers the days
``[m, next month)``. Days are counted from ``as_of`` (day 0 is the start of
``as_of``) and may be fractional.

* ``due_in_months``: one vehicle's due job spread over months (a normal due day).
* ``failures_in_months``: the failures a population of surviving units of known
  age will have, per month, from the life distribution conditional on survival.
* ``allocate``: a market's expectation split over its locations.
* ``demand_shares``: the split, from where each part was issued in the past.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import numpy as np
import polars as pl
from scipy.stats import norm

from drivetrain.errors import InputError

P_MIN = 1e-9  # below it a month's probability is noise, not a forecast
SURVIVAL_MIN = 1e-12  # a unit the distribution says is already dead cannot fail again
SHARE_TOLERANCE = 1e-6
_MONOTONE_SLACK = 1e-12  # floating-point wobble a correct cdf may show


def _require(frame: pl.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{name} lacks the column(s) {', '.join(missing)}",
            hint=f"{name} needs {', '.join(columns)}",
        )


def _reject(
    frame: pl.DataFrame, condition: pl.Expr, rows: str, keys: Sequence[str], what: str, hint: str
) -> None:
    """Raise naming how many rows of ``frame`` meet ``condition``, and the first one."""
    bad = frame.filter(condition)
    if bad.height:
        first = bad.row(0, named=True)
        where = ", ".join(f"{key} {first[key]}" for key in keys)
        raise InputError(f"{bad.height} {rows} have {what}, e.g. {where}", hint=hint)


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _months(months: Sequence[date]) -> pl.DataFrame:
    """``month, _end`` for the checked months: first-of-month, strictly increasing."""
    if not months:
        raise InputError("no months given", hint="pass the first-of-month dates of the horizon")
    for i, m in enumerate(months):
        if not isinstance(m, date) or m.day != 1:
            raise InputError(
                f"month {m!r} (position {i}) is not a first-of-month date",
                hint="months are datetime.date(year, month, 1)",
            )
        if i and m <= months[i - 1]:
            raise InputError(
                f"months are not strictly increasing: {months[i - 1]} then {m}",
                hint="pass each month once, in order",
            )
    return pl.DataFrame(
        {"month": list(months), "_end": [_next_month(m) for m in months]},
        schema={"month": pl.Date, "_end": pl.Date},
    )


def _days(later: str, earlier: str) -> pl.Expr:
    return (pl.col(later) - pl.col(earlier)).dt.total_days().cast(pl.Float64)


def _normal_cdf(x: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """P(X < x) for X normal, or a point mass at ``mean`` where ``sd`` is 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        smooth = norm.cdf((x - mean) / np.where(sd > 0, sd, 1.0))
    return np.where(sd > 0, smooth, (mean < x).astype(np.float64))


def due_in_months(
    due: pl.DataFrame, months: Sequence[date], *, confidence: float = 0.90
) -> pl.DataFrame:
    """Per due job and month: the probability that the job falls due in that month.

    ``due`` holds ``vehicle_id, part_number, as_of, days_left, days_left_low,
    days_left_high[, quantity]``: the remaining days (from ``as_of``) and their
    two-sided ``confidence`` interval; ``quantity`` is units per job (default 1).
    The due day is normal, mean ``as_of + days_left`` and sd
    ``(high - low) / (2 z)`` with ``z = Φ⁻¹((1 + confidence) / 2)``; a zero-width
    interval is a point mass. The mass before ``as_of`` is due now: it goes to
    the month containing ``as_of`` (returned only if that month is in
    ``months``). Months before that are never returned, nor is the mass after
    the last month (beyond the horizon), so ``p`` may sum to less than 1.

    Returns ``vehicle_id, part_number, month, p, quantity``, rows with
    ``p > 1e-9`` only.
    """
    columns = ["vehicle_id", "part_number", "as_of", "days_left", "days_left_low"]
    _require(due, [*columns, "days_left_high"], "the due jobs")
    if not 0.0 < confidence < 1.0:
        raise InputError(
            f"confidence {confidence} is not in (0, 1)",
            hint="the interval's coverage, e.g. 0.90 for a 5%-95% interval",
        )
    grid = _months(months)
    rows = due.with_columns(
        pl.col("as_of").cast(pl.Date),
        pl.col("days_left", "days_left_low", "days_left_high").cast(pl.Float64),
        (pl.col("quantity").cast(pl.Float64) if "quantity" in due.columns else pl.lit(1.0))
        .fill_null(1.0)
        .alias("quantity"),
    )
    interval = ["days_left", "days_left_low", "days_left_high"]
    mid, low, high = (pl.col(c) for c in interval)
    checks = [
        (pl.col("as_of").is_null()
         | pl.any_horizontal(pl.col(interval).is_null() | pl.col(interval).is_nan()),
         "a missing as_of, days_left or interval bound",
         "drop the jobs health could not estimate, or fill their interval"),
        (high < low, "an interval whose high bound is below its low bound",
         "days_left_low <= days_left_high; a point estimate has low == high"),
        ((mid < low) | (mid > high), "days_left outside its interval",
         "the estimate lies within [days_left_low, days_left_high]"),
    ]  # fmt: skip
    for condition, what, hint in checks:
        _reject(rows, condition, "due job(s)", ["vehicle_id", "part_number"], what, hint)
    cells = (
        rows.with_columns(pl.col("as_of").dt.month_start().alias("_first"))
        .join(grid, how="cross")
        .filter(pl.col("month") >= pl.col("_first"))
    )
    z = float(norm.ppf((1.0 + confidence) / 2.0))
    mean = cells["days_left"].to_numpy()
    sd = (cells["days_left_high"] - cells["days_left_low"]).to_numpy() / (2.0 * z)
    start = cells.select(_days("month", "as_of")).to_series().to_numpy()
    end = cells.select(_days("_end", "as_of")).to_series().to_numpy()
    first = (cells["month"] == cells["_first"]).to_numpy()
    below = np.where(first, 0.0, _normal_cdf(start, mean, sd))  # the overdue tail is due now
    p = _normal_cdf(end, mean, sd) - below
    return (
        cells.with_columns(pl.Series("p", np.clip(p, 0.0, 1.0)))
        .filter(pl.col("p") > P_MIN)
        .select("vehicle_id", "part_number", "month", "p", "quantity")
        .sort("vehicle_id", "part_number", "month")
    )


def failures_in_months(
    units: pl.DataFrame,
    cdf: Callable[[np.ndarray], np.ndarray],
    as_of: date,
    months: Sequence[date],
) -> pl.DataFrame:
    """Per part, market and month: the expected failures of the surviving units, and variance.

    ``units`` holds ``part_number, market, age_days, count``: groups of units
    still running at ``as_of``, of the same age (days) then. ``cdf(t)`` is the
    life distribution's F(t), t in days, vectorised. A unit of age ``a`` fails
    in a month with ``p = (F(a + t1) - F(a + t0)) / (1 - F(a))``, ``t0, t1`` the
    days from ``as_of`` to the month's start and end clipped at 0 (only the
    future counts: the ``as_of`` month from ``as_of`` on; months ending by
    ``as_of`` are not returned). A unit with ``1 - F(a) <= 1e-12`` is one the
    distribution says cannot still be running: its ``p`` is 0.

    ``expected = Σ count·p`` and ``variance = Σ count·p(1 - p)``: units fail
    independently, each at most once within the horizon. This is an
    approximation: the replacement fitted after a failure may itself fail
    early, and that second failure is ignored (small while the horizon is short
    next to the life).
    """
    _require(units, ["part_number", "market", "age_days", "count"], "the units")
    rows = units.with_columns(pl.col("age_days", "count").cast(pl.Float64))
    for column in ("age_days", "count"):
        value = pl.col(column)
        _reject(
            rows, value.is_null() | value.is_nan() | (value < 0), "unit group(s)",
            ["part_number", "market", column], f"a missing or negative {column}",
            "age_days is the age at as_of in days, count the units running: both >= 0",
        )  # fmt: skip
    grid = (
        _months(months)
        .filter(pl.col("_end") > as_of)
        .with_columns(
            (pl.col("month") - pl.lit(as_of)).dt.total_days().clip(lower_bound=0).alias("_t0"),
            (pl.col("_end") - pl.lit(as_of)).dt.total_days().alias("_t1"),
        )
    )
    cells = rows.join(grid, how="cross")
    age = cells["age_days"].to_numpy()
    t0 = cells["_t0"].cast(pl.Float64).to_numpy()
    t1 = cells["_t1"].cast(pl.Float64).to_numpy()
    points = np.concatenate([age, age + t0, age + t1])
    values = np.asarray(cdf(points), dtype=np.float64)
    if values.shape != points.shape:
        raise InputError(
            f"the cdf returned shape {values.shape} for input shape {points.shape}",
            hint="cdf must be vectorised: one F(t) per t",
        )
    if not np.all(np.isfinite(values) & (values >= 0.0) & (values <= 1.0)):
        raise InputError(
            "the cdf returned values outside [0, 1]",
            hint="cdf(t) is the probability of failing by age t: a number in [0, 1]",
        )
    f_age, f0, f1 = np.split(values, 3)
    if np.any(f0 < f_age - _MONOTONE_SLACK) or np.any(f1 < f0 - _MONOTONE_SLACK):
        raise InputError(
            "the cdf decreases with age",
            hint="pass the cumulative distribution F(t), not the survival 1 - F(t) or a density",
        )
    survival = 1.0 - f_age
    alive = survival > SURVIVAL_MIN
    p = np.where(alive, (f1 - f0) / np.where(alive, survival, 1.0), 0.0)
    p = np.clip(p, 0.0, 1.0)
    count = cells["count"].to_numpy()
    return (
        cells.with_columns(
            pl.Series("expected", count * p), pl.Series("variance", count * p * (1.0 - p))
        )
        .group_by("part_number", "market", "month")
        .agg(pl.col("expected").sum(), pl.col("variance").sum())
        .sort("part_number", "market", "month")
    )


def allocate(expected: pl.DataFrame, shares: pl.DataFrame) -> pl.DataFrame:
    """A market's expected units and variance, split over its locations by share.

    ``expected`` holds ``part_number, market, month, expected, variance``; any
    other column (e.g. ``source``) is a group key and kept. ``shares`` holds
    ``part_number, market, location_id, share``, summing to 1 per part and
    market. Each unit goes to location l with probability s (multinomial
    thinning), so the location gets ``s·E`` and, by the law of total variance,
    ``s²·Var + s(1 - s)·E``. A location in several markets gets the sum
    (markets are different units, hence independent).

    Returns ``part_number, location_id, month, expected, variance`` and the extra keys.
    """
    base = ["part_number", "market", "month", "expected", "variance"]
    _require(expected, base, "the expected units")
    _require(shares, ["part_number", "market", "location_id", "share"], "the shares")
    extra = [c for c in expected.columns if c not in base]
    share = pl.col("share")
    _reject(
        shares, share.is_null() | share.is_nan() | (share < 0), "share(s)",
        ["part_number", "market", "location_id"], "a missing or negative value",
        "shares are probabilities: 0 or more, summing to 1 per part and market",
    )  # fmt: skip
    totals = shares.group_by("part_number", "market").agg(share.sum()).sort("part_number", "market")
    _reject(
        totals, (share - 1.0).abs() > SHARE_TOLERANCE, "part-market pair(s)",
        ["part_number", "market", "share"], "shares that do not sum to 1",
        "the shares of each part and market sum to 1 (see demand_shares)",
    )  # fmt: skip
    unshared = (
        expected.select("part_number", "market")
        .unique()
        .join(totals, on=["part_number", "market"], how="anti")
        .sort("part_number", "market")
    )
    if unshared.height:
        row = unshared.row(0, named=True)
        raise InputError(
            f"no shares for part {row['part_number']} in {row['market']} "
            f"({unshared.height} part-market pair(s) without shares)",
            hint="pass shares for every part and market of the expectation, e.g. demand_shares",
        )
    s, e, v = pl.col("share"), pl.col("expected"), pl.col("variance")
    return (
        expected.join(shares, on=["part_number", "market"], how="inner")
        .with_columns((s * e).alias("expected"), (s * s * v + s * (1.0 - s) * e).alias("variance"))
        .group_by("part_number", "location_id", "month", *extra)
        .agg(pl.col("expected").sum(), pl.col("variance").sum())
        .select("part_number", "location_id", "month", "expected", "variance", *extra)
        .sort("part_number", "location_id", "month", *extra)
    )


def demand_shares(
    demand: pl.DataFrame, locations: pl.DataFrame, *, kinds: Sequence[str] = ("dealer", "regional")
) -> pl.DataFrame:
    """Per part, market and location: the location's share of the part's demand in its market.

    ``demand`` holds ``part_number, location_id, quantity`` (any rows per pair,
    e.g. monthly history); ``locations`` holds ``location_id, kind, market``.
    Only locations of ``kinds`` take shares; demand elsewhere is ignored. Every
    part seen in ``demand`` gets shares in every market with such locations.
    Where a part had no demand in a market there is no history to go by, so
    it gets the network's default: equal shares over that market's dealers
    (over all its locations of ``kinds`` if none is a dealer).

    Returns ``part_number, market, location_id, share``.
    """
    _require(demand, ["part_number", "location_id", "quantity"], "the demand")
    _require(locations, ["location_id", "kind", "market"], "the locations")
    _reject(
        locations, pl.col("market").n_unique().over("location_id") > 1, "location row(s)",
        ["location_id", "market"], "a location in more than one market",
        "each location_id belongs to one market",
    )  # fmt: skip
    _reject(
        demand, pl.col("quantity").is_null() | (pl.col("quantity") < 0), "demand row(s)",
        ["part_number", "location_id"], "a missing or negative quantity",
        "net returns out of the history first: shares come from issues",
    )  # fmt: skip
    _reject(
        demand, ~pl.col("location_id").is_in(locations["location_id"].implode()),
        "demand row(s)", ["location_id"], "a location not in the locations",
        "add it to the locations (with its kind and market) or drop its demand",
    )  # fmt: skip
    network = locations.filter(pl.col("kind").is_in(list(kinds))).unique("location_id")
    if network.is_empty():
        raise InputError(
            f"no location is of kind {', '.join(kinds)}",
            hint=f"the locations have kinds {', '.join(locations['kind'].unique().sort())}",
        )
    issued = demand.group_by("part_number", "location_id").agg(
        pl.col("quantity").cast(pl.Float64).sum()
    )
    grid = (
        demand.select("part_number")
        .unique()
        .join(network.select("location_id", "kind", "market"), how="cross")
        .join(issued, on=["part_number", "location_id"], how="left")
        .with_columns(pl.col("quantity").fill_null(0.0))
    )
    pair = ["part_number", "market"]
    dealer = pl.col("kind") == "dealer"
    default = dealer | ~dealer.any().over(pair)  # a market without dealers: all its locations
    total = pl.col("quantity").sum().over(pair)
    share = (
        pl.when(total > 0)
        .then(pl.col("quantity") / total)
        .otherwise(default.cast(pl.Float64) / default.cast(pl.Float64).sum().over(pair))
    )
    return (
        grid.with_columns(share.alias("share"))
        .select("part_number", "market", "location_id", "share")
        .sort("part_number", "market", "location_id")
    )
