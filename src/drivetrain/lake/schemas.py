"""The lake's table registry: every table, its Arrow schema, partitioning and keys.

Timestamps are UTC. The Delta Lake protocol stores timestamps with microsecond
precision, so lake tables use ``timestamp[us, UTC]``; CAN loggers (candump,
ASC, BLF) record microseconds too, so nothing a vehicle reports is lost.
Columns listed in ``derived`` are computed by the lake on write (the ``date``
partition column from ``ts``); writers never supply them.
"""

from __future__ import annotations

import pyarrow as pa

from drivetrain.errors import NotFound
from drivetrain.lake.quality_schemas import QUALITY_TABLES
from drivetrain.lake.spec import TS, TableSpec, schema_of

__all__ = ["TABLES", "TS", "TableSpec", "table_spec"]

TELEMETRY = TableSpec(
    name="telemetry",
    description="Vehicle signals in long format, one row per (vehicle, time, VSS path).",
    schema=schema_of(
        ("vehicle_id", pa.string(), False),
        ("ts", TS, False),
        ("signal", pa.string(), False),
        ("value", pa.float64(), False),
        ("date", pa.date32(), False),
    ),
    partition_by=("date",),
    key=("vehicle_id", "ts", "signal"),
    derived={"date": "ts"},
    cluster_by=("vehicle_id", "ts", "signal"),
)

TELEMETRY_SEALED = TableSpec(
    name="telemetry_sealed",
    description=(
        "Personal signals (location, identity, cabin) sealed with AES-GCM under their "
        "data subjects' key; readable only through a governed read, unreadable once erased."
    ),
    schema=schema_of(
        ("vehicle_id", pa.string(), False),
        ("ts", TS, False),
        ("signal", pa.string(), False),
        ("key_id", pa.string(), False),
        ("sealed", pa.binary(), False),
        ("date", pa.date32(), False),
    ),
    partition_by=("date",),
    key=("vehicle_id", "ts", "signal"),
    derived={"date": "ts"},
    cluster_by=("vehicle_id", "ts", "signal"),
)

DTC_EVENTS = TableSpec(
    name="dtc_events",
    description="Diagnostic trouble codes reported by vehicles (SAE J2012 codes).",
    schema=schema_of(
        ("vehicle_id", pa.string(), False),
        ("ts", TS, False),
        ("dtc", pa.string(), False),
        ("ecu", pa.string(), False),
        ("status", pa.string(), False),
        ("date", pa.date32(), False),
    ),
    partition_by=("date",),
    key=("vehicle_id", "ts", "dtc"),
    derived={"date": "ts"},
)

TRIPS = TableSpec(
    name="trips",
    description=(
        "One row per driving trip: times, distance and energy. No positions: where a "
        "vehicle went is location data, sealed in telemetry_sealed under consent."
    ),
    schema=schema_of(
        ("trip_id", pa.string(), False),
        ("vehicle_id", pa.string(), False),
        ("start_ts", TS, False),
        ("end_ts", TS, False),
        ("distance_m", pa.float64(), False),
        ("max_speed_kmh", pa.float64(), False),
        ("fuel_used_l", pa.float64(), True),
        ("energy_used_kwh", pa.float64(), True),
    ),
    key=("trip_id",),
    time_column="start_ts",
)

VEHICLES_SNAPSHOT = TableSpec(
    name="vehicles_snapshot",
    description="Daily end-of-day state of each vehicle (odometer, energy, 12 V battery, DTCs).",
    schema=schema_of(
        ("vehicle_id", pa.string(), False),
        ("ts", TS, False),
        ("model_id", pa.string(), False),
        ("market", pa.string(), False),
        ("odometer_m", pa.float64(), False),
        ("fuel_level_pct", pa.float64(), True),
        ("soc_pct", pa.float64(), True),
        ("lv_battery_v", pa.float64(), True),
        ("active_dtcs", pa.int32(), False),
        ("date", pa.date32(), False),
    ),
    partition_by=("date",),
    key=("vehicle_id", "date"),
    derived={"date": "ts"},
)

SIM_FAULTS = TableSpec(
    name="sim_faults",
    description="Ground truth of faults injected by the fleet simulator, for evaluation.",
    schema=schema_of(
        ("vehicle_id", pa.string(), False),
        ("fault", pa.string(), False),
        ("onset_ts", TS, False),
        ("severity", pa.float64(), False),
        ("affected_signals", pa.list_(pa.string()), False),
        ("expected_dtcs", pa.list_(pa.string()), False),
    ),
    key=("vehicle_id", "fault"),
    time_column="onset_ts",
)

