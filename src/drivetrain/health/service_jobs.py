"""Workshop jobs: what a maintenance suggestion asks a workshop to do.

One :class:`ServiceJob` per failure mode of the diagnosis knowledge base
(:data:`JOBS`; a test checks none is missing), ``dtc:<code>`` for tracing a
trouble code nothing else explains (:func:`job_for`), with the workshop
capability it needs (:data:`drivetrain.health.workshops.CAPABILITIES`) and the
bay time it takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache

from drivetrain.errors import InputError
from drivetrain.health.diagnosis import knowledge_base
from drivetrain.health.dtc import interpret_dtc


@dataclass(frozen=True, slots=True)
class ServiceJob:
    """Workshop work: what it is, the capability it needs and the bay time it takes."""

    job_id: str
    title: str
    capability: str
    hours: int

    @property
    def duration(self) -> timedelta:
        return timedelta(hours=self.hours)


# One job per failure mode of the diagnosis knowledge base (a test checks none is missing).
JOBS: dict[str, ServiceJob] = {
    j.job_id: j
    for j in (
        ServiceJob("ignition_misfire", "find and fix the engine misfire", "engine", 2),
        ServiceJob("thermostat_stuck_open", "replace the coolant thermostat", "engine", 2),
        ServiceJob("weak_12v_battery", "test and replace the 12 V battery", "general", 1),
        ServiceJob("slow_puncture", "find and repair the slow puncture", "tyres", 1),
        ServiceJob(
            "sticking_brake_caliper", "free or replace the front brake caliper", "brakes", 2
        ),
        ServiceJob("brake_pads_worn", "replace the front brake pads", "brakes", 2),
        ServiceJob("traction_cell_imbalance", "balance the traction battery", "hv_battery", 4),
        ServiceJob(
            "hv_battery_check", "have the traction battery's health checked", "hv_battery", 2
        ),
    )
}


def job_for(job_id: str) -> ServiceJob:
    """The job of a suggestion: a failure mode's, or ``dtc:<code>`` to trace a trouble code."""
    if job_id in JOBS:
        return JOBS[job_id]
    if job_id.startswith("dtc:"):
        meaning = interpret_dtc(job_id[4:])
        hv = meaning.subsystem == "hybrid/EV propulsion"
        what = meaning.description or meaning.coverage.replace("_", " ")
        return ServiceJob(
            f"dtc:{meaning.code}",
            f"trace trouble code {meaning.code} ({what})",
            "hv_battery" if hv else "diagnostics",
            2,
        )
    raise InputError(
        f"unknown service job {job_id!r}",
        hint=f"jobs: {', '.join(JOBS)} or dtc:<code> (e.g. dtc:P0301)",
    )


@cache
def job_of_wear_item() -> dict[str, str]:
    """The job that services each wear item (from the knowledge base's failure modes)."""
    return {item: m.cause_id for m in knowledge_base() for item in m.wear if m.cause_id in JOBS}
