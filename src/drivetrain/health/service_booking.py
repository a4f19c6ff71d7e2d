"""Maintenance suggestions from a vehicle's health, with bookable workshop slots.

What the in-car assistant says when the driver asks "when should I get it
serviced", or when a health finding warrants a visit: what to have done, how
urgent it is, by when at the latest, why (the health evidence), and the
earliest free slots at workshops near home that can do the job.

The suggestions read the outputs of the health models, never raw telemetry:

* wear items (:func:`drivetrain.health.wear.remaining_life`, the scan's
  ``wear``): an item with a degradation trend is due by ``as_of`` + the *lower*
  bound of its days-left interval (the fastest wear the data allows) − a
  margin; an item at its limit is due today. Items due beyond the horizon, or
  without a trend, are not suggested;
* the ranked causes of :func:`drivetrain.health.scan.diagnose_vehicle`: a cause
  whose action is ``stop_safely`` is *immediate* (due today), one with
  ``book_service`` and evidence beyond wear (an anomaly or trouble code) is due
  within :data:`BOOK_WITHIN_DAYS`; its trouble codes are explained by
  :func:`drivetrain.health.dtc.interpret_dtc`. Causes below :data:`MIN_SCORE`
  (e.g. cut to 30 % by a repair after the evidence) and ``drive_on`` causes ask
  for no visit;
* the traction battery's state of health (the scan's ``battery``): a pack
  ageing far faster than its age and use predict (``residual_z`` below
  −:data:`~drivetrain.health.scan.WEAK_PACK_Z`, as in the scan's ranking) asks
  for a battery health check within :data:`SOON_DAYS`.

Findings that need the same job (a due brake-pad wear item and the diagnosis
"front brake pads near the wear limit") become one suggestion with all the
evidence, the earliest date and the most urgent level. Suggestions are ordered
*immediate* < *soon* (due within :data:`SOON_DAYS`) < *planned*, then by date.
Slots are looked for at the workshops of the vehicle's market that have the
job's capability (:mod:`drivetrain.health.workshops`), from now to the latest
date, at most one per workshop and day, ranked by day then distance from the
market's home point (or ``near``); if none is free in time, the earliest ones
after it are offered, marked ``late``. ``horizon_days`` bounds the wear
predictions only: a finding that asks for a visit is always suggested. Each
suggestion — and a "nothing due" answer — is recorded with the provenance API
(kind ``maintenance_suggestion``, purpose ``vehicle_health``) naming the health
outputs and table versions it rests on, so ``explain`` shows why it was made.

The pieces: findings to drafts in :mod:`drivetrain.health.maintenance_findings`,
the result types in :mod:`drivetrain.health.maintenance_plan`, the jobs in
:mod:`drivetrain.health.service_jobs`, the workshops in
:mod:`drivetrain.health.workshops` and their slots and bookings in
:mod:`drivetrain.health.workshop_calendar`. The names a caller needs are
re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version as package_version
from typing import Any

import polars as pl

from drivetrain.errors import InputError, NotFound, PolicyDenied
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import find_output, record_output
from drivetrain.health.maintenance_findings import (
    BOOK_WITHIN_DAYS,
    MIN_SCORE,
    SOON_DAYS,
    Draft,
    battery_draft,
    cause_drafts,
    check_days,
    wear_drafts,
    wear_due,
)
from drivetrain.health.maintenance_plan import (
    URGENCIES,
    HomedVehicle,
    MaintenancePlan,
    MaintenanceSuggestion,
    ServiceSlot,
    Urgency,
    VehicleHealth,
)
from drivetrain.health.service_jobs import JOBS, ServiceJob, job_for
from drivetrain.health.workshop_calendar import (
    Booking,
    BookingStore,
    SlotTaken,
    SlotUnavailable,
    free_starts,
    reserve_slot,
)
from drivetrain.health.workshops import Workshop, WorkshopNetwork, distance_km

__all__ = [
    "BOOK_WITHIN_DAYS", "JOBS", "MIN_SCORE", "SOON_DAYS", "URGENCIES", "Booking",
    "HomedVehicle", "MaintenancePlan", "MaintenanceSuggestion", "ServiceJob", "ServiceSlot",
    "SlotTaken", "SlotUnavailable", "Urgency", "VehicleHealth", "book_slot", "job_for",
    "suggest_maintenance", "wear_due",
]  # fmt: skip

PURPOSE = "vehicle_health"
KIND = "maintenance_suggestion"
LATE_SEARCH_DAYS = 28  # how far past the latest date to look when nothing is free in time
MODELS = {
    "wear": "drivetrain.health.wear (Theil-Sen trend to the item's limit, 90 % interval)",
    "diagnosis": "drivetrain.health.diagnosis (knowledge-base rules)",
    "dtc": "drivetrain.health.dtc (SAE J2012)",
}


def suggest_maintenance(
    vehicle: HomedVehicle,
    health: VehicleHealth,
    *,
    network: WorkshopNetwork,
    store: BookingStore,
    now: datetime | None = None,
    horizon_days: int = 90,
    slots: int = 3,
    margin_days: int = 3,
    near: tuple[float, float] | None = None,
    audit: AuditLog | None = None,
    context: AccessContext | None = None,
) -> MaintenancePlan:
    """The maintenance ``vehicle`` needs within ``horizon_days``, with ``slots`` slots each.

    ``near`` (lat, lon) replaces the market's home point for distances; with
    ``audit``, every suggestion is recorded for ``context``'s principal (purpose
    ``vehicle_health``).
    """
    check_days(horizon_days=horizon_days, margin_days=margin_days)
    if not isinstance(slots, int) or not 1 <= slots <= 20:
        raise InputError(f"slots must be 1..20, got {slots!r}")
    if health.vehicle_id != vehicle.vehicle_id:
        raise InputError(
            f"the health findings are of {health.vehicle_id}, not {vehicle.vehicle_id}",
            hint="VehicleHealth.from_health(scan, diagnosis) for the vehicle asked about",
        )
    if audit is not None and (context is None or context.purpose != PURPOSE):
        raise PolicyDenied(
            f"recording maintenance suggestions needs an access context with purpose {PURPOSE}",
            hint="they rest on health outputs read for vehicle_health",
        )
    now = _utc(now)
    today = now.date()
    workshops = network.in_market(vehicle.market)
    home = near or network.homes.get(vehicle.market) or (workshops[0].lat, workshops[0].lon)
    wear = health.wear.filter(pl.col("vehicle_id") == vehicle.vehicle_id)
    due = wear_due(wear, today=today, horizon_days=horizon_days, margin_days=margin_days)
    drafts: dict[str, Draft] = {}
    for d in [
        *wear_drafts(due, margin_days),
        *cause_drafts(health.causes, today, wear.height > 0),
        *battery_draft(health.battery, today),
    ]:
        if d.job.job_id in drafts:
            drafts[d.job.job_id].merge(d)
        else:
            drafts[d.job.job_id] = d
    # drop a wear-only cause whose item is not due within the horizon
    kept = [d for d in drafts.values() if d.latest != date.max]
    kept.sort(key=lambda d: (URGENCIES.index(d.urgency), d.latest, d.job.job_id))
    suggestions = []
    for d in kept:
        capable = [w for w in workshops if w.can(d.job.capability)]
        found = _slots(capable, store, d.job, home, now, d.latest, slots)
        note = ""
        if not capable:
            note = (
                f"No workshop in {vehicle.market} does {d.job.capability.replace('_', ' ')} work."
            )
        elif not found:
            note = "No workshop near home has a free slot for it in the next weeks."
        suggestions.append(
            MaintenanceSuggestion(
                vehicle.vehicle_id,
                d.job.job_id,
                d.job.title,
                d.job.capability,
                d.urgency,
                d.latest,
                tuple(d.evidence),
                tuple(d.findings),
                d.reason,
                tuple(found),
                note,
            )
        )
    plan = MaintenancePlan(vehicle.vehicle_id, horizon_days, tuple(suggestions))
    if audit is None or context is None:
        return plan
    common = {
        "vehicle": vehicle.vehicle_id,
        "market": vehicle.market,
        "now": now.isoformat(),
        "horizon_days": horizon_days,
        "margin_days": margin_days,
        "network": network.name,
        "health_models": dict(MODELS),
        "health_outputs": dict(health.outputs),
    }
    inputs = _inputs_of(audit, health.outputs.values())
    cited = [f"{kind} {oid}" for kind, oid in health.outputs.items()]

    def record(params: dict[str, Any], sources: list[str]) -> str:
        return record_output(
            audit, kind=KIND, version=package_version("drivetrain"),
            model="drivetrain.health.service_booking (rules over wear intervals and diagnosis)",
            params={**common, **params}, inputs=inputs,
            sources=[f"vehicle {vehicle.vehicle_id}", *cited, *sources],
            principal=context.principal.principal_id, purpose=context.purpose,
        )  # fmt: skip

    if plan.nothing_due:
        return replace(plan, output_id=record({"job": None, "nothing_due": True}, []))
    recorded = tuple(
        replace(
            s,
            output_id=record(
                {
                    "job": s.job_id,
                    "capability": s.capability,
                    "urgency": s.urgency,
                    "latest_date": s.latest_date.isoformat(),
                    "findings": list(s.findings),
                    "slots": [f"{x.workshop_id} {x.start.isoformat()}" for x in s.slots],
                },
                [*s.evidence, *(f"workshop {x.workshop_id}" for x in s.slots)],
            ),
        )
        for s in suggestions
    )
    return replace(plan, suggestions=recorded)


def book_slot(
    network: WorkshopNetwork,
    store: BookingStore,
    *,
    workshop_id: str,
    start: datetime,
    job_id: str,
    vehicle_id: str,
    now: datetime | None = None,
    suggestion_id: str | None = None,
) -> Booking:
    """Reserve a bay at ``workshop_id`` from ``start`` for ``job_id``'s bay time.

    :class:`SlotUnavailable` if the slot is past or outside opening hours,
    :class:`SlotTaken` (a kind of it) if its bays are all booked;
    ``InputError`` if the workshop cannot do the job; ``NotFound`` for an
    unknown workshop.
    """
    workshop = network.get(workshop_id)
    job = job_for(job_id)
    if not workshop.can(job.capability):
        raise InputError(
            f"workshop {workshop_id} has no {job.capability} capability for {job.title}",
            hint="book one of the workshops a suggestion for this job offered",
        )
    if not vehicle_id:
        raise InputError("a booking needs the vehicle's id")
    return reserve_slot(
        workshop, store, start, job.duration, vehicle_id=vehicle_id, job_id=job.job_id,
        now=_utc(now), suggestion_id=suggestion_id,
    )  # fmt: skip


def _slots(
    workshops: Sequence[Workshop],
    store: BookingStore,
    job: ServiceJob,
    home: tuple[float, float],
    now: datetime,
    latest: date,
    wanted: int,
) -> list[ServiceSlot]:
    """Earliest free starts, one per workshop and local day, by day then distance."""
    by_distance = sorted(workshops, key=lambda w: (distance_km(home, (w.lat, w.lon)), w.name))
    found: list[ServiceSlot] = []
    day, last = now.date() - timedelta(days=1), latest + timedelta(days=LATE_SEARCH_DAYS)
    while day < last and len(found) < wanted:
        day += timedelta(days=1)
        late = day > latest
        if late and found:
            break
        for w in by_distance:
            starts = free_starts(w, store, day, job.duration, now)
            if starts and len(found) < wanted:
                found.append(
                    ServiceSlot(
                        w.workshop_id,
                        w.name,
                        starts[0],
                        starts[0] + job.duration,
                        w.timezone,
                        distance_km(home, (w.lat, w.lon)),
                        late,
                    )
                )
    return found


def _inputs_of(audit: AuditLog, output_ids: Any) -> dict[str, int]:
    """The table versions the health outputs read (their own provenance records)."""
    inputs: dict[str, int] = {}
    for oid in output_ids:
        try:
            recorded = find_output(audit, oid).details.get("inputs", {})
        except (NotFound, InputError):
            continue  # cited anyway; explain shows it could not be found
        for table, v in dict(recorded).items():
            inputs[str(table)] = max(int(v), inputs.get(str(table), 0))
    return inputs


def _utc(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime.now(UTC)
    if moment.tzinfo is None:
        raise InputError(f"time {moment.isoformat()} has no time zone", hint="give UTC")
    return moment.astimezone(UTC)
