"""The installed base behind the parts network, and the demand the fleet foresees from it.

The **installed base** is the warranty simulator's production: every sold
vehicle with its model, powertrain, market, sale date, daily distance and the
dealer that services it. A repair or service goes to that dealer, to an
independent garage that buys the part at the market's regional warehouse
(``OEM_SHARE_INDEPENDENT`` of them do), or to the aftermarket (no demand in the
network): under warranty a repair always goes to the dealer and a service
mostly does (``DEALER_SHARE_WARRANTY``); afterwards ``DEALER_SHARE_AFTER``.

The **fleet signal** is what the fleet predicts without seeing any demand
history: per part, location and month, the expected units and their variance
(sums of Bernoulli events, so ``sum p (1 - p)``), by source:

* ``repair``: sum over the vehicles served of P(the component fails in the
  month | it survived to the month's start), from its Weibull life. A
  supplier-defect lot is known only from ``known_from`` (when a warranty alert
  would fire); from then on the lot's vehicles (the fleet knows the lot, not
  which parts in it are bad) follow the defect mixture
  ``S(t) = S_n(t) ((1 - ds) + ds S_d(t))``;
* ``maintenance``: the probability that a vehicle's k-th service of an item
  falls in the month (due at ``k x`` the interval by months or by its km a day,
  with the spread of wear and of when owners come in);
* ``campaign``: a planned recall's take-up of its affected vehicles.

It does not know counter sales and body repairs (the ``other`` demand), nor
which vehicles are defective, nor the Poisson luck of the history.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from scipy.special import ndtr

from drivetrain.demo.parts_catalog import CatalogPart
from drivetrain.demo.warranty_generator import SupplierDefect
from drivetrain.demo.warranty_parts import (
    AUTOMOTIVE_BETA,
    COMPONENTS_BY_NAME,
    DAYS_PER_MONTH,
)

DEALER_SHARE_WARRANTY = 0.9  # services at the dealer while under warranty
DEALER_SHARE_AFTER = 0.55  # repairs and services at the dealer after the warranty
OEM_SHARE_INDEPENDENT = 0.35  # independent garages' jobs done with the maker's parts
SERVICE_JITTER_DAYS = 20.0  # how far from the due date owners come in (sd)


@dataclass(frozen=True, slots=True)
class RecallCampaign:
    """A recall: a component replaced in one model's vehicles built in a window."""

    component: str = "brake_caliper"
    model_id: str = "ram-1500"
    build_from: date = date(2023, 5, 1)
    build_to: date = date(2023, 10, 31)
    month: date = date(2025, 6, 1)  # the first month of the campaign
    take_up: tuple[float, ...] = (0.45, 0.25, 0.1)  # share of vehicles repaired per month


@dataclass(frozen=True, slots=True)
class InstalledBase:
    """The sold vehicles, one array entry each (days since 1970-01-01)."""

    sale: np.ndarray
    build: np.ndarray
    model: np.ndarray  # model ids
    powertrain: np.ndarray
    km_per_day: np.ndarray
    limit: np.ndarray  # days in warranty (36 months or 100,000 km)
    dealer: np.ndarray  # location index of the servicing dealer
    regional: np.ndarray  # location index of the market's regional warehouse
    defective: np.ndarray  # ground truth: carries a part of the bad lot

    def fits(self, part: CatalogPart) -> np.ndarray:
        """Which vehicles the part fits."""
        return np.isin(self.model, part.models) & np.isin(self.powertrain, part.powertrains)

    def in_lot(self, defect: SupplierDefect) -> np.ndarray:
        """The vehicles of the defect lot (known to the fleet: model and build window)."""
        return np.asarray(
            (self.model == defect.model_id)
            & (self.build >= _days(defect.build_from))
            & (self.build <= _days(defect.build_to)),
            dtype=bool,
        )


