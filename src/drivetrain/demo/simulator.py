"""The fleet simulator: a seeded, vectorised multi-brand fleet written into the lake.

Vehicles are simulated in blocks of ``BLOCK_SIZE`` and day by day, so memory
stays bounded for any fleet size. Each vehicle reports only the signals its
model's decoder manifest binds, with values clipped and quantised to what the
carrier (DBC signal or OBD-II PID) can represent. Telemetry goes through the
same write path as ingestion (:func:`drivetrain.ingest.write_telemetry`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pyarrow as pa

from drivetrain.catalog import CarrierLimits, carrier_limits, load_signal_catalog, quantise
from drivetrain.demo.dynamics import DAY_US, US, DayOutput, simulate_day
from drivetrain.demo.faults import FAULT_TYPES, assign_faults
from drivetrain.demo.fleet_block import FleetBlock, FleetState, build_block, initial_state
from drivetrain.demo.fleet_builder import Fleet, build_fleet, select_models
from drivetrain.demo.traction_battery import (
    ELECTRIC_SHARE,
    KWH_PER_KM,
    age_years,
    draw_soh,
    truth_table,
)
from drivetrain.errors import InputError
from drivetrain.fleet import VehicleRecord
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.governance.sealing import Sealer
from drivetrain.ingest import (
    Campaign,
    CampaignFilter,
    CollectionContext,
    WriteReport,
    new_run_id,
    write_telemetry,
)
from drivetrain.ingest.campaigns import targets_of
from drivetrain.lake import TABLES, Lake

BLOCK_SIZE = 250
TS_TYPE = pa.timestamp("us", tz="UTC")
Progress = Callable[[int, int], None]
Route = Callable[[Fleet, Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """What to simulate. ``period_s`` is the logging period of every signal."""

    vehicles: int = 200
    days: int = 30
    seed: int = 7
    start: date = date(2026, 10, 1)
    period_s: int = 10
    fault_rate: float = 0.2
    brands: tuple[str, ...] | None = None
    models: tuple[str, ...] | None = None

    def validate(self) -> None:
        if self.vehicles <= 0:
            raise InputError(f"--vehicles must be positive, got {self.vehicles}")
        if self.days <= 0:
            raise InputError(f"--days must be positive, got {self.days}")
        if not 1 <= self.period_s <= 3600:
            raise InputError(f"--period must be between 1 and 3600 s, got {self.period_s}")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise InputError(f"--fault-rate must be within 0..1, got {self.fault_rate}")


@dataclass(slots=True)
class SimulationReport:
    """What a simulation produced."""

    run_id: str
    config: SimulationConfig
    fleet: Fleet
    telemetry: WriteReport
    rows: dict[str, int] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    faults: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    @property
    def vehicles(self) -> list[VehicleRecord]:
        return self.fleet.records


class _Collected:
    """Small tables gathered while telemetry streams into the lake."""

    def __init__(self) -> None:
        self.trips: list[pa.Table] = []
        self.dtcs: list[pa.Table] = []
        self.snapshots: list[pa.Table] = []
        self.faults: list[pa.Table] = []
        self.batteries: list[pa.Table] = []


def simulate_fleet(
    config: SimulationConfig,
    lake: Lake,
    *,
    campaigns: Sequence[Campaign] | None = None,
    on_progress: Progress | None = None,
    route: Route | None = None,
    pseudonyms: PseudonymKey | None = None,
    audit: AuditLog | None = None,
    gate: CampaignFilter | None = None,
    sealer: Sealer | None = None,
) -> SimulationReport:
    """Simulate ``config`` into ``lake``; all tables are written or none is.

    With ``campaigns``, telemetry passes the same minimisation filter as any
    ingestion: only what an active campaign asks for is stored, the rest is
    counted in ``report.telemetry.dropped``. Without, everything is stored.
    ``gate`` replaces that filter with a governed one built for the fleet's
    registered vehicles (:func:`drivetrain.ingest.gate.collection_gate`:
    campaigns, legal basis per purpose, sealing of personal signals); ``sealer``
    alone seals personal signals where no campaign filters the stream.
    ``route`` transforms the telemetry stream on its way to the lake (the raw
    pipeline sends it through CAN and OBD-II logs and decodes it back).
    The vehicle records are returned for the caller to register in the state
    store once the lake writes have succeeded.
    """
    began = time.perf_counter()
    run_id = new_run_id("sim")
    fleet, block_seeds, start = plan_fleet(config, pseudonyms)
    collected = _Collected()
    context = CollectionContext(
        source="simulator", purpose="product_improvement", campaign_id="demo", run_id=run_id
    )
    before = {name: lake.version(name) for name in TABLES}
    try:
        batches = _telemetry_batches(config, fleet, block_seeds, start, collected, on_progress)
        if route is not None:
            batches = route(fleet, batches)
        report = write_telemetry(
            lake,
            batches,
            context,
            campaigns=gate or _filter(campaigns, fleet),
            sealer=sealer,
            audit=audit,
        )
        versions = {"telemetry": report.version or 0}
        for name, parts in (
            ("trips", collected.trips),
            ("dtc_events", collected.dtcs),
            ("vehicles_snapshot", collected.snapshots),
            ("sim_faults", collected.faults),
            ("sim_battery", collected.batteries),
        ):
            versions[name] = lake.append(name, _concat(name, parts), run_id=run_id)
        for name in ("telemetry", "telemetry_sealed"):  # one vehicle's reads skip the rest
            lake.compact(name, run_id=run_id)
        versions["telemetry"] = lake.version("telemetry") or 0
    except BaseException:
        roll_back(lake, before)
        raise
    faults = Counter(str(f) for t in collected.faults for f in t.column("fault").to_pylist())
    rows = {
        "telemetry": report.rows_written,
        "trips": sum(t.num_rows for t in collected.trips),
        "dtc_events": sum(t.num_rows for t in collected.dtcs),
        "vehicles_snapshot": sum(t.num_rows for t in collected.snapshots),
        "sim_faults": sum(t.num_rows for t in collected.faults),
        "sim_battery": sum(t.num_rows for t in collected.batteries),
    }
    return SimulationReport(
        run_id=run_id,
        config=config,
        fleet=fleet,
        telemetry=report,
        rows=rows,
        versions=versions,
        faults=faults,
        elapsed_s=time.perf_counter() - began,
    )


def plan_fleet(
    config: SimulationConfig, pseudonyms: PseudonymKey | None = None
) -> tuple[Fleet, list[np.random.SeedSequence], datetime]:
    """The fleet of ``config`` and the seeds of its vehicle blocks (same seed, same fleet)."""
    config.validate()
    models = select_models(config.brands, config.models)
    start = datetime(config.start.year, config.start.month, config.start.day, tzinfo=UTC)
    root = np.random.SeedSequence(config.seed)
    fleet_seed, *block_seeds = root.spawn(1 + -(-config.vehicles // BLOCK_SIZE))
    fleet = build_fleet(
        np.random.default_rng(fleet_seed), config.vehicles, models, start, pseudonyms
    )
    return fleet, block_seeds, start


def iter_telemetry(
    config: SimulationConfig,
    *,
    on_progress: Progress | None = None,
    pseudonyms: PseudonymKey | None = None,
) -> Iterator[pa.RecordBatch]:
    """The telemetry ``simulate_fleet`` would store, as batches (one per block and day)."""
    fleet, block_seeds, start = plan_fleet(config, pseudonyms)
    yield from _telemetry_batches(config, fleet, block_seeds, start, _Collected(), on_progress)


def _filter(campaigns: Sequence[Campaign] | None, fleet: Fleet) -> CampaignFilter | None:
    if campaigns is None:
        return None
    targets = targets_of(fleet.records)
    return CampaignFilter(campaigns, targets)


def roll_back(lake: Lake, before: dict[str, int | None]) -> None:
    """Return every table to the version it had before the run."""
    lake.restore_versions(before)


def _concat(name: str, parts: list[pa.Table]) -> pa.Table:
    schema = TABLES[name].input_schema
    return pa.concat_tables(parts) if parts else schema.empty_table()


def _telemetry_batches(
    config: SimulationConfig,
    fleet: Fleet,
    block_seeds: list[np.random.SeedSequence],
    start: datetime,
    collected: _Collected,
    on_progress: Progress | None,
) -> Iterator[pa.RecordBatch]:
    """Yield one long-format telemetry batch per (block of vehicles, day)."""
    paths = sorted(load_signal_catalog())
    path_index = {p: i for i, p in enumerate(paths)}
    signal_dict = pa.array(paths)
    vehicle_dict = pa.array(fleet.vehicle_ids)
    start_us = int(start.timestamp()) * US
    total = len(block_seeds) * config.days
    done = 0
    plans = _emission_plans(fleet)
    for b, seed in enumerate(block_seeds):
        rng = np.random.default_rng(seed)
        lo, hi = b * BLOCK_SIZE, min((b + 1) * BLOCK_SIZE, config.vehicles)
        idx = fleet.model_index[lo:hi]
        faults = assign_faults(rng, fleet.models, idx, start_us, config.days, config.fault_rate)
        block = build_block(
            rng, fleet.vehicle_ids[lo:hi], fleet.models, idx, fleet.markets[lo:hi], faults
        )
        state = initial_state(rng, block, start_us)
        years = np.array([r.model_year for r in fleet.records[lo:hi]], dtype=np.float64)
        collected.batteries.append(_age_batteries(seed, block, state, years, start))
        collected.faults.append(_fault_truth(block, start_us + config.days * DAY_US))
        for d in range(config.days):
            day_start = start_us + d * DAY_US
            day = simulate_day(rng, block, state, day_start, config.period_s)
            vehicle_idx: list[np.ndarray] = []
            ts: list[np.ndarray] = []
            sig_idx: list[np.ndarray] = []
            values: list[np.ndarray] = []
            for m, emitted in plans.items():
                rows = np.flatnonzero(block.model_index[day.vehicle] == m)
                if not len(rows):
                    continue
                for path, limits in emitted:
                    vehicle_idx.append(day.vehicle[rows] + lo)
                    ts.append(day.ts_us[rows])
                    sig_idx.append(np.full(len(rows), path_index[path], dtype=np.int32))
                    values.append(_carried(day.signals[path][rows], limits))
            collected.trips.append(_trips_table(block, day))
            collected.dtcs.append(_dtc_table(block, day))
            collected.snapshots.append(_snapshot_table(block, state, day, day_start))
            done += 1
            if on_progress:
                on_progress(done, total)
            if not values:
                continue
            yield pa.record_batch(
                {
                    "vehicle_id": pa.DictionaryArray.from_arrays(
                        pa.array(np.concatenate(vehicle_idx).astype(np.int32)), vehicle_dict
                    ),
                    "ts": pa.array(np.concatenate(ts), TS_TYPE),
                    "signal": pa.DictionaryArray.from_arrays(
                        pa.array(np.concatenate(sig_idx)), signal_dict
                    ),
                    "value": pa.array(np.concatenate(values)),
                }
            )


def _carried(values: np.ndarray, limits: CarrierLimits) -> np.ndarray:
    """``values`` as the carrier transmits them.

    A two-state carrier (a brake switch bound as 0/100 %) is on whenever the
    value is above its off state; anything else is clipped and rounded onto
    the carrier's grid.
    """
    lo, hi, step = limits.minimum, limits.maximum, limits.resolution
    if lo is not None and hi is not None and step and abs((hi - lo) - step) < 1e-9:
        return np.where(values > lo, hi, lo)
    return quantise(values, limits)


def _emission_plans(fleet: Fleet) -> dict[int, list[tuple[str, CarrierLimits]]]:
    """Per model index: the VSS paths it reports and the carrier limits of each."""
    return {
        m: [(b.vss, carrier_limits(b)) for b in model.bindings]
        for m, model in enumerate(fleet.models)
    }


def _age_batteries(
    seed: np.random.SeedSequence,
    block: FleetBlock,
    state: FleetState,
    model_years: np.ndarray,
    start: datetime,
) -> pa.Table:
    """Give the block's traction batteries their state of health and lifetime counters; the
    ground truth. A random stream of its own keeps the rest of the fleet as it was."""
    rng = np.random.default_rng(
        np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 0xBA77))
    )
    age = age_years(model_years, start)
    km = state.odometer_m / 1000.0
    has = block.battery_kwh > 0
    electric = np.array([ELECTRIC_SHARE.get(m.powertrain, 0.0) for m in block.models])
    state.consumed_kwh = np.where(has, km * KWH_PER_KM * electric[block.model_index], 0.0)
    state.charged_kwh = state.consumed_kwh.copy()
    cycles = state.consumed_kwh / np.maximum(block.battery_kwh, 1)
    soh, weak = draw_soh(rng, age, cycles)
    block.battery_soh = np.where(has, soh, 1.0)
    block.aux_seed = int(rng.integers(2**62))
    return truth_table(
        block.vehicle_ids,
        block.battery_kwh,
        soh,
        weak,
        age,
        km,
        cycles,
        TABLES["sim_battery"].input_schema,
    )


def _fault_truth(block: FleetBlock, end_us: int) -> pa.Table:
    f = block.faults
    rows = np.flatnonzero((f.kind >= 0) & (f.onset_us < end_us))
    kinds = [FAULT_TYPES[f.kind[v]] for v in rows]
    return pa.table(
        {
            "vehicle_id": [block.vehicle_ids[v] for v in rows],
            "fault": [k.name for k in kinds],
            "onset_ts": pa.array(f.onset_us[rows], TS_TYPE),
            "severity": f.severity[rows],
            "affected_signals": [list(k.affected_signals) for k in kinds],
            "expected_dtcs": [
                [c.replace("X", str(f.cylinder[v])) for c in k.expected_dtcs]
                for v, k in zip(rows, kinds, strict=True)
            ],
        },
        schema=TABLES["sim_faults"].input_schema,
    )


def _trips_table(block: FleetBlock, day: DayOutput) -> pa.Table:
    t = day.trips
    ids = np.array(block.vehicle_ids, dtype=object)[t["vehicle"]]
    return pa.table(
        {
            "trip_id": [f"{v}-{s // US}" for v, s in zip(ids, t["start_us"], strict=True)],
            "vehicle_id": ids.tolist(),
            "start_ts": pa.array(t["start_us"], TS_TYPE),
            "end_ts": pa.array(t["end_us"], TS_TYPE),
            "distance_m": t["distance_m"],
            "max_speed_kmh": t["max_speed_kmh"],
            "fuel_used_l": pa.array(t["fuel_used_l"], from_pandas=True),
            "energy_used_kwh": pa.array(t["energy_used_kwh"], from_pandas=True),
        },
        schema=TABLES["trips"].input_schema,
    )


def _dtc_table(block: FleetBlock, day: DayOutput) -> pa.Table:
    d = day.dtcs
    return pa.table(
        {
            "vehicle_id": np.array(block.vehicle_ids, dtype=object)[d["vehicle"]].tolist(),
            "ts": pa.array(d["ts_us"].astype(np.int64), TS_TYPE),
            "dtc": d["dtc"].tolist(),
            "ecu": d["ecu"].tolist(),
            "status": d["status"].tolist(),
        },
        schema=TABLES["dtc_events"].input_schema,
    )


def _snapshot_table(
    block: FleetBlock, state: FleetState, day: DayOutput, day_start: int
) -> pa.Table:
    n = block.n
    f = block.faults
    end_us = day_start + DAY_US - US
    days_bad = np.where(
        f.has("lv_battery_degradation") & (f.onset_us <= end_us),
        (end_us - f.onset_us) / DAY_US,
        0.0,
    )
    rest_v = 12.65 - np.minimum(0.045 * days_bad * f.severity, 1.5)
    counts = np.bincount(day.dtcs["vehicle"].astype(np.int64), minlength=n) if n else np.zeros(0)
    no_tank = block.tank_l <= 0
    no_battery = block.battery_kwh <= 0
    return pa.table(
        {
            "vehicle_id": block.vehicle_ids,
            "ts": pa.array(np.full(n, end_us, dtype=np.int64), TS_TYPE),
            "model_id": [block.models[i].id for i in block.model_index],
            "market": block.markets,
            "odometer_m": state.odometer_m.copy(),
            "fuel_level_pct": pa.array(np.clip(state.fuel_pct, 0, 100), mask=no_tank),
            "soc_pct": pa.array(np.clip(state.soc_pct, 0, 100), mask=no_battery),
            "lv_battery_v": np.round(rest_v, 2),
            "active_dtcs": counts.astype(np.int32),
        },
        schema=TABLES["vehicles_snapshot"].input_schema,
    )


def end_of(config: SimulationConfig) -> datetime:
    """The instant the simulated period ends."""
    start = datetime(config.start.year, config.start.month, config.start.day, tzinfo=UTC)
    return start + timedelta(days=config.days)
