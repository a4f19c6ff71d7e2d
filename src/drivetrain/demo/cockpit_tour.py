"""The demo's cockpit: a scripted conversation with one electric car, and a charging plan.

The car is the first European electric vehicle of the fleet whose owner
consented to personalisation (so the assistant may read its charge and tyre
pressures). The script sets the climate, follows up, asks for the range,
drives off, and then asks for what the distraction rules refuse or reshape: a
seat move (refused while moving), a charger search (spoken as the nearest
three) and a message (confirmed by voice). Then it plans the charging stops of
a long trip from the car's home city with its charge, against the naive
baseline. Every turn that acted or refused is in the audit log.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from drivetrain.cockpit.assistant import Assistant
from drivetrain.cockpit.charging import (
    ChargingRecommendation,
    InfeasibleTrip,
    TripRequest,
    generate_road_network,
    known_vehicles,
    recommend_charging,
)
from drivetrain.cockpit.charging.network import RoadNetwork
from drivetrain.cockpit.live import KnownStatus, fleet_vehicle, known_status
from drivetrain.cockpit.nlu import NluModel, default_model
from drivetrain.cockpit.nlu.artefact import default_model_key
from drivetrain.cockpit.profiles_learning import RecordResult
from drivetrain.cockpit.remember import Event, Remembering
from drivetrain.cockpit.requests import SOC
from drivetrain.cockpit.turns import Response
from drivetrain.demo.cockpit_profile import ProfileStory, owner_of, profile_story
from drivetrain.demo.markets import MARKETS
from drivetrain.errors import InputError
from drivetrain.fleet import VehicleRecord, list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import principal_named
from drivetrain.lake import Lake
from drivetrain.settings import Settings
from drivetrain.state import session_scope

PRINCIPAL = "cockpit-service"
PURPOSE = "personalisation"
DRIVE_KMH = 80.0
#: (speed to set first, or None to keep it; what the driver says)
SCRIPT: tuple[tuple[float | None, str], ...] = (
    (None, "set the temperature to 22 degrees"),
    (None, "and the passenger side too"),
    (None, "how much range do I have"),
    (None, "when is my next service due"),
    (DRIVE_KMH, "move my seat back"),
    (None, "find a charger nearby"),
    (None, "send a message to Alex saying I am running late"),
    (None, "yes"),
)
#: A long trip from each home city of the road network.
TRIPS = {"munich": "hamburg", "paris": "marseille", "turin": "frankfurt"}


@dataclass(frozen=True)
class CockpitTour:
    """What the demo prints."""

    vehicle: VehicleRecord
    status: KnownStatus
    turns: list[tuple[str, bool, Response]]
    charging: ChargingRecommendation | None
    model_seconds: float
    remembered: list[tuple[Event, RecordResult]]
    profile: ProfileStory | None


def home_city(network: RoadNetwork, record: VehicleRecord) -> str:
    """The network city nearest the vehicle's home market (InputError if none is near)."""
    market = MARKETS.get(record.market)
    if market is None:
        raise InputError(f"vehicle {record.vehicle_id} has no known home market {record.market!r}")

    def km(node: str) -> float:
        lat, lon = network.graph.nodes[node]["lat"], network.graph.nodes[node]["lon"]
        scale = math.cos(math.radians(market.lat))
        return math.hypot(lat - market.lat, (lon - market.lon) * scale) * 111.2

    nearest = min(network.cities, key=km)
    if km(nearest) > 300:
        raise InputError(
            f"the road network {network.name!r} does not reach {market.city} ({record.market})",
            hint="give --from with one of its cities, e.g. " + ", ".join(network.cities[:5]),
        )
    return nearest


def _chargers_near(network: RoadNetwork, city: str) -> list[str]:
    nodes = [city, *sorted(network.graph.neighbors(city))]
    return [f"{s.name} ({s.power_kw:g} kW)" for n in nodes for s in network.sites_at(n)]


def cockpit_tour(
    settings: Settings,
    model: NluModel | None = None,
    *,
    service_advice: Callable[[str], Callable[[], str | None]] | None = None,
) -> CockpitTour | None:
    """Run the script with the demo fleet's first consenting European EV (None if none)."""
    started = time.perf_counter()
    model = model or default_model(settings.resolved_models_dir)
    model_seconds = time.perf_counter() - started
    with session_scope(settings.resolved_state_url) as session:
        fleet = list_vehicles(session)
    principal = principal_named(settings.resolved_principals_file, PRINCIPAL)
    context = AccessContext(principal, PURPOSE)
    lake, audit = Lake(settings.lake_dir), AuditLog(settings.data_dir)
    network = generate_road_network(0)
    evs = [v for v in fleet if v.model_id in known_vehicles() and v.market in ("DE", "FR", "IT")]
    with session_scope(settings.resolved_state_url) as session:
        for record in evs:
            status = known_status(lake, record, context, session, audit=audit)
            if SOC in status.values:
                break
        else:
            return None
    city = home_city(network, record)
    vehicle = fleet_vehicle(record, status.values)
    now = datetime.now(UTC)
    remembering = Remembering(
        settings.resolved_state_url, owner_of(settings, record.vehicle_id, now), vehicle
    )
    assistant = Assistant(
        model,
        vehicle,
        dtcs=status.dtcs,
        on_applied=remembering,
        service_advice=None if service_advice is None else service_advice(record.vehicle_id),
        search=lambda intent, slots: _chargers_near(network, city),
        audit=audit,
        principal=PRINCIPAL,
        model_version=default_model_key(),
    )
    turns: list[tuple[str, bool, Response]] = []
    for speed, said in SCRIPT:
        if speed is not None:
            vehicle.drive(speed)
        turns.append((said, vehicle.is_moving, assistant.handle(said)))
    request = TripRequest(
        origin=city,
        destination=TRIPS.get(city, "berlin"),
        vehicle=record.model_id,
        initial_soc_pct=max(5.0, min(100.0, float(status.values[SOC]))),
        trip_id=f"{record.vehicle_id}:demo",
    )
    versions = {"telemetry": v} if (v := lake.version("telemetry")) is not None else {}
    try:
        charging = recommend_charging(
            network, request, audit=audit, principal=PRINCIPAL, inputs=versions
        )
    except InfeasibleTrip:  # too little charge to reach any charger: the demo says so
        charging = None
    other = next((v for v in fleet if v.model_id != record.model_id and v.region == "eu"), None)
    profile = None
    if other is not None:
        profile = profile_story(settings, record, other, now=now, audit=audit, principal=PRINCIPAL)
    return CockpitTour(record, status, turns, charging, model_seconds, remembering.results, profile)
