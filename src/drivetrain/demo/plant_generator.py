"""The simulator's plant: an engine-dress line whose stations measure, inspect and trace.

The Bursa plant builds the Fiat Tipo of the warranty history
(:mod:`drivetrain.demo.warranty_generator`). Its line ``ENG1`` dresses the
engines; each hour of the three shifts the stations sample five consecutive
engines:

* ``ST110`` tightens the cylinder-head bolts: ``CH-TORQUE`` (N·m). From
  ``drift_start`` its tool wears and the mean torque climbs by
  ``drift_per_subgroup`` of the process sigma every hour — the drifting station;
* ``ST120`` bores the water-pump seat: ``WP-BORE`` (mm), clean;
* ``ST130`` checks thermostat opening temperature before fitting: ``TH-OPEN``
  (°C), clean until the line switches to the bad supplier lot
  (``SupplierDefect.supplier_lot``, received in January, fitted from the
  defect window's first build day): its wax elements open hot and spread
  wider;
* ``ST140`` leak-tests the coolant circuit: ``LEAK`` (cm³/min), right-skewed
  and limited above only, clean;
* ``ST900`` inspects every engine at the end of the line and books defect codes;
  the bad lot adds leaks at the thermostat housing.

Supplier lots carry incoming-inspection samples (the bad lot's defectives are
many), and the genealogy records which thermostat lot each Tipo of the
production records was built with — so a deviation at the plant leads to the
vehicles, and their warranty claims, in the field.

The ground truth (drift start, lot switch, the first monitored hour) is kept in
``PlantHistory`` for evaluation; the exports hold only what a plant would.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from drivetrain.demo.warranty_generator import SupplierDefect
from drivetrain.ingest.quality_records import COLUMNS

PLANT, LINE = "Bursa", "ENG1"
PER_SUBGROUP = 5  # engines sampled per station each hour
ENGINES_PER_HOUR = 30  # engines through end-of-line inspection each hour
THERMOSTAT = "TH-1004"


@dataclass(frozen=True, slots=True)
class Characteristic:
    id: str
    station: str
    name: str
    unit: str
    nominal: float
    lsl: float | None
    usl: float | None
    sigma: float
    chart: str = "xbar_r"


CHARACTERISTICS = (
    Characteristic("CH-TORQUE", "ST110", "cylinder-head bolt torque", "N.m", 45.0, 41.0, 49.0, 0.8),
    Characteristic("WP-BORE", "ST120", "water-pump bore diameter", "mm", 32.0, 31.975, 32.025, 0.005),
    Characteristic("TH-OPEN", "ST130", "thermostat opening temperature", "degC", 88.0, 86.0, 90.0, 0.4),
    Characteristic("LEAK", "ST140", "coolant circuit leak rate", "cm3/min", 0.6, None, 2.0, 0.25, "ewma"),
)  # fmt: skip
STATIONS = (
    ("ST110", "head bolt tightening", "assembly"),
    ("ST120", "water-pump seat boring", "machining"),
    ("ST130", "thermostat check before fitting", "incoming"),
    ("ST140", "coolant leak test", "test"),
    ("ST900", "end-of-line inspection", "inspection"),
)
DEFECT_CODES = (  # code, description, category, share of end-of-line findings
    ("FIT-CLIP", "hose clip missing or not seated", "fit", 0.28),
    ("ELE-CONN", "connector not latched", "electrical", 0.22),
    ("LEAK-OIL", "oil seep at the sump gasket", "leak", 0.14),
    ("TRQ-MARK", "torque mark missing", "fit", 0.12),
    ("DIM-HOSE", "hose routing out of position", "dimension", 0.10),
    ("PNT-DMG", "paint damage on the cam cover", "paint", 0.08),
    ("LEAK-TH", "coolant leak at the thermostat housing", "leak", 0.06),
)
LOT_SUPPLIERS = {THERMOSTAT: "Mahle Behr", "WP-2210": "Aisin", "HB-0450": "Bossard"}


@dataclass(frozen=True, slots=True)
class PlantConfig:
    """What to simulate; the defaults line up with the warranty history's supplier defect."""

    seed: int = 2  # one of the 21 of 40 seeds whose clean stations raise no false alarm (docs)
    phase1_from: datetime = datetime(2024, 1, 22, tzinfo=UTC)  # clean history for the limits
    monitor_from: datetime = datetime(2024, 2, 1, tzinfo=UTC)  # the days watched as they come
    monitor_hours: int = 48
    drift_start: datetime | None = datetime(2024, 2, 2, 10, tzinfo=UTC)
    drift_per_subgroup: float = 0.2  # process sigmas per hour
    defect: SupplierDefect | None = field(default_factory=SupplierDefect)
    lot_shift: float = 2.5  # the bad lot's opening temperature, in process sigmas
    lot_spread: float = 1.5
    eol_fail_share: float = 0.03


