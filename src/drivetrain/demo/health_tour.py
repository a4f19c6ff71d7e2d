"""What the demo shows of vehicle health: the fleet scan and one diagnosis."""

from __future__ import annotations

from dataclasses import dataclass

from drivetrain.fleet import VehicleRecord, list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import principal_named
from drivetrain.health.diagnosis import Candidate
from drivetrain.health.scan import ScanReport, diagnose_vehicle, fleet_scan
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
    found = diagnose_vehicle(lake, context, vehicle, scan, audit=audit)
    return HealthTour(scan, vehicle, found.causes, found.action)
