"""Applying a driver's learned preferences in a vehicle of the fleet, as checked VSS writes.

Each write is checked with :meth:`SimulatedVehicle.refusal` for *this* car: a
climate zone, seat heating or setpoint range the other car lacks is skipped
with the car's own reason, never clamped or half-applied. A seat position is
applied only in the model it was learned in (seats differ between models),
only where the seat has memory, and never while the vehicle moves.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivetrain.cockpit.cabin import SimulatedVehicle, Value
from drivetrain.cockpit.profiles_learning import SETTING_PATHS, LearnedPreferences, LearnedSetting
from drivetrain.cockpit.safety import SAFETY_RELEVANT


@dataclass(frozen=True, slots=True)
class SettingWrite:
    """A VSS write that applies one learned preference."""

    path: str
    value: Value
    kind: str
    events: int


@dataclass(frozen=True, slots=True)
class SkippedSetting:
    """A learned preference this vehicle cannot take, and why."""

    path: str
    value: Value
    reason: str


@dataclass(frozen=True, slots=True)
class ProfileSettings:
    """What to write when the driver enters ``vehicle_id``, and what was left out."""

    vehicle_id: str
    writes: tuple[SettingWrite, ...]
    skipped: tuple[SkippedSetting, ...]

    def apply(self, vehicle: SimulatedVehicle) -> None:
        """Apply every write (each was checked; ``vehicle.apply`` checks again)."""
        for write in self.writes:
            vehicle.apply(write.path, write.value)


def _vss_value(setting: LearnedSetting) -> Value:
    if setting.kind == "climate_temperature":
        return round(setting.value * 2) / 2  # setpoints come in 0.5 °C steps
    return round(setting.value)


def settings_for(vehicle: SimulatedVehicle, preferences: LearnedPreferences) -> ProfileSettings:
    """The VSS writes that set ``vehicle`` up for the driver, each checked against this car.

    A preference the car cannot take (a zone, seat heating or setpoint it does
    not have) is skipped with the car's reason; nothing is clamped. A seat
    position is only applied in the model it was learned in (seats differ),
    and never while the vehicle moves.
    """
    writes: list[SettingWrite] = []
    skipped: list[SkippedSetting] = []
    for setting in _for_model(preferences.settings, vehicle.features.model_id):
        path = SETTING_PATHS[setting.kind].format(setting.target)
        value = _vss_value(setting)
        reason = vehicle.refusal(path, value)
        if reason is None and setting.kind == "seat_position":
            if not vehicle.features.seat_memory:
                reason = "this car has no seat memory to move the seat to your position"
            elif setting.model_id != vehicle.features.model_id:
                reason = (
                    f"your seat position was learned in a {setting.model_id}, "
                    f"and seats differ in a {vehicle.features.model_id}"
                )
        if reason is None and vehicle.is_moving and path.startswith(SAFETY_RELEVANT):
            reason = "the assistant does not move this while the vehicle is moving"
        if reason is None:
            writes.append(SettingWrite(path, value, setting.kind, setting.events))
        else:
            skipped.append(SkippedSetting(path, value, reason))
    return ProfileSettings(vehicle.vehicle_id, tuple(writes), tuple(skipped))


def _for_model(settings: tuple[LearnedSetting, ...], model_id: str) -> list[LearnedSetting]:
    """The settings to try: of seat positions, the one of this model, else the best-founded."""
    positions: dict[str, LearnedSetting] = {}
    chosen = []
    for setting in settings:
        if setting.kind != "seat_position":
            chosen.append(setting)
            continue
        best = positions.get(setting.target)
        rank = (setting.model_id == model_id, setting.events)
        if best is None or rank > (best.model_id == model_id, best.events):
            positions[setting.target] = setting
    return chosen + list(positions.values())
