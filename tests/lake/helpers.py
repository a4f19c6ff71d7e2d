"""Small builders of lake data shared by the lake tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

T0 = datetime(2026, 10, 1, 23, 59, 59, 999_999, tzinfo=UTC)


def telemetry(vehicles: list[str], values: list[float], ts: datetime = T0) -> pa.Table:
    return pa.table(
        {
            "vehicle_id": vehicles,
            "ts": pa.array([ts] * len(vehicles), pa.timestamp("us", tz="UTC")),
            "signal": ["Vehicle.Speed"] * len(vehicles),
            "value": values,
        }
    )
