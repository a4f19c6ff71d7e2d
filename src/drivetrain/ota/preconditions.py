"""Per-vehicle preconditions before an update is offered.

A vehicle is offered its wave's update only inside the campaign's maintenance
window (in the vehicle's local time), parked, with the state of charge above
the threshold, and — for a non-safety release — with its owner's consent
(an active ``given`` event with legal basis ``consent`` for the campaign's
consent purpose; see :func:`governance_consent`). A vehicle that fails stays
``pending`` with the reasons and is retried on the next rollout tick.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from drivetrain.governance.consent import consent_state
from drivetrain.governance.subjects import subjects_of
from drivetrain.ota.campaigns import GateSettings


@dataclass(frozen=True, slots=True)
class VehicleConditions:
    """What the vehicle last reported about itself."""

    parked: bool
    state_of_charge: float  # fraction 0..1
    timezone: str = "UTC"  # IANA time zone of where the vehicle is


VehicleConditionsProvider = Callable[[str, datetime], VehicleConditions | None]
ConsentCheck = Callable[[str, datetime], bool]


def in_window(window: tuple[int, int], local_hour: int) -> bool:
    start, end = window
    if start == end:
        return False
    if start < end:
        return start <= local_hour < end
    return local_hour >= start or local_hour < end  # wraps midnight


def unmet_preconditions(
    gates: GateSettings,
    conditions: VehicleConditions | None,
    at: datetime,
    *,
    safety: bool,
    consent: Callable[[], bool],
) -> list[str]:
    """Why the vehicle cannot be offered the update now (empty: it can)."""
    if conditions is None:
        return ["the vehicle has not reported its state"]
    reasons = []
    local = at.astimezone(ZoneInfo(conditions.timezone))
    if not in_window(gates.maintenance_window, local.hour):
        start, end = gates.maintenance_window
        reasons.append(
            f"outside the maintenance window {start:02d}:00-{end:02d}:00 "
            f"(local time {local:%H:%M} {conditions.timezone})"
        )
    if gates.require_parked and not conditions.parked:
        reasons.append("not parked")
    if conditions.state_of_charge < gates.min_state_of_charge:
        reasons.append(
            f"state of charge {conditions.state_of_charge:.0%} below "
            f"{gates.min_state_of_charge:.0%}"
        )
    if not safety and not consent():
        reasons.append(
            f"no owner consent ({gates.consent_purpose}/{gates.consent_category}) "
            "for a non-safety update"
        )
    return reasons


def governance_consent(session: Session, purpose: str, category: str) -> ConsentCheck:
    """Consent of the vehicle's current owner, read from governance's consent history."""

    def check(vehicle_id: str, at: datetime) -> bool:
        for link in subjects_of(session, vehicle_id, at):
            if link.role != "owner":
                continue
            state = consent_state(session, link.subject_id, purpose, category, at)
            if state.active and state.last_event is not None:
                return state.last_event.legal_basis == "consent"
        return False

    return check
