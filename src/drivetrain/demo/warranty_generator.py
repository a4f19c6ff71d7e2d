"""The simulator's warranty history: production, sales and claims of the simulated programs.

A program builds each vehicle model month after month; every vehicle is sold
to a market after a lag, drives its own daily distance, and each of its
components fails at a Weibull age (``drivetrain.demo.warranty_parts``). A
failure inside the warranty (36 months or 100,000 km, whichever comes first)
becomes a claim at a dealer of its market, with labour and part codes, the
failure code, a cost and a technician's comment. Now and then a workshop
replaces the wrong part first (a repeat claim follows) or a repair does not
hold.

Two things tie the history to the rest of the simulation:

* a **supplier defect** (:class:`SupplierDefect`): a bad lot of one part fitted
  to one model over a build-date window; a share of those vehicles carries a
  defective part that fails early (shape and share calibrated on
  ``reliability``'s ``Datasets.defective_sample``). Its ground truth is kept
  (``defective`` in the production frame) so the early-warning detector can
  be scored;
* the **connected fleet**: the telemetry fleet's vehicles are in production
  too (built in their model year), and a fault the telemetry simulator
  injected into one of them (``sim_faults``) becomes a claim for the part a
  workshop replaces for it, days after its onset, while under warranty.

The output is what dealer and ERP systems export, keyed by VIN:
:func:`write_production_csv` and :func:`write_claims_csv` write the files
``drivetrain warranty import`` reads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from drivetrain.catalog import VehicleModel, load_vehicle_models
from drivetrain.demo.fleet_builder import VIN_ALPHABET
from drivetrain.demo.markets import MARKETS
from drivetrain.demo.warranty_parts import (
    AUTOMOTIVE_BETA,
    COMPONENTS,
    COMPONENTS_BY_NAME,
    DAYS_PER_MONTH,
    DEALERS,
    DEFECTIVE_SAMPLE_ALPHA,
    DEFECTIVE_SAMPLE_BETA,
    DEFECTIVE_SAMPLE_DS,
    FAULT_COMPONENTS,
    PLANTS,
    WARRANTY_KM,
    WARRANTY_MONTHS,
    Component,
)
from drivetrain.errors import InputError
from drivetrain.fleet import VehicleRecord, make_vin
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.ingest.warranty_records import CLAIM_COLUMNS, PRODUCTION_COLUMNS

MISREPAIR_SHARE = 0.15  # first visit replaces the wrong part
REPEAT_SHARE = 0.05  # the right part, but the repair does not hold
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class SupplierDefect:
    """A bad supplier lot: which part, in which model, built when, and how bad."""

    component: str = "thermostat"
    model_id: str = "fiat-tipo"
    build_from: date = date(2024, 2, 1)
    build_to: date = date(2024, 4, 30)
    supplier_lot: str = "LOT-TH-2402-B"
    defective_share: float = DEFECTIVE_SAMPLE_DS
    alpha_days: float = DEFECTIVE_SAMPLE_ALPHA
    beta: float = DEFECTIVE_SAMPLE_BETA


@dataclass(frozen=True, slots=True)
class WarrantyConfig:
    """What to generate: build period, production rate, analysis date, the defect."""

    seed: int = 7
    build_from: date = date(2023, 1, 1)
    build_to: date = date(2024, 6, 30)
    per_model_month: int = 300
    as_of: date = date(2026, 10, 31)
    defect: SupplierDefect | None = field(default_factory=SupplierDefect)
    currency: str = "EUR"
    models: tuple[str, ...] | None = None

    def validate(self) -> None:
        if self.build_to < self.build_from:
            raise InputError(f"build_to {self.build_to} is before build_from {self.build_from}")
        if self.per_model_month < 1:
            raise InputError(f"per_model_month must be positive, got {self.per_model_month}")
        if self.as_of < self.build_from:
            raise InputError(f"as_of {self.as_of} is before production starts ({self.build_from})")
        if self.defect and self.defect.component not in COMPONENTS_BY_NAME:
            raise InputError(
                f"unknown component {self.defect.component!r} for the supplier defect",
                hint=f"one of {', '.join(COMPONENTS_BY_NAME)}",
            )


@dataclass(frozen=True, slots=True)
class WarrantyHistory:
    """Production and claims, with the ground truth of each."""

    config: WarrantyConfig
    production: pl.DataFrame  # + vin, connected, defective, km_per_day
    claims: pl.DataFrame  # + vin, cause (background, defect, fault, misrepair, repeat)


def _days(d: date) -> int:
    return (d - EPOCH).days


def _month_starts(first: date, last: date) -> list[date]:
    months, d = [], date(first.year, first.month, 1)
    while d <= last:
        months.append(d)
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return months


def _population(
    rng: np.random.Generator, config: WarrantyConfig, models: list[VehicleModel]
) -> dict[str, np.ndarray]:
    """The vehicles each model's plants build in the build period, day by day."""
    columns: dict[str, list[np.ndarray]] = {k: [] for k in ("model", "build", "my")}
    months = _month_starts(config.build_from, config.build_to)
    for m, model in enumerate(models):
        for start in months:
            end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
            lo, hi = (
                max(_days(start), _days(config.build_from)),
                min(_days(end), _days(config.build_to) + 1),
            )
            n = int(rng.poisson(config.per_model_month * (hi - lo) / (_days(end) - _days(start))))
            year = start.year + (start.month >= 7)  # the model year changes in July
            first, last = model.model_years
            if not first <= year <= last or n == 0:
                continue
            columns["model"].append(np.full(n, m))
            columns["build"].append(np.sort(rng.integers(lo, hi, n)))
            columns["my"].append(np.full(n, year))
    return {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in columns.items()}


