"""One trip's physics on one network: checked inputs, edge energies, legs and stops.

Both strategies (the planner and the baseline) price drives and stops through a
:class:`TripModel`, so a comparison between them compares decisions, never two
energy models.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from drivetrain.cockpit.charging.availability import expected_wait_s
from drivetrain.cockpit.charging.energy import (
    PLUG_IN_S,
    ChargingCurve,
    charging_curve,
    drive_energy_kwh,
)
from drivetrain.cockpit.charging.models import ChargerSite, ChargingStop, Leg, TripRequest
from drivetrain.cockpit.charging.network import RoadNetwork
from drivetrain.cockpit.charging.vehicles import EVParameters, ev_parameters
from drivetrain.errors import InputError

_EPS = 1e-9


@dataclass(frozen=True)
class Drive:
    """The fastest road path between two nodes with what driving it costs."""

    start: str
    end: str
    nodes: tuple[str, ...]
    distance_km: float
    drive_s: float
    energy_pct: float  # of usable capacity, end minus start
    peak_pct: float  # the most the charge falls below its start anywhere on the way (>= 0)


def _check_pct(name: str, value: float, low: float = 0.0, high: float = 100.0) -> None:
    if not isinstance(value, int | float) or not low <= value <= high:
        raise InputError(
            f"{name} must be a percentage between {low:g} and {high:g}, got {value!r}",
            hint="states of charge are percent of the usable battery, as VSS StateOfCharge",
        )


class TripModel:
    """A request checked against a network and a vehicle, with its drives priced lazily."""

    def __init__(
        self, network: RoadNetwork, request: TripRequest, vehicle: EVParameters | None = None
    ) -> None:
        _check_pct("initial_soc_pct", request.initial_soc_pct)
        _check_pct("min_arrival_soc_pct", request.min_arrival_soc_pct)
        _check_pct("reserve_soc_pct", request.reserve_soc_pct, 0.0, 50.0)
        if request.initial_soc_pct < request.reserve_soc_pct:
            raise InputError(
                f"the trip starts at {request.initial_soc_pct:g} %, below its reserve of "
                f"{request.reserve_soc_pct:g} %",
                hint="charge before leaving or lower reserve_soc_pct",
            )
        if not -40.0 <= request.temperature_c <= 50.0:
            raise InputError(f"temperature_c {request.temperature_c!r} is not an outside "
                             "temperature in °C (-40 to 50)")  # fmt: skip
        if not 0.0 <= request.departure_hour < 24.0:
            raise InputError(f"departure_hour {request.departure_hour!r} is not a time of day "
                             "in hours (0 <= h < 24)")  # fmt: skip
        network.check_place(request.origin, "origin")
        network.check_place(request.destination, "destination")
        if request.origin == request.destination:
            raise InputError(f"origin and destination are both {request.origin!r}")
        self.network = network
        self.request = request
        self.vehicle = vehicle if vehicle is not None else ev_parameters(request.vehicle)
        self.target_pct = max(request.min_arrival_soc_pct, request.reserve_soc_pct)
        self._drives: dict[tuple[str, str], Drive | None] = {}
        self._edges: dict[tuple[str, str], tuple[float, float, float]] = {}
        if self.drive(request.origin, request.destination) is None:
            raise InputError(
                f"no road from {network.place_name(request.origin)} to "
                f"{network.place_name(request.destination)} in road network {network.name!r}",
                hint="the two places are in parts of the network that no road joins",
            )

    @property
    def cruise_kmh(self) -> float:
        return self.vehicle.cruise_kmh

    def pct(self, kwh: float) -> float:
        return 100.0 * kwh / self.vehicle.usable_kwh

    def kwh(self, pct: float) -> float:
        return pct * self.vehicle.usable_kwh / 100.0

    def edge(self, u: str, v: str) -> tuple[float, float, float]:
        """(km, s, % of charge) to drive one road from ``u`` to ``v``."""
        cached = self._edges.get((u, v))
        if cached is None:
            road = self.network.road(u, v)
            speed = min(road["speed_kmh"], self.cruise_kmh)
            kwh = drive_energy_kwh(
                self.vehicle,
                distance_km=road["length_km"],
                speed_kmh=speed,
                temperature_c=self.request.temperature_c,
                ascent_m=road["ascent_m"],
                descent_m=road["descent_m"],
            )
            cached = (road["length_km"], 3600.0 * road["length_km"] / speed, self.pct(kwh))
            self._edges[(u, v)] = cached
        return cached

    def drive(self, start: str, end: str) -> Drive | None:
        """The fastest drive from ``start`` to ``end`` (None when no road leads there)."""
        key = (start, end)
        if key not in self._drives:
            paths = self.network.paths_from(start, self.cruise_kmh)
            route = paths.routes.get(end)
            self._drives[key] = None if route is None else self.drive_along(route)
        return self._drives[key]

    def drive_along(self, route: list[str] | tuple[str, ...]) -> Drive:
        """What driving a given node path costs."""
        km = seconds = used = peak = 0.0
        for u, v in itertools.pairwise(route):
            e_km, e_s, e_pct = self.edge(u, v)
            km += e_km
            seconds += e_s
            used += e_pct
            peak = max(peak, used)
        return Drive(route[0], route[-1], tuple(route), km, seconds, used, peak)

    def need_pct(self, drive: Drive) -> float:
        """The least charge to set off on ``drive`` with: the reserve everywhere on the way, and
        the minimum arrival charge if it ends at the destination."""
        end = (
            self.target_pct
            if drive.end == self.request.destination
            else self.request.reserve_soc_pct
        )
        return max(self.request.reserve_soc_pct + drive.peak_pct, end + drive.energy_pct)

    def can_drive(self, drive: Drive, soc_pct: float) -> bool:
        return self.need_pct(drive) <= soc_pct + _EPS

    def curve(self, site: ChargerSite) -> ChargingCurve:
        return charging_curve(self.vehicle, site.power_kw, self.request.temperature_c)

    def hour_at(self, elapsed_s: float) -> float:
        return (self.request.departure_hour + elapsed_s / 3600.0) % 24.0

    def wait_s(self, site: ChargerSite, elapsed_s: float) -> float:
        """Expected wait at ``site`` when arriving ``elapsed_s`` after departure."""
        return expected_wait_s(site, self.hour_at(elapsed_s))

    def stop_s(
        self, site: ChargerSite, elapsed_s: float, arrive_pct: float, depart_pct: float
    ) -> float:
        """Seconds from arriving at a site to leaving it charged (0 when not charging)."""
        if depart_pct <= arrive_pct + _EPS:
            return 0.0
        curve = self.curve(site)
        return self.wait_s(site, elapsed_s) + PLUG_IN_S + curve.time_s(arrive_pct, depart_pct)

    def leg(self, drive: Drive, depart_pct: float) -> Leg:
        return Leg(
            start=drive.start,
            end=drive.end,
            nodes=drive.nodes,
            distance_km=drive.distance_km,
            drive_s=drive.drive_s,
            energy_kwh=self.kwh(drive.energy_pct),
            depart_soc_pct=depart_pct,
            arrive_soc_pct=depart_pct - drive.energy_pct,
            min_soc_pct=depart_pct - drive.peak_pct,
        )

    def stop(
        self, site: ChargerSite, elapsed_s: float, arrive_pct: float, depart_pct: float
    ) -> ChargingStop:
        curve = self.curve(site)
        energy = self.kwh(depart_pct - arrive_pct)
        return ChargingStop(
            site=site,
            arrive_soc_pct=arrive_pct,
            depart_soc_pct=depart_pct,
            wait_s=self.wait_s(site, elapsed_s),
            charge_s=PLUG_IN_S + curve.time_s(arrive_pct, depart_pct),
            energy_kwh=energy,
            cost_eur=energy / curve.efficiency * site.price_eur_per_kwh,
            power_kw_max=curve.max_power_kw(arrive_pct, depart_pct),
            power_kw_end=curve.power_kw(depart_pct),
            arrival_hour=self.hour_at(elapsed_s),
        )


def merge_legs(legs: list[Leg]) -> list[Leg]:
    """Join drives through sites where the plan did not charge into one leg."""
    merged: list[Leg] = []
    for leg in legs:
        last = merged[-1] if merged else None
        if last is not None and abs(last.arrive_soc_pct - leg.depart_soc_pct) < _EPS:
            merged[-1] = Leg(
                start=last.start,
                end=leg.end,
                nodes=last.nodes + leg.nodes[1:],
                distance_km=last.distance_km + leg.distance_km,
                drive_s=last.drive_s + leg.drive_s,
                energy_kwh=last.energy_kwh + leg.energy_kwh,
                depart_soc_pct=last.depart_soc_pct,
                arrive_soc_pct=leg.arrive_soc_pct,
                min_soc_pct=min(last.min_soc_pct, leg.min_soc_pct),
            )
        else:
            merged.append(leg)
    return merged
