"""From an understood request to what the vehicle should do: VSS writes, reads and words.

:func:`resolve` turns an intent and its slots into one of three outcomes:

* :class:`Plan` — VSS actuator targets to write (each already accepted by the
  vehicle, :meth:`~drivetrain.cockpit.cabin.SimulatedVehicle.refusal`), VSS
  leaves to read, what to say, what the screen would show (for the safety
  policy) and, for consequential actions, the question to confirm first;
* :class:`Clarify` — a question, when a slot the action needs is missing or
  does not say a value ("set the temperature" — to what?);
* :class:`Refusal` — the reason it cannot be done on this vehicle, naming the
  limit ("the climate control takes 16 to 28 °C", "this car has no seat
  massage"). Nothing is written.

Questions about the vehicle (range, charge, tyres, warning lights, service)
become reads; navigation, media and phone requests become the infotainment's
own leaves or a described action the head unit carries out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from drivetrain.cockpit import slots as words
from drivetrain.cockpit.cabin import COLOR_CODES, SimulatedVehicle, Value
from drivetrain.cockpit.safety import Display, Task

Slots = Mapping[str, list[str]]
HVAC = "Vehicle.Cabin.HVAC.Station"
SEAT = "Vehicle.Cabin.Seat.Row1"
MEDIA = "Vehicle.Cabin.Infotainment.Media"
STEP_C = 1.0  # "warmer": one degree
STEP_PERCENT = 10  # "louder": ten percent
FAN_STEPS = 7  # "fan to 3": the third of seven blower steps


@dataclass(frozen=True, slots=True)
class Plan:
    """What to do: writes, reads, the words, the screen; ``confirm`` asks first when set."""

    intent: str
    say: str
    writes: tuple[tuple[str, Value], ...] = ()
    reads: tuple[str, ...] = ()
    task: Task = field(default_factory=Task)
    confirm: str | None = None
    voice_form: str | None = None  # what to say instead when the screen is locked out


@dataclass(frozen=True, slots=True)
class Clarify:
    """A question back; ``slot`` names what it asks for, so a bare answer ("21") can fill it."""

    intent: str
    question: str
    slot: str | None = None


@dataclass(frozen=True, slots=True)
class Refusal:
    intent: str
    reason: str


Outcome = Plan | Clarify | Refusal


def _first(slots: Slots, name: str) -> str | None:
    values = slots.get(name)
    return values[0] if values else None


def _zones(vehicle: SimulatedVehicle, said: str | None, default: str = "Driver") -> list[str]:
    """The HVAC stations a request names (``Row1.Driver``…), as the car has them."""
    where = words.side(said) or default
    if where == "All":
        return list(vehicle.features.zones)
    if where == "Rear":
        return ["Row2.Driver", "Row2.Passenger"]
    return [f"Row1.{where}"]


def _checked(
    intent: str, vehicle: SimulatedVehicle, writes: list[tuple[str, Value]], say: str, **kw: object
) -> Outcome:
    for path, value in writes:
        if (why := vehicle.refusal(path, value)) is not None:
            return Refusal(intent, why)
    task = Task(display=Display.SHORT, writes=tuple(p for p, _ in writes))
    return Plan(intent, say, writes=tuple(writes), task=task, **kw)  # type: ignore[arg-type]


def _temperature(intent: str, slots: Slots, vehicle: SimulatedVehicle) -> Outcome:
    zones = _zones(vehicle, _first(slots, "zone"))
    said = _first(slots, "temperature")
    value = words.number(said) if said else None
    step = words.direction(" ".join(slots.get("direction", []) + slots.get("temperature", [])))
    if value is None and step == 0:
        return Clarify(intent, "To what temperature?", "temperature")
    writes: list[tuple[str, Value]] = []
    for zone in zones:
        path = f"{HVAC}.{zone}.Temperature"
        if value is not None:
            target = words.celsius(value, _first(slots, "temperature_unit"))
        else:
            now = vehicle.values.get(path, 21.0)
            target = float(now) + step * STEP_C
        writes.append((path, float(target)))
    first = writes[0][1]
    where = "everywhere" if len(zones) > 1 else _side_words(zones[0])
    return _checked(intent, vehicle, writes, f"Setting {where} to {first:g} °C.")


def _side_words(zone: str) -> str:
    row, seat = zone.split(".")
    return f"the {'rear ' if row == 'Row2' else ''}{'driver' if 'Driver' in seat else 'passenger'} side"


def _fan(intent: str, slots: Slots, vehicle: SimulatedVehicle) -> Outcome:
    said = _first(slots, "fan_level") or _first(slots, "level")
    value = words.level(said, steps=FAN_STEPS) if said else None
    if value is None:
        return Clarify(intent, "How strong should the fan be: low, medium or high?", "level")
    zones = _zones(vehicle, _first(slots, "zone"), default="All")
    writes: list[tuple[str, Value]] = [(f"{HVAC}.{z}.FanSpeed", value) for z in zones]
    return _checked(intent, vehicle, writes, f"Fan at {value} %.")


def _seat_side(slots: Slots) -> str:
    where = words.side(_first(slots, "seat") or _first(slots, "zone"))
    return "PassengerSide" if where == "Passenger" else "DriverSide"


def _seat_heating(intent: str, slots: Slots, vehicle: SimulatedVehicle) -> Outcome:
    said = _first(slots, "level")
    value = 66 if said is None else words.level(said)
    if value is None:
        return Clarify(intent, "Which level: low, medium or high?", "level")
    seat = _seat_side(slots)
    writes: list[tuple[str, Value]] = [(f"{SEAT}.{seat}.HeatingCooling", value)]
    who = "passenger" if seat == "PassengerSide" else "driver"
    state = "off" if value == 0 else f"at {value} %"
    return _checked(intent, vehicle, writes, f"Seat heating for the {who} {state}.")


def _massage(intent: str, slots: Slots, vehicle: SimulatedVehicle) -> Outcome:
    said = _first(slots, "level")
    value = 50 if said is None else words.level(said)
    if value is None:
        return Clarify(intent, "How strong: gentle, medium or strong?", "level")
    seat = _seat_side(slots)
    writes: list[tuple[str, Value]] = [(f"{SEAT}.{seat}.Massage.Level", value)]
    return _checked(intent, vehicle, writes, f"Massage at {value} %.")


def _seat_position(intent: str, slots: Slots, vehicle: SimulatedVehicle) -> Outcome:
    seat = _seat_side(slots)
    said = " ".join(slots.get("direction", []) + slots.get("level", []))
    # VSS: Position 0 is the frontmost point (more is further back), Height 0 the lowest
    if step := words.fore_aft(said):
        path, end = f"{SEAT}.{seat}.Position", "forward"
    elif step := words.direction(said):
        path, end = f"{SEAT}.{seat}.Height", "down"
    else:
        return Clarify(intent, "Forward, back, up or down?", "direction")
    now = int(vehicle.values.get(path, 200))
    if now <= 0 and step < 0:
        return Refusal(intent, f"the seat is already all the way {end}")
    target = max(0, now + 30 * step)  # a step stops at the seat's end, as the switch would
    return _checked(intent, vehicle, [(path, target)], "Moving the seat.")


def _window(intent: str, slots: Slots, vehicle: SimulatedVehicle, opening: bool) -> Outcome:
    named = _first(slots, "window") or _first(slots, "zone")
    if named and re.search(r"\b(sun|moon) ?roof\b", named.lower()):
        switch = "OPEN" if opening else "CLOSE"
        say = f"{'Opening' if opening else 'Closing'} the sunroof."
        return _checked(intent, vehicle, [("Vehicle.Cabin.Sunroof.Switch", switch)], say)
    where = words.side(named) or "Driver"
    doors = {
        "Driver": ["Row1.DriverSide"],
        "Passenger": ["Row1.PassengerSide"],
        "Rear": ["Row2.DriverSide", "Row2.PassengerSide"],
        "All": list(vehicle.features.windows),
    }[where]
    said = _first(slots, "level")
    amount = words.level(said) if said else None
    value = (amount if amount is not None else 100) if opening else 0
    writes: list[tuple[str, Value]] = [
        (f"Vehicle.Cabin.Door.{d}.Window.Position", value) for d in doors
    ]
    verb = "Opening" if opening else "Closing"
    return _checked(
        intent, vehicle, writes, f"{verb} {'the windows' if len(doors) > 1 else 'the window'}."
    )


def _ambient(intent: str, slots: Slots, vehicle: SimulatedVehicle) -> Outcome:
    color = (_first(slots, "light_color") or "").strip().lower()
    if not color:
        return Clarify(intent, "Which colour?", "light_color")
    code = COLOR_CODES.get(color, color)  # VSS takes "#RRGGBB"; an unknown name is refused
    base = "Vehicle.Cabin.Light.AmbientLight.Row1"
    writes: list[tuple[str, Value]] = []
    for seat in ("DriverSide", "PassengerSide"):
        writes += [(f"{base}.{seat}.IsLightOn", True), (f"{base}.{seat}.Color", code)]
    return _checked(intent, vehicle, writes, f"Ambient light {color}.")


def _volume(intent: str, slots: Slots, vehicle: SimulatedVehicle) -> Outcome:
    said = _first(slots, "volume")
    path = f"{MEDIA}.Volume"
    value = words.level(said) if said else None
    if value is None:
        step = words.direction(" ".join(slots.get("direction", []) + ([said] if said else [])))
        if step == 0:
            return Clarify(intent, "Louder or quieter?", "direction")
        value = int(vehicle.values.get(path, 30)) + step * STEP_PERCENT
    return _checked(intent, vehicle, [(path, value)], f"Volume {value} %.")


def _media(intent: str, slots: Slots, vehicle: SimulatedVehicle) -> Outcome:
    if intent == "pause_media":
        return _checked(intent, vehicle, [(f"{MEDIA}.Action", "STOP")], "Paused.")
    if intent == "next_track":
        return _checked(intent, vehicle, [(f"{MEDIA}.Action", "SKIP_FORWARD")], "Next track.")
    what = [
        f"{k}={v}" for k in ("artist", "track", "genre", "media_type") for v in slots.get(k, [])
    ]
    uri = "search:" + "&".join(what) if what else ""
    writes: list[tuple[str, Value]] = [(f"{MEDIA}.Action", "PLAY")]
    if uri:
        writes.append((f"{MEDIA}.SelectedURI", uri))
    named = ", ".join(v for k in ("track", "artist", "genre") for v in slots.get(k, []))
    return _checked(intent, vehicle, writes, f"Playing {named}." if named else "Playing.")


_HANDLERS: dict[str, Callable[[str, Slots, SimulatedVehicle], Outcome]] = {
    "set_temperature": _temperature,
    "set_fan": _fan,
    "set_seat_heating": _seat_heating,
    "set_seat_massage": _massage,
    "set_seat_position": _seat_position,
    "open_window": lambda i, s, v: _window(i, s, v, opening=True),
    "close_window": lambda i, s, v: _window(i, s, v, opening=False),
    "set_ambient_light": _ambient,
    "set_volume": _volume,
    "play_media": _media,
    "pause_media": _media,
    "next_track": _media,
}


def resolve(intent: str, slots: Slots, vehicle: SimulatedVehicle) -> Outcome | None:
    """The outcome of a vehicle-setting intent, or None if ``intent`` is not one."""
    handler = _HANDLERS.get(intent)
    return None if handler is None else handler(intent, slots, vehicle)
