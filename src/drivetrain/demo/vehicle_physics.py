"""Physical parameters of the simulated vehicle models (published ballpark figures)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class VehiclePhysics:
    """Road-load and powertrain parameters of one model, SI units unless named.

    The traction battery's capacity is not here: it is part of the vehicle model's
    manifest (``battery_net_kwh``), which the health scan reads too."""

    mass_kg: float
    cda_m2: float  # drag coefficient × frontal area
    crr: float  # rolling resistance coefficient
    max_power_kw: float
    tyre_kpa: float  # recommended cold pressure
    tank_l: float = 0.0  # fuel tank (ICE, PHEV)
    rpm_per_kmh: float = 1.0  # engine-speed scale of the gear table
    idle_rpm: float = 800.0
    cylinders: int = 4


PHYSICS: dict[str, VehiclePhysics] = {
    "peugeot-308": VehiclePhysics(1300, 0.64, 0.010, 96, 240, tank_l=52),
    "alfa-romeo-giulia": VehiclePhysics(1530, 0.60, 0.010, 206, 250, tank_l=58),
    "chrysler-pacifica-hybrid": VehiclePhysics(2240, 0.93, 0.011, 194, 250, tank_l=62, cylinders=6),
    "ram-1500": VehiclePhysics(
        2400, 1.30, 0.012, 295, 350, tank_l=98, rpm_per_kmh=0.85, idle_rpm=650, cylinders=8
    ),
    "hyundai-i30": VehiclePhysics(1250, 0.65, 0.010, 117, 230, tank_l=50),
    "tesla-model-3": VehiclePhysics(1760, 0.53, 0.009, 208, 290),
    "fiat-tipo": VehiclePhysics(1250, 0.66, 0.010, 81, 230, tank_l=50),
}

DEFAULT_PHYSICS = VehiclePhysics(1500, 0.65, 0.010, 110, 240, tank_l=55)


def physics_for(model_id: str) -> VehiclePhysics:
    """Parameters of ``model_id`` (a generic compact car for models not listed)."""
    return PHYSICS.get(model_id, DEFAULT_PHYSICS)
