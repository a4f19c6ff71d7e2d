"""Vehicle models and decoder manifests: the shipped ones and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivetrain.catalog import (
    VehicleModel,
    get_signal,
    get_vehicle_model,
    load_vehicle_models,
    parse_manifest,
)
from drivetrain.errors import InputError, NotFound

EXPECTED = {
    # id: (brand, oem_group, platform, powertrain, wmi, dbc files)
    "peugeot-308": ("Peugeot", "Stellantis", "EMP2", "ice", "VF3", ("psa_aee2010_r3",)),
    "alfa-romeo-giulia": ("Alfa Romeo", "Stellantis", "Giorgio", "ice", "ZAR", ("fca_giorgio",)),
    "chrysler-pacifica-hybrid": (
        "Chrysler",
        "Stellantis",
        "RU",
        "phev",
        "2C4",
        ("chrysler_pacifica_2017_hybrid_generated",),
    ),
    "ram-1500": ("Ram", "Stellantis", "DT", "ice", "1C6", ("chrysler_ram_dt_generated",)),
    "hyundai-i30": ("Hyundai", "Hyundai Motor Group", "PD", "ice", "KMH", ("hyundai_kia_generic",)),
    "tesla-model-3": ("Tesla", "Tesla", "Model 3", "bev", "5YJ", ("tesla_model3_party",)),
    "fiat-tipo": ("Fiat", "Stellantis", "Tipo", "ice", "ZFA", ()),
}
MODELS = list(load_vehicle_models().values())

GOOD = """
id = "{id}"
brand = "Fiat"
oem_group = "Stellantis"
name = "Test car"
platform = "Tipo"
powertrain = "ice"
model_years = [2016, 2024]
markets = ["IT"]
wmi = "ZFA"

