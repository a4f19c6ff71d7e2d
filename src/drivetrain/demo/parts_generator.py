"""The simulator's parts network: demand at dealers and warehouses, driven by the fleet.

The vehicles of the warranty history (:mod:`drivetrain.demo.warranty_generator`)
are the installed base (:mod:`drivetrain.demo.parts_fleet`); each is serviced
by a dealer of its market. Month by month a location issues parts for

* **repairs**: each component of each vehicle fails at its Weibull life
  (:mod:`drivetrain.demo.warranty_parts`), in or out of warranty, and the
  replacement starts a new life. The vehicles that carry the supplier-defect lot
  (``defective`` in the production frame) fail early, so the thermostat at the
  dealers of the Fiat Tipo markets sees a wave some months after the lot's sales;
* **maintenance** items falling due by months or km since the sale;
* a **campaign** (a recall, optional): the affected vehicles over a few months;
* **counter sales** (``other``): orders of one or more units by walk-in
  customers and trade garages, not foreseen by the fleet; lumpy.

Dealers and regional warehouses issue to their own customers; a central
warehouse's own demand is its direct sales only (export and key accounts). No
location's demand includes its children's: a planner who wants the network's
demand sums the tree. Demand is kept as one row per part, location and month
from the part's first to its last month at that location, zeros included. The
cabin filter is superseded twice (``supersession_months``): from the switch
month every unit is issued under the new number, none under the old.

:func:`write_parts_csv` writes what an ERP export would hold:

* ``parts.csv``: part_number, description, component, supersedes (empty when
  none), unit_cost, lead_time_days, criticality (A, B, C);
* ``locations.csv``: location_id, kind (central, regional, dealer), parent_id
  (empty for a central warehouse), market (ISO 3166-1 alpha-2), region, name;
* ``demand.csv``: part_number, location_id, month (ISO date of the first day),
  quantity (units issued, 0 or more);
* ``fitment.csv``: part_number, model_id, service_item, quantity (which part
  serves vehicle health's wear items on which model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from drivetrain.catalog import load_vehicle_models
from drivetrain.demo.markets import MARKETS
from drivetrain.demo.parts_catalog import (
    CABIN_CHAIN,
    CENTRALS,
    CatalogPart,
    catalog_parts,
    fitment_frame,
    locations_frame,
    parts_frame,
)
from drivetrain.demo.parts_fleet import (
    OEM_SHARE_INDEPENDENT,
    SERVICE_JITTER_DAYS,
    InstalledBase,
    RecallCampaign,
    dealer_share,
    fleet_signal,
    service_interval,
    successor,
)
from drivetrain.demo.warranty_generator import SupplierDefect, WarrantyHistory
from drivetrain.demo.warranty_parts import (
    AUTOMOTIVE_BETA,
    COMPONENTS_BY_NAME,
    DAYS_PER_MONTH,
    WARRANTY_KM,
    WARRANTY_MONTHS,
)
from drivetrain.errors import InputError

EPOCH = date(1970, 1, 1)
SOURCE = "simulator"
# Counter-sale orders relative to a dealer's (trade counters sell more), and lot sizes.
COUNTER_RATE = {"dealer": 1.0, "regional": 1.5, "central": 0.3}
COUNTER_LOT = {"dealer": 1.0, "regional": 1.5, "central": 4.0}


@dataclass(frozen=True, slots=True)
class PartsConfig:
    """What to generate: history length, network size, campaign, what the fleet knows."""

    seed: int = 7
    months: int = 36  # of history
    first_month: date | None = None  # None: the history ends with the warranty's as_of month
    horizon_months: int = 12  # fleet signal beyond the history
    dealers_per_market: int = 2
    counter_sales: float = 1.0  # scale of the counter sales (0: none)
    campaign: RecallCampaign | None = field(default_factory=RecallCampaign)
    defect_known_from: date | None = date(2024, 7, 1)  # when the warranty alert fires
    campaign_notice_months: int = 2  # a recall is announced this long before it starts
    supersession_months: tuple[int, ...] = (14, 26)  # history months of the cabin filter's switches

    def validate(self) -> None:
        if self.months < 1:
            raise InputError(f"months must be positive, got {self.months}")
        if self.campaign_notice_months < 0:
            raise InputError(f"campaign_notice_months cannot be negative, got {self.campaign_notice_months}")  # fmt: skip
        if self.horizon_months < 0:
            raise InputError(f"horizon_months cannot be negative, got {self.horizon_months}")
        if self.first_month is not None and self.first_month.day != 1:
            raise InputError(
                f"first_month {self.first_month} is not the first day of a month",
                hint=f"use {self.first_month.replace(day=1)}",
            )
        if not 1 <= self.dealers_per_market <= 20:
            raise InputError(f"dealers_per_market must be 1 to 20, got {self.dealers_per_market}")
        if self.counter_sales < 0:
            raise InputError(f"counter_sales cannot be negative, got {self.counter_sales}")
        steps = self.supersession_months
        if len(steps) != len(CABIN_CHAIN) - 1 or list(steps) != sorted(set(steps)) or not all(0 < s < self.months for s in steps):  # fmt: skip
            raise InputError(
                f"supersession_months {steps} must be {len(CABIN_CHAIN) - 1} increasing "
                f"months inside the history (1 to {self.months - 1})",
                hint=f"the chain {' -> '.join(CABIN_CHAIN)} switches at each",
            )
        if self.campaign is not None:
            c = self.campaign
            if c.component not in COMPONENTS_BY_NAME:
                raise InputError(
                    f"unknown component {c.component!r} for the campaign",
                    hint=f"one of {', '.join(COMPONENTS_BY_NAME)}",
                )
            if c.month.day != 1 or not c.take_up or any(not 0 <= s <= 1 for s in c.take_up) or sum(c.take_up) > 1:  # fmt: skip
                raise InputError(
                    f"campaign month {c.month} must be a first of month and take_up {c.take_up} "
                    "shares between 0 and 1 summing to at most 1"
                )


@dataclass(frozen=True, slots=True)
class PartsNetwork:
    """The parts master, the locations, the demand history, the fleet signal and the truth."""

    config: PartsConfig
    parts: pl.DataFrame  # the parts table
    locations: pl.DataFrame  # the parts_locations table
    demand: pl.DataFrame  # the parts_demand table (source "simulator")
    fleet_signal: pl.DataFrame  # part_number, location_id, month, expected, variance, source
    truth: pl.DataFrame  # part_number, location_id, month, source, cause, quantity (> 0)
    # the signal as issued over time (the parts_fleet_signal table): one vintage at the
    # history's start, one when the defect alert fires, one when the recall is announced
    vintages: pl.DataFrame = field(default_factory=pl.DataFrame)
    fitment: pl.DataFrame = field(default_factory=pl.DataFrame)  # the parts_fitment table


def add_months(d: date, n: int) -> date:
    k = d.year * 12 + d.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)


def _first_month(config: PartsConfig, as_of: date | None) -> date:
    if config.first_month is not None:
        return config.first_month
    if as_of is None:
        raise InputError("a population frame needs PartsConfig.first_month", hint="e.g. date(2023, 11, 1)")  # fmt: skip
    complete = add_months(as_of.replace(day=1), 1) == date.fromordinal(as_of.toordinal() + 1)
    last = as_of.replace(day=1) if complete else add_months(as_of.replace(day=1), -1)
    return add_months(last, 1 - config.months)


def _installed_base(
    rng: np.random.Generator, production: pl.DataFrame, locations: pl.DataFrame
) -> InstalledBase:
    sold = production.filter(pl.col("sale_date").is_not_null()).sort("vehicle_id")
    index = {loc: i for i, loc in enumerate(locations["location_id"])}
    market = sold["market"].to_numpy()
    dealer = np.zeros(sold.height, dtype=np.int64)
    for code in np.unique(market):
        ids = locations.filter((pl.col("market") == code) & (pl.col("kind") == "dealer"))
        here = np.flatnonzero(market == code)
        weights = rng.dirichlet(np.full(ids.height, 2.0))  # dealers differ in size
        dealer[here] = [index[i] for i in rng.choice(ids["location_id"].to_numpy(), len(here), p=weights)]  # fmt: skip
    km = sold["km_per_day"].to_numpy()
    known = "defective" in sold.columns  # a population frame may not know its defects
    defective = sold["defective"].to_numpy() if known else np.zeros(sold.height, bool)
    return InstalledBase(
        sale=sold["sale_date"].to_physical().to_numpy().astype(np.int64),
        build=sold["build_date"].to_physical().to_numpy().astype(np.int64),
        model=sold["model_id"].to_numpy(),
        powertrain=_powertrains(sold["model_id"]),
        km_per_day=km,
        limit=np.minimum(WARRANTY_MONTHS * DAYS_PER_MONTH, WARRANTY_KM / km),
        dealer=dealer,
        regional=np.array([index[f"RDC-{m}"] for m in market], dtype=np.int64),
        defective=defective,
    )


def _powertrains(models: pl.Series) -> np.ndarray:
    catalog = load_vehicle_models()
    return np.array([catalog[m].powertrain for m in models], dtype=object)


class _Issues:
    """The units issued, event by event, before they are counted by month."""

    def __init__(self, bounds: np.ndarray) -> None:
        self.bounds = bounds
        self.rows: list[pl.DataFrame] = []

    def add(self, part: str, loc: np.ndarray, day: np.ndarray, qty: float | np.ndarray, source: str, cause: str | np.ndarray) -> None:  # fmt: skip
        month = np.searchsorted(self.bounds, day, side="right") - 1
        keep = (month >= 0) & (month < len(self.bounds) - 1) & (loc >= 0)
        self.add_months(part, loc[keep], month[keep], np.broadcast_to(qty, day.shape)[keep], source, np.broadcast_to(cause, day.shape)[keep])  # fmt: skip

    def add_months(self, part: str, loc: np.ndarray, month: np.ndarray, qty: np.ndarray, source: str, cause: np.ndarray) -> None:  # fmt: skip
        if len(loc):
            frame = {"part_number": part, "loc": loc, "month_index": month, "quantity": qty.astype(np.float64), "source": source, "cause": cause.astype(str)}  # fmt: skip
            self.rows.append(pl.DataFrame(frame))


def _route(rng: np.random.Generator, base: InstalledBase, rows: np.ndarray, day: np.ndarray, source: str) -> np.ndarray:  # fmt: skip
    """Where each job is done: the dealer, the regional warehouse's trade customer, or -1."""
    share = dealer_share(day - base.sale[rows], base.limit[rows], source)
    u = rng.random(len(rows))
    regional = u < share + (1.0 - share) * OEM_SHARE_INDEPENDENT
    return np.where(u < share, base.dealer[rows], np.where(regional, base.regional[rows], -1))


