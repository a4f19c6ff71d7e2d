"""Data-collection campaigns and the minimisation filter they drive at ingestion.

A campaign (like an AWS IoT FleetWise campaign, but open) names its purpose,
the vehicles it targets (by brand, model, market; empty means all), the
signals it wants (VSS paths, or prefixes ending in ``*``), how to sample
(at most one value per ``period_s``, and/or only around moments when a
``condition`` holds, with pre- and post-trigger windows) and how long the data
is kept. Ingestion stores a row only if some active campaign asks for it;
every other row is dropped before storage and counted with the reason.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import numpy as np
import polars as pl
import pyarrow as pa

from drivetrain.catalog import load_signal_catalog
from drivetrain.errors import InputError
from drivetrain.governance import check_purpose
from drivetrain.governance.location import coarsen
from drivetrain.governance.sealing import Sealer
from drivetrain.ingest.conditions import Condition, compile_condition

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
US = 1_000_000

_AXES = {"Vehicle.CurrentLocation.Latitude": "lat", "Vehicle.CurrentLocation.Longitude": "lon"}

NOT_TARGETED = "no active campaign targets the vehicle"
NOT_REQUESTED = "signal not requested by an active campaign targeting the vehicle"
NO_TRIGGER = "outside every trigger window of the campaigns that want it"
THINNED = "more frequent than the campaigns' sampling period"


@dataclass(frozen=True, slots=True)
class VehicleTarget:
    """What a campaign can target a vehicle by."""

    brand: str
    model_id: str
    market: str


class _Registered(Protocol):
    @property
    def vehicle_id(self) -> str: ...
    @property
    def brand(self) -> str: ...
    @property
    def model_id(self) -> str: ...
    @property
    def market(self) -> str: ...


def targets_of(vehicles: Iterable[_Registered]) -> dict[str, VehicleTarget]:
    """Vehicle id -> what campaigns target it by, for registered vehicle records."""
    return {v.vehicle_id: VehicleTarget(v.brand, v.model_id, v.market) for v in vehicles}


@dataclass(frozen=True, slots=True)
class Campaign:
    """A data-collection campaign (see the module docstring)."""

    campaign_id: str
    purpose: str
    signals: tuple[str, ...]
    retention_days: int = 30
    description: str = ""
    target_brands: tuple[str, ...] = ()
    target_models: tuple[str, ...] = ()
    target_markets: tuple[str, ...] = ()
    period_s: float | None = None
    condition: str | None = None
    pre_trigger_s: float = 0.0
    post_trigger_s: float = 0.0
    status: str = "active"
    location_precision: int | None = None  # geohash characters kept; None = exact
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    stopped_at: datetime | None = None

    def validate(self) -> Campaign:
        """Check every field; InputError names the field and what to do."""
        where = f"campaign {self.campaign_id!r}"
        if not _ID.match(self.campaign_id):
            raise InputError(
                f"campaign id {self.campaign_id!r} is not valid",
                hint="use 1-64 lower-case letters, digits, '-' or '_'",
            )
        check_purpose(self.purpose)
        if not self.signals:
            raise InputError(f"{where} asks for no signal", hint="pass at least one --signal")
        self.requested_paths()
        if self.period_s is not None and not 0 < self.period_s <= 86_400:
            raise InputError(f"{where}: period must be within 0..86400 s, got {self.period_s}")
        if self.pre_trigger_s < 0 or self.post_trigger_s < 0:
            raise InputError(f"{where}: trigger windows cannot be negative")
        if (self.pre_trigger_s or self.post_trigger_s) and not self.condition:
            raise InputError(f"{where}: pre/post-trigger windows need a --condition")
        if self.retention_days < 1:
            raise InputError(f"{where}: retention must be at least 1 day")
        if self.location_precision is not None and not 1 <= self.location_precision <= 12:
            raise InputError(
                f"{where}: location precision must be 1..12 geohash characters",
                hint="5 keeps a ~5 km cell, 7 a ~150 m cell",
            )
        if self.condition:
            self.compiled_condition()
        return self

    def requested_paths(self) -> frozenset[str]:
        """Catalog paths the campaign asks for (patterns ending in '*' expanded)."""
        catalog = load_signal_catalog()
        paths: set[str] = set()
        for wanted in self.signals:
            if wanted.endswith("*"):
                matched = {p for p in catalog if p.startswith(wanted[:-1])}
            else:
                matched = {wanted} & catalog.keys()
            if not matched:
                raise InputError(
                    f"campaign {self.campaign_id!r} asks for {wanted!r}, which matches no "
                    "signal in the catalog",
                    hint="search with 'drivetrain catalog search', or end a prefix with '*'",
                )
            paths |= matched
        return frozenset(paths)

    def compiled_condition(self) -> Condition | None:
        if not self.condition:
            return None
        return compile_condition(self.condition, load_signal_catalog().keys())

    def targets(self, vehicle: VehicleTarget) -> bool:
        return (
            (not self.target_brands or vehicle.brand in self.target_brands)
            and (not self.target_models or vehicle.model_id in self.target_models)
            and (not self.target_markets or vehicle.market in self.target_markets)
        )


class LegalBasis(Protocol):
    """Decides, row by row, whether a signal may be stored for one purpose.

    Governance implements it from consents, ownership and regional policy.
    """

    def allowed(
        self, vehicle_id: np.ndarray, ts_us: np.ndarray, category: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(mask of rows with a valid legal basis, reason per refused row)."""
        ...


