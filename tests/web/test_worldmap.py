"""The map's outlines are the vendored Natural Earth ones, and each market lands in its country."""

from __future__ import annotations

import hashlib
import itertools
from importlib.resources import files

import pytest

from drivetrain.demo.markets import MARKETS
from drivetrain.web import worldmap
from drivetrain.web.worldmap import (
    HEIGHT,
    MAX_RADIUS,
    MIN_RADIUS,
    WIDTH,
    bubble_radius,
    contains,
    countries,
    country_of,
    market_map,
    project,
    view_of,
)

# world-atlas 2.0.2's countries-110m.json, byte for byte (data/README.md)
ATLAS_SHA256 = "2516c915867c7baf18ddec727aec46c315541a07cfb3d79a6559b05d5e94eee8"


def test_the_vendored_outlines_are_world_atlas_2_0_2() -> None:
    data = files("drivetrain.web").joinpath("data", "countries-110m.json").read_bytes()
    assert hashlib.sha256(data).hexdigest() == ATLAS_SHA256
    readme = files("drivetrain.web").joinpath("data", "README.md").read_text("utf-8")
    assert "public domain" in readme and "ISC" in readme


@pytest.mark.parametrize("code", sorted(MARKETS))
def test_each_simulated_market_is_drawn_where_its_home_city_is(code: str) -> None:
    market = MARKETS[code]
    country = country_of(code)
    assert country is not None, f"no outline for market {code}"
    # the alpha-2 → numeric mapping is right if the market's city lies in the outline
    assert contains(country, project(market.lon, market.lat)), (code, country.name)
    assert contains(country, country.centroid)  # the bubble sits on land of that country


def test_projection_and_well_known_places() -> None:
    assert project(-180, 84) == (0.0, 0.0)
    x, y = project(180, -58)
    assert x == pytest.approx(WIDTH) and y == pytest.approx(HEIGHT, abs=0.1)
    assert country_of("fr") is country_of("FR") and country_of("FR").name == "France"  # type: ignore[union-attr]
    paris = project(2.35, 48.86)
    assert contains(country_of("FR"), paris) and not contains(country_of("DE"), paris)  # type: ignore[arg-type]
    assert country_of("XX") is None and country_of("AQ") is None  # Antarctica is left out


def test_no_outline_draws_a_line_across_the_map() -> None:
    # Russia and Fiji cross the antimeridian: unwrapped, no step spans half the world
    for country in countries().values():
        for polygon in country.polygons:
            for ring in polygon:
                for (x0, _), (x1, _) in itertools.pairwise(ring):
                    assert abs(x1 - x0) < WIDTH / 2, country.name
    russia = country_of("RU")
    assert russia is not None and 0 < russia.centroid[0] < WIDTH
    assert "M" in russia.path and russia.path.count("M") > len(russia.polygons)  # wrapped copy


def test_bubbles_grow_by_area_up_to_the_largest_market() -> None:
    assert bubble_radius(10, 10) == MAX_RADIUS
    assert bubble_radius(0, 10) == MIN_RADIUS
    radii = [bubble_radius(n, 100) for n in (1, 4, 25, 100)]
    assert radii == sorted(radii) and len(set(radii)) == 4
    grow = [(r - MIN_RADIUS) ** 2 for r in radii]  # the area above the minimum ∝ vehicles
    assert grow[2] / grow[0] == pytest.approx(25, rel=0.02)


def test_the_view_frames_the_markets() -> None:
    assert view_of([]) == (0.0, 0.0, WIDTH, HEIGHT)
    points = [country_of(c).centroid for c in ("FR", "DE", "US")]  # type: ignore[union-attr]
    x, y, w, h = view_of(points)
    assert w < WIDTH and w / h == pytest.approx(WIDTH / HEIGHT, rel=0.01)
    for px, py in points:
        assert x + worldmap.PAD * 0.9 <= px <= x + w - worldmap.PAD * 0.9
        assert y <= py <= y + h
    assert view_of([country_of(c).centroid for c in ("US", "KR")])[2] >= 0.7 * WIDTH  # type: ignore[union-attr]


def test_market_map_places_known_markets_and_lists_the_rest() -> None:
    drawn = market_map([("FR", 10, 2, 95.0), ("DE", 40, 0, 100.0), ("ZZ", 3, 0, 80.0)])
    assert [b.market for b in drawn.bubbles] == ["DE", "FR"]  # largest first, drawn below
    assert drawn.unplaced == ("ZZ",)
    by = {b.market: b for b in drawn.bubbles}
    assert by["DE"].band == "health-good" and by["FR"].band == "health-watch"
    assert by["DE"].r == pytest.approx(MAX_RADIUS * drawn.unit, abs=0.01)
    assert "10 vehicles, 2 needing attention, mean health 95.0" in by["FR"].label
    assert sum(1 for *_, is_market in drawn.outlines if is_market) == 2
