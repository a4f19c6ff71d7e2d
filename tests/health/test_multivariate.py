"""The library comparison detector (pyod ECOD) runs on the scan's scores and alarms somewhere."""

from __future__ import annotations

import polars as pl

from drivetrain.fleet import list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.health.multivariate import ecod_alarms
from drivetrain.health.scan import fleet_scan
from drivetrain.lake import Lake
from drivetrain.settings import Settings
from drivetrain.state import session_scope

from .conftest import EVERYWHERE


def test_ecod_flags_the_most_unusual_vehicle_days(fleet: Settings) -> None:
    with session_scope(fleet.resolved_state_url) as session:
        vehicles = list_vehicles(session)
    report = fleet_scan(Lake(fleet.lake_dir), AccessContext(EVERYWHERE, "vehicle_health"), vehicles)
    vehicle_days = report.detection.scored.select("vehicle_id", "day").unique().height
    alarms = ecod_alarms(report.detection, contamination=0.05)
    assert 0 < alarms.height <= vehicle_days * 0.05 + 1  # at most the contamination share
    known = set(report.detection.scored["indicator"].unique().to_list())
    assert set(alarms["indicator"].to_list()) <= known
    assert alarms.filter(pl.col("alarm_day").is_null()).is_empty()
