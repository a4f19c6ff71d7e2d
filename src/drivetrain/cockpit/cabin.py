"""A vehicle's cabin as the assistant sees it: what the model can do, and its state now.

:class:`CabinFeatures` is what one vehicle model's cabin offers (climate zones,
setpoint range, heated/cooled/massaging seats, powered windows, ambient light
colours), from ``data/cabins.toml``. :class:`SimulatedVehicle` holds the
current values of the VSS leaves the assistant uses (:mod:`drivetrain.cockpit.vss`)
and accepts a write only when both VSS (datatype, ``min``/``max``, ``allowed``)
and the model (:meth:`SimulatedVehicle.refusal`) allow it, so a wrong
actuation cannot happen by construction: an out-of-range or missing-feature
request gets a reason, never a clamped or half-applied value.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from drivetrain.cockpit.vss import CockpitSignal, cockpit_signal, cockpit_signals
from drivetrain.errors import InputError

Value = float | int | bool | str

#: VSS Transmission.SelectedGear values (VSS: 0 neutral, >0 forward, <0 reverse).
PARK, DRIVE = 126, 127
#: The ambient-light colours of data/cabins.toml as VSS writes them ("#RRGGBB", CSS colours).
COLOR_CODES: dict[str, str] = {
    "white": "#FFFFFF", "blue": "#0000FF", "red": "#FF0000", "green": "#008000",
    "orange": "#FFA500", "purple": "#800080", "yellow": "#FFFF00", "pink": "#FFC0CB",
    "amber": "#FFBF00",
}  # fmt: skip
_INTS = {"uint8": (0, 255), "int8": (-128, 127), "uint16": (0, 65535), "int16": (-32768, 32767),
         "uint32": (0, 2**32 - 1), "int32": (-(2**31), 2**31 - 1)}  # fmt: skip


@dataclass(frozen=True, slots=True)
class CabinFeatures:
    """What one vehicle model's cabin offers the assistant."""

    model_id: str
    zones: tuple[str, ...]
    temperature_c: tuple[float, float]
    seat_heating: bool
    seat_cooling: bool
    seat_massage: bool
    seat_memory: bool
    sunroof: bool
    windows: tuple[str, ...]
    ambient_colors: tuple[str, ...]


@cache
def _table() -> dict[str, Any]:
    text = resources.files("drivetrain.cockpit").joinpath("data/cabins.toml").read_text("utf-8")
    return tomllib.loads(text)


def cabin_features(model_id: str) -> CabinFeatures:
    """The cabin of ``model_id`` (the defaults for a model the table does not list)."""
    table = _table()
    merged = {**table["defaults"], **table.get("models", {}).get(model_id, {})}
    low, high = merged["temperature_c"]
    return CabinFeatures(
        model_id=model_id,
        zones=tuple(merged["zones"]),
        temperature_c=(float(low), float(high)),
        seat_heating=bool(merged["seat_heating"]),
        seat_cooling=bool(merged["seat_cooling"]),
        seat_massage=bool(merged["seat_massage"]),
        seat_memory=bool(merged["seat_memory"]),
        sunroof=bool(merged["sunroof"]),
        windows=tuple(merged["windows"]),
        ambient_colors=tuple(merged["ambient_colors"]),
    )


def vss_refusal(signal: CockpitSignal, value: Value) -> str | None:
    """Why VSS itself does not accept ``value`` for ``signal`` (None: it does)."""
    kind = signal.datatype
    if kind == "boolean":
        return None if isinstance(value, bool) else f"{signal.path} takes true or false"
    if kind == "string":
        if not isinstance(value, str):
            return f"{signal.path} takes text"
        if signal.allowed and value not in signal.allowed:
            return f"{value!r} is not one of {', '.join(signal.allowed)}"
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{signal.path} takes a number"
    if kind in _INTS and value != int(value):
        return f"{signal.path} takes a whole number"
    limits: tuple[float | None, float | None] = _INTS.get(kind, (None, None))
    low = signal.min if signal.min is not None else limits[0]
    high = signal.max if signal.max is not None else limits[1]
    unit = f" {signal.unit}" if signal.unit else ""
    if (low is not None and value < low) or (high is not None and value > high):
        return f"{value:g}{unit} is outside {low:g}–{high:g}{unit}"
    return None


