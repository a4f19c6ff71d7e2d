"""How the simulated traction batteries have aged before the simulation starts.

Lithium-ion cells lose capacity with time (calendar ageing, growing roughly
with t^0.75 at moderate temperatures: Schmalstieg et al., J. Power Sources 257,
2014) and with use (cycle ageing, roughly proportional to the energy throughput
counted in equivalent full cycles, so that a plug-in hybrid's small pack ages
faster per kilometre than a large one; cells are rated for about 80 % after
1,500-3,000 full cycles). Fleet studies put the sum near 2 % a year for today's
cars (Geotab's 2024 analysis of 10,000 EVs: 1.8 %/year on average). The
simulator draws each plug-in's state of health from that law with a spread
between individual packs, and a few weak packs (a poor cell batch) lose far
more. Over a simulated month the state of health does not measurably change.

The ground truth goes to the lake table ``sim_battery``; nothing in the
telemetry states it: the BMS reports its state of charge (with its usual
estimation noise) and its lifetime energy counters, from which
:mod:`drivetrain.health.battery` has to work the capacity out, as a real
fleet's analytics would.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyarrow as pa

CALENDAR_PCT = 1.3  # % lost after the first year, growing with age ** CALENDAR_EXPONENT
CALENDAR_EXPONENT = 0.75
CYCLE_PCT_PER_100_CYCLES = 1.0  # per 100 equivalent full cycles (lifetime energy out / capacity)
PACK_SPREAD_PCT = 0.8  # standard deviation between packs of the same age and use
WEAK_SHARE = 0.03  # packs from a poor cell batch …
WEAK_LOSS_PCT = (6.0, 12.0)  # … lose this much more
SOC_NOISE_PCT = 0.15  # BMS state-of-charge estimation noise, per reading
COUNTER_STEP_KWH = 0.1  # resolution of the BMS's energy counters
KWH_PER_KM = 0.17  # to start the lifetime counters at a plausible value …
ELECTRIC_SHARE = {"bev": 1.0, "phev": 0.5}  # … for the share of kilometres driven on the pack


def age_years(model_years: np.ndarray, start: datetime) -> np.ndarray:
    """Years in service at ``start``, taking a model year's cars as built on 1 January of it."""
    now = start.year + (start.timetuple().tm_yday - 1) / 365.25
    return np.asarray(np.clip(now - model_years, 0.1, None), dtype=np.float64)


def draw_soh(
    rng: np.random.Generator, age: np.ndarray, cycles: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """State of health (fraction of capacity when new) of each pack, and which are weak."""
    n = len(age)
    loss = (
        CALENDAR_PCT * age**CALENDAR_EXPONENT
        + CYCLE_PCT_PER_100_CYCLES * cycles / 100.0
        + rng.normal(0.0, PACK_SPREAD_PCT, n)
    )
    weak = rng.random(n) < WEAK_SHARE
    loss = loss + weak * rng.uniform(*WEAK_LOSS_PCT, n)
    return np.clip(100.0 - loss, 50.0, 100.0) / 100.0, weak


def truth_table(
    vehicle_ids: list[str],
    nominal_kwh: np.ndarray,
    soh: np.ndarray,
    weak: np.ndarray,
    age: np.ndarray,
    odometer_km: np.ndarray,
    cycles: np.ndarray,
    schema: pa.Schema,
) -> pa.Table:
    """Rows of ``sim_battery`` for the vehicles that have a traction battery."""
    has = np.flatnonzero(nominal_kwh > 0)
    return pa.table(
        {
            "vehicle_id": [vehicle_ids[i] for i in has],
            "nominal_kwh": nominal_kwh[has],
            "soh_pct": np.round(soh[has] * 100.0, 3),
            "capacity_kwh": nominal_kwh[has] * soh[has],
            "weak_pack": weak[has],
            "age_years": age[has],
            "odometer_km": odometer_km[has],
            "cycles": cycles[has],
        },
        schema=schema,
    )
