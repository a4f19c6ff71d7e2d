"""The charging planner's records: charger sites, trips, legs, stops and plans.

Units follow VSS where it has them: state of charge in percent, energy in kWh,
power in kW, speed in km/h, temperature in °C; durations are seconds (``_s``)
and distances kilometres (``_km``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from drivetrain.errors import InputError

Strategy = Literal["planner", "baseline"]
ChargerKind = Literal["AC", "DC"]


class InfeasibleTrip(InputError):
    """No charging plan gets the vehicle to the destination under the SoC constraints."""

    code = "infeasible-trip"


@dataclass(frozen=True)
class ChargerSite:
    """A charging site at a node of the road network.

    ``peak_utilisation`` is the share of the site's stalls busy at its busiest
    hour; with ``stalls`` it gives the expected wait (see ``availability``).
    """

    site_id: str
    node: str
    name: str
    operator: str
    power_kw: float
    stalls: int
    price_eur_per_kwh: float
    peak_utilisation: float = 0.4

    @property
    def kind(self) -> ChargerKind:
        return "DC" if self.power_kw > 22.0 else "AC"

    def to_dict(self) -> dict[str, Any]:
        return {
            "site_id": self.site_id,
            "node": self.node,
            "name": self.name,
            "operator": self.operator,
            "power_kw": self.power_kw,
            "stalls": self.stalls,
            "price_eur_per_kwh": self.price_eur_per_kwh,
            "peak_utilisation": self.peak_utilisation,
        }


@dataclass(frozen=True)
class TripRequest:
    """One trip to plan: where, with which vehicle, starting charge and constraints."""

    origin: str
    destination: str
    vehicle: str  # an id of ``ev_parameters`` (e.g. a catalog model id such as tesla-model-3)
    initial_soc_pct: float
    temperature_c: float = 15.0
    min_arrival_soc_pct: float = 10.0
    reserve_soc_pct: float = 5.0  # never planned below this anywhere on the way
    departure_hour: float = 9.0  # local time of day at the origin, 0-24
    trip_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "trip_id": self.trip_id,
            "origin": self.origin,
            "destination": self.destination,
            "vehicle": self.vehicle,
            "initial_soc_pct": self.initial_soc_pct,
            "temperature_c": self.temperature_c,
            "min_arrival_soc_pct": self.min_arrival_soc_pct,
            "reserve_soc_pct": self.reserve_soc_pct,
            "departure_hour": self.departure_hour,
        }


@dataclass(frozen=True)
class Leg:
    """A drive between two places (origin, a charger site or the destination)."""

    start: str  # node id
    end: str
    nodes: tuple[str, ...]  # the road path, start and end included
    distance_km: float
    drive_s: float
    energy_kwh: float
    depart_soc_pct: float
    arrive_soc_pct: float
    min_soc_pct: float  # lowest state of charge anywhere on the leg (descents recover some)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "nodes": list(self.nodes),
            "distance_km": round(self.distance_km, 2),
            "drive_s": round(self.drive_s, 1),
            "energy_kwh": round(self.energy_kwh, 3),
            "depart_soc_pct": round(self.depart_soc_pct, 2),
            "arrive_soc_pct": round(self.arrive_soc_pct, 2),
            "min_soc_pct": round(self.min_soc_pct, 2),
        }


@dataclass(frozen=True)
class ChargingStop:
    """A stop at a charger site: arrival and departure charge, waiting and charging time."""

    site: ChargerSite
    arrive_soc_pct: float
    depart_soc_pct: float
    wait_s: float  # expected wait for a free stall at the arrival time
    charge_s: float  # plugging in and charging
    energy_kwh: float  # into the battery
    cost_eur: float  # billed energy (battery energy over the charging efficiency) at the price
    power_kw_max: float  # the vehicle's highest power during this stop at this charger
    power_kw_end: float  # its power when it leaves (the taper it stopped before)
    arrival_hour: float

    @property
    def stop_s(self) -> float:
        return self.wait_s + self.charge_s

    def to_dict(self) -> dict[str, Any]:
        return {
            "site": self.site.to_dict(),
            "arrive_soc_pct": round(self.arrive_soc_pct, 2),
            "depart_soc_pct": round(self.depart_soc_pct, 2),
            "wait_s": round(self.wait_s, 1),
            "charge_s": round(self.charge_s, 1),
            "energy_kwh": round(self.energy_kwh, 3),
            "cost_eur": round(self.cost_eur, 2),
            "power_kw_max": round(self.power_kw_max, 1),
            "power_kw_end": round(self.power_kw_end, 1),
            "arrival_hour": round(self.arrival_hour, 3),
        }


@dataclass(frozen=True)
class ChargingPlan:
    """How to drive and charge from origin to destination, with the reasons why."""

    strategy: Strategy
    request: TripRequest
    legs: tuple[Leg, ...]
    stops: tuple[ChargingStop, ...]
    explanation: tuple[str, ...] = field(default_factory=tuple)

    @property
    def drive_s(self) -> float:
        return sum(leg.drive_s for leg in self.legs)

    @property
    def wait_s(self) -> float:
        return sum(stop.wait_s for stop in self.stops)

    @property
    def charge_s(self) -> float:
        return sum(stop.charge_s for stop in self.stops)

    @property
    def total_s(self) -> float:
        """Driving, expected waiting and charging."""
        return self.drive_s + self.wait_s + self.charge_s

    @property
    def distance_km(self) -> float:
        return sum(leg.distance_km for leg in self.legs)

    @property
    def energy_kwh(self) -> float:
        """Energy drawn from the battery while driving."""
        return sum(leg.energy_kwh for leg in self.legs)

    @property
    def charged_kwh(self) -> float:
        return sum(stop.energy_kwh for stop in self.stops)

    @property
    def cost_eur(self) -> float:
        return sum(stop.cost_eur for stop in self.stops)

    @property
    def arrival_soc_pct(self) -> float:
        return self.legs[-1].arrive_soc_pct if self.legs else self.request.initial_soc_pct

    @property
    def min_soc_pct(self) -> float:
        return min((leg.min_soc_pct for leg in self.legs), default=self.request.initial_soc_pct)

    def summary(self) -> dict[str, Any]:
        """The plan's totals, as JSON values."""
        return {
            "strategy": self.strategy,
            "total_s": round(self.total_s, 1),
            "drive_s": round(self.drive_s, 1),
            "wait_s": round(self.wait_s, 1),
            "charge_s": round(self.charge_s, 1),
            "distance_km": round(self.distance_km, 2),
            "energy_kwh": round(self.energy_kwh, 3),
            "charged_kwh": round(self.charged_kwh, 3),
            "cost_eur": round(self.cost_eur, 2),
            "arrival_soc_pct": round(self.arrival_soc_pct, 2),
            "min_soc_pct": round(self.min_soc_pct, 2),
            "stops": len(self.stops),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "request": self.request.to_dict(),
            "legs": [leg.to_dict() for leg in self.legs],
            "charging_stops": [stop.to_dict() for stop in self.stops],
            "explanation": list(self.explanation),
        }
