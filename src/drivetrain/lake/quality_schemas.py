"""The plant's tables: stations, characteristics, measurements, inspections, supplier lots.

Manufacturing data names parts, stations and lots, not people, so these tables
carry no vehicle column — except ``vehicle_build_parts``, the genealogy that
says which supplier lot (and which serial) went into which vehicle. That one
is keyed by the vehicle's pseudonym, follows the vehicle's governance like the
production records, and is kept through an owner's erasure: traceability of
safety-relevant parts is a legal duty (recalls, type approval).
"""

from __future__ import annotations

import pyarrow as pa

from drivetrain.lake.spec import TS, TableSpec, schema_of

QUALITY_STATIONS = TableSpec(
    name="quality_stations",
    description="The plants' lines and stations: where parts are made, measured or inspected.",
    schema=schema_of(
        ("station_id", pa.string(), False),
        ("plant", pa.string(), False),
        ("line", pa.string(), False),
        ("name", pa.string(), False),
        ("process", pa.string(), False),  # machining | assembly | incoming | test | inspection
    ),
    key=("station_id",),
    vehicle_column=None,
    time_column="",
)

QUALITY_CHARACTERISTICS = TableSpec(
    name="quality_characteristics",
    description=(
        "What a station measures: the characteristic's nominal value, specification limits "
        "and unit, and how it is charted (subgroup size, chart)."
    ),
    schema=schema_of(
        ("characteristic_id", pa.string(), False),
        ("station_id", pa.string(), False),
        ("name", pa.string(), False),
        ("unit", pa.string(), False),
        ("nominal", pa.float64(), False),
        ("lsl", pa.float64(), True),  # null: no lower specification limit (one-sided)
        ("usl", pa.float64(), True),
        ("subgroup_size", pa.int32(), False),  # consecutive parts per subgroup; 1: individuals
        ("chart", pa.string(), False),  # xbar_r | xbar_s | imr | ewma | cusum
    ),
    key=("characteristic_id",),
    vehicle_column=None,
    time_column="",
)

QUALITY_MEASUREMENTS = TableSpec(
    name="quality_measurements",
    description=(
        "Station measurements in long format: one row per part serial, characteristic and "
        "time, with the supplier lot of the part measured and the shift."
    ),
    schema=schema_of(
        ("ts", TS, False),
        ("station_id", pa.string(), False),
        ("characteristic_id", pa.string(), False),
        ("part_serial", pa.string(), False),
        ("value", pa.float64(), False),
        ("lot_id", pa.string(), True),
        ("shift", pa.string(), False),  # A | B | C
        ("date", pa.date32(), False),
    ),
    partition_by=("date",),
    key=("characteristic_id", "part_serial", "ts"),
    derived={"date": "ts"},
    vehicle_column=None,
)

QUALITY_INSPECTIONS = TableSpec(
    name="quality_inspections",
    description=(
        "Inspection results at quality gates and end of line: pass or fail, and the defect "
        "code and count of each nonconformity found."
    ),
    schema=schema_of(
        ("inspection_id", pa.string(), False),
        ("ts", TS, False),
        ("station_id", pa.string(), False),
        ("part_serial", pa.string(), False),
        ("shift", pa.string(), False),
        ("lot_id", pa.string(), True),
        ("result", pa.string(), False),  # pass | fail
        ("defect_code", pa.string(), True),  # null when the part passed
        ("defects", pa.int32(), False),  # nonconformities of that code on the part
        ("date", pa.date32(), False),
    ),
    partition_by=("date",),
    key=("inspection_id",),
    derived={"date": "ts"},
    vehicle_column=None,
)

QUALITY_DEFECT_CODES = TableSpec(
    name="quality_defect_codes",
    description="The plant's defect catalogue: code, description and category.",
    schema=schema_of(
        ("defect_code", pa.string(), False),
        ("description", pa.string(), False),
        ("category", pa.string(), False),  # e.g. paint | fit | electrical | leak | dimension
    ),
    key=("defect_code",),
    vehicle_column=None,
    time_column="",
)

SUPPLIER_LOTS = TableSpec(
    name="supplier_lots",
    description=(
        "Supplier lots received: supplier, part number, lot, date, quantity, and the incoming "
        "inspection's sample size and defectives (PPM)."
    ),
    schema=schema_of(
        ("lot_id", pa.string(), False),
        ("supplier", pa.string(), False),
        ("part_number", pa.string(), False),
        ("received_date", pa.date32(), False),
        ("quantity", pa.int64(), False),
        ("inspected", pa.int64(), False),
        ("defective", pa.int64(), False),
    ),
    key=("lot_id",),
    vehicle_column=None,
    time_column="received_date",
)

VEHICLE_BUILD_PARTS = TableSpec(
    name="vehicle_build_parts",
    description=(
        "Genealogy: which part serial and supplier lot went into which vehicle at which "
        "station — how plant quality is followed into the field (warranty)."
    ),
    schema=schema_of(
        ("vehicle_id", pa.string(), False),
        ("part_number", pa.string(), False),
        ("part_serial", pa.string(), True),  # null for parts traced by lot only
        ("lot_id", pa.string(), False),
        ("supplier", pa.string(), False),
        ("station_id", pa.string(), False),
        ("installed_date", pa.date32(), False),
    ),
    key=("vehicle_id", "part_number"),
    time_column="",  # built before any owner: every row is the vehicle's
    erasure_exempt=(
        "traceability of installed parts is kept for recalls and type approval (a legal "
        "obligation, GDPR Art. 17(3)(b)); it holds the vehicle's pseudonym, never the owner"
    ),
)

QUALITY_TABLES = (
    QUALITY_STATIONS,
    QUALITY_CHARACTERISTICS,
    QUALITY_MEASUREMENTS,
    QUALITY_INSPECTIONS,
    QUALITY_DEFECT_CODES,
    SUPPLIER_LOTS,
    VEHICLE_BUILD_PARTS,
)
