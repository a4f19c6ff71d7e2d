"""A fleet vehicle as the assistant meets it: its cabin, and its last known status from the lake.

:func:`vehicle_status` reads the vehicle's latest values of the status signals
the assistant answers about (charge, tyre pressures, fuel level) from
``telemetry``, through the governed read, so the access policy and the audit
log see it like any other read; :func:`fleet_vehicle` puts them into a parked
:class:`SimulatedVehicle` of the vehicle's model. The range of an electric
vehicle is derived from its charge and the charging planner's energy model
(steady 90 km/h at 15 °C), since the fleet does not report one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from drivetrain.cockpit.cabin import SimulatedVehicle, Value
from drivetrain.cockpit.charging.energy import drive_energy_kwh
from drivetrain.cockpit.charging.vehicles import ev_parameters, known_vehicles
from drivetrain.cockpit.requests import RANGE, SOC, TYRES
from drivetrain.errors import PolicyDenied
from drivetrain.fleet.models import VehicleRecord
from drivetrain.governance.access import AccessContext
from drivetrain.governance.governed_read import AuditSink, governed_read
from drivetrain.governance.legal_basis import LegalBasisIndex, to_us
from drivetrain.lake import Lake

FUEL = "Vehicle.Powertrain.FuelSystem.RelativeLevel"
STATUS_SIGNALS = (SOC, FUEL, *TYRES)
_RANGE_SPEED_KMH, _RANGE_TEMPERATURE_C = 90.0, 15.0
PURPOSE = "personalisation"


def vehicle_status(
    lake: Lake, record: VehicleRecord, context: AccessContext, *, audit: AuditSink | None = None
) -> dict[str, Value]:
    """The latest value of each status signal the vehicle has reported (absent ones left out)."""
    where = (pc.field("vehicle_id") == record.vehicle_id) & pc.field("signal").isin(
        list(STATUS_SIGNALS)
    )
    table = governed_read(
        lake, "telemetry", context, [record], ["ts", "signal", "value"], audit=audit, filter=where
    )
    if table.num_rows == 0:
        return {}
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    latest = frame.sort("ts").group_by("signal").agg(pl.col("value").last())
    return {str(s): float(v) for s, v in latest.iter_rows() if v is not None}


def electric_range_m(model_id: str, soc_pct: float) -> float | None:
    """Range in metres at ``soc_pct`` for a model the energy model knows (None otherwise)."""
    if model_id not in known_vehicles():
        return None
    ev = ev_parameters(model_id)
    per_km = drive_energy_kwh(
        ev, distance_km=1.0, speed_kmh=_RANGE_SPEED_KMH, temperature_c=_RANGE_TEMPERATURE_C
    )
    return max(0.0, soc_pct) / 100.0 * ev.usable_kwh / per_km * 1000.0


def fleet_vehicle(record: VehicleRecord, status: dict[str, Value]) -> SimulatedVehicle:
    """A parked vehicle of ``record``'s model with ``status`` as its current values."""
    vehicle = SimulatedVehicle.parked(record.vehicle_id, record.model_id)
    vehicle.values.update(status)
    soc = status.get(SOC)
    if isinstance(soc, float) and (metres := electric_range_m(record.model_id, soc)) is not None:
        vehicle.values[RANGE] = round(metres)
    return vehicle


def active_dtcs(
    lake: Lake, record: VehicleRecord, context: AccessContext, *, audit: AuditSink | None = None
) -> list[str]:
    """The vehicle's trouble codes whose latest report is not a cleared one, newest first."""
    table = governed_read(
        lake,
        "dtc_events",
        context,
        [record],
        ["ts", "dtc", "status"],
        audit=audit,
        filter=pc.field("vehicle_id") == record.vehicle_id,
    )
    if table.num_rows == 0:
        return []
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    latest = frame.sort("ts").group_by("dtc").agg(pl.col("status").last(), pl.col("ts").last())
    open_codes = latest.filter(~pl.col("status").is_in(["cleared", "passed"])).sort(
        "ts", descending=True
    )
    return [str(c) for c in open_codes["dtc"].to_list()]


@dataclass(frozen=True, slots=True)
class KnownStatus:
    """What the assistant may know of a vehicle: status values, open codes, or why not."""

    values: dict[str, Value]
    dtcs: list[str]
    refused: str | None = None


def personalisation_refusal(session: Session, record: VehicleRecord, at: datetime) -> str | None:
    """Why the vehicle's technical data may not be used for personalisation at ``at`` (None: it
    may), decided like the collection gate: every subject linked to the vehicle needs a legal
    basis in its region (consent in the EU, a contract in the US; data/policies)."""
    index = LegalBasisIndex.build(session, [record.vehicle_id], PURPOSE)
    allowed, reasons = index.allowed(
        np.array([record.vehicle_id], dtype=object),
        np.array([to_us(at)], dtype=np.int64),
        np.array(["technical"], dtype=object),
    )
    return None if bool(allowed[0]) else str(reasons[0])


def known_status(
    lake: Lake,
    record: VehicleRecord,
    context: AccessContext,
    session: Session,
    *,
    audit: AuditSink | None = None,
    at: datetime | None = None,
) -> KnownStatus:
    """The vehicle's status and open codes as ``context`` may read them (refusals say why).

    The lake's rows were collected for other purposes (vehicle health); using them
    for personalisation needs a legal basis of its own (:func:`personalisation_refusal`).
    """
    if (why := personalisation_refusal(session, record, at or datetime.now(UTC))) is not None:
        return KnownStatus({}, [], why)
    try:
        values = vehicle_status(lake, record, context, audit=audit)
        dtcs = active_dtcs(lake, record, context, audit=audit)
    except PolicyDenied as exc:
        return KnownStatus({}, [], exc.message)
    if not values:
        return KnownStatus({}, dtcs, f"{record.vehicle_id} has reported no status yet")
    return KnownStatus(values, dtcs)
