"""Who is in the simulated fleet: models, markets, VINs, pseudonymous ids, software."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from drivetrain.catalog import VehicleModel, load_vehicle_models
from drivetrain.demo.markets import MARKETS
from drivetrain.errors import InputError
from drivetrain.fleet import EcuSoftware, VehicleRecord, make_vin
from drivetrain.governance.pseudonyms import PseudonymKey

ECUS = {
    "ice": ("ECM", "TCM", "BCM", "ABS", "TCU"),
    "hev": ("ECM", "HCU", "BECM", "BCM", "ABS", "TCU"),
    "phev": ("ECM", "HCU", "BECM", "OBC", "BCM", "ABS", "TCU"),
    "bev": ("VCU", "BECM", "OBC", "INV", "BCM", "ABS", "TCU"),
}
VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


@dataclass(frozen=True, slots=True)
class Fleet:
    """The simulated vehicles, in order, with the index of each one's model."""

    records: list[VehicleRecord]
    models: list[VehicleModel]
    model_index: np.ndarray

    @property
    def vehicle_ids(self) -> list[str]:
        return [r.vehicle_id for r in self.records]

    @property
    def markets(self) -> list[str]:
        return [r.market for r in self.records]


def select_models(
    brands: tuple[str, ...] | None = None, model_ids: tuple[str, ...] | None = None
) -> list[VehicleModel]:
    """The vehicle models to simulate, optionally narrowed by brand or model id."""
    catalog = load_vehicle_models()
    models = sorted(catalog.values(), key=lambda m: m.id)
    if brands:
        known = {m.brand.lower() for m in models}
        unknown = [b for b in brands if b.lower() not in known]
        if unknown:
            raise InputError(
                f"unknown brand(s): {', '.join(unknown)}",
                hint=f"known brands: {', '.join(sorted({m.brand for m in models}))}",
            )
        models = [m for m in models if m.brand.lower() in {b.lower() for b in brands}]
    if model_ids:
        unknown = [i for i in model_ids if i not in catalog]
        if unknown:
            raise InputError(
                f"unknown vehicle model(s): {', '.join(unknown)}",
                hint=f"known models: {', '.join(sorted(catalog))}",
            )
        models = [m for m in models if m.id in model_ids]
    if not models:
        raise InputError("the brand and model filters leave no vehicle model to simulate")
    return models


def build_fleet(
    rng: np.random.Generator,
    n: int,
    models: list[VehicleModel],
    start: datetime,
    pseudonyms: PseudonymKey | None = None,
) -> Fleet:
    """Draw ``n`` vehicles: model, market, model year, a valid VIN, an opaque id, ECU software.

    With ``pseudonyms`` the id is the keyed hash of the VIN (as for real vehicles);
    without, a random opaque id (for tests that compare runs across data directories).
    """
    if n <= 0:
        raise InputError(f"fleet size must be positive, got {n}")
    model_index = rng.integers(0, len(models), n)
    records = []
    serials = rng.choice(1_000_000, size=n, replace=False)
    for i in range(n):
        model = models[model_index[i]]
        market = model.markets[rng.integers(len(model.markets))]
        first, last = model.model_years
        year = int(rng.integers(first, min(last, start.year + 1) + 1))
        vds = "".join(rng.choice(list(VIN_ALPHABET), 5))
        plant = str(rng.choice(list(VIN_ALPHABET)))
        vin = make_vin(model.wmi, vds, year, plant, f"{serials[i]:06d}")
        opaque = f"veh_{rng.integers(0, 1 << 48):012x}"  # drawn always: same stream either way
        vehicle_id = pseudonyms.vehicle_id(vin) if pseudonyms else opaque
        software = tuple(
            EcuSoftware(
                ecu=ecu,
                hardware_part=f"{model.wmi}-{ecu}-{rng.integers(1000, 9999)}",
                software_version=f"{year % 100}.{rng.integers(1, 12)}.{rng.integers(0, 9)}",
                installed_at=start - timedelta(days=int(rng.integers(30, 700))),
            )
            for ecu in ECUS[model.powertrain]
        )
        records.append(
            VehicleRecord(
                vehicle_id=vehicle_id,
                vin=vin,
                brand=model.brand,
                model_id=model.id,
                model_name=model.name,
                model_year=year,
                platform=model.platform,
                market=market,
                region=MARKETS[market].region,
                powertrain=model.powertrain,
                software=software,
            )
        )
    return Fleet(records, models, model_index)


def utc_midnight(day: datetime) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
