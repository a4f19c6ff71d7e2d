"""The simulated parts network's master data: which parts, where they are stocked.

Three kinds of part make up the catalog, so that the demand history has the mix
a real one has:

* **repair parts**, one per warranty component of
  :mod:`drivetrain.demo.warranty_parts` (same part number as the claims), issued
  when a vehicle's component fails (its Weibull life), in or out of warranty;
* **maintenance items** (filters, oil, pads, discs, plugs, wipers, tyres),
  issued when a vehicle's service falls due by months or kilometres since the
  sale; some by model family, some fitting every model. The cabin filter is a
  supersession chain (``CF-3000`` -> ``CF-3010`` -> ``CF-3020``);
* **other parts** (collision and accessory items) that only counter sales and
  body repairs the fleet does not foresee ask for.

Locations are a three-level tree: a central warehouse per area, a regional
warehouse per market, and ``dealers_per_market`` dealers in each market.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import polars as pl

from drivetrain.demo.markets import MARKETS
from drivetrain.demo.warranty_parts import COMPONENTS, DEALERS

SMALL = ("fiat-tipo", "hyundai-i30", "peugeot-308")
MID = ("alfa-romeo-giulia", "tesla-model-3")
LARGE = ("ram-1500", "chrysler-pacifica-hybrid")
PETROL_SMALL = (*SMALL, "alfa-romeo-giulia")
ANY = (*SMALL, *MID, *LARGE)
COMBUSTION = ("ice", "hev", "phev")
EVERY_POWERTRAIN = ("ice", "hev", "phev", "bev")
CABIN_CHAIN = ("CF-3000", "CF-3010", "CF-3020")  # each number supersedes the one before


@dataclass(frozen=True, slots=True)
class CatalogPart:
    """A part of the simulated catalog, with what makes vehicles ask for it."""

    part_number: str
    description: str
    component: str
    kind: str  # repair | maintenance | other
    models: tuple[str, ...]
    powertrains: tuple[str, ...]
    unit_cost: float
    lead_time_days: int
    criticality: str
    every_months: float | None = None  # maintenance: the service interval by time...
    every_km: float | None = None  # ... or by distance, whichever comes first
    quantity: int = 1  # units per repair or service
    wear_sd: float = 0.0  # log-normal spread of the interval between vehicles
    take_rate: float = 1.0  # share of due services that replace it
    counter_rate: float = 0.02  # counter-sale orders per 1,000 fitted vehicles a month
    lot_mean: float = 1.6  # mean units per counter-sale order


def _repair_parts() -> list[CatalogPart]:
    cost = {"hv_module": 0.75, "head_unit": 0.7}
    critical = {"hv_module": "A", "thermostat": "A", "lv_battery": "A", "brake_caliper": "A"}
    lead = {"hv_module": 45, "head_unit": 30}
    return [
        CatalogPart(
            c.part_number,
            c.name.replace("_", " "),
            c.name,
            "repair",
            ANY,
            c.powertrains,
            round(c.cost_eur * cost.get(c.name, 0.45), 2),
            lead.get(c.name, 10),
            critical.get(c.name, "B"),
        )
        for c in COMPONENTS
    ]


# fmt: off
# part number, description, item, models, unit cost, every months, every km, units a
# service, wear spread, take rate, lead time, criticality, powertrains
_SERVICE_ITEMS: tuple[tuple[str, str, str, tuple[str, ...], float, float | None, float | None, int, float, float, int, str, tuple[str, ...]], ...] = (
    ("OF-1120", "oil filter, 1.4-2.0 l petrol", "oil_filter", PETROL_SMALL, 9.5, 12.0, 15_000.0, 1, 0.1, 0.95, 5, "C", COMBUSTION),
    ("OF-2250", "oil filter, V6/V8", "oil_filter", LARGE, 14.0, 12.0, 15_000.0, 1, 0.1, 0.95, 5, "C", COMBUSTION),
    ("EO-0530-5L", "engine oil 0W-30, 5 l", "engine_oil", PETROL_SMALL, 42.0, 12.0, 15_000.0, 1, 0.1, 0.95, 5, "C", COMBUSTION),
    ("EO-0520-6L", "engine oil 0W-20, 6 l", "engine_oil", LARGE, 48.0, 12.0, 15_000.0, 1, 0.1, 0.95, 5, "C", COMBUSTION),
    ("AF-1300", "engine air filter", "air_filter", PETROL_SMALL, 18.0, 24.0, 30_000.0, 1, 0.1, 0.8, 5, "C", COMBUSTION),
    ("AF-2300", "engine air filter, large", "air_filter", LARGE, 24.0, 24.0, 30_000.0, 1, 0.1, 0.8, 5, "C", COMBUSTION),
    (CABIN_CHAIN[0], "cabin pollen filter", "cabin_filter", ANY, 21.0, 12.0, 20_000.0, 1, 0.1, 0.7, 5, "C", EVERY_POWERTRAIN),
    ("BP-F-110", "front brake pads, small", "brake_pads", SMALL, 58.0, None, 45_000.0, 1, 0.25, 0.95, 7, "B", EVERY_POWERTRAIN),
    ("BP-F-210", "front brake pads, mid", "brake_pads", MID, 86.0, None, 45_000.0, 1, 0.25, 0.95, 7, "B", EVERY_POWERTRAIN),
    ("BP-F-310", "front brake pads, heavy", "brake_pads", LARGE, 112.0, None, 40_000.0, 1, 0.25, 0.95, 7, "B", EVERY_POWERTRAIN),
    ("BP-R-100", "rear brake pads", "brake_pads", ANY, 49.0, None, 70_000.0, 1, 0.25, 0.95, 5, "B", EVERY_POWERTRAIN),
    ("BD-F-110", "front brake disc", "brake_discs", (*SMALL, *MID), 74.0, None, 80_000.0, 2, 0.3, 0.7, 7, "B", EVERY_POWERTRAIN),
    ("BD-F-310", "front brake disc, heavy", "brake_discs", LARGE, 118.0, None, 75_000.0, 2, 0.3, 0.7, 7, "B", EVERY_POWERTRAIN),
    ("WB-650", "wiper blade set", "wiper_blades", ANY, 32.0, 12.0, None, 1, 0.1, 0.35, 5, "C", EVERY_POWERTRAIN),
    ("SP-4-IR", "iridium spark plug", "spark_plugs", PETROL_SMALL, 11.0, None, 60_000.0, 4, 0.05, 0.95, 5, "C", COMBUSTION),
    ("SP-6-IR", "iridium spark plug, V6", "spark_plugs", ("chrysler-pacifica-hybrid",), 12.0, None, 60_000.0, 6, 0.05, 0.95, 5, "C", COMBUSTION),
    ("SP-8-IR", "iridium spark plug, V8", "spark_plugs", ("ram-1500",), 12.0, None, 60_000.0, 8, 0.05, 0.95, 5, "C", COMBUSTION),
    ("TY-2055516", "tyre 205/55 R16", "tyres", SMALL, 96.0, None, 45_000.0, 4, 0.3, 0.45, 3, "C", EVERY_POWERTRAIN),
    ("TY-2756518", "tyre 275/65 R18", "tyres", LARGE, 189.0, None, 50_000.0, 4, 0.3, 0.45, 3, "C", EVERY_POWERTRAIN),
)
# fmt: on


def _maintenance_parts() -> list[CatalogPart]:
    return [
        CatalogPart(
            number,
            what,
            item,
            "maintenance",
            models,
            powertrains,
            cost,
            lead,
            crit,
            every_months=months,
            every_km=km,
            quantity=qty,
            wear_sd=wear,
            take_rate=take,
            counter_rate=0.05,
        )
        for number, what, item, models, cost, months, km, qty, wear, take, lead, crit, powertrains in _SERVICE_ITEMS
    ]


def _other_parts() -> list[CatalogPart]:
    def other(
        number: str, what: str, name: str, cost: float, rate: float, lot: float,
        crit: str = "C", lead: int = 14,
    ) -> CatalogPart:  # fmt: skip
        return CatalogPart(
            number, what, name, "other", ANY, EVERY_POWERTRAIN, cost, lead, crit,
            counter_rate=rate, lot_mean=lot,
        )  # fmt: skip

    return [
        other("MG-L-100", "door mirror glass, left", "mirror_glass", 38.0, 0.35, 1.2),
        other("HL-LED-200", "LED headlamp unit", "headlamp", 640.0, 0.2, 1.1, "B", 21),
        other("BC-F-300", "front bumper cover, primed", "bumper_cover", 310.0, 0.3, 1.3, "B"),
        other("KF-433", "remote key fob, 433 MHz", "key_fob", 120.0, 0.3, 2.0),
        other("WBS-M14", "locking wheel bolt set", "wheel_bolts", 45.0, 0.15, 4.0),
        other("FM-SET-01", "floor mat set", "floor_mats", 65.0, 0.4, 3.0, "C", 10),
        other("RR-BAR-2", "roof bars, pair", "roof_bars", 240.0, 0.1, 2.5, "C", 28),
        other("TP-WHT-12", "touch-up paint, white, 12 ml", "touch_up_paint", 14.0, 0.5, 3.5),
    ]


def catalog_parts() -> tuple[CatalogPart, ...]:
    """Every part of the simulated catalog (the cabin filter chain as its first number)."""
    return (*_repair_parts(), *_maintenance_parts(), *_other_parts())


def parts_frame(parts: tuple[CatalogPart, ...]) -> pl.DataFrame:
    """The ``parts`` lake table of ``parts``, with the successors of the cabin filter chain."""
    rows = [
        {
            "part_number": p.part_number,
            "description": p.description,
            "component": p.component,
            "supersedes": None,
            "unit_cost": p.unit_cost,
            "lead_time_days": p.lead_time_days,
            "criticality": p.criticality,
        }
        for p in parts
    ]
    first = next(r for r in rows if r["part_number"] == CABIN_CHAIN[0])
    for old, new in itertools.pairwise(CABIN_CHAIN):
        revision = f"{first['description']}, rev. {new[-2:]}"
        rows.append(first | {"part_number": new, "supersedes": old, "description": revision})
    return pl.DataFrame(rows, schema=PARTS_SCHEMA, orient="row")


PARTS_SCHEMA: dict[str, type[pl.DataType] | pl.DataType] = {
    "part_number": pl.String,
    "description": pl.String,
    "component": pl.String,
    "supersedes": pl.String,
    "unit_cost": pl.Float64,
    "lead_time_days": pl.Int32,
    "criticality": pl.String,
}
LOCATION_SCHEMA: dict[str, type[pl.DataType] | pl.DataType] = {
    "location_id": pl.String,
    "kind": pl.String,
    "parent_id": pl.String,
    "market": pl.String,
    "region": pl.String,
    "name": pl.String,
}
# The central warehouses and the markets each serves (where it is, then its markets).
CENTRALS: dict[str, tuple[str, ...]] = {
    "CDC-EU": ("DE", "FR", "IT", "ES"),
    "CDC-NA": ("US", "CA"),
    "CDC-AP": ("CN", "KR"),
}


def locations_frame(dealers_per_market: int) -> pl.DataFrame:
    """The ``parts_locations`` table: central, regional and dealer locations."""
    rows: list[dict[str, str | None]] = []
    for central, markets in CENTRALS.items():
        home = markets[0]
        rows.append(_location(central, "central", None, home, f"central warehouse {home}"))
        for market in markets:
            regional = f"RDC-{market}"
            rows.append(_location(regional, "regional", central, market, f"regional warehouse {market}"))  # fmt: skip
            names = DEALERS.get(market, ())
            for i in range(dealers_per_market):
                name = names[i] if i < len(names) else f"dealer {i + 1} {MARKETS[market].city}"
                rows.append(_location(f"DLR-{market}-{i + 1:02d}", "dealer", regional, market, name))  # fmt: skip
    return pl.DataFrame(rows, schema=LOCATION_SCHEMA, orient="row")


def _location(
    location_id: str, kind: str, parent: str | None, market: str, name: str
) -> dict[str, str | None]:
    return {
        "location_id": location_id,
        "kind": kind,
        "parent_id": parent,
        "market": market,
        "region": MARKETS[market].region,
        "name": name,
    }


# vehicle health's wear items (drivetrain.health.wear) and the catalog parts that serve them
HEALTH_ITEMS = {"lv_battery": ("lv_battery", ""), "brake_pads_front": ("brake_pads", "front")}


def fitment_frame(parts: tuple[CatalogPart, ...]) -> pl.DataFrame:
    """The ``parts_fitment`` table: per model, the part that serves each wear item."""
    rows = [
        (p.part_number, model, item, float(p.quantity))
        for item, (component, words) in HEALTH_ITEMS.items()
        for p in parts
        if p.component == component and words in p.description
        for model in p.models
    ]
    return pl.DataFrame(
        rows,
        schema={"part_number": pl.String, "model_id": pl.String, "service_item": pl.String, "quantity": pl.Float64},
        orient="row",
    )  # fmt: skip
