"""The naive baseline: drive the fastest route and charge when below 20 %, to 80 %.

What a driver without a planner does: follow the fastest route; at each place
on it, when the charge would fall below ``threshold_pct`` before the next place
(or the next road would take it below the reserve), go to the nearest charger
that can be reached (by drive time, ahead or aside; the most powerful site of
that place), charge to ``charge_to_pct`` — or,
when the destination needs more and a full battery is enough, exactly what it
needs — and take the fastest route on from there. It is priced by the same
:class:`TripModel` as the planner. When no charger is in reach it is stranded:
:class:`InfeasibleTrip`.
"""

from __future__ import annotations

from drivetrain.cockpit.charging.models import (
    ChargerSite,
    ChargingPlan,
    ChargingStop,
    InfeasibleTrip,
    Leg,
    TripRequest,
)
from drivetrain.cockpit.charging.network import RoadNetwork
from drivetrain.cockpit.charging.trip import TripModel, merge_legs
from drivetrain.cockpit.charging.vehicles import EVParameters

THRESHOLD_PCT = 20.0
CHARGE_TO_PCT = 80.0
_EPS = 1e-9
_MAX_STEPS = 10_000


def plan_baseline(
    network: RoadNetwork,
    request: TripRequest,
    vehicle: EVParameters | None = None,
    *,
    threshold_pct: float = THRESHOLD_PCT,
    charge_to_pct: float = CHARGE_TO_PCT,
) -> ChargingPlan:
    """The naive plan for a trip (raises :class:`InfeasibleTrip` where it strands)."""
    trip = TripModel(network, request, vehicle)
    destination = request.destination
    soc, elapsed = request.initial_soc_pct, 0.0
    legs: list[Leg] = []
    stops: list[ChargingStop] = []
    path = [request.origin]  # driven since the last stop
    path_soc = soc
    route = network.paths_from(request.origin, trip.cruise_kmh).routes[destination]
    i, last_site = 0, None
    for _ in range(_MAX_STEPS):
        here = route[i]
        rest = trip.drive_along(route[i:])
        if trip.can_drive(rest, soc):
            path += route[i + 1 :]
            legs.append(trip.leg(trip.drive_along(path), path_soc))
            return ChargingPlan("baseline", request, tuple(merge_legs(legs)), tuple(stops))
        step = trip.drive_along(route[i : i + 2])
        if soc - step.energy_pct >= threshold_pct and trip.can_drive(step, soc):
            soc -= step.energy_pct
            elapsed += step.drive_s
            path.append(route[i + 1])
            i += 1
            continue
        site = _nearest_site(trip, here, soc)
        if site is None:
            raise InfeasibleTrip(
                f"the baseline strands at {network.place_name(here)} with {soc:.0f} %: no charger "
                f"within range keeping the {request.reserve_soc_pct:g} % reserve",
                hint=f"the planner looks ahead; the baseline only reacts below {threshold_pct:g} %",
            )
        detour = trip.drive(here, site.node)
        assert detour is not None
        soc -= detour.energy_pct
        elapsed += detour.drive_s
        path += list(detour.nodes[1:])
        legs.append(trip.leg(trip.drive_along(path), path_soc))
        onward = trip.drive(site.node, destination)
        depart = max(soc, charge_to_pct)
        if onward is not None and depart < trip.need_pct(onward) <= 100.0:
            depart = trip.need_pct(onward)
        if site == last_site:  # stuck where it charged last: fill up
            depart = 100.0
        if depart <= soc + _EPS:
            raise InfeasibleTrip(
                f"the baseline strands at {site.name} with {soc:.0f} %: charging to "
                f"{depart:.0f} % does not get it any further",
                hint="the destination or the next charger is beyond the vehicle's range",
            )
        stop = trip.stop(site, elapsed, soc, depart)
        stops.append(stop)
        elapsed += stop.stop_s
        soc, path_soc, last_site = depart, depart, site
        path = [site.node]
        route = network.paths_from(site.node, trip.cruise_kmh).routes[destination]
        i = 0
    raise InfeasibleTrip(f"the baseline did not finish within {_MAX_STEPS} steps")


def _nearest_site(trip: TripModel, here: str, soc: float) -> ChargerSite | None:
    """The nearest site by drive time that ``soc`` reaches; the most powerful on a tie."""
    best: tuple[float, float, str] | None = None
    chosen = None
    for site in trip.network.sites:
        drive = trip.drive(here, site.node)
        if drive is None or not trip.can_drive(drive, soc):
            continue
        key = (round(drive.drive_s, 3), -site.power_kw, site.site_id)
        if best is None or key < best:
            best, chosen = key, site
    return chosen
