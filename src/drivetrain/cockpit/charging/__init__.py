"""Charging stops for a route (issue #11, part 5): a road graph with charger sites, a vehicle
energy model with a tapering charging curve, the least-total-time planner, the naive
"charge below 20 % to 80 %" baseline, and recommendations recorded with provenance.
See docs/cockpit_charging.md.
"""

from drivetrain.cockpit.charging.availability import expected_wait_s, wait_probability
from drivetrain.cockpit.charging.baseline import plan_baseline
from drivetrain.cockpit.charging.compare import (
    compare_strategies,
    generate_trips,
    summarise_comparison,
)
from drivetrain.cockpit.charging.energy import ChargingCurve, charging_curve, drive_energy_kwh
from drivetrain.cockpit.charging.explain import explain_plan
from drivetrain.cockpit.charging.generate import generate_road_network
from drivetrain.cockpit.charging.loaders import load_chargers_csv, load_road_network
from drivetrain.cockpit.charging.models import (
    ChargerSite,
    ChargingPlan,
    ChargingStop,
    InfeasibleTrip,
    Leg,
    TripRequest,
)
from drivetrain.cockpit.charging.network import Place, Road, RoadNetwork, build_network
from drivetrain.cockpit.charging.planner import plan_route
from drivetrain.cockpit.charging.recommend import ChargingRecommendation, recommend_charging
from drivetrain.cockpit.charging.trip import TripModel
from drivetrain.cockpit.charging.vehicles import EVParameters, ev_parameters, known_vehicles

__all__ = [
    "ChargerSite",
    "ChargingCurve",
    "ChargingPlan",
    "ChargingRecommendation",
    "ChargingStop",
    "EVParameters",
    "InfeasibleTrip",
    "Leg",
    "Place",
    "Road",
    "RoadNetwork",
    "TripModel",
    "TripRequest",
    "build_network",
    "charging_curve",
    "compare_strategies",
    "drive_energy_kwh",
    "ev_parameters",
    "expected_wait_s",
    "explain_plan",
    "generate_road_network",
    "generate_trips",
    "known_vehicles",
    "load_chargers_csv",
    "load_road_network",
    "plan_baseline",
    "plan_route",
    "recommend_charging",
    "summarise_comparison",
    "wait_probability",
]