SIM_BATTERY = TableSpec(
    name="sim_battery",
    description="Ground truth of the simulated traction batteries' state of health, for evaluation.",
    schema=schema_of(
        ("vehicle_id", pa.string(), False),
        ("nominal_kwh", pa.float64(), False),
        ("soh_pct", pa.float64(), False),
        ("capacity_kwh", pa.float64(), False),
        ("weak_pack", pa.bool_(), False),
        ("age_years", pa.float64(), False),
        ("odometer_km", pa.float64(), False),
        ("cycles", pa.float64(), False),  # equivalent full cycles at the start
    ),
    key=("vehicle_id",),
    time_column="",  # the pack's state when the simulation starts: no time of its own
)

SERVICE_EVENTS = TableSpec(
    name="service_events",
    description=(
        "Workshop records: what was done to a vehicle and when (repairs, replacements, "
        "codes cleared), from dealer and service systems; vehicles by pseudonym, never VIN."
    ),
    schema=schema_of(
        ("vehicle_id", pa.string(), False),
        ("ts", TS, False),
        ("operation", pa.string(), False),
        ("odometer_km", pa.float64(), True),
        ("description", pa.string(), True),
        ("workshop", pa.string(), True),
        ("source", pa.string(), False),
        ("date", pa.date32(), False),
    ),
    partition_by=("date",),
    key=("vehicle_id", "ts", "operation"),
    derived={"date": "ts"},
)

WARRANTY_CLAIMS = TableSpec(
    name="warranty_claims",
    description=(
        "Warranty claims from dealers: repair, mileage, months in service, labour and part "
        "codes, causal part, failure code, cost in the program's currency, technician comment."
    ),
    schema=schema_of(
        ("claim_id", pa.string(), False),
        ("vehicle_id", pa.string(), False),
        ("repair_date", pa.date32(), False),
        ("claim_date", pa.date32(), False),
        ("mileage_km", pa.float64(), False),
        ("months_in_service", pa.int32(), False),  # from the sale; month 1 is the first
        ("labour_code", pa.string(), False),
        ("part_number", pa.string(), False),
        ("causal_part", pa.string(), False),
        ("failure_code", pa.string(), False),  # a DTC where the failure set one
        ("cost", pa.float64(), False),
        ("currency", pa.string(), False),  # ISO 4217; one per lake (settings)
        ("dealer", pa.string(), False),
        ("region", pa.string(), False),
        ("comment", pa.string(), True),
        ("source", pa.string(), False),
    ),
    key=("claim_id",),
    time_column="repair_date",
)

VEHICLE_PRODUCTION = TableSpec(
    name="vehicle_production",
    description=(
        "Production and sales of every vehicle built, connected or not: model, plant, build "
        "and sale dates, market. The vehicles at risk of warranty analytics."
    ),
    schema=schema_of(
        ("vehicle_id", pa.string(), False),
        ("brand", pa.string(), False),
        ("model_id", pa.string(), False),
        ("model_year", pa.int32(), False),
        ("plant", pa.string(), False),
        ("build_date", pa.date32(), False),
        ("sale_date", pa.date32(), True),  # null while the vehicle is unsold
        ("market", pa.string(), False),
        ("region", pa.string(), False),
        ("source", pa.string(), False),
    ),
    key=("vehicle_id",),
    time_column="sale_date",  # the sale is the owner's: an owner's rows start there
    erasure_exempt=(
        "production records are kept for recalls and type approval (a legal obligation, "
        "GDPR Art. 17(3)(b)); they hold the vehicle's pseudonym, never the owner"
    ),
)

PARTS = TableSpec(
    name="parts",
    description=(
        "The spare-parts master: part number, what it is, the component it serves, the "
        "older number it supersedes, unit cost, supplier lead time and ABC criticality."
    ),
    schema=schema_of(
        ("part_number", pa.string(), False),
        ("description", pa.string(), False),
        ("component", pa.string(), False),  # a warranty component or a maintenance item
        ("supersedes", pa.string(), True),  # the older part number this one replaces
        ("unit_cost", pa.float64(), False),  # in the program's currency (settings)
        ("lead_time_days", pa.int32(), False),
        ("criticality", pa.string(), False),  # A (vehicle off road), B, C
    ),
    key=("part_number",),
    vehicle_column=None,  # no vehicle, no data subject: not personal data
    time_column="",  # master data: no time of its own
)

