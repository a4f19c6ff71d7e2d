"""The road network with charger sites: a networkx graph plus the sites at its nodes.

Nodes are places (cities, motorway service areas) with coordinates and an
elevation; each road is stored in both directions with its length, speed limit
and the total ascent and descent driven in that direction (a pass climbs more
than the difference of the two ends). Sites along a road sit on a
service-area node that splits it, so a detour to a charger is a path like any
other.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import networkx as nx  # type: ignore[import-untyped, unused-ignore]

from drivetrain.cockpit.charging.models import ChargerSite
from drivetrain.errors import InputError, NotFound

ROAD_CLASSES = ("motorway", "trunk", "primary")


@dataclass(frozen=True)
class Place:
    """A node of the road network."""

    node_id: str
    name: str
    lat: float
    lon: float
    elevation_m: float = 0.0
    kind: str = "city"  # or "service_area"


@dataclass(frozen=True)
class Road:
    """A two-way road between two places; ``ascent_m`` is climbed going from ``a`` to ``b``
    (and is the descent coming back), likewise ``descent_m``."""

    a: str
    b: str
    length_km: float
    speed_kmh: float
    ascent_m: float = 0.0
    descent_m: float = 0.0
    road_class: str = "motorway"


@dataclass(frozen=True)
class Paths:
    """Fastest drive times (s) and paths from one node, at one cruise speed."""

    times: dict[str, float]
    routes: dict[str, list[str]]


class RoadNetwork:
    """A road graph with charger sites; build it with :func:`build_network`."""

    def __init__(
        self, graph: Any, sites: tuple[ChargerSite, ...], *, name: str, seed: int | None
    ) -> None:
        self.graph = graph
        self.sites = sites
        self.name = name
        self.seed = seed
        self._by_node: dict[str, tuple[ChargerSite, ...]] = {}
        for site in sites:
            self._by_node[site.node] = (*self._by_node.get(site.node, ()), site)
        self._paths: dict[tuple[float, str], Paths] = {}
        self._version: str | None = None

    def __repr__(self) -> str:
        return (
            f"RoadNetwork({self.name!r}, {self.graph.number_of_nodes()} places, "
            f"{self.graph.number_of_edges() // 2} roads, {len(self.sites)} charger sites)"
        )

    @property
    def version(self) -> str:
        """A digest of the places, roads and sites: what a plan's provenance names."""
        if self._version is None:
            doc = {
                "places": sorted(
                    [n, d["lat"], d["lon"], d["elevation_m"]]
                    for n, d in self.graph.nodes(data=True)
                ),
                "roads": sorted(
                    [u, v, d["length_km"], d["speed_kmh"], d["ascent_m"], d["descent_m"]]
                    for u, v, d in self.graph.edges(data=True)
                ),
                "sites": sorted(json.dumps(s.to_dict(), sort_keys=True) for s in self.sites),
            }
            raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
            self._version = "sha256:" + hashlib.sha256(raw).hexdigest()[:16]
        return self._version

    @property
    def places(self) -> list[str]:
        return sorted(self.graph.nodes)

    @property
    def cities(self) -> list[str]:
        return sorted(n for n, d in self.graph.nodes(data=True) if d["kind"] == "city")

    def place_name(self, node: str) -> str:
        return str(self.graph.nodes[node]["name"])

    def sites_at(self, node: str) -> tuple[ChargerSite, ...]:
        return self._by_node.get(node, ())

    def site(self, site_id: str) -> ChargerSite:
        for site in self.sites:
            if site.site_id == site_id:
                return site
        raise NotFound(f"no charger site {site_id!r} in road network {self.name!r}")

    def check_place(self, node: str, role: str) -> None:
        """Raise ``NotFound`` (with the closest names) unless ``node`` is a place."""
        if node in self.graph:
            return
        close = difflib.get_close_matches(str(node), self.places, n=3, cutoff=0.5)
        hint = (
            f"did you mean {', '.join(close)}?" if close else f"e.g. {', '.join(self.cities[:5])}"
        )
        raise NotFound(f"{role} {node!r} is not a place of road network {self.name!r}", hint=hint)

    def paths_from(self, source: str, cruise_kmh: float) -> Paths:
        """Fastest drive times and paths from ``source`` when never driving above ``cruise_kmh``."""
        key = (cruise_kmh, source)
        cached = self._paths.get(key)
        if cached is None:

            def seconds(_u: str, _v: str, d: dict[str, float]) -> float:
                return 3600.0 * d["length_km"] / min(d["speed_kmh"], cruise_kmh)

            times, routes = nx.single_source_dijkstra(self.graph, source, weight=seconds)
            cached = Paths(dict(times), dict(routes))
            self._paths[key] = cached
        return cached

    def road(self, u: str, v: str) -> dict[str, float]:
        return dict(self.graph.edges[u, v])


