"""Idempotent writes: drop rows whose telemetry key is already stored.

The telemetry key is ``(vehicle_id, ts, signal)``. The lookup reads only the
Delta files whose statistics can hold the rows' dates, time span and
vehicles, so its cost follows the new data, not the size of the table.
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from drivetrain.lake import Lake

_KEY = ["vehicle_id", "ts", "signal"]


def drop_stored(lake: Lake, rows: pa.Table) -> pa.Table:
    """``rows`` less those whose key ``(vehicle_id, ts, signal)`` is already in ``telemetry``.

    Delta file statistics prune the lookup to the files that can hold the
    rows' dates, time span and vehicles, so live data costs a log read and
    little else.
    """
    if not rows.num_rows or not lake.exists("telemetry"):
        return rows
    lo, hi = pc.min_max(rows["ts"]).values()
    days = sorted({d for d in pc.cast(rows["ts"], pa.date32()).to_pylist() if isinstance(d, date)})
    vehicles = pc.unique(rows["vehicle_id"])
    pruning = [
        ("date", "in", days),
        ("ts", ">=", lo.as_py()),
        ("ts", "<=", hi.as_py()),
        ("vehicle_id", "in", vehicles.to_pylist()),
    ]
    dataset = lake.table("telemetry").to_pyarrow_dataset(file_pruning_predicate=pruning)
    if not dataset.files:
        return rows
    wanted = pc.field("ts").isin(pc.unique(rows["ts"])) & pc.field("vehicle_id").isin(vehicles)
    stored = dataset.to_table(columns=_KEY, filter=wanted)
    if not stored.num_rows:
        return rows
    return rows.join(stored, keys=_KEY, join_type="left anti").select(rows.column_names)
