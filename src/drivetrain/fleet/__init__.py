"""The fleet registry: vehicles, their VINs, markets and ECU software inventory."""

from drivetrain.fleet.models import EcuSoftware, VehicleRecord
from drivetrain.fleet.registry import (
    delete_vehicle,
    fleet_counts,
    get_vehicle,
    list_vehicles,
    register_vehicles,
    software_inventory,
)
from drivetrain.fleet.vin import (
    is_valid_vin,
    make_vin,
    model_year_code,
    model_years_of_code,
    validate_vin,
    vin_check_digit,
)

__all__ = [
    "EcuSoftware",
    "VehicleRecord",
    "delete_vehicle",
    "fleet_counts",
    "get_vehicle",
    "is_valid_vin",
    "list_vehicles",
    "make_vin",
    "model_year_code",
    "model_years_of_code",
    "register_vehicles",
    "software_inventory",
    "validate_vin",
    "vin_check_digit",
]
