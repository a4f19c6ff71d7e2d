"""A seeded, European-style road network with charger sites, for demos and benchmarks.

Forty real cities (approximate coordinates and elevations) are joined to their
three nearest neighbours plus a minimum spanning tree so every city is
reachable. Roads are motorways (130 km/h; 120 in Switzerland, 100 in the
Netherlands) or trunk roads (100 km/h) a detour factor longer than the great
circle, with rolling-terrain climbs and, across the Alps, a pass of about
1,400 m. Roads longer than ``SEGMENT_KM`` are split by service areas (stops
on trunk roads), which get a charger with chance ``site_share`` (half that on
trunk roads). Each
city has AC and 50 kW DC sites and often a 150 kW one; most service areas have
a site of 50, 150 or 350 kW with the stalls, operator, price and busyness of
its kind. The same seed gives the same network (and ``version``).
"""

from __future__ import annotations

import itertools
import math

import networkx as nx  # type: ignore[import-untyped, unused-ignore]
import numpy as np

from drivetrain.cockpit.charging.models import ChargerSite
from drivetrain.cockpit.charging.network import Place, Road, RoadNetwork, build_network

SEGMENT_KM = 60.0  # AFIR asks for a fast charger every 60 km of the TEN-T core network
PASS_M = 1400.0
# id, name, country, lat, lon, elevation (m)
CITIES: tuple[tuple[str, str, str, float, float, float], ...] = (
    ("paris", "Paris", "FR", 48.857, 2.352, 35), ("lille", "Lille", "FR", 50.630, 3.063, 20),
    ("reims", "Reims", "FR", 49.258, 4.032, 83), ("dijon", "Dijon", "FR", 47.322, 5.041, 245),
    ("lyon", "Lyon", "FR", 45.764, 4.836, 170), ("marseille", "Marseille", "FR", 43.296, 5.370, 10),
    ("strasbourg", "Strasbourg", "FR", 48.573, 7.752, 142),
    ("brussels", "Brussels", "BE", 50.847, 4.357, 60), ("antwerp", "Antwerp", "BE", 51.219, 4.402, 10),
    ("rotterdam", "Rotterdam", "NL", 51.924, 4.478, 0),
    ("amsterdam", "Amsterdam", "NL", 52.370, 4.895, 0),
    ("luxembourg", "Luxembourg", "LU", 49.612, 6.130, 300),
    ("geneva", "Geneva", "CH", 46.204, 6.143, 375), ("bern", "Bern", "CH", 46.948, 7.447, 540),
    ("basel", "Basel", "CH", 47.560, 7.589, 260), ("zurich", "Zurich", "CH", 47.377, 8.541, 408),
    ("turin", "Turin", "IT", 45.070, 7.687, 239), ("milan", "Milan", "IT", 45.464, 9.190, 120),
    ("verona", "Verona", "IT", 45.438, 10.992, 59), ("bologna", "Bologna", "IT", 44.494, 11.343, 54),
    ("venice", "Venice", "IT", 45.441, 12.316, 1),
    ("ljubljana", "Ljubljana", "SI", 46.056, 14.506, 295),
    ("innsbruck", "Innsbruck", "AT", 47.269, 11.404, 574),
    ("salzburg", "Salzburg", "AT", 47.809, 13.055, 424), ("vienna", "Vienna", "AT", 48.208, 16.373, 190),
    ("munich", "Munich", "DE", 48.137, 11.575, 520), ("nuremberg", "Nuremberg", "DE", 49.452, 11.077, 302),
    ("stuttgart", "Stuttgart", "DE", 48.776, 9.183, 245),
    ("karlsruhe", "Karlsruhe", "DE", 49.007, 8.404, 115), ("mannheim", "Mannheim", "DE", 49.487, 8.466, 97),
    ("frankfurt", "Frankfurt", "DE", 50.110, 8.682, 112), ("cologne", "Cologne", "DE", 50.938, 6.960, 53),
    ("dortmund", "Dortmund", "DE", 51.514, 7.468, 86), ("hanover", "Hanover", "DE", 52.376, 9.739, 55),
    ("bremen", "Bremen", "DE", 53.079, 8.802, 11), ("hamburg", "Hamburg", "DE", 53.551, 9.994, 6),
    ("berlin", "Berlin", "DE", 52.520, 13.405, 34), ("leipzig", "Leipzig", "DE", 51.340, 12.375, 113),
    ("dresden", "Dresden", "DE", 51.050, 13.738, 113), ("prague", "Prague", "CZ", 50.076, 14.438, 235),
)  # fmt: skip
# operator, share of service-area sites, price (EUR/kWh) — list prices of 2024, rounded
OPERATORS: tuple[tuple[str, float, float], ...] = (
    ("Ionity", 0.22, 0.69), ("Fastned", 0.14, 0.59), ("Tesla Supercharger", 0.18, 0.55),
    ("EnBW", 0.14, 0.61), ("Allego", 0.10, 0.69), ("Electra", 0.08, 0.49),
    ("TotalEnergies", 0.08, 0.59), ("Shell Recharge", 0.06, 0.69),
)  # fmt: skip


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (km) between two (lat, lon) points."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _crosses_alps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    south, north = sorted((a, b))
    mean_lon = (a[1] + b[1]) / 2
    return south[0] < 46.0 and north[0] > 46.5 and 6.0 <= mean_lon <= 14.5