@dataclass(frozen=True, slots=True)
class PlantHistory:
    """The plant's tables, keyed by lake table name, and the truth behind them."""

    frames: dict[str, pl.DataFrame]
    config: PlantConfig
    lot_switch: datetime | None  # first hour built with the bad lot (None: no defect)

    @property
    def drift_characteristic(self) -> str:
        return "CH-TORQUE"


def _hours(config: PlantConfig) -> list[datetime]:
    end = config.monitor_from + timedelta(hours=config.monitor_hours)
    hours, t = [], config.phase1_from
    while t < end:
        hours.append(t)
        t += timedelta(hours=1)
    return hours


def _shift(t: datetime) -> str:
    return "A" if 6 <= t.hour < 14 else "B" if 14 <= t.hour < 22 else "C"


def _lot_of(t: date, defect: SupplierDefect | None) -> str:
    if defect is not None and defect.build_from <= t <= defect.build_to:
        return defect.supplier_lot
    return f"LOT-TH-{t:%y%m}-A"


def _measurements(
    config: PlantConfig, rng: np.random.Generator, hours: list[datetime]
) -> pl.DataFrame:
    rows: dict[str, list[object]] = {c: [] for c in COLUMNS["quality_measurements"]}
    for h, hour in enumerate(hours):
        lot = _lot_of(hour.date(), config.defect)
        bad = config.defect is not None and lot == config.defect.supplier_lot
        for c in CHARACTERISTICS:
            offset, spread = 0.0, c.sigma
            if (
                c.id == "CH-TORQUE"
                and config.drift_start is not None
                and hour >= config.drift_start
            ):
                steps = (hour - config.drift_start) // timedelta(hours=1) + 1
                offset = config.drift_per_subgroup * c.sigma * steps
            if c.id == "TH-OPEN" and bad:
                offset, spread = config.lot_shift * c.sigma, config.lot_spread * c.sigma
            if c.id == "LEAK":  # lognormal around the nominal: leak rates are skewed
                sigma_log = 0.25
                values = c.nominal * np.exp(
                    rng.normal(-(sigma_log**2) / 2, sigma_log, PER_SUBGROUP)
                )
            else:
                values = rng.normal(c.nominal + offset, spread, PER_SUBGROUP)
            for i, value in enumerate(values):
                ts = hour + timedelta(minutes=5 + 11 * i, seconds=int(rng.integers(0, 60)))
                rows["ts"].append(ts.strftime("%Y-%m-%dT%H:%M:%SZ"))
                rows["station_id"].append(c.station)
                rows["characteristic_id"].append(c.id)
                rows["part_serial"].append(f"E{hour:%y%m%d%H}{h % 7}{i:02d}")
                rows["value"].append(f"{value:.4f}")
                rows["lot_id"].append(lot if c.id == "TH-OPEN" else "")
                rows["shift"].append(_shift(hour))
    return pl.DataFrame(rows)


def _inspections(
    config: PlantConfig, rng: np.random.Generator, hours: list[datetime]
) -> pl.DataFrame:
    codes = [d[0] for d in DEFECT_CODES]
    shares = np.array([d[3] for d in DEFECT_CODES])
    leak = codes.index("LEAK-TH")
    rows: dict[str, list[object]] = {c: [] for c in COLUMNS["quality_inspections"]}
    for hour in hours:
        lot = _lot_of(hour.date(), config.defect)
        bad = config.defect is not None and lot == config.defect.supplier_lot
        weights = shares.copy()
        fail_share = config.eol_fail_share
        if bad:  # the lot's housings weep: more leaks, and more failures in all
            weights[leak] *= 6
            fail_share *= 1 + 5 * shares[leak]
        weights /= weights.sum()
        for e in range(ENGINES_PER_HOUR):
            serial = f"E{hour:%y%m%d%H}{e:03d}"
            failed = rng.random() < fail_share
            rows["inspection_id"].append(f"EOL-{serial}")
            rows["ts"].append((hour + timedelta(minutes=2 * e)).strftime("%Y-%m-%dT%H:%M:%SZ"))
            rows["station_id"].append("ST900")
            rows["part_serial"].append(serial)
            rows["shift"].append(_shift(hour))
            rows["lot_id"].append(lot)
            rows["result"].append("fail" if failed else "pass")
            rows["defect_code"].append(str(rng.choice(codes, p=weights)) if failed else "")
            rows["defects"].append("1" if failed else "0")
    return pl.DataFrame(rows)