PARTS_LOCATIONS = TableSpec(
    name="parts_locations",
    description=(
        "Where parts are stocked and issued: central and regional warehouses and dealers, "
        "each with the location it is replenished from (dealer -> regional -> central)."
    ),
    schema=schema_of(
        ("location_id", pa.string(), False),
        ("kind", pa.string(), False),  # central | regional | dealer
        ("parent_id", pa.string(), True),  # null for a central warehouse
        ("market", pa.string(), False),  # ISO 3166-1 alpha-2 country
        ("region", pa.string(), False),  # governance region (eu, us, ...)
        ("name", pa.string(), True),
    ),
    key=("location_id",),
    vehicle_column=None,
    time_column="",
)

PARTS_DEMAND = TableSpec(
    name="parts_demand",
    description=(
        "Units of each part issued at each location per month (repairs, maintenance, "
        "campaigns and counter sales together; 0 where nothing was issued). Aggregated: "
        "no vehicles, not personal data."
    ),
    schema=schema_of(
        ("part_number", pa.string(), False),
        ("location_id", pa.string(), False),
        ("month", pa.date32(), False),  # the first day of the month
        ("quantity", pa.float64(), False),  # units issued: 0 or more (returns are not demand)
        ("source", pa.string(), False),  # where the rows came from (the export, the simulator)
    ),
    key=("part_number", "location_id", "month"),
    vehicle_column=None,
    time_column="month",
)

PARTS_FITMENT = TableSpec(
    name="parts_fitment",
    description=(
        "Which part serves which service item on which vehicle model (the electronic parts "
        "catalogue's fitment), with the units a job takes; how vehicle health's wear items "
        "become part numbers."
    ),
    schema=schema_of(
        ("part_number", pa.string(), False),
        ("model_id", pa.string(), False),
        ("service_item", pa.string(), False),  # as vehicle health names it: brake_pads_front
        ("quantity", pa.float64(), False),  # units per job
    ),
    key=("model_id", "service_item", "part_number"),
    vehicle_column=None,
    time_column="",
)

PARTS_FLEET_SIGNAL = TableSpec(
    name="parts_fleet_signal",
    description=(
        "The part demand the fleet foresees per part, location and month: expected units "
        "and their variance, by source (repairs, due maintenance, campaigns, vehicle health, "
        "warranty projections), one vintage per issue date. Aggregated: not personal data."
    ),
    schema=schema_of(
        ("part_number", pa.string(), False),
        ("location_id", pa.string(), False),
        ("month", pa.date32(), False),  # the first day of the month foreseen
        ("issued", pa.date32(), False),  # when the signal was made: what was known then
        ("source", pa.string(), False),  # repair | maintenance | campaign | health | warranty
        ("expected", pa.float64(), False),  # units
        ("variance", pa.float64(), False),  # units squared
    ),
    key=("part_number", "location_id", "month", "issued", "source"),
    vehicle_column=None,
    time_column="month",
)

QUARANTINE = TableSpec(
    name="quarantine",
    description="Rows refused on the way in, with the reason and where they came from.",
    schema=schema_of(
        ("run_id", pa.string(), False),
        ("ts", TS, False),
        ("target_table", pa.string(), False),
        ("source", pa.string(), False),
        ("location", pa.string(), False),
        ("reason", pa.string(), False),
        ("record", pa.string(), False),
        ("vehicle_id", pa.string(), True),
        ("date", pa.date32(), False),
    ),
    partition_by=("date",),
    derived={"date": "ts"},
    time_column="",  # ts is when a row was refused, not when it was measured
)

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TELEMETRY,
        TELEMETRY_SEALED,
        DTC_EVENTS,
        SERVICE_EVENTS,
        TRIPS,
        VEHICLES_SNAPSHOT,
        SIM_FAULTS,
        SIM_BATTERY,
        WARRANTY_CLAIMS,
        VEHICLE_PRODUCTION,
        PARTS,
        PARTS_LOCATIONS,
        PARTS_DEMAND,
        PARTS_FITMENT,
        PARTS_FLEET_SIGNAL,
        *QUALITY_TABLES,
        QUARANTINE,
    )
}


def table_spec(name: str) -> TableSpec:
    """The registered spec of table ``name``."""
    try:
        return TABLES[name]
    except KeyError:
        raise NotFound(
            f"no lake table named {name!r}",
            hint=f"known tables: {', '.join(sorted(TABLES))}",
        ) from None
