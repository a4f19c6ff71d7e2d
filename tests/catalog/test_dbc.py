"""DBC introspection, carrier limits and quantisation, cross-checked with cantools."""

from __future__ import annotations

import os
import re
from functools import cache
from typing import Any

import numpy as np
import pytest

from drivetrain.catalog import (
    CarrierLimits,
    SignalBinding,
    available_dbcs,
    carrier_limits,
    load_dbc,
    load_vehicle_models,
    quantise,
)
from drivetrain.errors import InputError, NotFound

CAN_BINDINGS = [
    pytest.param(b, id=f"{m.id}:{b.vss}")
    for m in load_vehicle_models().values()
    for b in m.bindings
    if b.source == "can"
]


def can(dbc: str, message: str, signal: str, vss: str, scale: float = 1.0) -> SignalBinding:
    return SignalBinding(
        vss=vss, source="can", dbc=dbc, message=message, signal=signal, scale=scale
    )


# --- load_dbc ---------------------------------------------------------------------------


def test_generated_and_plain_dbcs_are_available() -> None:
    names = available_dbcs()
    assert "psa_aee2010_r3" in names
    assert "chrysler_pacifica_2017_hybrid_generated" in names
    assert "chrysler_ram_dt_generated" in names


def test_load_dbc_is_cached() -> None:
    assert load_dbc("fca_giorgio") is load_dbc("fca_giorgio")


def test_unknown_dbc_is_not_found_with_hint() -> None:
    with pytest.raises(NotFound, match="psa_aee2010") as info:
        load_dbc("psa_aee2010")
    assert info.value.hint is not None
    assert "did you mean psa_aee2010_r3" in info.value.hint


def test_unknown_message_and_signal_are_not_found() -> None:
    db = load_dbc("psa_aee2010_r3")
    with pytest.raises(NotFound, match="no message 'Dyn_CMX'") as info:
        db.message("Dyn_CMX")
    assert "Dyn_CMM" in str(info.value.hint)
    with pytest.raises(NotFound, match="no signal 'P000_Com_nEngine'"):
        db.signal("Dyn_CMM", "P000_Com_nEngine")


def test_units_and_comments_come_from_the_dbc_text() -> None:
    psa = load_dbc("psa_aee2010_r3")
    assert psa.signal("Dat_CMM", "P005_CEngDst_tSens").unit == "°C"
    assert psa.signal("Dat_CMM", "P005_CEngDst_tSens").comment == "P005  Wassertemperatur"
    assert psa.signal("Dyn_CMM", "P000_Com_nEng").unit == "1/min"
    assert psa.signal("Dat6_BSI", "P418_Com_uBattRaw").unit == ""
    assert psa.signal("Dyn_Veh", "P066_aECU").unit == "m/s**2"
    assert load_dbc("chrysler_ram_dt_generated").signal("ESP_8", "Vehicle_Speed").unit == "km/h"
    assert load_dbc("hyundai_kia_generic").signal("EMS12", "TEMP_ENG").unit == "deg"
    # multiplexed lines ("name m0 :") keep their unit too
    tesla = load_dbc("tesla_model3_party")
    assert tesla.signal("DI_speed", "DI_vehicleSpeed").unit == "kph"


def test_signal_layout_matches_the_sg_line() -> None:
    # SG_ P418_Com_uBattRaw : 28|11@0+ (0.01,5) [5|25.47] "" Vector__XXX
    sig = load_dbc("psa_aee2010_r3").signal("Dat6_BSI", "P418_Com_uBattRaw")
    assert (sig.start_bit, sig.size, sig.is_little_endian, sig.is_signed) == (28, 11, False, False)
    assert (sig.factor, sig.offset) == (0.01, 5.0)
    assert sig.raw_range == (0, 2047)
    # SG_ DI_torqueActual : 27|13@1- (2,0) [-7500|7500] "Nm"
    torque = load_dbc("tesla_model3_party").signal("DI_torque", "DI_torqueActual")
    assert torque.is_signed and torque.is_little_endian
    assert torque.raw_range == (-4096, 4095)


# --- carrier_limits ---------------------------------------------------------------------


def test_limits_of_psa_battery_voltage_by_hand() -> None:
    # 11 bits unsigned: raw 0..2047 -> 0.01 * raw + 5 = 5.00 .. 25.47 V
    limits = carrier_limits(
        can(
            "psa_aee2010_r3",
            "Dat6_BSI",
            "P418_Com_uBattRaw",
            "Vehicle.LowVoltageBattery.CurrentVoltage",
        )
    )
    assert limits.minimum == pytest.approx(5.0)
    assert limits.maximum == pytest.approx(25.47)
    assert limits.resolution == pytest.approx(0.01)


