"""The charging planner: least total trip time as a label-setting search over charger sites.

Why a charging-station graph rather than a Dijkstra over (road node, SoC)
states: the road graph only matters through the fastest drive between two
places, which networkx's Dijkstra gives once per place; the decisions are
where to stop and how far to charge. So the search runs over places (origin,
the charger sites in the trip's corridor, the destination) and each drive
between two of them is priced once with the energy model (energy and the
lowest charge on the way, for the reserve). A state of charge is kept exactly
per label, not rounded into buckets, so a planned leg never dips below the
reserve through discretisation.

At a site the planner may leave with any charge on a grid (every
``soc_step_pct``) above the arrival charge, or exactly what a next drive
needs — stopping right before the curve tapers is then a choice like any
other. Labels ``(time, SoC)`` are settled in order of time plus the fastest
remaining drive (an A* bound that never overestimates); a label is dropped when
one settled at the same place arrived no later with at least as much charge.
That dominance is exact because charging time falls with the arrival charge
and the expected wait changes slowly with the arrival time (see
``availability``), so the first label settled at the destination is optimal
over the choice set. When nothing reaches the destination, :func:`diagnose`
says why: the smallest starting charge that would do, or the gap no charger
bridges.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass

from drivetrain.cockpit.charging.energy import PLUG_IN_S
from drivetrain.cockpit.charging.models import (
    ChargerSite,
    ChargingPlan,
    ChargingStop,
    InfeasibleTrip,
    Leg,
    TripRequest,
)
from drivetrain.cockpit.charging.network import RoadNetwork
from drivetrain.cockpit.charging.trip import Drive, TripModel, merge_legs
from drivetrain.cockpit.charging.vehicles import EVParameters
from drivetrain.errors import InputError

MODEL = "drivetrain.cockpit.charging.label-setting"
VERSION = "1.0"
DEFAULT_STEP_PCT = 5.0
DEFAULT_CORRIDOR = 0.3  # sites whose detour is at most 30 % of the direct drive time (+ 20 min)
_SLACK_S = 1200.0
_EPS = 1e-9
ORIGIN, DESTINATION = "@origin", "@destination"


@dataclass(frozen=True)
class _Label:
    place: str
    time_s: float
    soc_pct: float
    parent: _Label | None
    depart_pct: float  # the charge it left the parent place with
    drive: Drive | None  # parent place to this one


class _Search:
    def __init__(
        self,
        trip: TripModel,
        sites: list[ChargerSite],
        step_pct: float,
        *,
        direct_only: bool = True,
    ) -> None:
        self.trip = trip
        self.step = step_pct
        self.direct_only = direct_only
        self.sites = {site.site_id: site for site in sites}
        self.site_nodes = {site.node for site in sites}
        request = trip.request
        self.node = {ORIGIN: request.origin, DESTINATION: request.destination}
        self.node.update({sid: site.node for sid, site in self.sites.items()})
        self.remaining = trip.network.paths_from(request.destination, trip.cruise_kmh).times
        self._out: dict[str, list[tuple[float, str, Drive, float]]] = {}
        self._needs: dict[str, list[float]] = {}

    def outgoing(self, place: str) -> list[tuple[float, str, Drive, float]]:
        """(need, next place, drive, fastest drive on from there), by need, for the places a
        full battery reaches from ``place`` without passing another site's node on the way:
        a farther place is reached through those, passing without charging."""
        out = self._out.get(place)
        if out is None:
            everything: list[tuple[float, str, Drive, float]] = []
            for target in [*self.sites, DESTINATION]:
                if target == place:
                    continue
                drive = self.trip.drive(self.node[place], self.node[target])
                if drive is None:
                    continue
                need = self.trip.need_pct(drive)
                if need <= 100.0 + _EPS:
                    rest = self.remaining.get(self.node[target], math.inf)
                    everything.append((need, target, drive, rest))
            everything.sort(key=lambda item: item[0])
            self._needs[place] = [item[0] for item in everything]
            out = [
                item
                for item in everything
                if not self.direct_only or self.site_nodes.isdisjoint(item[2].nodes[1:-1])
            ]
            self._out[place] = out
        return out

    def levels(self, place: str, arrive_pct: float) -> list[float]:
        """Charges to leave ``place`` with: as arrived, the grid above, and each drive's need."""
        if place not in self.sites:
            return [arrive_pct]
        grid = [self.step * k for k in range(math.floor(arrive_pct / self.step) + 1,
                                             math.floor(100.0 / self.step + _EPS) + 1)]  # fmt: skip
        self.outgoing(place)
        needs = [n for n in self._needs[place] if n > arrive_pct + _EPS]
        return sorted({arrive_pct, *grid, *needs, *([100.0] if arrive_pct < 100 else [])})

    def run(self) -> _Label | None:
        request = self.trip.request
        # a label is kept only if it carries more charge than every label settled at its place
        # before it (those arrived no later): the most charge settled so far says it all
        settled: dict[str, float] = {}
        counter = itertools.count()
        start = _Label(ORIGIN, 0.0, request.initial_soc_pct, None, request.initial_soc_pct, None)
        heap = [(self._bound(ORIGIN, 0.0), next(counter), start)]
        best = math.inf  # time of the best destination label pushed so far
        while heap:
            key, _, label = heapq.heappop(heap)
            if key > best + _EPS:
                break
            if settled.get(label.place, -math.inf) >= label.soc_pct - _EPS:
                continue
            settled[label.place] = label.soc_pct
            if label.place == DESTINATION:
                return label
            site = self.sites.get(label.place)
            outgoing = self.outgoing(label.place)
            levels = self.levels(label.place, label.soc_pct)
            leaving = self._leave_times(site, label, levels)
            for depart, leave_s in zip(levels, leaving, strict=True):
                for need, target, drive, remaining_s in outgoing:
                    if need > depart + _EPS:
                        break
                    arrive = depart - drive.energy_pct
                    if settled.get(target, -math.inf) >= arrive - _EPS:
                        continue
                    time_s = leave_s + drive.drive_s
                    bound = time_s + remaining_s
                    if bound > best + _EPS:
                        continue
                    if target == DESTINATION:
                        best = min(best, time_s)
                    child = _Label(target, time_s, arrive, label, depart, drive)
                    heapq.heappush(heap, (bound, next(counter), child))
        return None

    def _leave_times(
        self, site: ChargerSite | None, label: _Label, levels: list[float]
    ) -> list[float]:
        """When the label leaves its place with each charge level (one wait, one curve lookup)."""
        if site is None:
            return [label.time_s] * len(levels)
        start = label.time_s + self.trip.wait_s(site, label.time_s) + PLUG_IN_S
        charging = self.trip.curve(site).times_s(label.soc_pct, levels)
        return [label.time_s if d <= label.soc_pct + _EPS else start + c
                for d, c in zip(levels, charging, strict=True)]  # fmt: skip

    def _bound(self, place: str, time_s: float) -> float:
        return time_s + self.remaining.get(self.node[place], math.inf)

    def reachable(self, initial_pct: float) -> tuple[bool, str]:
        """Whether charging to 100 % wherever useful reaches the destination from a starting
        charge; with the place nearest the destination (by drive time) that is reached."""
        seen = {ORIGIN}
        frontier = [(ORIGIN, initial_pct)]
        while frontier:
            place, soc = frontier.pop()
            for need, target, _, _ in self.outgoing(place):
                if need > soc + _EPS:
                    break
                if target == DESTINATION:
                    return True, DESTINATION
                if target not in seen:
                    seen.add(target)
                    frontier.append((target, 100.0))
        nearest = min(seen, key=lambda p: self.remaining.get(self.node[p], math.inf))
        return False, nearest