def _repairs(rng: np.random.Generator, base: InstalledBase, part: CatalogPart, defect: SupplierDefect | None, issues: _Issues) -> None:  # fmt: skip
    component = COMPONENTS_BY_NAME[part.component]
    rows = np.flatnonzero(base.fits(part))
    life = component.alpha_days * (-np.log(rng.random(len(rows)))) ** (1.0 / AUTOMOTIVE_BETA)
    cause = np.full(len(rows), "wear", dtype=object)
    if defect is not None and defect.component == part.component:
        early = defect.alpha_days * (-np.log(rng.random(len(rows)))) ** (1.0 / defect.beta)
        use = base.defective[rows] & (early < life)
        life, cause = np.where(use, early, life), np.where(use, "defect", cause)
    day = base.sale[rows] + life
    while len(rows) and np.any(alive := day < issues.bounds[-1]):
        rows, day, cause = rows[alive], day[alive], cause[alive]
        issues.add(part.part_number, _route(rng, base, rows, day, "repair"), day, part.quantity, "repair", cause)  # fmt: skip
        day = day + component.alpha_days * (-np.log(rng.random(len(rows)))) ** (1.0 / AUTOMOTIVE_BETA)  # fmt: skip
        cause = np.full(len(rows), "wear", dtype=object)  # the new part has a normal life