def test_limits_of_signed_tesla_torque_by_hand() -> None:
    # 13 bits signed: raw -4096..4095 -> 2 Nm * raw = -8192 .. 8190 Nm
    limits = carrier_limits(
        can(
            "tesla_model3_party",
            "DI_torque",
            "DI_torqueActual",
            "Vehicle.Powertrain.ElectricMotor.Rear.Torque",
        )
    )
    assert (limits.minimum, limits.maximum, limits.resolution) == (-8192.0, 8190.0, 2.0)


def test_limits_apply_the_binding_unit_conversion() -> None:
    # ABS_1 WHEEL_SPEED_FL : 7|13@0+ (0.017,0) "m/s"; m/s -> km/h is * 3.6
    limits = carrier_limits(
        can(
            "fca_giorgio",
            "ABS_1",
            "WHEEL_SPEED_FL",
            "Vehicle.Chassis.Axle.Row1.Wheel.Left.Speed",
            scale=3.6,
        )
    )
    assert limits.minimum == 0.0
    assert limits.maximum == pytest.approx(8191 * 0.017 * 3.6)
    assert limits.resolution == pytest.approx(0.017 * 3.6)
    # DAT4_BSI_AEE2010 P015_Com_lTotDst : 39|24@0+ (1,0) "km"; km -> m
    odo = carrier_limits(
        can(
            "psa_aee2010_r3",
            "DAT4_BSI_AEE2010",
            "P015_Com_lTotDst",
            "Vehicle.TraveledDistance",
            1000,
        )
    )
    assert (odo.minimum, odo.maximum, odo.resolution) == (0.0, (2**24 - 1) * 1000.0, 1000.0)


def test_limits_are_narrowed_to_the_vss_range_on_the_grid() -> None:
    # ENGINE_1 ACCEL_PEDAL : 20|8@0+ (0.4,0): carrier 0..102 %, VSS 0..100 %
    pedal = carrier_limits(
        can("fca_giorgio", "ENGINE_1", "ACCEL_PEDAL", "Vehicle.Chassis.Accelerator.PedalPosition")
    )
    assert (pedal.minimum, pedal.maximum) == (0.0, pytest.approx(100.0))
    # a 2-bit state with scale 100 reaches 300 %, narrowed to the single switch step
    brake = carrier_limits(
        can(
            "chrysler_ram_dt_generated",
            "ESP_1",
            "Brake_Pedal_State",
            "Vehicle.Chassis.Brake.PedalPosition",
            scale=100,
        )
    )
    assert (brake.minimum, brake.maximum, brake.resolution) == (0.0, 100.0, 100.0)


def test_limits_of_a_native_vss_binding_are_the_catalog_range() -> None:
    lat = carrier_limits(SignalBinding(vss="Vehicle.CurrentLocation.Latitude", source="vss"))
    assert lat == CarrierLimits(-90.0, 90.0, None)
    soc = carrier_limits(SignalBinding(vss="Vehicle.Speed", source="vss"))
    assert soc == CarrierLimits(None, None, None)


def test_limits_of_an_obd_pid() -> None:
    rpm = carrier_limits(
        SignalBinding(vss="Vehicle.Powertrain.CombustionEngine.Speed", source="obd", pid=0x0C)
    )
    assert (rpm.minimum, rpm.maximum, rpm.resolution) == (0.0, 16383.75, 0.25)
    odo = carrier_limits(
        SignalBinding(vss="Vehicle.TraveledDistance", source="obd", pid=0xA6, scale=1000.0)
    )
    assert odo.resolution == pytest.approx(100.0)
    assert odo.maximum == pytest.approx((2**32 - 1) * 100.0)


def test_carrier_that_cannot_reach_the_vss_range_is_rejected() -> None:
    with pytest.raises(InputError, match="cannot represent any value"):
        carrier_limits(
            SignalBinding(
                vss="Vehicle.Chassis.Accelerator.PedalPosition",
                source="obd",
                pid=0x04,
                offset=500.0,
            )
        )


# --- quantise ---------------------------------------------------------------------------