def _days(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def dealer_share(age: np.ndarray, limit: np.ndarray, source: str) -> np.ndarray:
    """The share of jobs at ``age`` (days since the sale) that the servicing dealer does."""
    in_warranty = 1.0 if source == "repair" else DEALER_SHARE_WARRANTY
    return np.where(age < limit, in_warranty, DEALER_SHARE_AFTER)


def weibull_log_survival(t: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """log S(t) of a Weibull life (t in days, 0 before the sale)."""
    return np.asarray(-((np.maximum(t, 0.0) / alpha) ** beta), dtype=np.float64)


def _to_locations(
    base: InstalledBase, rows: np.ndarray, p: np.ndarray, share: np.ndarray, n_loc: int
) -> tuple[np.ndarray, np.ndarray]:
    """Expected units and variance per (location, month) of per-vehicle probabilities ``p``."""
    mean = np.zeros((n_loc, p.shape[1]))
    var = np.zeros_like(mean)
    for loc, routed in (
        (base.dealer[rows], p * share),
        (base.regional[rows], p * (1.0 - share) * OEM_SHARE_INDEPENDENT),
    ):
        cell = (loc[:, None] * p.shape[1] + np.arange(p.shape[1])[None, :]).ravel()
        mean += np.bincount(cell, routed.ravel(), mean.size).reshape(mean.shape)
        var += np.bincount(cell, (routed * (1.0 - routed)).ravel(), mean.size).reshape(mean.shape)
    return mean, var


def _repair(
    base: InstalledBase, part: CatalogPart, bounds: np.ndarray, n_loc: int,
    defect: SupplierDefect | None, known_from: date | None,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    component = COMPONENTS_BY_NAME[part.component]
    rows = np.flatnonzero(base.fits(part))
    t = bounds[None, :] - base.sale[rows, None].astype(np.float64)
    log_s = weibull_log_survival(t, component.alpha_days, AUTOMOTIVE_BETA)
    if defect is not None and known_from is not None and defect.component == part.component:
        lot = base.in_lot(defect)[rows]
        mix = log_s[lot] + np.log(
            (1.0 - defect.defective_share)
            + defect.defective_share * np.exp(weibull_log_survival(t[lot], defect.alpha_days, defect.beta))
        )  # fmt: skip
        known = bounds[:-1] >= _days(known_from)
        p_lot = np.where(known[None, :], -np.expm1(np.diff(mix, axis=1)), -np.expm1(np.diff(log_s[lot], axis=1)))  # fmt: skip
    p = -np.expm1(np.diff(log_s, axis=1))  # 1 - S(t1) / S(t0)
    if defect is not None and known_from is not None and defect.component == part.component:
        p[lot] = p_lot
    mid = (t[:, :-1] + t[:, 1:]) / 2
    share = dealer_share(mid, base.limit[rows, None], "repair")
    return _to_locations(base, rows, p, share, n_loc)


def service_interval(part: CatalogPart, km_per_day: np.ndarray) -> np.ndarray:
    """Nominal days between services of ``part`` at each vehicle's daily distance."""
    by_time = part.every_months * DAYS_PER_MONTH if part.every_months else math.inf
    by_km = part.every_km / km_per_day if part.every_km else np.full(len(km_per_day), math.inf)
    return np.minimum(by_time, by_km)


def _maintenance(
    base: InstalledBase, part: CatalogPart, bounds: np.ndarray, n_loc: int
) -> tuple[np.ndarray, np.ndarray]:
    rows = np.flatnonzero(base.fits(part))
    interval = service_interval(part, base.km_per_day[rows])
    mean = np.zeros((n_loc, len(bounds) - 1))
    var = np.zeros_like(mean)
    sale = base.sale[rows].astype(np.float64)
    k = 1
    while True:
        # the k-th service: sale + k x interval x wear factor (log-normal, mean 1) + jitter,
        # the jitter folded into the log-normal spread
        span = k * interval
        sigma = np.sqrt(part.wear_sd**2 + (SERVICE_JITTER_DAYS / span) ** 2)
        live = (sale + span * np.exp(-4 * sigma) < bounds[-1]) & (sale + span * np.exp(4 * sigma) > bounds[0])  # fmt: skip
        if not np.any(sale + span * np.exp(-4 * sigma) < bounds[-1]):
            break
        # single precision: a probability to 1e-7 is plenty for an expectation of units
        x = (np.maximum(bounds[None, :] - sale[live, None], 1e-3) / span[live, None]).astype(np.float32)  # fmt: skip
        s = sigma[live, None].astype(np.float32)
        p = np.diff(ndtr((np.log(x) + s * s / 2) / s), axis=1).astype(np.float64) * part.take_rate
        due = span[live, None]
        share = dealer_share(due, base.limit[rows][live, None], "maintenance")
        m, v = _to_locations(base, rows[live], p, share, n_loc)
        mean += m * part.quantity
        var += v * part.quantity**2
        k += 1
    return mean, var


def _campaign(
    base: InstalledBase, part: CatalogPart, campaign: RecallCampaign, bounds: np.ndarray, n_loc: int
) -> tuple[np.ndarray, np.ndarray]:
    start = np.searchsorted(bounds, _days(campaign.month), side="right") - 1
    affected = (
        base.fits(part)
        & (base.model == campaign.model_id)
        & (base.build >= _days(campaign.build_from))
        & (base.build <= _days(campaign.build_to))
        & (base.sale < _days(campaign.month))
    )
    n = np.bincount(base.dealer[affected], minlength=n_loc).astype(np.float64)
    mean = np.zeros((n_loc, len(bounds) - 1))
    var = np.zeros_like(mean)
    for j, share in enumerate(campaign.take_up):
        if 0 <= start + j < mean.shape[1]:
            mean[:, start + j] = n * share * part.quantity
            var[:, start + j] = n * share * (1 - share) * part.quantity**2
    return mean, var


def fleet_signal(
    base: InstalledBase,
    parts: Sequence[CatalogPart],
    locations: Sequence[str],
    months: Sequence[date],
    bounds: np.ndarray,
    *,
    defect: SupplierDefect | None,
    known_from: date | None,
    campaign: RecallCampaign | None,
    successors: Mapping[str, tuple[tuple[int, str], ...]],
) -> pl.DataFrame:
    """The expected demand per part, location, month and source (see the module docstring)."""
    n_loc = len(locations)
    frames = []
    for part in parts:
        blocks: list[tuple[str, tuple[np.ndarray, np.ndarray]]] = []
        if part.kind == "repair":
            blocks.append(("repair", _repair(base, part, bounds, n_loc, defect, known_from)))
        elif part.kind == "maintenance":
            blocks.append(("maintenance", _maintenance(base, part, bounds, n_loc)))
        if campaign is not None and campaign.component == part.component:
            blocks.append(("campaign", _campaign(base, part, campaign, bounds, n_loc)))
        for source, (mean, var) in blocks:
            live = mean.sum(axis=1) > 0
            loc, month = np.nonzero(np.broadcast_to(live[:, None], mean.shape))
            frames.append(
                pl.DataFrame(
                    {
                        "part_number": part.part_number,
                        "location_id": np.asarray(locations)[loc],
                        "month_index": month,
                        "expected": mean[loc, month],
                        "variance": var[loc, month],
                        "source": source,
                    }
                )
            )
    keys = ["part_number", "location_id", "month", "source"]
    if not frames:
        return pl.DataFrame(schema=SIGNAL_SCHEMA)
    signal = pl.concat(frames).with_columns(successor(successors))
    month_of = pl.DataFrame(
        {"month_index": np.arange(len(months)), "month": pl.Series(months, dtype=pl.Date)}
    )
    return (
        signal.join(month_of, on="month_index")
        .group_by(keys)
        .agg(pl.col("expected").sum(), pl.col("variance").sum())
        .select(*SIGNAL_SCHEMA)
        .sort(keys)
    )


def successor(successors: Mapping[str, tuple[tuple[int, str], ...]]) -> pl.Expr:
    """``part_number`` as issued at ``month_index``: a superseded number gives way to its successor."""
    expr = pl.col("part_number")
    for old, chain in successors.items():
        for start, new in chain:  # later successors last: they win
            expr = pl.when((pl.col("part_number") == old) & (pl.col("month_index") >= start)).then(pl.lit(new)).otherwise(expr)  # fmt: skip
    return expr.alias("part_number")


SIGNAL_SCHEMA: dict[str, type[pl.DataType] | pl.DataType] = {
    "part_number": pl.String,
    "location_id": pl.String,
    "month": pl.Date,
    "expected": pl.Float64,
    "variance": pl.Float64,
    "source": pl.String,
}