def _connected(
    rng: np.random.Generator,
    records: Sequence[VehicleRecord],
    index: dict[str, int],
    as_of: date,
) -> dict[str, np.ndarray]:
    """The telemetry fleet's vehicles: built in their model year (July to June)."""
    model = np.array([index[r.model_id] for r in records], dtype=np.int64)
    my = np.array([r.model_year for r in records], dtype=np.int64)
    lo = np.array([_days(date(y - 1, 7, 1)) for y in my], dtype=np.int64)
    hi = np.minimum(np.array([_days(date(y, 6, 30)) for y in my]), _days(as_of) - 60)
    build = lo + (rng.random(len(records)) * np.maximum(hi - lo, 1)).astype(np.int64)
    return {"model": model, "build": build, "my": my}


def _vins(
    rng: np.random.Generator, models: list[VehicleModel], model: np.ndarray, my: np.ndarray,
    plant_codes: list[str], taken: set[str],
) -> list[str]:  # fmt: skip
    vins: list[str] = []
    serial = 100_000 + int(rng.integers(0, 50_000))
    letters = list(VIN_ALPHABET)
    for m, year, plant in zip(model, my, plant_codes, strict=True):
        while True:
            serial += 1
            vds = "".join(rng.choice(letters, 5))
            vin = make_vin(models[m].wmi, vds, int(year), plant, f"{serial % 1_000_000:06d}")
            if vin not in taken:
                taken.add(vin)
                vins.append(vin)
                break
    return vins


def _plant_code(name: str) -> str:
    letter = name[0].upper()
    return letter if letter in VIN_ALPHABET else "A"


def generate_warranty(
    config: WarrantyConfig,
    *,
    connected: Sequence[VehicleRecord] = (),
    faults: pl.DataFrame | None = None,
    pseudonyms: PseudonymKey | None = None,
) -> WarrantyHistory:
    """Production, sales and claims up to ``config.as_of`` (same seed, same history).

    ``connected`` are the telemetry fleet's vehicles and ``faults`` its
    ``sim_faults`` table (``vehicle_id, fault, onset_ts``); with ``pseudonyms``
    vehicle ids are the keyed hashes of the VINs, as ingestion makes them.
    """
    config.validate()
    rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(0x3A77,)))
    catalog = load_vehicle_models()
    wanted = sorted(config.models or catalog)
    unknown = [m for m in wanted if m not in catalog]
    if unknown:
        raise InputError(f"unknown vehicle model(s): {', '.join(unknown)}")
    models = [catalog[m] for m in wanted]
    models += [catalog[r.model_id] for r in connected if r.model_id not in wanted]
    models = list({m.id: m for m in models}.values())
    index = {m.id: i for i, m in enumerate(models)}
    built = _population(rng, config, models)
    linked = _connected(rng, connected, index, config.as_of)
    n_built, n = len(built["model"]), len(built["model"]) + len(connected)
    model = np.concatenate([built["model"], linked["model"]]).astype(np.int64)
    build = np.concatenate([built["build"], linked["build"]]).astype(np.int64)
    my = np.concatenate([built["my"], linked["my"]]).astype(np.int64)
    plants = [str(rng.choice(list(PLANTS[models[m].id]))) for m in model]
    markets = [str(rng.choice(list(models[m].markets))) for m in model[:n_built]]
    markets += [r.market for r in connected]
    taken = {r.vin for r in connected}
    vins = _vins(rng, models, model[:n_built], my[:n_built], [_plant_code(p) for p in plants[:n_built]], taken)  # fmt: skip
    vins += [r.vin for r in connected]
    sale = build + 7 + rng.gamma(2.0, 25.0, n).astype(np.int64)
    sold = sale <= _days(config.as_of)
    km_per_day = np.exp(rng.normal(math.log(40.0), 0.45, n))
    defective = np.zeros(n, dtype=bool)
    defect = config.defect
    if defect is not None and defect.model_id in index:
        in_lot = (
            (model == index[defect.model_id])
            & (build >= _days(defect.build_from))
            & (build <= _days(defect.build_to))
        )
        defective = in_lot & (rng.random(n) < defect.defective_share)
    ids = [pseudonyms.vehicle_id(v) if pseudonyms else f"veh_{v.lower()}" for v in vins[:n_built]]
    ids += [r.vehicle_id for r in connected]  # the registry's ids: the lake's key
    production = pl.DataFrame(
        {
            "vin": vins,
            "vehicle_id": ids,
            "brand": [models[m].brand for m in model],
            "model_id": [models[m].id for m in model],
            "model_year": my.astype(np.int32),
            "plant": plants,
            "build_date": build.astype("datetime64[D]"),
            "sale_date": np.where(sold, sale, 0).astype("datetime64[D]"),
            "market": markets,
            "region": [MARKETS[m].region for m in markets],
            "connected": np.arange(n) >= n_built,
            "defective": defective,
            "km_per_day": km_per_day,
        }
    ).with_columns(
        pl.when(pl.Series(sold)).then(pl.col("sale_date")).otherwise(None).alias("sale_date")
    )
    claims = _claims(rng, config, models, model, sale, sold, km_per_day, defective, faults, ids)
    frame = _claim_frame(rng, config, claims, production)
    return WarrantyHistory(config, production, frame)


