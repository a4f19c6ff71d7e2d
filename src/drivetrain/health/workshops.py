"""Service centres (workshops): where a vehicle can be repaired and what they can do.

A :class:`Workshop` has a market, a position, a time zone, weekly opening
hours (local time), a number of bays and capability tags (:data:`CAPABILITIES`).
A :class:`WorkshopNetwork` is the workshops of a deployment with the home point
of each market (distances are measured from it unless the caller knows better).

The embedded default, :func:`generate_workshop_network`, puts a few workshops
of different kinds around the home city of each market the demo fleet is sold
in — a franchised dealer that can do everything, independent garages, a tyre
and brake centre, an EV specialist — with the same seed giving the same
network. A deployment's own network is a JSON file (:func:`load_workshop_network`;
:func:`dump_workshop_network` writes the same shape)::

    {"name": "my-dealers",
     "markets": {"FR": {"lat": 48.857, "lon": 2.352}},
     "workshops": [{"workshop_id": "fr-paris-dealer", "name": "Paris Dealer",
                    "market": "FR", "lat": 48.90, "lon": 2.30,
                    "timezone": "Europe/Paris", "bays": 4,
                    "capabilities": ["general", "brakes", "tyres"],
                    "hours": {"mon": "08:00-18:00", "sat": "08:00-12:00"}}]}

Days missing from ``hours`` are closed; a market missing from ``markets`` is
centred on its workshops. Times are local wall-clock times of the workshop's
IANA time zone (daylight saving included); everything returned is UTC. When a
workshop has a free bay is :mod:`drivetrain.health.workshop_calendar`'s business.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from drivetrain.errors import InputError, NotFound, StorageError

CAPABILITIES: dict[str, str] = {
    "general": "servicing, inspections and 12 V electrics",
    "brakes": "pads, discs and calipers",
    "tyres": "tyre repair, replacement and TPMS",
    "engine": "engine, ignition, cooling and emissions",
    "diagnostics": "reading out and tracing trouble codes with manufacturer tools",
    "hv_battery": "high-voltage battery work: trained technicians and an insulated bay",
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The home cities of the markets the demo fleet is sold in (drivetrain.demo.markets; a
# capability may not import the simulator): code -> (city, lat, lon, IANA time zone).
MARKET_HOMES: dict[str, tuple[str, float, float, str]] = {
    "FR": ("Paris", 48.8566, 2.3522, "Europe/Paris"),
    "DE": ("Munich", 48.1351, 11.5820, "Europe/Berlin"),
    "IT": ("Turin", 45.0703, 7.6869, "Europe/Rome"),
    "ES": ("Madrid", 40.4168, -3.7038, "Europe/Madrid"),
    "US": ("Detroit", 42.3314, -83.0458, "America/Detroit"),
    "CA": ("Toronto", 43.6532, -79.3832, "America/Toronto"),
    "CN": ("Shanghai", 31.2304, 121.4737, "Asia/Shanghai"),
    "KR": ("Seoul", 37.5665, 126.9780, "Asia/Seoul"),
}

Hours = tuple[tuple[time, time] | None, ...]  # Monday first, seven entries, local time


@dataclass(frozen=True, slots=True)
class Workshop:
    """A service centre: ``bays`` vehicles can be worked on at once while it is open."""

    workshop_id: str
    name: str
    market: str
    lat: float
    lon: float
    timezone: str
    bays: int
    capabilities: frozenset[str]
    hours: Hours

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    def opening(self, day: date) -> tuple[datetime, datetime] | None:
        """When the workshop opens and closes on local ``day`` (UTC), None if closed."""
        span = self.hours[day.weekday()]
        if span is None:
            return None
        zone = self.zone
        opens = datetime.combine(day, span[0], tzinfo=zone).astimezone(UTC)
        return opens, datetime.combine(day, span[1], tzinfo=zone).astimezone(UTC)

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def to_dict(self) -> dict[str, Any]:
        return {
            "workshop_id": self.workshop_id,
            "name": self.name,
            "market": self.market,
            "lat": self.lat,
            "lon": self.lon,
            "timezone": self.timezone,
            "bays": self.bays,
            "capabilities": sorted(self.capabilities),
            "hours": {
                day: f"{span[0]:%H:%M}-{span[1]:%H:%M}"
                for day, span in zip(WEEKDAYS, self.hours, strict=True)
                if span is not None
            },
        }


@dataclass(frozen=True, slots=True)
class WorkshopNetwork:
    """The workshops of a deployment and the home point (lat, lon) of each market."""

    name: str
    workshops: tuple[Workshop, ...]
    homes: Mapping[str, tuple[float, float]]

    def get(self, workshop_id: str) -> Workshop:
        for w in self.workshops:
            if w.workshop_id == workshop_id:
                return w
        raise NotFound(
            f"no workshop {workshop_id!r} in network {self.name!r}",
            hint="the suggestions name bookable workshops by workshop_id",
        )

    def markets(self) -> list[str]:
        return sorted({w.market for w in self.workshops})

    def in_market(self, market: str) -> list[Workshop]:
        """The workshops of ``market``; ``NotFound`` if it has none."""
        found = [w for w in self.workshops if w.market == market]
        if not found:
            raise NotFound(
                f"network {self.name!r} has no workshop in market {market!r}",
                hint=f"markets with workshops: {', '.join(self.markets()) or 'none'}",
            )
        return found

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "markets": {m: {"lat": p[0], "lon": p[1]} for m, p in sorted(self.homes.items())},
            "workshops": [w.to_dict() for w in self.workshops],
        }


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (km) between two (lat, lon) points in degrees."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


# kind, name, capabilities always, capabilities with a chance of 1/2, bays (low, high)
_KINDS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[int, int]], ...] = (
    ("dealer", "Dealer Service", tuple(CAPABILITIES), (), (4, 8)),
    ("garage", "Garage", ("general", "brakes", "engine"), ("tyres", "diagnostics"), (2, 4)),
    ("tyres", "Tyre & Brake Centre", ("tyres", "brakes"), ("general",), (3, 6)),
    ("ev", "EV Service", ("hv_battery", "diagnostics", "general"), ("tyres",), (1, 3)),
    ("quick", "Quick Service", ("general", "tyres"), ("brakes",), (2, 5)),
)
_COMPASS = (
    "North",
    "North-East",
    "East",
    "South-East",
    "South",
    "South-West",
    "West",
    "North-West",
)


def generate_workshop_network(seed: int = 0, *, per_market: int = 5) -> WorkshopNetwork:
    """The seeded default network: ``per_market`` workshops (kinds in turn) per demo market.

    Each lies 2-35 km from the market's home city, opens on weekdays at 7, 8 or
    9 and closes at 17, 18 or 19 local time, on Saturday mornings with chance
    1/2 (dealers always) and never on Sunday.
    """
    if not 1 <= per_market <= 50:
        raise InputError(f"per_market must be 1..50, got {per_market}")
    rng = np.random.default_rng(seed)
    workshops: list[Workshop] = []
    for market, (city, lat, lon, zone) in MARKET_HOMES.items():
        for n in range(per_market):
            kind, label, always, maybe, bays = _KINDS[n % len(_KINDS)]
            bearing = float(rng.uniform(0, 2 * math.pi))
            km = float(rng.uniform(2.0, 35.0))
            w_lat = lat + km * math.cos(bearing) / 111.2
            w_lon = lon + km * math.sin(bearing) / (111.2 * math.cos(math.radians(lat)))
            extra = [c for c in maybe if rng.random() < 0.5]
            opens = time(int(rng.choice([7, 8, 9])))
            closes = time(int(rng.choice([17, 18, 19])))
            saturday = (time(8), time(12)) if kind == "dealer" or rng.random() < 0.5 else None
            side = _COMPASS[round(bearing / (2 * math.pi) * 8) % 8]
            workshops.append(
                Workshop(
                    workshop_id=f"{market.lower()}-{kind}-{n + 1}",
                    name=f"{city} {label} {side}",
                    market=market,
                    lat=round(w_lat, 5),
                    lon=round(w_lon, 5),
                    timezone=zone,
                    bays=int(rng.integers(bays[0], bays[1] + 1)),
                    capabilities=frozenset((*always, *extra)),
                    hours=(*([(opens, closes)] * 5), saturday, None),
                )
            )
    homes = {m: (h[1], h[2]) for m, h in MARKET_HOMES.items()}
    return WorkshopNetwork(f"default-{seed}", tuple(workshops), homes)


# -- files ------------------------------------------------------------------------------


def _span(text: Any, where: str) -> tuple[time, time]:
    try:
        first, last = str(text).split("-")
        opens, closes = time.fromisoformat(first.strip()), time.fromisoformat(last.strip())
    except ValueError:
        raise InputError(
            f"{where}: opening hours {text!r} are not HH:MM-HH:MM", hint='e.g. "08:00-18:00"'
        ) from None
    if closes <= opens:
        raise InputError(f"{where}: closes ({closes:%H:%M}) before it opens ({opens:%H:%M})")
    return opens, closes


def workshop_from_record(record: Mapping[str, Any], where: str) -> Workshop:
    """One workshop from a JSON object; ``where`` names it in errors."""
    missing = [
        k for k in ("workshop_id", "name", "market", "lat", "lon", "timezone", "bays")
        if k not in record
    ]  # fmt: skip
    if missing:
        raise InputError(f"{where}: missing {', '.join(missing)}")
    try:
        lat, lon, bays = float(record["lat"]), float(record["lon"]), record["bays"]
    except (TypeError, ValueError):
        raise InputError(f"{where}: lat and lon must be numbers (degrees)") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InputError(f"{where}: position ({lat}, {lon}) is not a latitude and longitude")
    if not isinstance(bays, int) or isinstance(bays, bool) or bays < 1:
        raise InputError(f"{where}: bays must be a whole number >= 1, got {bays!r}")
    try:
        ZoneInfo(str(record["timezone"]))
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"{where}: unknown time zone {record['timezone']!r}",
            hint="use an IANA name such as Europe/Paris",
        ) from None
    capabilities = record.get("capabilities", ["general"])
    unknown = sorted(set(capabilities) - set(CAPABILITIES))
    if isinstance(capabilities, str) or unknown:
        raise InputError(
            f"{where}: unknown capabilities {unknown or capabilities!r}",
            hint=f"capabilities are a list of: {', '.join(CAPABILITIES)}",
        )
    hours = record.get("hours", {})
    if not isinstance(hours, Mapping) or set(hours) - set(WEEKDAYS):
        raise InputError(
            f"{where}: hours must map days ({', '.join(WEEKDAYS)}) to HH:MM-HH:MM",
            hint='e.g. {"mon": "08:00-18:00", "sat": "08:00-12:00"}',
        )
    return Workshop(
        workshop_id=str(record["workshop_id"]),
        name=str(record["name"]),
        market=str(record["market"]).upper(),
        lat=lat,
        lon=lon,
        timezone=str(record["timezone"]),
        bays=bays,
        capabilities=frozenset(capabilities),
        hours=tuple(_span(hours[d], f"{where} {d}") if d in hours else None for d in WEEKDAYS),
    )


def workshop_network_from_dict(document: Mapping[str, Any], source: str) -> WorkshopNetwork:
    """A network from a parsed JSON document (the shape in the module docstring)."""
    records = document.get("workshops")
    if not isinstance(records, Sequence) or isinstance(records, str) or not records:
        raise InputError(f"{source}: no workshops", hint='give a "workshops" list')
    workshops = tuple(
        workshop_from_record(r, f"{source}: workshops[{i}]") if isinstance(r, Mapping) else
        _not_an_object(f"{source}: workshops[{i}]")
        for i, r in enumerate(records)
    )  # fmt: skip
    ids = [w.workshop_id for w in workshops]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise InputError(f"{source}: workshop ids used twice: {', '.join(twice)}")
    homes: dict[str, tuple[float, float]] = {}
    for market, point in dict(document.get("markets", {})).items():
        try:
            homes[str(market).upper()] = (float(point["lat"]), float(point["lon"]))
        except (KeyError, TypeError, ValueError):
            raise InputError(f"{source}: markets.{market} needs lat and lon") from None
    for market in {w.market for w in workshops} - set(homes):
        mine = [w for w in workshops if w.market == market]
        homes[market] = (
            sum(w.lat for w in mine) / len(mine),
            sum(w.lon for w in mine) / len(mine),
        )
    return WorkshopNetwork(str(document.get("name", source)), workshops, homes)


def _not_an_object(where: str) -> Workshop:
    raise InputError(f"{where} is not a JSON object")


def load_workshop_network(path: Path) -> WorkshopNetwork:
    """A deployment's workshop network from a JSON file (errors name the file and entry)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(document, Mapping):
        raise InputError(f"{path}: expected a JSON object with a workshops list")
    return workshop_network_from_dict(document, str(path))


def dump_workshop_network(network: WorkshopNetwork, path: Path) -> None:
    """Write ``network`` as JSON that :func:`load_workshop_network` reads back."""
    Path(path).write_text(json.dumps(network.to_dict(), indent=1) + "\n", encoding="utf-8")
