"""A deployment's own road and charger data: a JSON network and a CSV of charger sites.

The JSON document (``dump_road_network`` writes the same shape)::

    {"name": "my-region",
     "places": [{"id": "munich", "name": "Munich", "lat": 48.137, "lon": 11.575,
                 "elevation_m": 520, "kind": "city"}, ...],
     "roads": [{"a": "munich", "b": "salzburg", "length_km": 145, "speed_kmh": 130,
                "ascent_m": 310, "descent_m": 406, "road_class": "motorway"}, ...],
     "chargers": [<charger objects, the CSV's columns>]}

``ascent_m``/``descent_m`` (default 0), ``elevation_m`` (0), ``kind`` ("city") and
``road_class`` ("motorway") are optional. The charger CSV has a header row with
``site_id,node,name,operator,power_kw,stalls,price_eur_per_kwh`` and optionally
``peak_utilisation`` (default 0.4); ``node`` is the id of the place the site is at
(snap GeoJSON points of a charger registry to the nearest place first).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from drivetrain.cockpit.charging.models import ChargerSite
from drivetrain.cockpit.charging.network import Place, Road, RoadNetwork, build_network
from drivetrain.errors import InputError, StorageError

CHARGER_COLUMNS = ("site_id", "node", "name", "operator", "power_kw", "stalls", "price_eur_per_kwh")


def _read(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror}") from exc


def _number(record: Mapping[str, Any], key: str, where: str, default: float | None = None) -> float:
    value = record.get(key, default)
    if value is None or value == "":
        if default is not None:
            return default
        raise InputError(f"{where}: {key} is missing")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: {key} {value!r} is not a number") from None


def _text(record: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = record.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: {key} is missing or empty")
    return value.strip()


def charger_from_record(record: Mapping[str, Any], where: str) -> ChargerSite:
    """One charger site from a JSON object or CSV row; ``where`` names it in errors."""
    stalls = _number(record, "stalls", where)
    if stalls != int(stalls):
        raise InputError(f"{where}: stalls {stalls!r} is not a whole number")
    return ChargerSite(
        site_id=_text(record, "site_id", where),
        node=_text(record, "node", where),
        name=_text(record, "name", where),
        operator=_text(record, "operator", where),
        power_kw=_number(record, "power_kw", where),
        stalls=int(stalls),
        price_eur_per_kwh=_number(record, "price_eur_per_kwh", where),
        peak_utilisation=_number(record, "peak_utilisation", where, 0.4),
    )


def read_chargers_csv(path: Path) -> list[ChargerSite]:
    """The charger sites of a CSV file (errors name the file and line)."""
    lines = _read(path).splitlines()
    reader = csv.DictReader(lines)
    missing = [c for c in CHARGER_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(
            f"{path}: the header lacks {', '.join(missing)}",
            hint=f"the columns are {','.join(CHARGER_COLUMNS)}[,peak_utilisation]",
        )
    return [charger_from_record(row, f"{path}, line {n}") for n, row in enumerate(reader, start=2)]


def load_chargers_csv(
    network: RoadNetwork, path: Path, *, replace_sites: bool = True
) -> RoadNetwork:
    """``network`` with the charger sites of a CSV file, instead of (or besides) its own."""
    sites = read_chargers_csv(path)
    graph = network.graph
    places = [
        Place(n, d["name"], d["lat"], d["lon"], d["elevation_m"], d["kind"])
        for n, d in graph.nodes(data=True)
    ]
    roads = [
        Road(u, v, d["length_km"], d["speed_kmh"], d["ascent_m"], d["descent_m"], d["road_class"])
        for u, v, d in graph.edges(data=True)
        if u < v
    ]
    kept = [] if replace_sites else list(network.sites)
    return build_network(places, roads, [*kept, *sites], name=network.name, seed=network.seed)


def load_road_network(path: Path) -> RoadNetwork:
    """A road network with chargers from a JSON file (the shape in this module's docstring)."""
    try:
        doc = json.loads(_read(path))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected an object with places, roads and chargers")
    for key in ("places", "roads"):
        if not isinstance(doc.get(key), list) or not doc[key]:
            raise InputError(f"{path}: needs a non-empty list of {key}")
    places = []
    for i, p in enumerate(doc["places"]):
        where = f"{path}: places[{i}]"
        places.append(
            Place(
                _text(p, "id", where), _text(p, "name", where, p.get("id")),
                _number(p, "lat", where), _number(p, "lon", where),
                _number(p, "elevation_m", where, 0.0), _text(p, "kind", where, "city"),
            )
        )  # fmt: skip
    roads = []
    for i, r in enumerate(doc["roads"]):
        where = f"{path}: roads[{i}]"
        roads.append(
            Road(
                _text(r, "a", where), _text(r, "b", where), _number(r, "length_km", where),
                _number(r, "speed_kmh", where), _number(r, "ascent_m", where, 0.0),
                _number(r, "descent_m", where, 0.0), _text(r, "road_class", where, "motorway"),
            )
        )  # fmt: skip
    sites = [
        charger_from_record(c, f"{path}: chargers[{i}]")
        for i, c in enumerate(doc.get("chargers") or [])
    ]
    name = doc.get("name") or Path(path).stem
    return build_network(places, roads, sites, name=str(name), seed=None)


def dump_road_network(network: RoadNetwork) -> dict[str, Any]:
    """The network as the JSON document :func:`load_road_network` reads."""
    graph = network.graph
    return {
        "name": network.name,
        "places": [
            {
                "id": n,
                "name": d["name"],
                "lat": d["lat"],
                "lon": d["lon"],
                "elevation_m": d["elevation_m"],
                "kind": d["kind"],
            }
            for n, d in graph.nodes(data=True)
        ],
        "roads": [
            {
                "a": u,
                "b": v,
                **{
                    k: d[k]
                    for k in ("length_km", "speed_kmh", "ascent_m", "descent_m", "road_class")
                },
            }
            for u, v, d in graph.edges(data=True)
            if u < v
        ],
        "chargers": [site.to_dict() for site in network.sites],
    }