def test_quantise_clips_and_rounds_onto_the_grid() -> None:
    limits = CarrierLimits(-14.0, 6.32, 0.08)
    out = quantise(np.array([-20.0, -0.05, 0.03, 0.99, 9.0]), limits)
    np.testing.assert_allclose(out, [-14.0, -0.08, 0.0, 0.96, 6.32], atol=1e-12)
    raw = (out - limits.minimum) / 0.08
    np.testing.assert_allclose(raw, np.round(raw), atol=1e-9)


def test_quantise_does_not_modify_its_input_and_keeps_nan() -> None:
    values = np.array([1.234, np.nan])
    out = quantise(values, CarrierLimits(0.0, 10.0, 0.5))
    assert values[0] == 1.234
    assert out[0] == 1.0 and np.isnan(out[1])


def test_quantise_without_resolution_only_clips() -> None:
    out = quantise([-100.0, 12.3456, 200.0], CarrierLimits(-90.0, 90.0, None))
    np.testing.assert_array_equal(out, [-90.0, 12.3456, 90.0])
    same = quantise([1.5, -3.25], CarrierLimits(None, None, None))
    np.testing.assert_array_equal(same, [1.5, -3.25])


@pytest.mark.parametrize("binding", CAN_BINDINGS)
def test_quantised_values_stay_within_the_vss_range(binding: SignalBinding) -> None:
    from drivetrain.catalog import get_signal

    limits = carrier_limits(binding)
    assert limits.minimum is not None and limits.maximum is not None
    values = np.linspace(limits.minimum - 50, limits.maximum + 50, 2001)
    out = quantise(values, limits)
    vss = get_signal(binding.vss)
    if vss.min is not None:
        assert out.min() >= vss.min
    if vss.max is not None:
        assert out.max() <= vss.max


# --- cross-check with cantools ----------------------------------------------------------


@cache
def _cantools_database(name: str) -> Any:
    """cantools' view of an opendbc DBC, after repairing syntax cantools refuses.

    The repairs never touch a signal line: leading-dot numbers get their zero, the
    29-bit ids get the extended-frame flag, VAL_ tables are dropped, unterminated
    CM_ get their ';' and any line cantools still refuses is blanked. A bound
    signal that fell out that way fails the comparison instead of passing silently.
    """
    cantools = pytest.importorskip("cantools")
    from opendbc import DBC_PATH, get_generated_dbcs

    generated = get_generated_dbcs()
    if name in generated:
        text = generated[name]
    else:
        with open(os.path.join(DBC_PATH, f"{name}.dbc"), encoding="utf-8") as f:
            text = f.read()
    text = re.sub(r"([(,|])\.(\d)", r"\g<1>0.\2", text)

    def extended(match: re.Match[str]) -> str:
        frame = int(match.group(1))
        return f"BO_ {frame | 0x80000000 if 0x7FF < frame < 0x80000000 else frame} "

    text = re.sub(r"^BO_ (\d+) ", extended, text, flags=re.MULTILINE)
    lines = []
    for line in text.splitlines():
        if line.startswith("VAL_ "):
            line = ""
        elif line.startswith('CM_ "') and line.rstrip().endswith('"'):
            line += ";"
        lines.append(line)
    for _ in range(50):
        try:
            return cantools.database.load_string(
                "\n".join(lines), database_format="dbc", strict=False
            )
        except cantools.database.UnsupportedDatabaseFormatError as exc:
            found = re.search(r"line (\d+)", str(exc))
            if not found:
                raise
            lines[int(found.group(1)) - 1] = ""
    pytest.fail(f"cantools refuses {name} even after repairs")


@pytest.mark.parametrize("binding", CAN_BINDINGS)
def test_binding_resolves_in_opendbc_and_cantools_agrees(binding: SignalBinding) -> None:
    from opendbc.can.dbc import DBC

    assert binding.dbc and binding.message and binding.signal
    raw = DBC(binding.dbc).name_to_msg[binding.message].sigs[binding.signal]
    ours = load_dbc(binding.dbc).signal(binding.message, binding.signal)
    assert (ours.start_bit, ours.size, ours.factor, ours.offset) == (
        raw.start_bit,
        raw.size,
        raw.factor,
        raw.offset,
    )
    db = _cantools_database(binding.dbc)
    theirs = db.get_message_by_name(binding.message).get_signal_by_name(binding.signal)
    assert theirs.start == ours.start_bit
    assert theirs.length == ours.size
    assert theirs.scale == pytest.approx(ours.factor)
    assert theirs.offset == pytest.approx(ours.offset)
    assert theirs.is_signed == ours.is_signed
    assert (theirs.byte_order == "little_endian") == ours.is_little_endian
    assert (theirs.unit or "") == ours.unit