[[bindings]]
vss = "Vehicle.Speed"
source = "obd"
pid = 0x0D
"""


def write(directory: Path, body: str, model_id: str = "test-car") -> Path:
    path = directory / f"{model_id}.toml"
    path.write_text(GOOD.format(id=model_id) + body, encoding="utf-8")
    return path


# --- the shipped manifests --------------------------------------------------------------


def test_the_seven_models_are_shipped() -> None:
    assert sorted(load_vehicle_models()) == sorted(EXPECTED)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.id)
def test_model_identity(model: VehicleModel) -> None:
    brand, group, platform, powertrain, wmi, dbcs = EXPECTED[model.id]
    assert (model.brand, model.oem_group, model.platform) == (brand, group, platform)
    assert (model.powertrain, model.wmi, model.dbc_files) == (powertrain, wmi, dbcs)
    first, last = model.model_years
    assert 2010 <= first <= last <= 2030
    assert model.markets and all(len(m) == 2 and m.isupper() for m in model.markets)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.id)
def test_every_binding_has_a_catalog_signal_and_notes_inferences(model: VehicleModel) -> None:
    assert len(set(model.signals)) == len(model.signals)
    for b in model.bindings:
        get_signal(b.vss)
        if "inferred" in b.note:
            assert len(b.note) > len("inferred: ") + 10


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.id)
def test_every_can_binding_resolves_in_opendbc(model: VehicleModel) -> None:
    from opendbc.can.dbc import DBC

    for b in model.bindings:
        if b.source == "can":
            assert b.dbc and b.message and b.signal
            assert b.signal in DBC(b.dbc).name_to_msg[b.message].sigs, b


def test_each_model_reports_the_core_signals() -> None:
    for model in MODELS:
        assert model.binding("Vehicle.Speed") is not None, model.id
        assert model.binding("Vehicle.Chassis.Accelerator.PedalPosition") is not None, model.id
        if model.powertrain != "bev":
            assert model.binding("Vehicle.Powertrain.CombustionEngine.Speed") is not None


def test_tesla_reports_what_no_dbc_carries_natively() -> None:
    tesla = get_vehicle_model("tesla-model-3")
    for path in (
        "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current",
        "Vehicle.Powertrain.TractionBattery.CellVoltage.Min",
        "Vehicle.Powertrain.TractionBattery.CellVoltage.Max",
        "Vehicle.CurrentLocation.Latitude",
        "Vehicle.TraveledDistance",
    ):
        binding = tesla.binding(path)
        assert binding is not None and binding.source == "vss" and binding.note
    speed = tesla.binding("Vehicle.Speed")
    assert speed is not None and speed.source == "can"


def test_fiat_tipo_reads_obd_pids_with_unit_conversion() -> None:
    tipo = get_vehicle_model("fiat-tipo")
    assert {b.source for b in tipo.bindings} == {"obd"}
    odometer = tipo.binding("Vehicle.TraveledDistance")
    assert odometer is not None and (odometer.pid, odometer.scale) == (0xA6, 1000.0)
    load = tipo.binding("Vehicle.OBD.EngineLoad")
    assert load is not None and load.pid == 0x04


def test_unit_conversions() -> None:
    giulia = get_vehicle_model("alfa-romeo-giulia").binding("Vehicle.Speed")
    assert giulia is not None and giulia.scale == 3.6  # m/s -> km/h
    odo = get_vehicle_model("peugeot-308").binding("Vehicle.TraveledDistance")
    assert odo is not None and odo.scale == 1000.0  # km -> m
    tyre = get_vehicle_model("hyundai-i30").binding(
        "Vehicle.Chassis.Axle.Row1.Wheel.Left.Tire.Pressure"
    )
    assert tyre is not None and tyre.scale == pytest.approx(6.894757)  # psi -> kPa


def test_get_vehicle_model_not_found_lists_ids() -> None:
    with pytest.raises(NotFound, match="peugeot-208") as info:
        get_vehicle_model("peugeot-208")
    assert "peugeot-308" in str(info.value.hint)


def test_loaded_models_are_a_fresh_dict() -> None:
    load_vehicle_models().clear()
    assert "ram-1500" in load_vehicle_models()


# --- bad input --------------------------------------------------------------------------


def test_valid_manifest_in_a_directory(tmp_path: Path) -> None:
    write(tmp_path, "")
    models = load_vehicle_models(tmp_path)
    assert list(models) == ["test-car"]
    assert models["test-car"].bindings[0].pid == 0x0D


def table(**fields: str | float) -> str:
    """A [[bindings]] table with the given fields, as TOML."""
    lines = [f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in fields.items()]
    return "\n[[bindings]]\n" + "\n".join(lines).replace("'", '"') + "\n"


PSA_ODO = {
    "vss": "Vehicle.TraveledDistance",
    "source": "can",
    "dbc": "psa_aee2010_r3",
    "message": "DAT4_BSI_AEE2010",
    "signal": "P015_Com_lTotDst",
}
AIR = {"vss": "Vehicle.Exterior.AirTemperature"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            table(vss="Vehicle.Speedometer", source="vss"),
            "unknown VSS signal 'Vehicle.Speedometer'",
        ),
        (table(**{**PSA_ODO, "message": "DAT4_BSI"}), "no message 'DAT4_BSI'"),
        (table(**{**PSA_ODO, "signal": "P015_lTotDst"}), "no signal 'P015_lTotDst'"),
        (table(**{**PSA_ODO, "dbc": "psa_aee2010"}), "no DBC named 'psa_aee2010'"),
        (
            table(**{k: v for k, v in PSA_ODO.items() if k != "message"}),
            "needs dbc, message and signal",
        ),
        (table(**AIR, source="obd", pid=0x99), "unknown service 01 PID"),
        (table(**AIR, source="vss", pid=0x46), "a VSS binding takes no"),
        (table(**AIR, source="radio"), "source 'radio'"),
        (table(**AIR, source="obd", pid=0x46, scael=2.0), "unknown field(s) scael"),
        (table(vss="Vehicle.Speed", source="obd", pid=0x0D), "bound twice"),
    ],
)
def test_bad_binding_names_the_file_and_binding(tmp_path: Path, body: str, message: str) -> None:
    write(tmp_path, body)
    with pytest.raises(InputError) as info:
        load_vehicle_models(tmp_path)
    text = str(info.value)
    assert "test-car.toml" in text
    assert message in text


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('powertrain = "ice"', 'powertrain = "diesel"', "powertrain 'diesel'"),
        ('wmi = "ZFA"', 'wmi = "ZF"', "World Manufacturer Identifier"),
        ('markets = ["IT"]', 'markets = ["Italy"]', "ISO 3166-1"),
        ("model_years = [2016, 2024]", "model_years = [2024, 2016]", "model_years"),
        ('brand = "Fiat"\n', "", "missing field(s) brand"),
        ('id = "test-car"', 'id = "other-car"', "match the file name"),
        ("pid = 0x0D", "pid = 0x0D\n[broken", "not valid TOML"),
    ],
)
def test_bad_model_fields_name_the_file(tmp_path: Path, old: str, new: str, message: str) -> None:
    path = write(tmp_path, "")
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_vehicle_models(tmp_path)
    assert "test-car.toml" in str(info.value)
    assert message in str(info.value)


def test_parse_manifest_names_the_given_file() -> None:
    with pytest.raises(InputError, match=r"^somewhere/x\.toml: missing field"):
        parse_manifest('id = "x"\n', "somewhere/x.toml")
