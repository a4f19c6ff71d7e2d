"""What the assistant did, remembered as the driver's preference events (with consent).

:func:`preference_events` turns one applied action (its intent, slots and VSS
writes) into the events :func:`~drivetrain.cockpit.profiles_learning.record_event`
stores: a climate setpoint per zone, a fan speed, a seat's heating or
position, the volume, the genre or artist asked for, a destination.
:class:`Remembering` is the assistant's ``on_applied`` hook for one driver: it
records each event in its own transaction and keeps every result, so a face
can tell the driver what was not remembered and why (no consent).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from drivetrain.cockpit.cabin import SimulatedVehicle, Value
from drivetrain.cockpit.profiles_learning import RecordResult, record_event
from drivetrain.state import session_scope

_STATION = re.compile(r"^Vehicle\.Cabin\.HVAC\.Station\.(Row\d\.\w+)\.(Temperature|FanSpeed)$")
_SEAT = re.compile(r"^Vehicle\.Cabin\.Seat\.Row1\.(\w+Side)\.(HeatingCooling|Position)$")
_KINDS = {
    "Temperature": "climate_temperature",
    "FanSpeed": "fan_speed",
    "HeatingCooling": "seat_heating",
    "Position": "seat_position",
}
NAV = "Vehicle.Cabin.Infotainment.Navigation.DestinationSet"


@dataclass(frozen=True, slots=True)
class Event:
    """One preference event to record."""

    kind: str
    value: Value
    target: str = ""
    latitude: float | None = None
    longitude: float | None = None


def preference_events(
    intent: str, slots: Mapping[str, list[str]], writes: tuple[tuple[str, Value], ...]
) -> list[Event]:
    """The preference events one applied action stands for (none for the rest)."""
    events: list[Event] = []
    for path, value in writes:
        if (m := _STATION.match(path) or _SEAT.match(path)) is not None:
            events.append(Event(_KINDS[m.group(2)], value, m.group(1)))
        elif path == "Vehicle.Cabin.Infotainment.Media.Volume":
            events.append(Event("volume", value))
    if intent == "play_media":
        events += [Event("media_genre", g.strip().lower()) for g in slots.get("genre", [])]
        events += [Event("media_artist", a.strip()) for a in slots.get("artist", [])]
    if intent == "navigate_to":
        where = dict(writes)
        lat, lon = where.get(f"{NAV}.Latitude"), where.get(f"{NAV}.Longitude")
        name = (slots.get("destination") or [""])[0].strip().lower()
        if name and isinstance(lat, float) and isinstance(lon, float):
            events.append(Event("destination", name, latitude=lat, longitude=lon))
    return events


@dataclass
class Remembering:
    """The ``on_applied`` hook that records a driver's preference events in the state db."""

    state_url: str
    subject_id: str
    vehicle: SimulatedVehicle
    results: list[tuple[Event, RecordResult]] = field(default_factory=list)

    def __call__(
        self,
        intent: str,
        slots: Mapping[str, list[str]],
        writes: tuple[tuple[str, Value], ...],
    ) -> None:
        for event in preference_events(intent, slots, writes):
            with session_scope(self.state_url) as session:
                result = record_event(
                    session,
                    self.subject_id,
                    self.vehicle,
                    event.kind,
                    event.value,
                    target=event.target,
                    latitude=event.latitude,
                    longitude=event.longitude,
                )
            self.results.append((event, result))

    @property
    def refused(self) -> list[str]:
        """Why events were not remembered (one reason each, in order)."""
        return [r.reason or "" for _, r in self.results if not r.stored]
