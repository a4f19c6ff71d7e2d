"""The vehicle energy model: driving consumption and charging time.

Driving at a steady speed ``v`` over a distance ``d`` with total ascent ``h+``
and descent ``h-`` draws from the battery::

    drawn = [(½ rho(T) CdA v² + Crr m g) d + m g h+] / η  +  P_aux(T) d / v
    E     = drawn (1 + k_cold max(0, 20 °C − T))  −  m g h- η_regen

the cold factor standing for the battery's extra losses in the cold (applied to
what is drawn, not to what regeneration returns). ``rho(T)``
is the air density at sea-level pressure; ``P_aux`` the always-on load plus
cabin heating below 18 °C or air conditioning above 24 °C, so at lower speed
the heater costs more per kilometre. The descent term assumes all potential
energy goes through regeneration, which is conservative on gentle descents
where it would only offset drag.

Charging follows the vehicle's DC curve (power against SoC, piecewise linear),
capped by the charger and, on AC, by the on-board charger; a cold battery
charges slower (``cold_charge_factor``). ``ChargingCurve`` integrates
``dE / P(SoC)`` once per (vehicle, charger power, temperature) on a 0.1 % grid,
so the time between any two states of charge is a difference of two lookups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from drivetrain.cockpit.charging.vehicles import EVParameters

G = 9.80665  # m/s²
_P0 = 101_325.0  # Pa, sea-level pressure
_R_AIR = 287.05  # J/(kg K), specific gas constant of dry air
_GRID = np.linspace(0.0, 100.0, 1001)  # state of charge, %
PLUG_IN_S = 120.0  # parking, plugging in and the charger's handshake, per stop
DC_EFFICIENCY = 0.93  # grid (billed) to battery
AC_EFFICIENCY = 0.88


def air_density(temperature_c: float) -> float:
    """Dry-air density (kg/m³) at sea-level pressure."""
    return _P0 / (_R_AIR * (temperature_c + 273.15))


def auxiliary_kw(vehicle: EVParameters, temperature_c: float) -> float:
    """Always-on load plus cabin heating or cooling at an outside temperature."""
    heating = vehicle.heating_kw_per_k * max(0.0, 18.0 - temperature_c)
    cooling = vehicle.cooling_kw_per_k * max(0.0, temperature_c - 24.0)
    return vehicle.aux_kw + heating + cooling


def drive_energy_kwh(
    vehicle: EVParameters,
    *,
    distance_km: float,
    speed_kmh: float,
    temperature_c: float,
    ascent_m: float = 0.0,
    descent_m: float = 0.0,
) -> float:
    """Battery energy (kWh) to drive ``distance_km`` at a steady ``speed_kmh``; negative when
    a descent regenerates more than the drive draws."""
    v = speed_kmh / 3.6
    d = distance_km * 1000.0
    mass = vehicle.mass_kg
    road_load = 0.5 * air_density(temperature_c) * vehicle.cda_m2 * v * v + vehicle.crr * mass * G
    drawn = (road_load * d + mass * G * ascent_m) / vehicle.drivetrain_efficiency
    drawn += auxiliary_kw(vehicle, temperature_c) * 1000.0 * (d / v)
    drawn *= 1.0 + vehicle.cold_loss_per_k * max(0.0, 20.0 - temperature_c)
    returned = mass * G * descent_m * vehicle.regen_efficiency
    return (drawn - returned) / 3.6e6


def cold_charge_factor(temperature_c: float) -> float:
    """Share of the warm charging power a (preconditioned) battery takes at this temperature:
    1 from 10 °C up, falling linearly to 0.6 at −10 °C and below."""
    return float(np.clip(1.0 - 0.02 * (10.0 - temperature_c), 0.6, 1.0))


@dataclass(frozen=True)
class ChargingCurve:
    """Charging power and time of one vehicle at one charger and temperature."""

    vehicle: EVParameters
    charger_kw: float
    temperature_c: float
    power: npt.NDArray[np.float64] = field(init=False, repr=False, compare=False)
    cumulative_s: npt.NDArray[np.float64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        socs = np.array([s for s, _ in self.vehicle.dc_curve])
        kws = np.array([p for _, p in self.vehicle.dc_curve])
        curve = np.interp(_GRID, socs, kws) * cold_charge_factor(self.temperature_c)
        cap = (
            self.charger_kw
            if self.charger_kw > 22.0
            else min(self.charger_kw, self.vehicle.ac_max_kw)
        )
        power = np.minimum(np.minimum(curve, cap), self.vehicle.dc_max_kw)
        mid = 0.5 * (power[1:] + power[:-1])
        step_kwh = self.vehicle.usable_kwh * (_GRID[1] - _GRID[0]) / 100.0
        cumulative = np.concatenate(([0.0], np.cumsum(step_kwh / mid * 3600.0)))
        object.__setattr__(self, "power", power)
        object.__setattr__(self, "cumulative_s", cumulative)

    def time_s(self, from_soc_pct: float, to_soc_pct: float) -> float:
        """Seconds of charging from one state of charge to a higher one (plugging in excluded)."""
        if to_soc_pct <= from_soc_pct:
            return 0.0
        ends = np.interp([from_soc_pct, to_soc_pct], _GRID, self.cumulative_s)
        return float(ends[1] - ends[0])

    def times_s(self, from_soc_pct: float, to_soc_pct: list[float]) -> list[float]:
        """Seconds of charging from one state of charge to each of several higher ones."""
        start = float(np.interp(from_soc_pct, _GRID, self.cumulative_s))
        ends = np.interp(np.asarray(to_soc_pct, dtype=np.float64), _GRID, self.cumulative_s)
        return [max(0.0, float(x)) for x in ends - start]

    def power_kw(self, soc_pct: float) -> float:
        """The power the battery takes at a state of charge."""
        return float(np.interp(soc_pct, _GRID, self.power))

    def max_power_kw(self, from_soc_pct: float, to_soc_pct: float) -> float:
        """The highest power between two states of charge."""
        inside = (from_soc_pct <= _GRID) & (to_soc_pct >= _GRID)
        ends = max(self.power_kw(from_soc_pct), self.power_kw(to_soc_pct))
        return max(ends, float(self.power[inside].max())) if inside.any() else ends

    def soc_at_power(self, power_kw: float, from_soc_pct: float) -> float:
        """The first state of charge above ``from_soc_pct`` where the power falls below
        ``power_kw`` (100 if it never does)."""
        below = np.nonzero((from_soc_pct < _GRID) & (self.power < power_kw))[0]
        return float(_GRID[below[0]]) if below.size else 100.0

    @property
    def efficiency(self) -> float:
        """Grid-to-battery efficiency: what is billed per kWh stored."""
        return DC_EFFICIENCY if self.charger_kw > 22.0 else AC_EFFICIENCY


@lru_cache(maxsize=512)
def charging_curve(vehicle: EVParameters, charger_kw: float, temperature_c: float) -> ChargingCurve:
    """The (cached) charging curve of a vehicle at a charger power and temperature."""
    return ChargingCurve(vehicle, charger_kw, temperature_c)
