"""The fleet map: country outlines drawn server-side as SVG, one bubble per market.

The outlines are Natural Earth's 1:110m admin-0 countries (public domain) as
redistributed in TopoJSON by the npm package ``world-atlas`` 2.0.2 (ISC), kept
verbatim in ``data/countries-110m.json``. Its countries are keyed by ISO 3166-1
numeric code; ``data/iso3166-numeric.json`` maps the alpha-2 codes the fleet
registry uses onto them (taken from Debian's ``iso-codes`` 4.15). See
``data/README.md``. Each market's bubble sits on the area centroid of its
country's largest polygon (so France's is in Europe, not French Guiana), which
is computed from the same outlines: no coordinates are typed in by hand.

The projection is equirectangular (x from longitude, y from latitude) over
84° N to 58° S; Antarctica is left out. No tiles, no network, no script.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

WIDTH = 1000.0  # SVG user units for 360° of longitude
NORTH, SOUTH = 84.0, -58.0
SCALE = WIDTH / 360.0
HEIGHT = round((NORTH - SOUTH) * SCALE, 1)
ANTARCTICA = "010"
MIN_RADIUS, MAX_RADIUS = 5.0, 22.0  # at the whole world's scale; zooming in keeps them so
PAD = 55.0  # user units around the outermost markets
MIN_VIEW_WIDTH = 420.0  # zoom in at most this far (about 150° of longitude)
LABEL_SIZE = 11.0
#: Mean health bands (lower bound, CSS class, legend text), best first.
HEALTH_BANDS: tuple[tuple[float, str, str], ...] = (
    (97.0, "health-good", "97–100: healthy"),
    (90.0, "health-watch", "90–97: some findings"),
    (-math.inf, "health-poor", "below 90: needs attention"),
)

Point = tuple[float, float]  # projected (x, y)
Ring = list[Point]


@dataclass(frozen=True, slots=True)
class Country:
    """One country's outline, projected: its SVG path and the centroid of its largest part."""

    numeric: str
    name: str
    path: str
    centroid: Point
    polygons: tuple[tuple[Ring, ...], ...]  # outer ring first, then holes


@dataclass(frozen=True, slots=True)
class Bubble:
    """A market on the map."""

    market: str
    name: str
    x: float
    y: float
    r: float
    band: str
    label: str  # what a screen reader and the tooltip say


@dataclass(frozen=True, slots=True)
class MarketMap:
    """Everything the map template draws.

    ``view`` is the part of the world shown (x, y, width, height in user units): the
    markets with a margin, so a fleet sold in Europe and North America is not drawn
    at the scale of the whole globe. ``unit`` is how many user units make one unit
    at the whole world's scale: bubbles, labels and the legend are sized by it so
    they keep their size on screen whatever the zoom.
    """

    width: float
    height: float
    view: tuple[float, float, float, float]
    unit: float
    label_size: float
    outlines: tuple[tuple[str, str, str, bool], ...]  # (numeric, name, path, is a market)
    bubbles: tuple[Bubble, ...]
    unplaced: tuple[str, ...]  # markets with no outline (still in the table below the map)
    legend: tuple[tuple[str, str], ...]


def project(lon: float, lat: float) -> Point:
    """Equirectangular projection onto the map's user units."""
    return ((lon + 180.0) * SCALE, (NORTH - lat) * SCALE)


def _load(name: str) -> Any:
    return json.loads(files("drivetrain.web").joinpath("data", name).read_text("utf-8"))


def _decode_arcs(topology: dict[str, Any]) -> list[list[Point]]:
    """TopoJSON's quantised, delta-encoded arcs as projected points."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs: list[list[Point]] = []
    for arc in topology["arcs"]:
        x = y = 0
        points: list[Point] = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append(project(x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def _ring(arcs: list[list[Point]], indices: Sequence[int]) -> Ring:
    """A ring from its arcs, unwrapped where it crosses the antimeridian (Russia, Fiji).

    A step of more than half the world's width is the ring crossing ±180°, not a line
    across the map: the points after it are shifted by the width so the ring stays
    whole, reaching past the map's edge (:func:`_path` draws that part on the other side).
    """
    ring: Ring = []
    for index in indices:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        ring.extend(arc if not ring else arc[1:])  # consecutive arcs share an end point
    shift = 0.0
    unwrapped: Ring = []
    for i, (x, y) in enumerate(ring):
        if i and abs(x + shift - unwrapped[-1][0]) > WIDTH / 2:
            shift += WIDTH if unwrapped[-1][0] > x + shift else -WIDTH
        unwrapped.append((x + shift, y))
    return unwrapped


def _area_centroid(ring: Ring) -> tuple[float, Point]:
    """Signed area and centroid of a closed ring (the shoelace formula)."""
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    area /= 2.0
    if area == 0.0:
        xs, ys = zip(*ring, strict=True)
        return 0.0, (sum(xs) / len(xs), sum(ys) / len(ys))
    return area, (cx / (6.0 * area), cy / (6.0 * area))


def _path(polygons: Iterable[Iterable[Ring]]) -> str:
    """An SVG path of whole user units with relative steps (about 40 kB for the world)."""
    parts: list[str] = []
    for polygon in polygons:
        for whole in polygon:
            parts.extend(_ring_path(ring) for ring in _wrapped(whole))
    return "".join(p for p in parts if p)


def _wrapped(ring: Ring) -> list[Ring]:
    """``ring``, and its copy a world's width over if it reaches past an edge."""
    xs = [x for x, _ in ring]
    copies = [ring]
    if min(xs) < 0:
        copies.append([(x + WIDTH, y) for x, y in ring])
    if max(xs) > WIDTH:
        copies.append([(x - WIDTH, y) for x, y in ring])
    return copies


