"""What a maintenance suggestion is: its input (the health findings) and its answer.

:class:`VehicleHealth` is what the health models found for one vehicle;
:class:`MaintenancePlan` the suggestions made from it
(:func:`drivetrain.health.service_booking.suggest_maintenance`), each a
:class:`MaintenanceSuggestion` with the :class:`ServiceSlot` s it can be booked in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

import polars as pl

from drivetrain.errors import InputError, NotFound
from drivetrain.health.diagnosis import Candidate
from drivetrain.health.scan import ScanReport, VehicleDiagnosis

Urgency = Literal["immediate", "soon", "planned"]
URGENCIES: tuple[Urgency, ...] = ("immediate", "soon", "planned")


class HomedVehicle(Protocol):
    """A vehicle with a home market (a fleet ``VehicleRecord`` is one)."""

    @property
    def vehicle_id(self) -> str: ...

    @property
    def market(self) -> str: ...


@dataclass(frozen=True, slots=True)
class VehicleHealth:
    """What the health models found for one vehicle: the suggestions' only input.

    ``wear`` has the columns of :data:`drivetrain.health.wear.RUL_SCHEMA` (rows of
    other vehicles are ignored); ``outputs`` names the health outputs by kind
    (``health_scan``, ``health_diagnosis``) so the suggestion's record cites them.
    """

    vehicle_id: str
    wear: pl.DataFrame
    causes: Sequence[Candidate] = ()
    outputs: Mapping[str, str] = field(default_factory=dict)
    battery: Mapping[str, Any] | None = None  # the scan's battery row (soh_pct, residual_z…)

    @classmethod
    def from_health(
        cls, scan: ScanReport, diagnosis: VehicleDiagnosis | None = None, *, vehicle_id: str = ""
    ) -> VehicleHealth:
        """From a fleet scan that included the vehicle and, best, its diagnosis."""
        vid = diagnosis.vehicle_id if diagnosis is not None else vehicle_id
        if vehicle_id and vid != vehicle_id:
            raise InputError(f"the diagnosis is of {vid}, not {vehicle_id}")
        if not vid or vid not in set(scan.models["vehicle_id"].to_list()):
            raise NotFound(
                f"vehicle {vid or '(none given)'!r} was not in the fleet scan",
                hint="scan the vehicle with its peers first (drivetrain health scan)",
            )
        pack = scan.battery.filter(pl.col("vehicle_id") == vid)
        outputs = {"health_scan": scan.output_id}
        if diagnosis is not None:
            outputs["health_diagnosis"] = diagnosis.output_id
        return cls(
            vid,
            scan.wear.filter(pl.col("vehicle_id") == vid),
            list(diagnosis.causes) if diagnosis is not None else [],
            {k: v for k, v in outputs.items() if v is not None},
            pack.row(0, named=True) if pack.height else None,
        )


@dataclass(frozen=True, slots=True)
class ServiceSlot:
    """A bookable start at a workshop for a suggestion's job."""

    workshop_id: str
    workshop_name: str
    start: datetime  # UTC
    end: datetime
    timezone: str
    distance_km: float
    late: bool = False  # after the latest safe date: nothing was free before it

    def local_start(self) -> datetime:
        return self.start.astimezone(ZoneInfo(self.timezone))

    def to_dict(self) -> dict[str, Any]:
        return {
            "workshop_id": self.workshop_id,
            "workshop_name": self.workshop_name,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "local_start": self.local_start().isoformat(),
            "distance_km": round(self.distance_km, 1),
            "late": self.late,
        }


@dataclass(frozen=True, slots=True)
class MaintenanceSuggestion:
    """What to have done, how urgently, by when, why, and where it can be booked."""

    vehicle_id: str
    job_id: str
    job: str
    capability: str
    urgency: Urgency
    latest_date: date
    evidence: tuple[str, ...]
    findings: tuple[str, ...]  # wear:<item>, cause:<id>, dtc:<code>
    reason: str = ""  # the main finding, in a few words
    slots: tuple[ServiceSlot, ...] = ()
    note: str = ""  # why there are no slots, when there are none
    output_id: str | None = None

    def summary(self) -> str:
        """One or two sentences the assistant can say."""
        when = "today" if self.urgency == "immediate" else f"by {_day(self.latest_date)}"
        lead = {
            "immediate": "Stop safely and have the car seen to",
            "soon": "Book soon",
            "planned": "Plan a visit",
        }[self.urgency]
        why = f" ({self.reason})" if self.reason else ""
        text = f"{lead}: {self.job}, {when}{why}."
        if not self.slots:
            return f"{text} {self.note or 'No workshop near home has a free slot for it.'}"
        offered = "; ".join(
            f"{s.local_start():%a %d %b %H:%M} at {s.workshop_name} ({s.distance_km:.0f} km)"
            for s in self.slots[:3]
        )
        late = " Nothing is free in time; the earliest" if self.slots[0].late else " Earliest"
        return f"{text}{late}: {offered}."

    def to_dict(self) -> dict[str, Any]:
        return {
            "vehicle_id": self.vehicle_id,
            "job_id": self.job_id,
            "job": self.job,
            "capability": self.capability,
            "urgency": self.urgency,
            "latest_date": self.latest_date.isoformat(),
            "evidence": list(self.evidence),
            "findings": list(self.findings),
            "reason": self.reason,
            "slots": [s.to_dict() for s in self.slots],
            "note": self.note,
            "summary": self.summary(),
            "output_id": self.output_id,
        }


@dataclass(frozen=True, slots=True)
class MaintenancePlan:
    """The suggestions for a vehicle, most urgent first; ``output_id`` records "nothing due"."""

    vehicle_id: str
    horizon_days: int
    suggestions: tuple[MaintenanceSuggestion, ...]
    output_id: str | None = None

    @property
    def nothing_due(self) -> bool:
        return not self.suggestions

    def summary(self) -> str:
        if self.nothing_due:
            return (
                f"Nothing needs a workshop in the next {self.horizon_days} days: no wear item "
                "is due and no health finding asks for a visit."
            )
        return " ".join(s.summary() for s in self.suggestions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "vehicle_id": self.vehicle_id,
            "horizon_days": self.horizon_days,
            "nothing_due": self.nothing_due,
            "summary": self.summary(),
            "suggestions": [s.to_dict() for s in self.suggestions],
            "output_id": self.output_id,
        }


def _day(d: date) -> str:
    return f"{d:%a} {d.day} {d:%b %Y}"