@dataclass
class SimulatedVehicle:
    """The cabin and status of one vehicle, as VSS values; writes are checked, then applied."""

    vehicle_id: str
    features: CabinFeatures
    values: dict[str, Value] = field(default_factory=dict)

    @classmethod
    def parked(cls, vehicle_id: str, model_id: str, **status: Value) -> SimulatedVehicle:
        """A vehicle standing in Park with a comfortable cabin and the given status values."""
        vehicle = cls(vehicle_id, cabin_features(model_id))
        vehicle.values.update(
            {
                "Vehicle.Speed": 0.0,
                "Vehicle.Powertrain.Transmission.SelectedGear": PARK,
                "Vehicle.Chassis.ParkingBrake.IsEngaged": True,
                "Vehicle.Cabin.Infotainment.Media.Volume": 30,
                "Vehicle.Cabin.Infotainment.Media.Action": "STOP",
            }
        )
        for zone in vehicle.features.zones:
            station = f"Vehicle.Cabin.HVAC.Station.{zone}"
            vehicle.values[f"{station}.Temperature"] = 21.0
            vehicle.values[f"{station}.FanSpeed"] = 30
        for door in vehicle.features.windows:
            vehicle.values[f"Vehicle.Cabin.Door.{door}.Window.Position"] = 0
        for name, value in status.items():
            vehicle.values[name.replace("__", ".")] = value
        return vehicle

    @property
    def speed_kmh(self) -> float:
        return float(self.values.get("Vehicle.Speed", 0.0))

    @property
    def is_moving(self) -> bool:
        """In motion or in gear (NHTSA's guidelines apply unless the vehicle is in Park)."""
        gear = self.values.get("Vehicle.Powertrain.Transmission.SelectedGear", PARK)
        return self.speed_kmh > 0.0 or gear != PARK

    def drive(self, speed_kmh: float) -> None:
        """Put the vehicle in Drive at ``speed_kmh`` (the simulation's driving state)."""
        if speed_kmh < 0:
            raise InputError("speed must not be negative", hint="give km/h, 0 or more")
        self.values["Vehicle.Speed"] = float(speed_kmh)
        self.values["Vehicle.Powertrain.Transmission.SelectedGear"] = DRIVE
        self.values["Vehicle.Chassis.ParkingBrake.IsEngaged"] = False

    def park(self) -> None:
        self.values["Vehicle.Speed"] = 0.0
        self.values["Vehicle.Powertrain.Transmission.SelectedGear"] = PARK
        self.values["Vehicle.Chassis.ParkingBrake.IsEngaged"] = True

    def read(self, path: str) -> Value | None:
        cockpit_signal(path)  # only leaves the assistant knows
        return self.values.get(path)

    def refusal(self, path: str, value: Value) -> str | None:
        """Why ``path`` cannot be set to ``value`` on this vehicle (None: it can)."""
        signal = cockpit_signals().get(path)
        if signal is None:
            return f"{path} is not something the assistant can set"
        if not signal.is_actuator:
            return f"{path} is a reading, not a setting"
        if (why := vss_refusal(signal, value)) is not None:
            return why
        return self._feature_refusal(path, value)

    def _feature_refusal(self, path: str, value: Value) -> str | None:
        f = self.features
        if ".HVAC.Station." in path:
            zone = path.split(".HVAC.Station.")[1].rsplit(".", 1)[0]
            if zone not in f.zones:
                return f"this car has no climate zone for {_zone_words(zone)}"
            if path.endswith(".Temperature") and isinstance(value, int | float):
                low, high = f.temperature_c
                if not low <= float(value) <= high:
                    return f"the climate control takes {low:g} to {high:g} °C"
        if ".Massage." in path and not f.seat_massage:
            return "this car has no seat massage"
        if path.endswith(".HeatingCooling") and isinstance(value, int | float):
            if value > 0 and not f.seat_heating:
                return "this car has no seat heating"
            if value < 0 and not f.seat_cooling:
                return "this car has no seat ventilation"
        if ".Window." in path:
            door = path.split(".Door.")[1].split(".Window")[0]
            if door not in f.windows:
                return f"this car has no powered window at {_zone_words(door)}"
        if ".AmbientLight." in path:
            if not f.ambient_colors:
                return "this car has no ambient lighting"
            codes = {COLOR_CODES[c] for c in f.ambient_colors}
            if path.endswith(".Color") and str(value).upper() not in codes:
                return f"the ambient light comes in {', '.join(f.ambient_colors)}"
        if ".Sunroof." in path and not f.sunroof:
            return "this car has no sunroof"
        return None

    def apply(self, path: str, value: Value) -> None:
        """Set ``path`` to ``value``; ``InputError`` (nothing changed) if it may not be."""
        if (why := self.refusal(path, value)) is not None:
            raise InputError(f"not set: {why}", hint="check the vehicle's features and VSS ranges")
        self.values[path] = value


def _zone_words(zone: str) -> str:
    row, side = zone.split(".")
    seat = {"Driver": "driver", "DriverSide": "driver", "Passenger": "passenger"}.get(
        side, "passenger"
    )
    return f"the {'front' if row == 'Row1' else 'rear'} {seat} side"