def _ring_path(ring: Ring) -> str:
    """One closed ring as ``M x y l dx dy … z`` in whole units ('' if smaller than a unit)."""
    points: list[tuple[int, int]] = []
    for x, y in ring:
        point = (round(x), round(y))
        if not points or point != points[-1]:
            points.append(point)
    if len(points) < 3:
        return ""
    steps = " ".join(f"{x1 - x0} {y1 - y0}" for (x0, y0), (x1, y1) in itertools.pairwise(points))
    return f"M{points[0][0]} {points[0][1]}l{steps.replace(' -', '-')}z"


@functools.cache
def countries() -> dict[str, Country]:
    """Every country of the outlines by ISO 3166-1 numeric code (read once per process)."""
    topology = _load("countries-110m.json")
    arcs = _decode_arcs(topology)
    found: dict[str, Country] = {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        numeric = geometry.get("id")
        if not numeric or numeric == ANTARCTICA:
            continue  # the few unrecognised territories have no code to be a market by
        shapes = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        polygons = tuple(tuple(_ring(arcs, ring) for ring in shape) for shape in shapes)
        largest = max(polygons, key=lambda p: abs(_area_centroid(p[0])[0]))
        found[numeric] = Country(
            numeric=numeric,
            name=str(geometry.get("properties", {}).get("name", numeric)),
            path=_path(polygons),
            centroid=_area_centroid(largest[0])[1],
            polygons=polygons,
        )
    return found


@functools.cache
def numeric_codes() -> dict[str, str]:
    """ISO 3166-1 alpha-2 → numeric, for the countries that have an outline."""
    return dict(_load("iso3166-numeric.json"))


def country_of(market: str) -> Country | None:
    """The outline of the country whose alpha-2 code is ``market``, if there is one."""
    numeric = numeric_codes().get(market.upper())
    return countries().get(numeric) if numeric else None


def health_band(mean_health: float) -> str:
    """The CSS class of a mean health (see :data:`HEALTH_BANDS`)."""
    return next(cls for low, cls, _ in HEALTH_BANDS if mean_health >= low)


def bubble_radius(vehicles: int, most: int) -> float:
    """Bubble radius: its area grows with the vehicles, the largest market at MAX_RADIUS."""
    if most <= 0 or vehicles <= 0:
        return MIN_RADIUS
    return round(MIN_RADIUS + (MAX_RADIUS - MIN_RADIUS) * math.sqrt(vehicles / most), 1)


def view_of(points: Sequence[Point]) -> tuple[float, float, float, float]:
    """The window (x, y, width, height) around ``points``, in the map's proportions."""
    if not points:
        return (0.0, 0.0, WIDTH, HEIGHT)
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    aspect = WIDTH / HEIGHT
    w = max(max(xs) - min(xs) + 2 * PAD, (max(ys) - min(ys) + 2 * PAD) * aspect, MIN_VIEW_WIDTH)
    if w >= WIDTH:
        return (0.0, 0.0, WIDTH, HEIGHT)
    h = w / aspect
    x = min(max((min(xs) + max(xs)) / 2 - w / 2, 0.0), WIDTH - w)
    y = min(max((min(ys) + max(ys)) / 2 - h / 2, 0.0), HEIGHT - h)
    return (round(x, 1), round(y, 1), round(w, 1), round(h, 1))


def market_map(markets: Sequence[tuple[str, int, int, float]]) -> MarketMap:
    """The map of ``markets``: (alpha-2 code, vehicles, needing attention, mean health)."""
    most = max((vehicles for _, vehicles, _, _ in markets), default=0)
    placed: list[tuple[str, Country, int, int, float]] = []
    unplaced: list[str] = []
    for code, vehicles, attention, health in markets:
        country = country_of(code)
        if country is None:
            unplaced.append(code)
        else:
            placed.append((code, country, vehicles, attention, health))
    view = view_of([country.centroid for _, country, *_ in placed])
    unit = view[2] / WIDTH
    bubbles = [
        Bubble(
            market=code,
            name=country.name,
            x=round(country.centroid[0], 1),
            y=round(country.centroid[1], 1),
            r=round(bubble_radius(vehicles, most) * unit, 2),
            band=health_band(health),
            label=f"{country.name} ({code}): {vehicles} vehicles, "
            f"{attention} needing attention, mean health {health:.1f}",
        )
        for code, country, vehicles, attention, health in placed
    ]
    bubbles.sort(key=lambda b: -b.r)  # small bubbles drawn last, on top of large ones
    market_numerics = {country.numeric for _, country, *_ in placed}
    return MarketMap(
        width=WIDTH,
        height=HEIGHT,
        view=view,
        unit=round(unit, 4),
        label_size=round(LABEL_SIZE * unit, 2),
        outlines=tuple(
            (c.numeric, c.name, c.path, c.numeric in market_numerics) for c in countries().values()
        ),
        bubbles=tuple(bubbles),
        unplaced=tuple(unplaced),
        legend=tuple((cls, text) for _, cls, text in HEALTH_BANDS),
    )


def contains(country: Country, point: Point) -> bool:
    """Whether a projected point lies inside the country (even-odd rule over all rings)."""
    x, y = point
    inside = False
    for polygon in country.polygons:
        for ring in polygon:
            for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
                if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
                    inside = not inside
    return inside