def _city_links() -> list[tuple[int, int]]:
    coords = [(c[3], c[4]) for c in CITIES]
    complete = nx.Graph()
    for i in range(len(CITIES)):
        for j in range(i + 1, len(CITIES)):
            complete.add_edge(i, j, weight=_km(coords[i], coords[j]))
    links = {tuple(sorted(e)) for e in nx.minimum_spanning_edges(complete, data=False)}
    for i in range(len(CITIES)):
        near = sorted(range(len(CITIES)), key=lambda j: _km(coords[i], coords[j]))[1:4]
        links |= {tuple(sorted((i, j))) for j in near if _km(coords[i], coords[j]) < 450}
    return sorted((int(i), int(j)) for i, j in links)


def _site(
    rng: np.random.Generator, site_id: str, node: str, name: str, power_kw: float, operator: str,
    price: float,
) -> ChargerSite:  # fmt: skip
    stalls = {350.0: (4, 12), 150.0: (2, 8), 50.0: (1, 3)}.get(power_kw, (2, 8))
    busy = (0.25, 0.6) if power_kw >= 150 else (0.3, 0.7)
    return ChargerSite(
        site_id=site_id, node=node, name=name, operator=operator, power_kw=power_kw,
        stalls=int(rng.integers(stalls[0], stalls[1] + 1)), price_eur_per_kwh=price,
        peak_utilisation=round(float(rng.uniform(*busy)), 3),
    )  # fmt: skip


def generate_road_network(seed: int = 0, *, site_share: float = 0.75) -> RoadNetwork:
    """The seeded European-style network; ``site_share`` of service areas get a charger."""
    rng = np.random.default_rng(seed)
    places = [Place(c[0], c[1], c[3], c[4], c[5]) for c in CITIES]
    country = {c[0]: c[2] for c in CITIES}
    roads: list[Road] = []
    sites: list[ChargerSite] = []
    operators = [o[0] for o in OPERATORS]
    shares = np.array([o[1] for o in OPERATORS]) / sum(o[1] for o in OPERATORS)
    prices = {o[0]: o[2] for o in OPERATORS}
    for i, j in _city_links():
        a, b = CITIES[i], CITIES[j]
        pa, pb = (a[3], a[4]), (b[3], b[4])
        motorway = bool(rng.random() < 0.85)
        length = _km(pa, pb) * float(rng.uniform(1.15, 1.35))
        if motorway:
            speed = 100.0 if "NL" in (a[2], b[2]) else 120.0 if "CH" in (a[2], b[2]) else 130.0
        else:
            speed = 100.0
        rolling = length * float(rng.uniform(2.0, 8.0))  # m climbed (and descended) per road
        if _crosses_alps(pa, pb):
            up, down = max(0.0, PASS_M - a[5]), max(0.0, PASS_M - b[5])
        else:
            up, down = max(0.0, b[5] - a[5]), max(0.0, a[5] - b[5])
        parts = max(1, math.ceil(length / SEGMENT_KM))
        chain = [a[0]]
        for k in range(1, parts):
            t = k / parts
            node = f"sa-{a[0]}-{b[0]}-{k}"
            name = f"{a[1]}–{b[1]} {'services' if motorway else 'stop'} {k}"
            places.append(
                Place(node, name, pa[0] + t * (pb[0] - pa[0]), pa[1] + t * (pb[1] - pa[1]),
                      a[5] + t * (b[5] - a[5]), kind="service_area")
            )  # fmt: skip
            country[node] = a[2] if t < 0.5 else b[2]
            chain.append(node)
            if rng.random() < (site_share if motorway else site_share / 2):
                power = float(rng.choice([350.0, 150.0, 50.0], p=[0.45, 0.35, 0.20]))
                operator = str(rng.choice(operators, p=shares))
                sites.append(
                    _site(rng, f"{node}-dc", node, f"{operator} {name}", power, operator,
                          prices[operator])
                )  # fmt: skip
        chain.append(b[0])
        for u, v in itertools.pairwise(chain):
            # climbs and descents spread evenly over the road's segments
            roads.append(
                Road(u, v, length / parts, speed, (up + rolling) / parts, (down + rolling) / parts,
                     "motorway" if motorway else "trunk")
            )  # fmt: skip
    for city in CITIES:
        node, name = city[0], city[1]
        sites.append(_site(rng, f"{node}-ac", node, f"{name} centre AC", 22.0, "city", 0.39))
        operator = str(rng.choice(operators, p=shares))
        sites.append(_site(rng, f"{node}-dc50", node, f"{name} {operator} 50 kW", 50.0, operator,
                           prices[operator]))  # fmt: skip
        if rng.random() < 0.6:
            operator = str(rng.choice(operators, p=shares))
            sites.append(_site(rng, f"{node}-dc150", node, f"{name} {operator} hub", 150.0,
                               operator, prices[operator]))  # fmt: skip
    return build_network(places, roads, sites, name=f"europe-{seed}", seed=seed)
