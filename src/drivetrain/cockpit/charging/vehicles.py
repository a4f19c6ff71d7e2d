"""Electric-vehicle parameters for the energy model and the charging curve.

The catalog's vehicle models carry the usable battery capacity
(``battery_net_kwh``) but not the road-load and charging data a planner needs,
so this module keeps a small table of published-ish figures for common BEVs.
Where the catalog has the model (``tesla-model-3``), its capacity wins over the
table's. Sources, per vehicle, in the comments: manufacturer data sheets and
type-approval documents for mass and drag, ev-database.org and Fastned's
published charging curves for the DC curves (read off their plots at 25 °C,
rounded to 5 kW). They are approximations for planning, not homologation
values.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from drivetrain.catalog.vehicle_models import load_vehicle_models
from drivetrain.errors import InputError, NotFound


@dataclass(frozen=True)
class EVParameters:
    """What the energy model needs to know about one electric vehicle.

    ``dc_curve`` is the DC charging power into the battery (kW) against state of
    charge (%), piecewise linear, at a warm battery and an unlimited charger.
    """

    model_id: str
    name: str
    usable_kwh: float
    mass_kg: float  # kerb mass plus a driver and some luggage
    cda_m2: float  # drag coefficient times frontal area
    crr: float  # rolling-resistance coefficient
    drivetrain_efficiency: float  # battery to wheel
    regen_efficiency: float  # wheel to battery on descents
    aux_kw: float  # electronics, pumps, fans: always on
    heating_kw_per_k: float  # cabin heating per kelvin below 18 °C (lower with a heat pump)
    cooling_kw_per_k: float  # air conditioning per kelvin above 24 °C
    cold_loss_per_k: float  # extra battery losses per kelvin below 20 °C
    dc_max_kw: float
    ac_max_kw: float  # the on-board charger
    dc_curve: tuple[tuple[float, float], ...]
    cruise_kmh: float = 130.0  # never planned faster than this, whatever the limit

    def __post_init__(self) -> None:
        socs = [s for s, _ in self.dc_curve]
        if socs != sorted(socs) or socs[0] != 0.0 or socs[-1] != 100.0:
            raise InputError(
                f"{self.model_id}: the DC charging curve must run from 0 to 100 % SoC in order",
                hint="give (soc_pct, kW) points such as ((0, 80), (50, 120), (100, 10))",
            )
        if any(p <= 0 for _, p in self.dc_curve):
            raise InputError(f"{self.model_id}: the DC charging curve needs powers above 0 kW")
        for name in ("usable_kwh", "mass_kg", "cda_m2", "crr", "dc_max_kw", "ac_max_kw"):
            if not getattr(self, name) > 0:
                raise InputError(f"{self.model_id}: {name} must be positive")
        if not (0 < self.drivetrain_efficiency <= 1 and 0 <= self.regen_efficiency <= 1):
            raise InputError(f"{self.model_id}: efficiencies are fractions in (0, 1]")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "usable_kwh": self.usable_kwh,
            "mass_kg": self.mass_kg,
            "cda_m2": self.cda_m2,
            "crr": self.crr,
            "drivetrain_efficiency": self.drivetrain_efficiency,
            "regen_efficiency": self.regen_efficiency,
            "aux_kw": self.aux_kw,
            "heating_kw_per_k": self.heating_kw_per_k,
            "cooling_kw_per_k": self.cooling_kw_per_k,
            "cold_loss_per_k": self.cold_loss_per_k,
            "dc_max_kw": self.dc_max_kw,
            "ac_max_kw": self.ac_max_kw,
            "dc_curve": [list(point) for point in self.dc_curve],
            "cruise_kmh": self.cruise_kmh,
        }


_TABLE: tuple[EVParameters, ...] = (
    # Tesla Model 3 RWD (LFP, 2021-23): 1,765 kg kerb; Cd 0.23 x 2.22 m2; 170 kW peak
    # (Tesla, ev-database.org); heat pump. Capacity from the catalog (57.5 kWh).
    EVParameters(
        model_id="tesla-model-3", name="Tesla Model 3 RWD", usable_kwh=57.5, mass_kg=1850,
        cda_m2=0.51, crr=0.0085, drivetrain_efficiency=0.90, regen_efficiency=0.70,
        aux_kw=0.35, heating_kw_per_k=0.06, cooling_kw_per_k=0.10, cold_loss_per_k=0.004,
        dc_max_kw=170, ac_max_kw=11,
        dc_curve=((0, 100), (10, 170), (25, 160), (40, 120), (50, 100), (60, 80), (70, 60),
                  (80, 45), (90, 28), (100, 10)),
    ),
    # Hyundai Ioniq 5 Long Range (77.4 kWh, 800 V): 1,985 kg; Cd 0.288 x 2.6 m2; ~235 kW
    # peak on 350 kW chargers (Hyundai; Fastned curve), 10-80 % in about 18 min.
    EVParameters(
        model_id="hyundai-ioniq-5", name="Hyundai Ioniq 5 77 kWh", usable_kwh=74.0,
        mass_kg=2070, cda_m2=0.75, crr=0.0090, drivetrain_efficiency=0.89,
        regen_efficiency=0.70, aux_kw=0.40, heating_kw_per_k=0.07, cooling_kw_per_k=0.10,
        cold_loss_per_k=0.004, dc_max_kw=235, ac_max_kw=11,
        dc_curve=((0, 150), (10, 230), (50, 225), (65, 200), (75, 175), (80, 120), (85, 65),
                  (90, 40), (100, 12)),
    ),
    # Volkswagen ID.3 Pro (58 kWh net): 1,812 kg; Cd 0.267 x 2.36 m2; 120 kW peak
    # (Volkswagen; ev-database.org); resistive heater.
    EVParameters(
        model_id="volkswagen-id3", name="Volkswagen ID.3 Pro", usable_kwh=58.0, mass_kg=1890,
        cda_m2=0.63, crr=0.0090, drivetrain_efficiency=0.88, regen_efficiency=0.65,
        aux_kw=0.35, heating_kw_per_k=0.10, cooling_kw_per_k=0.10, cold_loss_per_k=0.005,
        dc_max_kw=120, ac_max_kw=11,
        dc_curve=((0, 80), (5, 110), (15, 120), (35, 115), (50, 95), (60, 80), (70, 65),
                  (80, 50), (90, 30), (100, 11)),
    ),
    # Peugeot e-208 (50 kWh gross, 46.3 net): 1,455 kg; Cd 0.29 x 2.2 m2; 100 kW peak
    # (Stellantis; ev-database.org); no heat pump.
    EVParameters(
        model_id="peugeot-e-208", name="Peugeot e-208", usable_kwh=46.3, mass_kg=1540,
        cda_m2=0.64, crr=0.0095, drivetrain_efficiency=0.87, regen_efficiency=0.65,
        aux_kw=0.30, heating_kw_per_k=0.11, cooling_kw_per_k=0.09, cold_loss_per_k=0.005,
        dc_max_kw=100, ac_max_kw=11,
        dc_curve=((0, 80), (10, 100), (20, 100), (35, 80), (50, 60), (60, 50), (80, 30),
                  (90, 20), (100, 7)),
    ),
    # Fiat 500e 42 kWh (37.3 net): 1,365 kg; Cd 0.311 x 2.1 m2; 85 kW peak
    # (Stellantis; ev-database.org); no heat pump.
    EVParameters(
        model_id="fiat-500e", name="Fiat 500e 42 kWh", usable_kwh=37.3, mass_kg=1450,
        cda_m2=0.65, crr=0.0095, drivetrain_efficiency=0.87, regen_efficiency=0.65,
        aux_kw=0.30, heating_kw_per_k=0.10, cooling_kw_per_k=0.09, cold_loss_per_k=0.005,
        dc_max_kw=85, ac_max_kw=11,
        dc_curve=((0, 70), (10, 85), (30, 80), (50, 65), (70, 45), (80, 35), (90, 20),
                  (100, 7)),
    ),
)  # fmt: skip


@cache
def _known() -> dict[str, EVParameters]:
    catalog = load_vehicle_models()
    known: dict[str, EVParameters] = {}
    for params in _TABLE:
        model = catalog.get(params.model_id)
        if model is not None and model.battery_net_kwh is not None:
            params = replace(params, usable_kwh=model.battery_net_kwh, name=model.name)
        known[params.model_id] = params
    return known


def ev_parameters(model_id: str) -> EVParameters:
    """The parameters of a known electric vehicle; ``NotFound`` lists the known ids."""
    known = _known()
    try:
        return known[model_id]
    except KeyError:
        raise NotFound(
            f"no charging parameters for vehicle model {model_id!r}",
            hint=f"known: {', '.join(sorted(known))}; or pass an EVParameters of your own",
        ) from None


def known_vehicles() -> tuple[str, ...]:
    """The ids ``ev_parameters`` knows."""
    return tuple(sorted(_known()))