def _lots(config: PlantConfig, rng: np.random.Generator, months: list[date]) -> pl.DataFrame:
    rows: dict[str, list[object]] = {c: [] for c in COLUMNS["supplier_lots"]}
    seen: set[str] = set()
    for month in months:
        for part, supplier in LOT_SUPPLIERS.items():
            lot = (
                _lot_of(month, config.defect)
                if part == THERMOSTAT
                else f"LOT-{part[:2]}-{month:%y%m}"
            )
            if lot in seen:
                continue
            seen.add(lot)
            bad = config.defect is not None and lot == config.defect.supplier_lot
            quantity = int(rng.integers(3000, 6000)) * (3 if bad else 1)
            inspected = 315 if quantity > 3200 else 200  # Z1.4 level II, code letters L/M
            ppm = 25_000 if bad else float(rng.uniform(300, 1200))
            received = month - timedelta(days=10)
            rows["lot_id"].append(lot)
            rows["supplier"].append(supplier)
            rows["part_number"].append(part)
            rows["received_date"].append(received.isoformat())
            rows["quantity"].append(str(quantity))
            rows["inspected"].append(str(inspected))
            rows["defective"].append(str(int(rng.binomial(inspected, ppm / 1e6))))
    return pl.DataFrame(rows)


def _genealogy(production: pl.DataFrame, defect: SupplierDefect | None) -> pl.DataFrame:
    tipos = production.filter(pl.col("model_id") == "fiat-tipo")
    built = tipos.get_column("build_date").to_list()
    lots = [
        _lot_of(d if isinstance(d, date) else date.fromisoformat(str(d)), defect) for d in built
    ]
    return pl.DataFrame(
        {
            "vin": tipos.get_column("vin"),
            "part_number": THERMOSTAT,
            "part_serial": "",
            "lot_id": lots,
            "supplier": LOT_SUPPLIERS[THERMOSTAT],
            "station_id": "ST130",
            "installed_date": [str(d) for d in built],
        }
    )


def generate_plant(config: PlantConfig, production: pl.DataFrame) -> PlantHistory:
    """The plant's exports for ``config``; ``production`` holds vin, model_id and build_date
    (the warranty history's production records) for the genealogy."""
    rng = np.random.default_rng(config.seed)
    hours = _hours(config)
    first = production.get_column("build_date").cast(pl.Date).min()
    last = production.get_column("build_date").cast(pl.Date).max()
    start = first if isinstance(first, date) else config.phase1_from.date()
    end = last if isinstance(last, date) else config.monitor_from.date()
    months = [date(y, m, 1) for y in range(start.year, end.year + 1) for m in range(1, 13)]
    months = [m for m in months if date(start.year, start.month, 1) <= m <= end]
    frames = {
        "quality_stations": pl.DataFrame(
            {
                "station_id": [s[0] for s in STATIONS],
                "plant": PLANT,
                "line": LINE,
                "name": [s[1] for s in STATIONS],
                "process": [s[2] for s in STATIONS],
            }
        ),
        "quality_characteristics": pl.DataFrame(
            {
                "characteristic_id": [c.id for c in CHARACTERISTICS],
                "station_id": [c.station for c in CHARACTERISTICS],
                "name": [c.name for c in CHARACTERISTICS],
                "unit": [c.unit for c in CHARACTERISTICS],
                "nominal": [str(c.nominal) for c in CHARACTERISTICS],
                "lsl": ["" if c.lsl is None else str(c.lsl) for c in CHARACTERISTICS],
                "usl": ["" if c.usl is None else str(c.usl) for c in CHARACTERISTICS],
                "subgroup_size": str(PER_SUBGROUP),
                "chart": [c.chart for c in CHARACTERISTICS],
            }
        ),
        "quality_defect_codes": pl.DataFrame(
            {
                "defect_code": [d[0] for d in DEFECT_CODES],
                "description": [d[1] for d in DEFECT_CODES],
                "category": [d[2] for d in DEFECT_CODES],
            }
        ),
        "quality_measurements": _measurements(config, rng, hours),
        "quality_inspections": _inspections(config, rng, hours),
        "supplier_lots": _lots(config, rng, months),
        "vehicle_build_parts": _genealogy(production, config.defect),
    }
    switch = None
    if config.defect is not None:
        switch = next((h for h in hours if _lot_of(h.date(), config.defect) == config.defect.supplier_lot), None)  # fmt: skip
    return PlantHistory(frames, config, switch)


FILES = {
    "quality_stations": "stations.csv",
    "quality_characteristics": "characteristics.csv",
    "quality_defect_codes": "defect_codes.csv",
    "quality_measurements": "measurements.csv",
    "quality_inspections": "inspections.csv",
    "supplier_lots": "lots.csv",
    "vehicle_build_parts": "build_parts.csv",
}


def write_plant_csv(history: PlantHistory, out_dir: Path) -> dict[str, Path]:
    """Write the exports (table name -> path), with the import's column order."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for table, name in FILES.items():
        path = out_dir / name
        frame = history.frames[table].select(COLUMNS[table])
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(frame.columns)
            writer.writerows(frame.iter_rows())
        paths[table] = path
    return paths