def _services(rng: np.random.Generator, base: InstalledBase, part: CatalogPart, issues: _Issues) -> None:  # fmt: skip
    rows = np.flatnonzero(base.fits(part))
    sigma = part.wear_sd
    interval = service_interval(part, base.km_per_day[rows]) * rng.lognormal(-(sigma**2) / 2, sigma, len(rows))  # fmt: skip
    k = 1
    while np.any(base.sale[rows] + k * interval < issues.bounds[-1] + 3 * SERVICE_JITTER_DAYS):
        day = base.sale[rows] + k * interval + rng.normal(0.0, SERVICE_JITTER_DAYS, len(rows))
        done = rng.random(len(rows)) < part.take_rate
        loc = np.where(done, _route(rng, base, rows, day, "maintenance"), -1)
        issues.add(part.part_number, loc, day, part.quantity, "maintenance", "scheduled")
        k += 1


def _recall(rng: np.random.Generator, base: InstalledBase, part: CatalogPart, campaign: RecallCampaign, issues: _Issues) -> None:  # fmt: skip
    start = int(np.searchsorted(issues.bounds, _days(campaign.month), side="right")) - 1
    rows = np.flatnonzero(
        base.fits(part) & (base.model == campaign.model_id) & (base.sale < _days(campaign.month))
        & (base.build >= _days(campaign.build_from)) & (base.build <= _days(campaign.build_to))
    )  # fmt: skip
    offset = np.searchsorted(np.cumsum(campaign.take_up), rng.random(len(rows)), side="right")
    came = offset < len(campaign.take_up)
    month = start + offset[came]
    inside = (month >= 0) & (month < len(issues.bounds) - 1)
    issues.add_months(part.part_number, base.dealer[rows[came]][inside], month[inside], np.full(int(inside.sum()), float(part.quantity)), "campaign", np.full(int(inside.sum()), "recall"))  # fmt: skip