def _categories(signals: pl.Series) -> np.ndarray:
    catalog = load_signal_catalog()
    mapping = {p: catalog[p].category for p in signals.unique().to_list() if p in catalog}
    return np.asarray(
        signals.replace_strict(mapping, default="technical", return_dtype=pl.String).to_list(),
        dtype=object,
    )


class CampaignFilter:
    """Keeps the rows some active campaign asks for; counts the rest by reason.

    Stateful across the batches of one stream: sampling buckets and the latest
    trigger of each vehicle carry over, so a post-trigger window may reach into
    the next batch. A pre-trigger window only reaches back within the batch
    that holds the trigger (earlier batches are already stored).
    """

    def __init__(
        self,
        campaigns: Sequence[Campaign],
        vehicles: Mapping[str, VehicleTarget],
        *,
        legal_bases: Mapping[str, LegalBasis] | None = None,
        sealer: Sealer | None = None,
    ) -> None:
        """``legal_bases`` (purpose → checker) refuses, per campaign, the rows whose data
        category has no valid legal basis for that campaign's purpose; ``sealer``
        seals the personal rows that pass (the writer applies it, see
        :func:`~drivetrain.ingest.write_telemetry`)."""
        self.campaigns = [c.validate() for c in campaigns if c.status == "active"]
        self._legal_bases = dict(legal_bases or {})
        self.sealer = sealer
        self._targeted = [
            pl.Series([v for v, t in vehicles.items() if c.targets(t)], dtype=pl.String)
            for c in self.campaigns
        ]
        self._paths = [
            pl.Series(sorted(c.requested_paths()), dtype=pl.String) for c in self.campaigns
        ]
        self._conditions = [c.compiled_condition() for c in self.campaigns]
        self._last_bucket: list[pl.DataFrame | None] = [None] * len(self.campaigns)
        self._last_trigger: list[pl.DataFrame | None] = [None] * len(self.campaigns)

    def carry_state_from(self, previous: CampaignFilter) -> None:
        """Take over the sampling and trigger state of the campaigns ``previous`` shares.

        For a filter rebuilt while a stream runs: an unchanged campaign keeps its
        sampling buckets and open trigger windows (no extra sample per rebuild);
        a new or changed campaign starts fresh.
        """
        position = {campaign: i for i, campaign in enumerate(previous.campaigns)}
        for j, campaign in enumerate(self.campaigns):
            i = position.get(campaign)
            if i is not None:
                self._last_bucket[j] = previous._last_bucket[i]
                self._last_trigger[j] = previous._last_trigger[i]

    def apply(self, batch: pa.RecordBatch) -> tuple[pa.RecordBatch, Counter[str]]:
        """Return the rows to store and the count of the others by reason."""
        df = pl.from_arrow(batch)
        assert isinstance(df, pl.DataFrame)
        df = df.select(
            pl.col("vehicle_id").cast(pl.String),
            pl.col("ts").dt.epoch("us").alias("ts_us"),
            pl.col("signal").cast(pl.String),
            pl.col("value"),
        ).with_row_index("_row")
        n = df.height
        keep = np.zeros(n, dtype=bool)
        targeted = np.zeros(n, dtype=bool)
        requested = np.zeros(n, dtype=bool)
        triggered = np.zeros(n, dtype=bool)
        lawful = np.zeros(n, dtype=bool)
        why_not = np.full(n, "", dtype=object)
        categories: np.ndarray | None = None
        kept_by: list[np.ndarray] = []
        for i, campaign in enumerate(self.campaigns):
            vehicle_ok = df["vehicle_id"].is_in(self._targeted[i].implode()).to_numpy()
            wanted = vehicle_ok & df["signal"].is_in(self._paths[i].implode()).to_numpy()
            targeted |= vehicle_ok
            requested |= wanted
            condition = self._conditions[i]
            if condition is not None:
                wanted &= self._in_window(i, campaign, condition, df, wanted)
            triggered |= wanted
            checker = self._legal_bases.get(campaign.purpose)
            if checker is not None and wanted.any():
                if categories is None:
                    categories = _categories(df["signal"])
                rows = np.flatnonzero(wanted)
                ok, reasons = checker.allowed(
                    df["vehicle_id"].to_numpy()[rows],
                    df["ts_us"].to_numpy()[rows],
                    categories[rows],
                )
                refused = rows[~np.asarray(ok, dtype=bool)]
                why_not[refused] = np.asarray(reasons, dtype=object)[~np.asarray(ok, dtype=bool)]
                wanted[refused] = False
            lawful |= wanted
            if campaign.period_s:
                wanted &= self._first_in_period(i, campaign.period_s, df, wanted)
            kept_by.append(wanted)
            keep |= wanted
        dropped: Counter[str] = Counter()
        for mask, reason in (
            (~targeted, NOT_TARGETED),
            (targeted & ~requested, NOT_REQUESTED),
            (requested & ~triggered, NO_TRIGGER),
            (lawful & ~keep, THINNED),
        ):
            if count := int(mask.sum()):
                dropped[reason] = count
        dropped.update(str(r) for r in why_not[triggered & ~lawful])
        batch = self._coarsened(batch, df, keep, kept_by)
        return batch.filter(pa.array(keep)), dropped

    def _coarsened(
        self, batch: pa.RecordBatch, df: pl.DataFrame, keep: np.ndarray, kept_by: list[np.ndarray]
    ) -> pa.RecordBatch:
        """Positions kept only by campaigns that want them coarse, moved to their cell centre.

        A row kept by any campaign wanting exact positions stays exact; otherwise the
        finest precision among the campaigns keeping it applies.
        """
        axis = df["signal"].replace_strict(_AXES, default="", return_dtype=pl.String).to_numpy()
        located = keep & (axis != "")
        if not located.any():
            return batch
        exact = np.zeros(len(keep), dtype=bool)
        finest = np.zeros(len(keep), dtype=np.int64)
        for campaign, mask in zip(self.campaigns, kept_by, strict=True):
            if campaign.location_precision is None:
                exact |= mask
            else:
                finest = np.where(mask, np.maximum(finest, campaign.location_precision), finest)
        coarse = located & ~exact & (finest > 0)
        if not coarse.any():
            return batch
        values = batch.column("value").to_numpy(zero_copy_only=False).astype(np.float64)
        for precision in np.unique(finest[coarse]):
            for name, column in (("lat", 0), ("lon", 1)):
                rows = coarse & (finest == precision) & (axis == name)
                if rows.any():
                    zeros = np.zeros(int(rows.sum()))
                    lat, lon = (values[rows], zeros) if column == 0 else (zeros, values[rows])
                    values[rows] = coarsen(lat, lon, int(precision))[column]
        index = batch.schema.get_field_index("value")
        return batch.set_column(index, "value", pa.array(values))

    def _in_window(
        self, i: int, campaign: Campaign, condition: Condition, df: pl.DataFrame, wanted: np.ndarray
    ) -> np.ndarray:
        """Rows within [trigger - pre, trigger + post] of a moment the condition held."""
        inputs = df.filter(pl.col("signal").is_in(list(condition.signals)))
        triggers = pl.DataFrame(schema={"vehicle_id": pl.String, "trigger_us": pl.Int64})
        if inputs.height:
            wide = inputs.pivot(
                on="signal",
                index=["vehicle_id", "ts_us"],
                values="value",
                aggregate_function="first",
            ).sort("vehicle_id", "ts_us")
            missing = [s for s in condition.signals if s not in wide.columns]
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(s) for s in missing)
            wide = wide.with_columns(
                pl.col(s).forward_fill().over("vehicle_id") for s in condition.signals
            )
            triggers = wide.filter(condition.expr.fill_null(False)).select(
                "vehicle_id", pl.col("ts_us").alias("trigger_us")
            )
        carried = self._last_trigger[i]
        if carried is not None:
            triggers = pl.concat([carried, triggers])
        if triggers.height:
            self._last_trigger[i] = triggers.group_by("vehicle_id").agg(pl.col("trigger_us").max())
        else:
            return np.zeros(df.height, dtype=bool)
        pre, post = int(campaign.pre_trigger_s * US), int(campaign.post_trigger_s * US)
        candidates = (
            df.filter(pl.Series(wanted))
            .select("_row", "vehicle_id", "ts_us")
            .with_columns((pl.col("ts_us") + pre).alias("reach"))
            .sort("reach")
        )
        matched = candidates.join_asof(
            triggers.sort("trigger_us"),
            left_on="reach",
            right_on="trigger_us",
            by="vehicle_id",
            strategy="backward",
            check_sortedness=False,  # sorted by "reach" above; groups keep that order
        ).filter(pl.col("trigger_us") >= pl.col("ts_us") - post)
        out = np.zeros(df.height, dtype=bool)
        out[matched["_row"].to_numpy()] = True
        return out

    def _first_in_period(
        self, i: int, period_s: float, df: pl.DataFrame, wanted: np.ndarray
    ) -> np.ndarray:
        """Rows that are the first of their (vehicle, signal) in a period bucket."""
        period = int(period_s * US)
        rows = (
            df.filter(pl.Series(wanted))
            .select("_row", "vehicle_id", "signal", (pl.col("ts_us") // period).alias("bucket"))
            .sort("_row")
        )
        first = rows.filter(pl.struct("vehicle_id", "signal", "bucket").is_first_distinct())
        carried = self._last_bucket[i]
        if carried is not None:
            # Only the bucket kept last is suppressed: a stream that arrives out of order
            # (an older log ingested later) keeps its data rather than losing it.
            first = (
                first.join(carried, on=["vehicle_id", "signal"], how="left")
                .filter(
                    pl.col("last_bucket").is_null() | (pl.col("bucket") != pl.col("last_bucket"))
                )
                .drop("last_bucket")
            )
        latest = first.group_by("vehicle_id", "signal").agg(
            pl.col("bucket").last().alias("last_bucket")
        )
        if carried is not None:
            latest = pl.concat(
                [carried.join(latest, on=["vehicle_id", "signal"], how="anti"), latest]
            )
        self._last_bucket[i] = latest
        out = np.zeros(df.height, dtype=bool)
        out[first["_row"].to_numpy()] = True
        return out