def _claims(
    rng: np.random.Generator,
    config: WarrantyConfig,
    models: list[VehicleModel],
    model: np.ndarray,
    sale: np.ndarray,
    sold: np.ndarray,
    km_per_day: np.ndarray,
    defective: np.ndarray,
    faults: pl.DataFrame | None,
    ids: list[str],
) -> list[tuple[int, str, int, str]]:
    """(vehicle index, component, repair day, cause) of every failure under warranty."""
    limit = np.minimum(WARRANTY_MONTHS * DAYS_PER_MONTH, WARRANTY_KM / km_per_day)
    horizon = _days(config.as_of) - sale
    powertrain = np.array([models[m].powertrain for m in model])
    found: list[tuple[int, str, int, str]] = []
    for component in COMPONENTS:
        eligible = sold & np.isin(powertrain, component.powertrains)
        age = component.alpha_days * (-np.log(rng.random(len(sale)))) ** (1.0 / AUTOMOTIVE_BETA)
        cause = np.full(len(sale), "background", dtype=object)
        if config.defect is not None and config.defect.component == component.name:
            d = config.defect
            early = d.alpha_days * (-np.log(rng.random(len(sale)))) ** (1.0 / d.beta)
            use = defective & (early < age)
            age, cause = np.where(use, early, age), np.where(use, "defect", cause)
        hit = eligible & (age < limit) & (age <= horizon)
        found += [
            (int(v), component.name, int(sale[v] + age[v]), str(cause[v]))
            for v in np.flatnonzero(hit)
        ]
    if faults is not None and len(faults):
        at = {vid: i for i, vid in enumerate(ids)}
        for vid, fault, onset in faults.select("vehicle_id", "fault", "onset_ts").iter_rows():
            part, v = FAULT_COMPONENTS.get(fault), at.get(vid)
            if part is None or v is None or not sold[v]:
                continue
            day = _days(onset.date()) + int(rng.integers(2, 15))
            if day - sale[v] < limit[v] and day <= _days(config.as_of):
                found.append((v, part, day, "fault"))
    return found