def _counter_sales(rng: np.random.Generator, base: InstalledBase, part: CatalogPart, locations: pl.DataFrame, scale: float, issues: _Issues) -> None:  # fmt: skip
    """Orders of one or more units: Poisson orders, geometric lot sizes (lumpy)."""
    months = len(issues.bounds) - 1
    fits = base.fits(part)
    sold_by = np.searchsorted(issues.bounds, base.sale[fits], side="right") - 1
    n_loc = locations.height
    counts = np.zeros((n_loc, months + 1))
    area = {m: c for c, markets in CENTRALS.items() for m in markets}
    index = {loc: i for i, loc in enumerate(locations["location_id"])}
    central = np.array([index[area[m]] for m in locations["market"]])
    for loc in (base.dealer[fits], base.regional[fits], central[base.regional[fits]]):
        np.add.at(counts, (loc, np.clip(sold_by, 0, months)), 1.0)
    fleet = np.cumsum(counts, axis=1)[:, :months]  # vehicles sold by each month, per location
    kinds = locations["kind"].to_list()
    rate = np.array([COUNTER_RATE[k] for k in kinds])[:, None] * part.counter_rate * scale * fleet / 1000  # fmt: skip
    lot = np.array([COUNTER_LOT[k] for k in kinds])[:, None] * part.lot_mean
    orders = rng.poisson(rate)
    extra = rng.negative_binomial(np.maximum(orders, 1), 1.0 / np.broadcast_to(lot, orders.shape))
    qty = orders + np.where(orders > 0, extra, 0)
    loc, month = np.nonzero(qty)
    issues.add_months(part.part_number, loc, month, qty[loc, month], "other", np.full(len(loc), "counter"))  # fmt: skip


def _days(d: date) -> int:
    return (d - EPOCH).days


def generate_parts_network(
    history: WarrantyHistory | pl.DataFrame,
    config: PartsConfig | None = None,
    *,
    defect: SupplierDefect | None = None,
) -> PartsNetwork:
    """The parts network of a warranty history's vehicles (same seed, same network).

    ``history`` may also be a production frame (``vehicle_id, model_id, market,
    build_date, sale_date, km_per_day[, defective]``); its ``defect`` is then
    passed apart, and ``config.first_month`` is required.
    """
    config = config or PartsConfig()
    config.validate()
    if isinstance(history, WarrantyHistory):
        production, defect, as_of = history.production, history.config.defect, history.config.as_of
    else:
        production, as_of = history, None
    rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(0x9A27,)))
    first = _first_month(config, as_of)
    months = [add_months(first, i) for i in range(config.months + config.horizon_months)]
    bounds = np.array([_days(m) for m in [*months, add_months(first, len(months))]], dtype=np.float64)  # fmt: skip
    locations = locations_frame(config.dealers_per_market)
    base = _installed_base(rng, production.filter(pl.col("market").is_in(list(MARKETS))), locations)
    catalog = catalog_parts()
    successors = {CABIN_CHAIN[0]: tuple(zip(config.supersession_months, CABIN_CHAIN[1:], strict=True))}  # fmt: skip
    issues = _Issues(bounds[: config.months + 1])
    for part in catalog:
        if part.kind == "repair":
            _repairs(rng, base, part, defect, issues)
        elif part.kind == "maintenance":
            _services(rng, base, part, issues)
        if config.campaign is not None and config.campaign.component == part.component:
            _recall(rng, base, part, config.campaign, issues)
        if config.counter_sales > 0:
            _counter_sales(rng, base, part, locations, config.counter_sales, issues)
    ids = locations["location_id"]
    truth = _truth(issues, ids, months, successors)
    signal = fleet_signal(
        base, catalog, ids.to_list(), months, bounds, defect=defect,
        known_from=config.defect_known_from, campaign=config.campaign, successors=successors,
    )  # fmt: skip
    demand = _demand_panel(truth, months[: config.months], config.supersession_months)

    def recompute(parts: list[CatalogPart], known: date | None, campaign: RecallCampaign | None) -> pl.DataFrame:  # fmt: skip
        return fleet_signal(
            base, parts, ids.to_list(), months, bounds, defect=defect, known_from=known,
            campaign=campaign, successors=successors,
        )  # fmt: skip

    vintages = _vintages(config, months, catalog, defect, signal, recompute)
    return PartsNetwork(config, parts_frame(catalog), locations, demand, signal, truth, vintages, fitment_frame(catalog))


