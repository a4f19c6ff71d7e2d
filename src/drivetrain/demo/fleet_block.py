"""Per-vehicle parameters and running state of a block of simulated vehicles, as arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drivetrain.catalog import VehicleModel
from drivetrain.demo.faults import FaultAssignment
from drivetrain.demo.markets import MARKETS
from drivetrain.demo.vehicle_physics import physics_for

POWERTRAIN_CODE = {"ice": 0, "hev": 1, "phev": 2, "bev": 3}


@dataclass(slots=True)
class FleetBlock:
    """Static parameters of ``n`` vehicles (one array element per vehicle)."""

    vehicle_ids: list[str]
    models: list[VehicleModel]
    model_index: np.ndarray
    markets: list[str]
    faults: FaultAssignment
    # physics, gathered per vehicle from its model
    mass: np.ndarray
    cda: np.ndarray
    crr: np.ndarray
    max_power_kw: np.ndarray
    tyre_kpa: np.ndarray
    tank_l: np.ndarray
    battery_kwh: np.ndarray
    rpm_per_kmh: np.ndarray
    idle_rpm: np.ndarray
    powertrain: np.ndarray
    # market
    annual_mean_c: np.ndarray
    amplitude_c: np.ndarray
    utc_offset_h: np.ndarray
    home_lat: np.ndarray
    home_lon: np.ndarray
    # driver and vehicle individuality
    trips_per_day: np.ndarray
    km_scale: np.ndarray
    aggressiveness: np.ndarray
    tyre_offset_kpa: np.ndarray  # (n, 4): FL, FR, RL, RR
    # traction battery: state of health (usable capacity / capacity when new), and the seed of
    # the noise the BMS adds to its readings (a stream apart, so the rest of the fleet's
    # randomness does not depend on it)
    battery_soh: np.ndarray | None = None
    aux_seed: int = 0

    @property
    def capacity_kwh(self) -> np.ndarray:
        """Usable traction-battery capacity today (0 without one)."""
        soh = np.ones(self.n) if self.battery_soh is None else self.battery_soh
        return np.asarray(self.battery_kwh * soh)

    @property
    def n(self) -> int:
        return len(self.vehicle_ids)


@dataclass(slots=True)
class FleetState:
    """What carries over from one simulated day to the next."""

    odometer_m: np.ndarray
    fuel_pct: np.ndarray
    soc_pct: np.ndarray
    pad_wear_pct: np.ndarray  # (n, 2): front left, front right
    last_end_us: np.ndarray
    last_coolant_c: np.ndarray
    consumed_kwh: np.ndarray  # the BMS's lifetime energy counters (0 without a battery)
    charged_kwh: np.ndarray


def build_block(
    rng: np.random.Generator,
    vehicle_ids: list[str],
    models: list[VehicleModel],
    model_index: np.ndarray,
    markets: list[str],
    faults: FaultAssignment,
) -> FleetBlock:
    """Gather model physics and market climate per vehicle and draw individual traits."""
    n = len(vehicle_ids)
    phys = [physics_for(m.id) for m in models]

    def per_model(attr: str) -> np.ndarray:
        return np.asarray(np.array([getattr(p, attr) for p in phys], dtype=np.float64)[model_index])

    mk = [MARKETS[c] for c in markets]
    return FleetBlock(
        vehicle_ids=vehicle_ids,
        models=models,
        model_index=model_index,
        markets=markets,
        faults=faults,
        mass=per_model("mass_kg") + rng.normal(0, 40, n),
        cda=per_model("cda_m2"),
        crr=per_model("crr"),
        max_power_kw=per_model("max_power_kw"),
        tyre_kpa=per_model("tyre_kpa"),
        tank_l=per_model("tank_l"),
        battery_kwh=np.array([m.battery_net_kwh or 0.0 for m in models])[model_index],
        rpm_per_kmh=per_model("rpm_per_kmh"),
        idle_rpm=per_model("idle_rpm"),
        powertrain=np.array([POWERTRAIN_CODE[m.powertrain] for m in models])[model_index],
        annual_mean_c=np.array([m.annual_mean_c for m in mk]),
        amplitude_c=np.array([m.amplitude_c for m in mk]),
        utc_offset_h=np.array([m.utc_offset_h for m in mk]),
        home_lat=np.array([m.lat for m in mk]) + rng.normal(0, 0.08, n),
        home_lon=np.array([m.lon for m in mk]) + rng.normal(0, 0.11, n),
        trips_per_day=rng.gamma(4.0, 0.55, n),
        km_scale=rng.lognormal(0.0, 0.35, n),
        aggressiveness=rng.uniform(0.9, 1.12, n),
        tyre_offset_kpa=rng.normal(0, 4, (n, 4)),
    )


def initial_state(rng: np.random.Generator, block: FleetBlock, start_us: int) -> FleetState:
    """Odometers, tank and battery levels, pad wear at the start of the simulation."""
    n = block.n
    return FleetState(
        odometer_m=rng.uniform(2_000, 120_000, n) * 1000.0,
        fuel_pct=rng.uniform(30, 100, n),
        soc_pct=rng.uniform(50, 90, n),
        pad_wear_pct=np.repeat(rng.uniform(5, 45, (n, 1)), 2, axis=1) + rng.normal(0, 1, (n, 2)),
        last_end_us=np.full(n, start_us - 86_400_000_000, dtype=np.int64),
        last_coolant_c=np.full(n, 15.0),
        consumed_kwh=np.zeros(n),
        charged_kwh=np.zeros(n),
    )
