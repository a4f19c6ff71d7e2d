"""The plant's tables, read as a quality engineer may, and shaped for the charts.

:func:`load_plant_data` reads the stations, characteristics and measurements
(and, when they exist, inspections, defect codes and supplier lots) through the
governed read, under an access context whose purpose is
``manufacturing_quality``; every read is audited. :func:`measurement_subgroups`
numbers each characteristic's measurements into its rational subgroups of the
master's ``subgroup_size`` consecutive parts, the grouping the stream uses too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from drivetrain.errors import InputError, NotFound
from drivetrain.governance.access import AccessContext
from drivetrain.governance.governed_read import AuditSink, governed_read
from drivetrain.lake import Lake, polars_frame

PURPOSE = "manufacturing_quality"
REQUIRED = ("quality_stations", "quality_characteristics", "quality_measurements")
OPTIONAL = ("quality_inspections", "quality_defect_codes", "supplier_lots")


@dataclass(frozen=True, slots=True)
class PlantData:
    """The plant tables as read, and the versions they were read at."""

    stations: pl.DataFrame
    characteristics: pl.DataFrame
    measurements: pl.DataFrame
    inspections: pl.DataFrame | None
    defect_codes: pl.DataFrame | None
    lots: pl.DataFrame | None
    versions: dict[str, int]

    def sources(self) -> list[str]:
        """The tables and versions, as a provenance record lists its sources."""
        return [f"lake:{name}@v{v}" for name, v in sorted(self.versions.items())]



def load_plant_data(
    lake: Lake,
    context: AccessContext,
    *,
    audit: AuditSink | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> PlantData:
    """Read the plant tables as ``context`` may; measurements and inspections in [start, end)."""
    missing = [name for name in REQUIRED if not lake.exists(name)]
    if missing:
        raise NotFound(
            f"the lake has no {', '.join(missing)} table(s)",
            hint="import a plant export with 'drivetrain quality import' or simulate one with "
            "'drivetrain quality simulate'",
        )
    window = None
    if start is not None:
        window = pc.field("ts") >= pa.scalar(start, type=pa.timestamp("us", tz="UTC"))
    if end is not None:
        before = pc.field("ts") < pa.scalar(end, type=pa.timestamp("us", tz="UTC"))
        window = before if window is None else window & before
    frames: dict[str, pl.DataFrame] = {}
    versions: dict[str, int] = {}
    for name in (*REQUIRED, *(t for t in OPTIONAL if lake.exists(t))):
        timed = name in ("quality_measurements", "quality_inspections")
        table = governed_read(
            lake, name, context, (), audit=audit, filter=window if timed else None
        )
        frames[name] = polars_frame(table)
        if (v := lake.version(name)) is not None:
            versions[name] = v
    return PlantData(
        stations=frames["quality_stations"],
        characteristics=frames["quality_characteristics"],
        measurements=frames["quality_measurements"].sort("characteristic_id", "ts", "part_serial"),
        inspections=frames.get("quality_inspections"),
        defect_codes=frames.get("quality_defect_codes"),
        lots=frames.get("supplier_lots"),
        versions=versions,
    )


def measurement_subgroups(
    measurements: pl.DataFrame, characteristics: pl.DataFrame
) -> pl.DataFrame:
    """Measurements with ``subgroup`` (1, 2, … per characteristic, in time order) and ``chart``.

    Subgroup *k* holds the parts ``(k−1)·n+1 … k·n`` of the characteristic's
    stream, ``n`` its master's ``subgroup_size``; a trailing partial subgroup is
    kept (the charts take unequal sizes).
    """
    master = characteristics.select("characteristic_id", "subgroup_size", "chart")
    joined = measurements.join(master, on="characteristic_id", how="left")
    unknown = joined.filter(pl.col("subgroup_size").is_null())
    if unknown.height:
        names = ", ".join(sorted(set(unknown.get_column("characteristic_id").to_list()))[:5])
        raise InputError(
            f"{unknown.height} measurement(s) of characteristics the master lacks: {names}",
            hint="import the characteristics master with them",
        )
    ordered = joined.sort("characteristic_id", "ts", "part_serial", maintain_order=True)
    position = pl.int_range(pl.len()).over("characteristic_id")
    return ordered.with_columns(
        (position // pl.col("subgroup_size") + 1).cast(pl.Int64).alias("subgroup")
    )