def _vintages(
    config: PartsConfig,
    months: list[date],
    catalog: tuple[CatalogPart, ...],
    defect: SupplierDefect | None,
    signal: pl.DataFrame,
    recompute: Callable[[list[CatalogPart], date | None, RecallCampaign | None], pl.DataFrame],
) -> pl.DataFrame:
    """The signal as the fleet issued it: each vintage knows only what was known then.

    The full-knowledge ``signal`` differs from an earlier vintage only in the parts
    of the defect's component (before the alert) and of the campaign's (before its
    announcement), so only those are computed again.
    """
    first, last = months[0], months[config.months - 1]
    known = config.defect_known_from if defect is not None else None
    campaign = config.campaign
    announced = None if campaign is None else add_months(campaign.month, -config.campaign_notice_months)  # fmt: skip
    dates = sorted({first, *(d for d in (known, announced) if d is not None and first < d <= last)})
    frames = []
    for issued in dates:
        knows_defect = known is not None and known <= issued
        knows_campaign = announced is not None and announced <= issued
        unknown = {c for c, knows in (
            (defect.component if defect is not None and known is not None else None, knows_defect),
            (campaign.component if campaign is not None else None, knows_campaign),
        ) if c is not None and not knows}  # fmt: skip
        frame = signal
        if unknown:
            redo = [p for p in catalog if p.component in unknown]
            numbers = [p.part_number for p in redo]
            fresh = recompute(redo, known if knows_defect else None, campaign if knows_campaign else None)  # fmt: skip
            frame = pl.concat([signal.filter(~pl.col("part_number").is_in(numbers)), fresh])
        frames.append(frame.with_columns(pl.lit(issued, dtype=pl.Date).alias("issued")))
    keys = ["part_number", "location_id", "month", "issued", "source"]
    return pl.concat(frames).select(*keys, "expected", "variance").sort(keys)


def _truth(issues: _Issues, ids: pl.Series, months: list[date], successors: dict[str, tuple[tuple[int, str], ...]]) -> pl.DataFrame:  # fmt: skip
    keys = ["part_number", "location_id", "month", "source", "cause"]
    if not issues.rows:
        return pl.DataFrame(schema={**dict.fromkeys(keys, pl.String), "month": pl.Date, "quantity": pl.Float64})  # fmt: skip
    where = pl.DataFrame({"loc": np.arange(len(ids)), "location_id": ids})
    when = pl.DataFrame({"month_index": np.arange(len(months)), "month": pl.Series(months, dtype=pl.Date)})  # fmt: skip
    return (
        pl.concat(issues.rows)
        .with_columns(successor(successors))
        .join(where, on="loc")
        .join(when, on="month_index")
        .group_by(keys)
        .agg(pl.col("quantity").sum())
        .sort(keys)
    )


def _demand_panel(truth: pl.DataFrame, months: list[date], switches: tuple[int, ...]) -> pl.DataFrame:  # fmt: skip
    """One row per part, location and month the part is current, zeros included."""
    span = {p: (0, len(months)) for p in truth["part_number"].unique()}
    edges = (0, *switches, len(months))
    for i, number in enumerate(CABIN_CHAIN):
        span[number] = (edges[i], edges[i + 1])
    grid = pl.DataFrame(
        [(p, months[m]) for p, (lo, hi) in span.items() for m in range(lo, hi)],
        schema={"part_number": pl.String, "month": pl.Date},
        orient="row",
    )
    totals = truth.group_by("part_number", "location_id", "month").agg(pl.col("quantity").sum())
    series = totals.select("part_number", "location_id").unique()
    return (
        series.join(grid, on="part_number")
        .join(totals, on=["part_number", "location_id", "month"], how="left")
        .with_columns(pl.col("quantity").fill_null(0.0), pl.lit(SOURCE).alias("source"))
        .sort("part_number", "location_id", "month")
    )


def write_parts_csv(network: PartsNetwork, directory: Path) -> dict[str, Path]:
    """The ERP export of the network: parts.csv, locations.csv, demand.csv (module docstring)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {name: directory / f"{name}.csv" for name in ("parts", "locations", "demand", "fitment")}
    network.parts.write_csv(paths["parts"])
    network.fitment.write_csv(paths["fitment"])
    network.locations.write_csv(paths["locations"])
    network.demand.drop("source").write_csv(paths["demand"])
    return paths
