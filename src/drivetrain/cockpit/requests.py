"""Requests that are not cabin settings: vehicle status, navigation, phone and messages.

Status questions read VSS leaves and answer in words ("You have 312 km of range.").
Navigation sets the destination leaves from a place the head unit knows
(:data:`PLACES`, a stand-in for its geocoder); point-of-interest and charger
searches give a list, which the safety policy cuts to its first items while the
vehicle moves. Calls are hands-free; messages are dictated and confirmed by voice,
and read aloud rather than shown while moving.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from drivetrain.cockpit.actions import Clarify, Outcome, Plan, Refusal, Slots
from drivetrain.cockpit.cabin import SimulatedVehicle
from drivetrain.cockpit.safety import Display, Task

NAV = "Vehicle.Cabin.Infotainment.Navigation.DestinationSet"
RANGE = "Vehicle.Powertrain.Range"
SOC = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"
TYRES = tuple(
    f"Vehicle.Chassis.Axle.{row}.Wheel.{side}.Tire.Pressure"
    for row in ("Row1", "Row2")
    for side in ("Left", "Right")
)
SERVICE = "Vehicle.Service.DistanceToService"

#: Places the simulated head unit can route to: name -> (latitude, longitude).
PLACES: dict[str, tuple[float, float]] = {
    "munich": (48.1372, 11.5756), "berlin": (52.5200, 13.4050), "hamburg": (53.5511, 9.9937),
    "frankfurt": (50.1109, 8.6821), "stuttgart": (48.7758, 9.1829), "cologne": (50.9375, 6.9603),
    "paris": (48.8566, 2.3522), "lyon": (45.7640, 4.8357), "milan": (45.4642, 9.1900),
    "turin": (45.0703, 7.6869), "vienna": (48.2082, 16.3738), "zurich": (47.3769, 8.5417),
    "amsterdam": (52.3676, 4.9041), "brussels": (50.8503, 4.3517), "prague": (50.0755, 14.4378),
    "home": (48.1500, 11.5600), "work": (48.1770, 11.5560), "the airport": (48.3538, 11.7861),
}  # fmt: skip


def _first(slots: Slots, name: str) -> str | None:
    values = slots.get(name)
    return values[0] if values else None


def _status(intent: str, vehicle: SimulatedVehicle, dtcs: Sequence[str]) -> Outcome:
    def value(path: str) -> float | None:
        found = vehicle.values.get(path)
        return None if found is None or isinstance(found, str) else float(found)

    if intent == "query_range":
        metres = value(RANGE)
        if metres is None:
            return Refusal(intent, "the range is not available right now")
        return Plan(intent, f"You have about {metres / 1000:.0f} km of range.", reads=(RANGE,))
    if intent == "query_charge":
        soc = value(SOC)
        if soc is None:
            return Refusal(intent, "this car reports no battery charge")
        return Plan(intent, f"The battery is at {soc:.0f} %.", reads=(SOC,))
    if intent == "query_tyre_pressure":
        found = [(p, value(p)) for p in TYRES]
        known = [(p, v) for p, v in found if v is not None]
        if not known:
            return Refusal(intent, "the tyre pressures are not available")
        low = [p for p, v in known if v < 200]
        words = ", ".join(f"{v / 100:.1f}" for _, v in known)
        say = f"Tyre pressures are {words} bar."
        if low:
            say += " One is low: check it at the next stop."
        return Plan(intent, say, reads=tuple(p for p, _ in known))
    if intent == "query_warning_light":
        if not dtcs:
            return Plan(intent, "No warning is stored: the lights are off.", reads=())
        codes = ", ".join(dtcs[:3])
        return Plan(
            intent,
            f"The warning comes from code {codes}. Open the vehicle's diagnosis for the likely "
            "cause and what to do; if the light flashes, stop safely.",
        )
    if intent == "query_service":
        km = value(SERVICE)
        say = (
            "No service distance is reported." if km is None else f"Service is due in {km:.0f} km."
        )
        return Plan(intent, say, reads=(SERVICE,))
    raise AssertionError(intent)


def _navigate(intent: str, slots: Slots, vehicle: SimulatedVehicle) -> Outcome:
    if intent == "cancel_navigation":
        return Plan(intent, "Guidance cancelled.", task=Task(display=Display.SHORT))
    if intent == "route_options":
        preference = _first(slots, "route_preference")
        if not preference:
            return Clarify(
                intent, "Fastest, shortest, or avoiding tolls or motorways?", "route_preference"
            )
        return Plan(intent, f"Route updated: {preference}.", task=Task(display=Display.SHORT))
    place = (_first(slots, "destination") or "").strip().lower()
    if not place:
        return Clarify(intent, "Where to?", "destination")
    if place not in PLACES:
        return Clarify(intent, f"I don't know {place!r}. Which city or address?", "destination")
    lat, lon = PLACES[place]
    writes = ((f"{NAV}.Latitude", lat), (f"{NAV}.Longitude", lon))
    for path, target in writes:
        if (why := vehicle.refusal(path, target)) is not None:
            return Refusal(intent, why)
    task = Task(display=Display.SHORT, writes=tuple(p for p, _ in writes))
    return Plan(intent, f"Starting guidance to {place.title()}.", writes=writes, task=task)


def _search(intent: str, slots: Slots, results: Sequence[str]) -> Outcome:
    default = "chargers" if intent == "find_charging" else "places"
    what = _first(slots, "poi_category") or _first(slots, "charger_network") or default
    if not results:
        return Refusal(intent, f"no {what} found nearby")
    shown = ", ".join(results)
    top = ", ".join(results[:3])
    return Plan(
        intent,
        f"I found {len(results)}: {shown}.",
        task=Task(display=Display.LIST, list_items=len(results)),
        voice_form=f"The nearest are {top}. Say the one you want.",
    )


def _phone(intent: str, slots: Slots, moving: bool) -> Outcome:
    contact = _first(slots, "contact")
    if intent == "call_contact":
        if not contact:
            return Clarify(intent, "Whom should I call?", "contact")
        return Plan(intent, f"Calling {contact}.", task=Task(display=Display.SHORT))
    if intent == "send_message":
        if not contact:
            return Clarify(intent, "To whom?", "contact")
        text = _first(slots, "message_text")
        if not text:
            return Clarify(intent, f"What should the message to {contact} say?", "message_text")
        return Plan(
            intent,
            f"Sent to {contact}.",
            task=Task(display=Display.SHORT),
            confirm=f"Send {contact}: “{text}”?",
        )
    # read_messages: on the screen when parked, read aloud while moving
    return Plan(
        intent,
        "You have 2 new messages; showing them.",
        task=Task(display=Display.TEXT),
        voice_form="You have 2 new messages. The first, from Alex: “Running ten minutes late.”",
    )


STATUS = (
    "query_range",
    "query_charge",
    "query_tyre_pressure",
    "query_warning_light",
    "query_service",
)
NAVIGATION = ("navigate_to", "route_options", "cancel_navigation")
SEARCHES = ("find_poi", "find_charging")
PHONE = ("call_contact", "send_message", "read_messages")


def resolve_request(
    intent: str,
    slots: Mapping[str, list[str]],
    vehicle: SimulatedVehicle,
    *,
    dtcs: Sequence[str] = (),
    search: Callable[[str, Slots], list[str]] | None = None,
) -> Outcome | None:
    """The outcome of a status, navigation, search or phone intent (None if not one)."""
    if intent in STATUS:
        return _status(intent, vehicle, dtcs)
    if intent in NAVIGATION:
        return _navigate(intent, slots, vehicle)
    if intent in SEARCHES:
        return _search(intent, slots, search(intent, slots) if search else [])
    if intent in PHONE:
        return _phone(intent, slots, vehicle.is_moving)
    return None
