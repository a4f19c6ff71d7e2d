"""The demo's data subjects: one owner per vehicle, their consents, and one withdrawal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from drivetrain.fleet import VehicleRecord
from drivetrain.governance import give_consent, link_vehicle, register_subject, withdraw_consent
from drivetrain.ingest import Campaign

NOTICE = "demo-privacy-notice-2026-01"

# Charging-spot analysis for the BEVs: where and how full, once a minute. It rests on
# the owners' consent to location services, which one owner withdraws half way.
CHARGING_CAMPAIGN = Campaign(
    campaign_id="charging-spots",
    purpose="location_services",
    signals=(
        "Vehicle.CurrentLocation.*",
        "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current",
    ),
    target_brands=("Tesla",),
    period_s=60,
    retention_days=90,
    location_precision=6,
    description="Where BEVs charge (positions kept to ~1 km), for the charging-network partner; "
    "needs location consent.",
)


@dataclass(frozen=True, slots=True)
class ConsentStory:
    """Who consented to what, and the one withdrawal the demo shows."""

    owners: int
    location_consents: int
    withdrawn_by: str | None
    withdrawn_vehicle: str | None
    withdrawn_at: datetime | None
    personalisation_consents: int = 0


def register_owners(
    session: Session, vehicles: list[VehicleRecord], start: datetime, days: int
) -> ConsentStory:
    """Give every vehicle an owner with consents; one BEV owner withdraws mid-period.

    Every other owner consents to personalisation (the in-car assistant's status
    answers and learned preferences); the others get the assistant without them.
    """
    since = start - timedelta(days=365)
    location = personal = 0
    for i, vehicle in enumerate(vehicles):
        owner = f"owner-{i:05d}"
        register_subject(
            session,
            owner,
            kind="owner",
            display_name=f"Owner {i}",
            region=vehicle.region,
            created_at=since,
        )
        link_vehicle(session, owner, vehicle.vehicle_id, "owner", valid_from=since)
        give_consent(
            session,
            owner,
            "vehicle_health",
            ["technical", "driving_behaviour"],
            notice_version=NOTICE,
            at=start - timedelta(days=30),
        )
        if vehicle.brand == "Tesla":
            give_consent(
                session,
                owner,
                "location_services",
                ["location"],
                notice_version=NOTICE,
                at=start - timedelta(days=30),
            )
            location += 1
        if i % 2 == 0:  # half the owners use the in-car assistant's personal features
            give_consent(
                session,
                owner,
                "personalisation",
                ["technical", "cabin", "location"],
                notice_version=NOTICE,
                at=start - timedelta(days=30),
            )
            personal += 1
    bev = next((i for i, v in enumerate(vehicles) if v.brand == "Tesla" and v.region != "cn"), None)
    if bev is None:
        return ConsentStory(len(vehicles), location, None, None, None, personal)
    at = start + timedelta(days=days / 2)
    withdraw_consent(session, f"owner-{bev:05d}", "location_services", ["location"], at=at)
    return ConsentStory(
        len(vehicles), location, f"owner-{bev:05d}", vehicles[bev].vehicle_id, at, personal
    )