def plan_route(
    network: RoadNetwork,
    request: TripRequest,
    vehicle: EVParameters | None = None,
    *,
    soc_step_pct: float = DEFAULT_STEP_PCT,
    corridor: float | None = DEFAULT_CORRIDOR,
) -> ChargingPlan:
    """The least-total-time charging plan (driving + expected waiting + charging).

    ``vehicle`` defaults to ``ev_parameters(request.vehicle)``. ``corridor`` limits the
    sites searched first to those within that share of detour (None: every site); if
    none of those works, every site is searched. Raises :class:`InfeasibleTrip` saying
    why no plan exists and what would make one.
    """
    trip = TripModel(network, request, vehicle)
    if not 0.1 <= soc_step_pct <= 50:
        raise InputError(f"soc_step_pct {soc_step_pct!r} must be between 0.1 and 50")
    everything = list(network.sites)
    tries = [everything] if corridor is None else [corridor_sites(trip, corridor), everything]
    search = None
    for sites in tries:
        search = _Search(trip, sites, soc_step_pct)
        found = search.run()
        if found is not None:
            return _to_plan(trip, search, found)
    assert search is not None
    raise diagnose(trip, search)


def corridor_sites(trip: TripModel, share: float) -> list[ChargerSite]:
    """The sites whose detour from the fastest route costs at most ``share`` of its time."""
    request = trip.request
    from_origin = trip.network.paths_from(request.origin, trip.cruise_kmh).times
    to_destination = trip.network.paths_from(request.destination, trip.cruise_kmh).times
    direct = from_origin[request.destination]
    limit = (1.0 + share) * direct + _SLACK_S
    return [
        site
        for site in trip.network.sites
        if from_origin.get(site.node, math.inf) + to_destination.get(site.node, math.inf) <= limit
    ]


