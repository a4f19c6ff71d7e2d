"""What the demo shows of vehicle health: the fleet scan and one diagnosis."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pyarrow.compute as pc

from drivetrain.fleet import VehicleRecord, list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.governed_read import governed_read
from drivetrain.governance.principals import principal_named
from drivetrain.health.diagnosis import Candidate, diagnose, urgency
from drivetrain.health.episodes import derive_episodes
from drivetrain.health.scan import ScanReport, fleet_scan
from drivetrain.lake import Lake
from drivetrain.settings import Settings
from drivetrain.state import session_scope

PRINCIPAL = "fleet-health"
PURPOSE = "vehicle_health"


@dataclass(frozen=True, slots=True)
class HealthTour:
    """The scan and the diagnosis of its top vehicle."""

    scan: ScanReport
    vehicle: VehicleRecord | None
    causes: list[Candidate]
    action: str


def health_tour(settings: Settings) -> HealthTour:
    """Scan the demo fleet as the fleet-health analyst and diagnose the top vehicle."""
    principal = principal_named(settings.resolved_principals_file, PRINCIPAL)
    context = AccessContext(principal, PURPOSE)
    lake, audit = Lake(settings.lake_dir), AuditLog(settings.data_dir)
    with session_scope(settings.resolved_state_url) as session:
        vehicles = list_vehicles(session)
    scan = fleet_scan(lake, context, vehicles, audit=audit)
    if scan.ranking.is_empty():
        return HealthTour(scan, None, [], "drive_on")
    top = scan.ranking["vehicle_id"][0]
    vehicle = next(v for v in vehicles if v.vehicle_id == top)
    events = governed_read(
        lake, "dtc_events", context, [vehicle], audit=audit, filter=pc.field("vehicle_id") == top
    )
    episodes = pl.from_arrow(derive_episodes(events))
    assert isinstance(episodes, pl.DataFrame)
    models = pl.DataFrame(
        {"vehicle_id": [v.vehicle_id for v in vehicles], "model_id": [v.model_id for v in vehicles]}
    )
    causes = diagnose(
        top,
        scan.detection.anomalies,
        scan.wear,
        episodes,
        fleet_anomalies=scan.detection.anomalies,
        models=models,
    )
    return HealthTour(scan, vehicle, causes, urgency(causes))