def build_network(
    places: Iterable[Place],
    roads: Iterable[Road],
    sites: Iterable[ChargerSite],
    *,
    name: str,
    seed: int | None = None,
) -> RoadNetwork:
    """Validate places, roads and sites and assemble a :class:`RoadNetwork`."""
    graph = nx.DiGraph()
    for place in places:
        if place.node_id in graph:
            raise InputError(f"place {place.node_id!r} is given twice", hint="keep one")
        if not (-90 <= place.lat <= 90 and -180 <= place.lon <= 180):
            raise InputError(f"place {place.node_id!r}: ({place.lat}, {place.lon}) is no lat/lon")
        graph.add_node(
            place.node_id,
            name=place.name,
            lat=float(place.lat),
            lon=float(place.lon),
            elevation_m=float(place.elevation_m),
            kind=place.kind,
        )
    for road in roads:
        where = f"road {road.a} - {road.b}"
        for end in (road.a, road.b):
            if end not in graph:
                raise InputError(f"{where}: {end!r} is not a place", hint="add it to the places")
        if road.a == road.b:
            raise InputError(f"{where}: a road joins two different places")
        if not road.length_km > 0 or not road.speed_kmh > 0:
            raise InputError(f"{where}: length_km and speed_kmh must be positive")
        if road.ascent_m < 0 or road.descent_m < 0:
            raise InputError(f"{where}: ascent_m and descent_m are totals climbed, never negative")
        if road.road_class not in ROAD_CLASSES:
            raise InputError(
                f"{where}: road_class {road.road_class!r} is not one of {ROAD_CLASSES}"
            )
        common = {"length_km": float(road.length_km), "speed_kmh": float(road.speed_kmh)}
        up, down = float(road.ascent_m), float(road.descent_m)
        graph.add_edge(
            road.a, road.b, **common, ascent_m=up, descent_m=down,
            road_class=road.road_class,
        )  # fmt: skip
        graph.add_edge(
            road.b, road.a, **common, ascent_m=down, descent_m=up,
            road_class=road.road_class,
        )  # fmt: skip
    checked: list[ChargerSite] = []
    seen: set[str] = set()
    for site in sites:
        if site.site_id in seen:
            raise InputError(f"charger site {site.site_id!r} is given twice", hint="keep one")
        seen.add(site.site_id)
        if site.node not in graph:
            raise InputError(
                f"charger site {site.site_id!r} is at {site.node!r}, which is not a place",
                hint="attach each site to the id of a node of the road network",
            )
        if not site.power_kw > 0 or site.stalls < 1:
            raise InputError(f"charger site {site.site_id!r}: needs power_kw > 0 and stalls >= 1")
        if not 0 <= site.peak_utilisation < 1 or site.price_eur_per_kwh < 0:
            raise InputError(
                f"charger site {site.site_id!r}: peak_utilisation is a share in [0, 1) and "
                "price_eur_per_kwh is not negative"
            )
        checked.append(site)
    return RoadNetwork(graph, tuple(checked), name=name, seed=seed)