def diagnose(trip: TripModel, search: _Search) -> InfeasibleTrip:
    """Why no plan reaches the destination, as an error a driver can act on."""
    request, network = trip.request, trip.network
    ok, nearest = search.reachable(100.0)
    vehicle = trip.vehicle.name
    if not ok:
        where = network.place_name(search.node[nearest])
        return InfeasibleTrip(
            f"{vehicle} cannot reach {network.place_name(request.destination)} at "
            f"{request.temperature_c:g} °C even charging to 100 % at every charger: no charger "
            f"or the destination is within range of {where} keeping a "
            f"{request.reserve_soc_pct:g} % reserve and arriving with "
            f"{trip.target_pct:g} %",
            hint=f"add a charger between {where} and the destination, lower the reserve or "
            "arrival charge, or choose a vehicle with more range",
        )
    low, high = request.initial_soc_pct, 100.0
    while high - low > 0.25:
        mid = (low + high) / 2
        low, high = (low, mid) if search.reachable(mid)[0] else (mid, high)
    first = next(
        (network.place_name(search.node[t]) for n, t, _, _ in search.outgoing(ORIGIN) if n <= high),
        "the destination",
    )
    return InfeasibleTrip(
        f"no charger within range of {network.place_name(request.origin)} with "
        f"{request.initial_soc_pct:g} % charge and a {request.reserve_soc_pct:g} % reserve "
        f"({vehicle}, {request.temperature_c:g} °C): the first useful stop, {first}, needs more",
        hint=f"start with at least {math.ceil(high)} % charge",
    )


def _to_plan(trip: TripModel, search: _Search, found: _Label) -> ChargingPlan:
    chain: list[_Label] = []
    node: _Label | None = found
    while node is not None:
        chain.append(node)
        node = node.parent
    chain.reverse()
    legs: list[Leg] = []
    stops: list[ChargingStop] = []
    for before, after in itertools.pairwise(chain):
        site = search.sites.get(before.place)
        if site is not None and after.depart_pct > before.soc_pct + _EPS:
            stops.append(trip.stop(site, before.time_s, before.soc_pct, after.depart_pct))
        assert after.drive is not None
        legs.append(trip.leg(after.drive, after.depart_pct))
    return ChargingPlan("planner", trip.request, tuple(merge_legs(legs)), tuple(stops))