def _claim_frame(
    rng: np.random.Generator,
    config: WarrantyConfig,
    failures: list[tuple[int, str, int, str]],
    production: pl.DataFrame,
) -> pl.DataFrame:
    """The claims of ``failures``, with wrong first repairs and repairs that did not hold."""
    rows: list[tuple[int, Component, int, str, Component]] = []
    for v, name, day, cause in failures:
        component = COMPONENTS_BY_NAME[name]
        if component.misrepair and rng.random() < MISREPAIR_SHARE:
            wrong = COMPONENTS_BY_NAME[component.misrepair]
            rows.append((v, wrong, day, "misrepair", component))
            day += int(rng.integers(10, 46))
        rows.append((v, component, day, cause, component))
        if rng.random() < REPEAT_SHARE:
            rows.append((v, component, day + int(rng.integers(20, 121)), "repeat", component))
    end = _days(config.as_of)
    vins = production["vin"].to_list()
    ids = production["vehicle_id"].to_list()
    markets = production["market"].to_list()
    regions = production["region"].to_list()
    sale = production["sale_date"].to_physical().to_numpy()
    km = production["km_per_day"].to_numpy()
    records = []
    for v, part, day, cause, symptom_of in rows:
        lag = int(rng.geometric(0.15))
        if day + lag > end:
            continue  # repaired but not yet claimed by the analysis date
        code = str(rng.choice(list(part.failure_codes)))
        comment = (
            f"Cust states {rng.choice(list(symptom_of.symptoms))}. "
            f"{_sentence(str(rng.choice(list(part.findings))))}. "
            f"{_sentence(str(rng.choice(list(part.actions))))}."
        )
        records.append(
            {
                "vin": vins[v],
                "vehicle_id": ids[v],
                "repair_date": EPOCH + timedelta(days=day),
                "claim_date": EPOCH + timedelta(days=day + lag),
                "mileage_km": round(float((day - sale[v]) * km[v] * rng.uniform(0.9, 1.1)), 0),
                "labour_code": part.labour_code,
                "part_number": part.part_number,
                "causal_part": part.name,
                "failure_code": code,
                "cost": round(float(part.cost_eur * rng.lognormal(0.0, 0.25)), 2),
                "currency": config.currency,
                "dealer": str(rng.choice(list(DEALERS[markets[v]]))),
                "region": regions[v],
                "comment": comment,
                "cause": cause,
            }
        )
    frame = pl.DataFrame(records, schema=_CLAIM_SCHEMA, orient="row") if records else _empty()
    frame = frame.sort("claim_date", "vin", "causal_part")
    return frame.with_columns(
        (
            pl.lit("WC-")
            + pl.col("claim_date").dt.year().cast(pl.String)
            + pl.lit("-")
            + pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(6)
        ).alias("claim_id")
    ).select("claim_id", *_CLAIM_SCHEMA)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


_CLAIM_SCHEMA: dict[str, type[pl.DataType] | pl.DataType] = {
    "vin": pl.String,
    "vehicle_id": pl.String,
    "repair_date": pl.Date,
    "claim_date": pl.Date,
    "mileage_km": pl.Float64,
    "labour_code": pl.String,
    "part_number": pl.String,
    "causal_part": pl.String,
    "failure_code": pl.String,
    "cost": pl.Float64,
    "currency": pl.String,
    "dealer": pl.String,
    "region": pl.String,
    "comment": pl.String,
    "cause": pl.String,
}


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=_CLAIM_SCHEMA)


def write_production_csv(history: WarrantyHistory, path: Path) -> Path:
    """The production and sales export (ERP), keyed by VIN: what ``warranty import`` reads."""
    history.production.select(PRODUCTION_COLUMNS).write_csv(path)
    return path


def write_claims_csv(history: WarrantyHistory, path: Path, *, dirty: bool = False) -> Path:
    """The dealers' claims export, keyed by VIN; ``dirty`` adds the bad rows a real export has
    (a repair before the sale, negative mileage, an unknown vehicle, a duplicate claim, a
    cost in another currency, a malformed VIN), each of which import must quarantine."""
    frame = history.claims.select(CLAIM_COLUMNS)
    if dirty and frame.height:
        frame = pl.concat([frame, _dirty_rows(history, frame)])
    frame.write_csv(path)
    return path


def _dirty_rows(history: WarrantyHistory, frame: pl.DataFrame) -> pl.DataFrame:
    first = frame.row(0, named=True)
    sale = history.production.filter(pl.col("vin") == first["vin"])["sale_date"][0]
    unknown = make_vin("ZFA", "BBBBB", 2024, "B", "999999")
    bad: list[dict[str, object]] = [
        first | {"claim_id": "WC-BAD-1", "repair_date": sale - timedelta(days=20)},
        first | {"claim_id": "WC-BAD-2", "mileage_km": -1200.0},
        first | {"claim_id": "WC-BAD-3", "vin": unknown},
        first | {"claim_id": "WC-BAD-4"},  # the same repair claimed twice
        first | {"claim_id": "WC-BAD-5", "currency": "USD", "cost": first["cost"] * 1.08},
        first | {"claim_id": "WC-BAD-6", "vin": "NOT-A-VIN"},
    ]
    return pl.DataFrame(bad, schema=frame.schema)
