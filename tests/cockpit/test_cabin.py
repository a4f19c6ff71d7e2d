"""The cabin: VSS ranges, datatypes and allowed values checked against the COVESA spec
itself, the shipped leaves rebuilt from that spec, model features, and the driving state."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from drivetrain.catalog import load_vehicle_models
from drivetrain.cockpit.actions import Plan, Refusal, resolve
from drivetrain.cockpit.cabin import (
    COLOR_CODES,
    DRIVE,
    PARK,
    SimulatedVehicle,
    Value,
    cabin_features,
    vss_refusal,
)
from drivetrain.cockpit.vss import DATA_FILE, cockpit_signal, cockpit_signals
from drivetrain.errors import InputError, NotFound

VSS_DIR = Path(__file__).parents[2].parent / "shared/data/vss"
SPEC = VSS_DIR / "spec/VehicleSignalSpecification.vspec"
OBD = VSS_DIR / "overlays/extensions/OBD.vspec"
IN_CI = os.environ.get("CI", "").lower() == "true"

#: VSS's integer datatypes and their ranges (VSS docs, "Datatypes").
INT_RANGES = {
    "uint8": (0, 255),
    "int8": (-128, 127),
    "uint16": (0, 65535),
    "int16": (-32768, 32767),
}

#: Where each checked leaf is defined in the spec: the .vspec file and its key there
#: (the instances Row1/DriverSide… come from includes, the definition is written once).
SPEC_DEFINITIONS: dict[str, tuple[str, str]] = {
    "Vehicle.Cabin.HVAC.Station.Row1.Driver.FanSpeed": ("Cabin/SingleHVACStation.vspec", "FanSpeed"),
    "Vehicle.Cabin.HVAC.Station.Row2.Passenger.Temperature": ("Cabin/SingleHVACStation.vspec", "Temperature"),
    "Vehicle.Cabin.HVAC.Station.Row1.Passenger.AirDistribution": ("Cabin/SingleHVACStation.vspec", "AirDistribution"),
    "Vehicle.Cabin.Door.Row2.DriverSide.Window.Position": ("include/MovableItem.vspec", "Position"),
    "Vehicle.Cabin.Door.Row1.PassengerSide.IsOpen": ("include/MovableItem.vspec", "IsOpen"),
    "Vehicle.Cabin.Door.Row1.DriverSide.IsLocked": ("include/LockableMovableItem.vspec", "IsLocked"),
    "Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling": ("include/ItemHeatingCooling.vspec", "HeatingCooling"),
    "Vehicle.Cabin.Seat.Row1.PassengerSide.Massage.Level": ("Cabin/Seat/Massage.vspec", "Level"),
    "Vehicle.Cabin.Seat.Row1.DriverSide.Position": ("Cabin/Seat.vspec", "Position"),
    "Vehicle.Cabin.Seat.Row1.PassengerSide.Height": ("Cabin/Seat.vspec", "Height"),
    "Vehicle.Cabin.Seat.Row1.DriverSide.Backrest.Recline": ("Cabin/Seat.vspec", "Backrest.Recline"),
    "Vehicle.Cabin.Infotainment.Media.Action": ("Cabin/Infotainment.vspec", "Media.Action"),
    "Vehicle.Cabin.Infotainment.Media.Volume": ("Cabin/Infotainment.vspec", "Media.Volume"),
    "Vehicle.Cabin.Infotainment.Media.Played.Source": ("Cabin/Infotainment.vspec", "Media.Played.Source"),
    "Vehicle.Cabin.Infotainment.Navigation.DestinationSet.Latitude": ("Cabin/Infotainment.vspec", "Navigation.DestinationSet.Latitude"),
    "Vehicle.Cabin.Infotainment.Navigation.DestinationSet.Longitude": ("Cabin/Infotainment.vspec", "Navigation.DestinationSet.Longitude"),
    "Vehicle.Cabin.Infotainment.Navigation.Mute": ("Cabin/Infotainment.vspec", "Navigation.Mute"),
    "Vehicle.Cabin.Light.AmbientLight.Row1.DriverSide.Intensity": ("Cabin/SingleConfigurableLight.vspec", "Intensity"),
    "Vehicle.Cabin.Light.AmbientLight.Row1.PassengerSide.Color": ("Cabin/SingleConfigurableLight.vspec", "Color"),
    "Vehicle.Cabin.Sunroof.Switch": ("Cabin/Cabin.vspec", "Sunroof.Switch"),
    "Vehicle.Cabin.Sunroof.Position": ("Cabin/Cabin.vspec", "Sunroof.Position"),
    "Vehicle.Body.Windshield.Front.Wiping.Mode": ("Body/Body.vspec", "Windshield.Wiping.Mode"),
    "Vehicle.Powertrain.Transmission.SelectedGear": ("Powertrain/Transmission.vspec", "SelectedGear"),
    "Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure": ("Chassis/Wheel.vspec", "Tire.Pressure"),
}  # fmt: skip


def _need_spec() -> None:
    """Skip locally without the COVESA tree; in CI a missing spec fails, never skips."""
    if not SPEC.is_file():
        reason = f"the COVESA VSS tree is not at {VSS_DIR} (see /work/shared/data/vss/SOURCE.md)"
        if IN_CI:
            pytest.fail(f"{reason} (CI=true, so this does not skip)")
        pytest.skip(reason)


_YAML: dict[str, dict[str, Any]] = {}


def spec_definition(path: str) -> dict[str, Any]:
    """The leaf's entry as written in the spec's YAML (a .vspec is YAML; includes are comments)."""
    _need_spec()
    file, key = SPEC_DEFINITIONS[path]
    if file not in _YAML:
        _YAML[file] = yaml.safe_load((VSS_DIR / "spec" / file).read_text("utf-8"))
    return dict(_YAML[file][key])


@pytest.mark.parametrize("path", sorted(SPEC_DEFINITIONS))
def test_shipped_leaf_agrees_with_the_spec_yaml(path: str) -> None:
    spec = spec_definition(path)
    shipped = cockpit_signal(path)
    assert shipped.type == spec["type"]
    assert shipped.datatype == spec["datatype"]
    assert shipped.unit == spec.get("unit")
    assert shipped.min == (None if "min" not in spec else float(spec["min"]))
    assert shipped.max == (None if "max" not in spec else float(spec["max"]))
    assert shipped.allowed == tuple(spec.get("allowed", ()))


def _vss_cases(spec: dict[str, Any]) -> list[tuple[Value, bool]]:
    """Values to try against a leaf as the spec defines it, and whether VSS accepts each."""
    kind = spec["datatype"]
    if kind == "boolean":
        return [(True, True), (False, True), (1, False), ("true", False)]
    if kind == "string":
        allowed = spec.get("allowed", [])
        return [(a, True) for a in allowed] + [("NOT_A_VSS_VALUE", not allowed), (3, False)]
    low, high = spec.get("min"), spec.get("max")
    low = INT_RANGES.get(kind, (low, high))[0] if low is None else low
    high = INT_RANGES.get(kind, (low, high))[1] if high is None else high
    cases: list[tuple[Value, bool]] = [("10", False), (True, False)]
    if low is not None:
        cases += [(low, True), (low - 1, False)]
    if high is not None:
        cases += [(high, True), (high + 1, False)]
    if kind in INT_RANGES:
        inside = low if low is not None else 0
        cases.append((inside + 0.5, False))  # VSS integers take whole numbers only
    elif low is None and high is None:  # a float without limits takes any number
        cases += [(-1e6, True), (1e6, True)]
    return cases


@pytest.mark.parametrize("path", sorted(SPEC_DEFINITIONS))
def test_vss_refusal_follows_the_spec_limits(path: str) -> None:
    spec = spec_definition(path)
    signal = cockpit_signal(path)
    for value, accepted in _vss_cases(spec):
        why = vss_refusal(signal, value)
        assert (why is None) is accepted, (value, why)
        out_of_range = not accepted and not isinstance(value, bool | str) and value == int(value)
        if out_of_range and "min" in spec and "max" in spec:  # the refusal names the range
            assert f"{spec['min']:g}–{spec['max']:g}" in str(why)


def test_refusal_names_a_range_and_never_clamps() -> None:
    car = SimulatedVehicle.parked("v1", "peugeot-308")
    path = "Vehicle.Cabin.Infotainment.Media.Volume"
    assert car.refusal(path, 101) == "101 percent is outside 0–100 percent"
    assert car.refusal(path, 12.5) == f"{path} takes a whole number"
    assert car.refusal(path, "loud") == f"{path} takes a number"
    media = "Vehicle.Cabin.Infotainment.Media.Action"
    assert "PAUSE" not in cockpit_signal(media).allowed
    assert "'PAUSE' is not one of" in str(car.refusal(media, "PAUSE"))


def test_the_spec_says_colours_are_rgb_codes_and_the_assistant_writes_them() -> None:
    spec = spec_definition("Vehicle.Cabin.Light.AmbientLight.Row1.PassengerSide.Color")
    assert '"#000000" to "#FFFFFF"' in spec["description"]
    car = SimulatedVehicle.parked("v1", "peugeot-308")
    plan = resolve("set_ambient_light", {"light_color": ["Blue"]}, car)
    assert isinstance(plan, Plan)
    colours = [v for p, v in plan.writes if p.endswith(".Color")]
    assert colours and all(re.fullmatch(r"#[0-9A-F]{6}", str(v)) for v in colours)
    for path, value in plan.writes:
        car.apply(path, value)
    assert car.values["Vehicle.Cabin.Light.AmbientLight.Row1.DriverSide.Color"] == "#0000FF"


def test_every_cabins_toml_colour_has_a_vss_code() -> None:
    table = tomllib.loads(_cabins_toml())
    named = {c for m in table["models"].values() for c in m.get("ambient_colors", [])}
    assert named <= set(COLOR_CODES)
    for code in COLOR_CODES.values():
        assert re.fullmatch(r"#[0-9A-F]{6}", code)


def test_sensors_and_unknown_leaves_are_never_written() -> None:
    car = SimulatedVehicle.parked("v1", "peugeot-308")
    assert car.refusal("Vehicle.Speed", 10.0) == "Vehicle.Speed is a reading, not a setting"
    assert "not something the assistant can set" in str(car.refusal("Vehicle.Cabin.Nope", 1))
    with pytest.raises(NotFound, match=r"Vehicle\.Cabin\.Nope"):
        car.read("Vehicle.Cabin.Nope")


# -- the shipped file is the spec's ---------------------------------------------------------


def test_rebuilding_the_shipped_file_from_the_spec_changes_nothing(tmp_path: Path) -> None:
    _need_spec()
    shipped = resources.files("drivetrain.cockpit").joinpath("data", DATA_FILE).read_text("utf-8")
    label = json.loads(shipped)["source"]
    out = tmp_path / DATA_FILE
    command = [sys.executable, "-m", "drivetrain.cockpit.vss", str(SPEC), str(out), label, str(OBD)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert out.read_text("utf-8") == shipped, "cockpit_vss.json drifted from the spec: rebuild it"


def test_the_shipped_file_names_the_spec_version_it_came_from() -> None:
    _need_spec()
    version = re.search(r"as (v[\w.-]+)", (VSS_DIR / "SOURCE.md").read_text("utf-8"))
    assert version is not None
    assert (
        version.group(1)
        in json.loads(
            resources.files("drivetrain.cockpit").joinpath("data", DATA_FILE).read_text("utf-8")
        )["source"]
    )


# -- model features --------------------------------------------------------------------------


def _cabins_toml() -> str:
    return resources.files("drivetrain.cockpit").joinpath("data/cabins.toml").read_text("utf-8")


def test_every_model_in_cabins_toml_is_a_catalog_model() -> None:
    table = tomllib.loads(_cabins_toml())
    catalog = set(load_vehicle_models())
    assert catalog, "the catalog lists no models"
    assert set(table["models"]) <= catalog, set(table["models"]) - catalog


def test_every_model_key_is_a_known_feature() -> None:
    table = tomllib.loads(_cabins_toml())
    for model, features in table["models"].items():
        assert set(features) <= set(table["defaults"]), (
            model,
            set(features) - set(table["defaults"]),
        )


def _models_with(feature: str, value: bool) -> list[str]:
    table = tomllib.loads(_cabins_toml())
    default = table["defaults"][feature]
    return sorted(m for m, f in table["models"].items() if f.get(feature, default) is value)


MASSAGE = "Vehicle.Cabin.Seat.Row1.DriverSide.Massage.Level"


@pytest.mark.parametrize("model", _models_with("seat_massage", False))
def test_a_model_without_massage_refuses_it(model: str) -> None:
    car = SimulatedVehicle.parked("v1", model)
    before = dict(car.values)
    assert car.refusal(MASSAGE, 50) == "this car has no seat massage"
    outcome = resolve("set_seat_massage", {"level": ["gentle"]}, car)
    assert outcome == Refusal("set_seat_massage", "this car has no seat massage")
    with pytest.raises(InputError, match="this car has no seat massage"):
        car.apply(MASSAGE, 50)
    assert car.values == before


def test_the_peugeot_308_has_massage() -> None:
    assert "peugeot-308" in _models_with("seat_massage", True)
    car = SimulatedVehicle.parked("v1", "peugeot-308")
    assert car.refusal(MASSAGE, 50) is None
    plan = resolve("set_seat_massage", {"level": ["strong"]}, car)
    assert isinstance(plan, Plan)
    assert plan.writes == ((MASSAGE, 100),)


@pytest.mark.parametrize(
    ("model", "path", "value", "reason"),
    [
        ("fiat-tipo", "Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling", 33, "this car has no seat heating"),
        ("peugeot-308", "Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling", -50, "this car has no seat ventilation"),
        ("hyundai-i30", "Vehicle.Cabin.Light.AmbientLight.Row1.DriverSide.IsLightOn", True, "this car has no ambient lighting"),
        ("tesla-model-3", "Vehicle.Cabin.Light.AmbientLight.Row1.DriverSide.Color", "#0000FF", "the ambient light comes in white"),
        ("peugeot-308", "Vehicle.Cabin.Sunroof.Switch", "OPEN", "this car has no sunroof"),
        ("peugeot-308", "Vehicle.Cabin.HVAC.Station.Row2.Driver.Temperature", 21.0, "this car has no climate zone for the rear driver side"),
        ("peugeot-308", "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature", 15.0, "the climate control takes 16 to 28 °C"),
        ("peugeot-308", "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature", 28.5, "the climate control takes 16 to 28 °C"),
    ],
)  # fmt: skip
def test_missing_features_are_refused_and_apply_changes_nothing(
    model: str, path: str, value: Value, reason: str
) -> None:
    car = SimulatedVehicle.parked("v1", model)
    before = dict(car.values)
    assert car.refusal(path, value) == reason
    with pytest.raises(InputError, match=re.escape(reason)):
        car.apply(path, value)
    assert car.values == before


@pytest.mark.parametrize(
    ("model", "path", "value"),
    [
        ("peugeot-308", "Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling", 33),
        ("tesla-model-3", "Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling", -50),  # ventilated
        ("tesla-model-3", "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature", 15.0),  # its 15 °C
        ("ram-1500", "Vehicle.Cabin.HVAC.Station.Row2.Passenger.Temperature", 28.0),
        ("alfa-romeo-giulia", "Vehicle.Cabin.Sunroof.Switch", "TILT_UP"),
        ("fiat-tipo", "Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling", 0),  # off is always fine
    ],
)
def test_a_model_that_has_the_feature_accepts_the_write(
    model: str, path: str, value: Value
) -> None:
    car = SimulatedVehicle.parked("v1", model)
    assert car.refusal(path, value) is None
    car.apply(path, value)
    assert car.values[path] == value


def test_unknown_model_gets_the_defaults() -> None:
    table = tomllib.loads(_cabins_toml())["defaults"]
    features = cabin_features("no-such-model")
    assert features.zones == tuple(table["zones"])
    assert features.temperature_c == tuple(table["temperature_c"])
    assert features.seat_massage is table["seat_massage"]


def test_the_models_temperature_range_overrides_the_default() -> None:
    assert cabin_features("tesla-model-3").temperature_c == (15.0, 28.0)
    assert cabin_features("peugeot-308").temperature_c == (16.0, 28.0)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("Vehicle.Cabin.Infotainment.Media.Volume", 150),
        ("Vehicle.Cabin.Infotainment.Media.Volume", -1),
        ("Vehicle.Cabin.HVAC.Station.Row1.Driver.FanSpeed", 101),
        ("Vehicle.Cabin.Door.Row1.DriverSide.Window.Position", 50.5),
        ("Vehicle.Cabin.Door.Row1.DriverSide.IsLocked", "yes"),
        ("Vehicle.Cabin.Infotainment.Media.Action", "PAUSE"),
        ("Vehicle.Speed", 50.0),
        ("Vehicle.Cabin.Nope", 1),
    ],
)
def test_apply_raises_input_error_and_changes_nothing(path: str, value: Value) -> None:
    car = SimulatedVehicle.parked("v1", "ram-1500")
    before = dict(car.values)
    with pytest.raises(InputError, match=r"^not set: "):
        car.apply(path, value)
    assert car.values == before


# -- driving state -----------------------------------------------------------------------------


def test_parked_has_a_comfortable_cabin_and_status_overrides() -> None:
    car = SimulatedVehicle.parked("v1", "ram-1500", Vehicle__Powertrain__Range=312_000)
    assert not car.is_moving
    assert car.values["Vehicle.Powertrain.Range"] == 312_000
    assert car.read("Vehicle.Cabin.HVAC.Station.Row2.Passenger.Temperature") == 21.0  # 4 zones
    assert car.read("Vehicle.Cabin.Door.Row2.DriverSide.Window.Position") == 0
    for path, value in car.values.items():  # every preset is a value VSS accepts
        assert vss_refusal(cockpit_signal(path), value) is None, path


def test_drive_and_park() -> None:
    car = SimulatedVehicle.parked("v1", "peugeot-308")
    assert (car.is_moving, car.speed_kmh) == (False, 0.0)
    car.drive(0)  # in Drive at a standstill (a red light): NHTSA's rules still apply
    assert car.is_moving
    assert car.values["Vehicle.Powertrain.Transmission.SelectedGear"] == DRIVE
    car.drive(88)
    assert (car.is_moving, car.speed_kmh) == (True, 88.0)
    assert car.values["Vehicle.Chassis.ParkingBrake.IsEngaged"] is False
    car.park()
    assert (car.is_moving, car.speed_kmh) == (False, 0.0)
    assert car.values["Vehicle.Powertrain.Transmission.SelectedGear"] == PARK
    assert car.values["Vehicle.Chassis.ParkingBrake.IsEngaged"] is True


def test_rolling_in_park_or_neutral_counts_as_moving() -> None:
    car = SimulatedVehicle.parked("v1", "peugeot-308", Vehicle__Speed=3.0)
    assert car.is_moving  # speed alone
    car = SimulatedVehicle.parked(
        "v1", "peugeot-308", Vehicle__Powertrain__Transmission__SelectedGear=0
    )
    assert car.is_moving  # neutral is not Park


def test_negative_speed_is_refused_and_changes_nothing() -> None:
    car = SimulatedVehicle.parked("v1", "peugeot-308")
    before = dict(car.values)
    with pytest.raises(InputError, match="speed must not be negative"):
        car.drive(-5)
    assert car.values == before


def test_gear_constants_are_the_vss_park_and_drive_codes() -> None:
    _need_spec()
    description = spec_definition("Vehicle.Powertrain.Transmission.SelectedGear")["description"]
    assert f"{PARK}=Park" in description
    assert f"{DRIVE}=Drive" in description
    assert set(cockpit_signals()) >= {"Vehicle.Speed", "Vehicle.Chassis.ParkingBrake.IsEngaged"}
