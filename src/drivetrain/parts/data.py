"""The parts tables of the lake, read as a planner may, and shaped for forecasting.

:func:`load_parts_data` reads ``parts``, ``parts_locations``, ``parts_demand``
and (when it exists) ``parts_fleet_signal`` through the governed read, under
an access context whose purpose is ``parts_planning``; each read is audited.
The rest turns the tables into what the forecasting and planning code takes:

* :func:`demand_series`: the demand as ``unique_id = part@location, ds, y``, with
  every superseded part number merged into the newest number of its chain (the
  parts master's ``supersedes`` column), prepared and reported like any export;
* :func:`signal_series`: the fleet signal in the same ids, summed over its
  sources, one composite vintage per issue date (each source's newest by then);
* :func:`stocking_terms`: each series' replenishment terms, its lead time from
  the part's supplier lead time in days (rounded up to whole periods) and its
  unit cost from the master.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from drivetrain.errors import InputError, NotFound
from drivetrain.governance.access import AccessContext
from drivetrain.governance.governed_read import AuditSink, governed_read
from drivetrain.lake import Lake, polars_frame
from drivetrain.parts.demand import (
    NegativePolicy,
    PreparedDemand,
    prepare_demand,
    resolve_supersession,
)

PURPOSE = "parts_planning"
TABLES = ("parts", "parts_locations", "parts_demand")
SIGNAL_TABLE = "parts_fleet_signal"
FITMENT_TABLE = "parts_fitment"
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True, slots=True)
class PartsData:
    """The parts tables as read, and the table versions they were read at."""

    parts: pl.DataFrame
    locations: pl.DataFrame
    demand: pl.DataFrame
    signal: pl.DataFrame | None  # None: the lake has no fleet signal
    versions: dict[str, int]
    fitment: pl.DataFrame | None = None  # part_number, model_id, service_item, quantity

    def sources(self) -> list[str]:
        """The tables and versions, as a provenance record lists its sources."""
        return [f"lake:{name}@v{v}" for name, v in sorted(self.versions.items())]



def load_parts_data(
    lake: Lake, context: AccessContext, *, audit: AuditSink | None = None
) -> PartsData:
    """Read the parts tables as ``context`` may (its purpose must grant them)."""
    missing = [name for name in TABLES if not lake.exists(name)]
    if missing:
        raise NotFound(
            f"the lake has no {', '.join(missing)} table(s)",
            hint="import an ERP export with 'drivetrain parts import' or simulate a network "
            "with 'drivetrain parts simulate'",
        )
    frames: dict[str, pl.DataFrame] = {}
    versions: dict[str, int] = {}
    names = (*TABLES, *(t for t in (SIGNAL_TABLE, FITMENT_TABLE) if lake.exists(t)))
    for name in names:
        frames[name] = polars_frame(governed_read(lake, name, context, (), audit=audit))
        if (v := lake.version(name)) is not None:
            versions[name] = v
    return PartsData(
        parts=frames["parts"],
        locations=frames["parts_locations"],
        demand=frames["parts_demand"],
        signal=frames.get(SIGNAL_TABLE),
        versions=versions,
        fitment=frames.get(FITMENT_TABLE),
    )


def supersession(parts: pl.DataFrame) -> dict[str, str]:
    """Every superseded part number of the master, mapped to the newest of its chain."""
    return resolve_supersession(dict(parts.select("part_number", "supersedes").iter_rows()))


def _ids(frame: pl.DataFrame, merged: dict[str, str]) -> pl.Expr:
    part = pl.col("part_number").replace(merged) if merged else pl.col("part_number")
    return (part + "@" + pl.col("location_id")).alias("unique_id")


def demand_series(
    data: PartsData, *, negative: NegativePolicy = "error", min_periods: int = 12
) -> PreparedDemand:
    """The demand per ``part@location`` and month, superseded numbers merged."""
    raw = data.demand.select(
        (pl.col("part_number") + "@" + pl.col("location_id")).alias("unique_id"),
        pl.col("month").alias("ds"),
        pl.col("quantity").alias("y"),
    )
    return prepare_demand(
        raw, freq="MS", negative=negative, min_periods=min_periods,
        superseded=supersession(data.parts),
    )  # fmt: skip


def signal_series(data: PartsData) -> pl.DataFrame:
    """The fleet signal as ``unique_id, ds, issued, expected, variance``.

    Sources are issued on their own dates (the simulator's or health's forecast
    monthly, warranty's when an alert fires), so the signal as known at a date
    is, per source, that source's newest vintage issued by then, summed over the
    sources. One such composite vintage is returned per date any source issued.
    """
    if data.signal is None or data.signal.is_empty():
        raise NotFound(
            "the lake holds no fleet signal",
            hint="'drivetrain parts simulate' writes one; without it, plan from history alone",
        )
    merged = supersession(data.parts)
    signal = data.signal.with_columns(_ids(data.signal, merged))
    issues = signal.select("source", "issued").unique()
    dates = issues.select(pl.col("issued").unique().alias("as_of"))
    newest = (
        dates.join(issues, how="cross")
        .filter(pl.col("issued") <= pl.col("as_of"))
        .group_by("as_of", "source")
        .agg(pl.col("issued").max())
    )
    return (
        newest.join(signal, on=["source", "issued"])
        .group_by("unique_id", pl.col("month").alias("ds"), pl.col("as_of").alias("issued"))
        .agg(pl.col("expected").sum(), pl.col("variance").sum())
        .sort("unique_id", "ds", "issued")
    )


def latest_vintage(signal: pl.DataFrame, end: date) -> pl.DataFrame:
    """The newest vintage of ``signal_series`` issued by ``end`` (what a planner has then)."""
    known = signal.filter(pl.col("issued") <= end)
    if known.is_empty():
        raise InputError(
            f"no fleet signal was issued by the history's end {end}",
            hint="plan from history alone, or issue a signal first (drivetrain parts signal)",
        )
    return known.filter(pl.col("issued") == known["issued"].max())


def stocking_terms(
    data: PartsData, unique_ids: list[str], *, review_period: int = 1, holding_rate: float = 0.25
) -> pl.DataFrame:
    """Per series: lead time in whole months (supplier days rounded up), review, cost.

    Every series must name a part of the master: a series without one cannot be
    costed or timed, and is an error rather than a guess.
    """
    master = data.parts.select(
        "part_number",
        (pl.col("lead_time_days") / DAYS_PER_MONTH).ceil().cast(pl.Int64).alias("lead_time"),
        pl.col("unit_cost").cast(pl.Float64),
    )
    ids = pl.DataFrame({"unique_id": unique_ids}, schema={"unique_id": pl.String})
    terms = ids.with_columns(
        pl.col("unique_id").str.splitn("@", 2).struct.field("field_0").alias("part_number")
    ).join(master, on="part_number", how="left")
    unknown = terms.filter(pl.col("lead_time").is_null())["part_number"].unique().sort()
    if unknown.len():
        raise InputError(
            f"{unknown.len()} part number(s) of the demand are not in the parts master, "
            f"e.g. {unknown[0]}",
            hint="import the parts master with them (drivetrain parts import --parts ...)",
        )
    return terms.select(
        "unique_id",
        "lead_time",
        pl.lit(review_period, dtype=pl.Int64).alias("review_period"),
        "unit_cost",
        pl.lit(holding_rate).alias("holding_rate"),
    )
