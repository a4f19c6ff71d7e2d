"""Vehicle models and their decoder manifests (``data/models/<id>.toml``).

Each manifest names a model (brand, platform, powertrain, markets, WMI) and
binds VSS paths to where that model gets them: a DBC message/signal, an
OBD-II service 01 PID, or the telematics unit reporting the VSS path natively.
Every manifest is validated against the signal catalog, the DBC files and the
PID table when it is loaded, so a typo fails loudly with the file and binding.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, get_args

from drivetrain.catalog.dbc import carrier_limits, load_dbc
from drivetrain.catalog.models import Powertrain, SignalBinding, SourceKind, VehicleModel
from drivetrain.catalog.obd import MODE_01_PIDS
from drivetrain.catalog.signals import load_signal_catalog
from drivetrain.errors import DrivetrainError, InputError, NotFound

_POWERTRAINS = frozenset(get_args(Powertrain))
_SOURCES = frozenset(get_args(SourceKind))
_MODEL_KEYS = frozenset(
    {"id", "brand", "oem_group", "name", "platform", "powertrain", "model_years"}
    | {"markets", "wmi", "bindings", "battery_net_kwh"}
)
_BINDING_KEYS = frozenset(
    {"vss", "source", "dbc", "message", "signal", "pid", "scale", "offset", "note"}
)
_CAN_KEYS = frozenset({"dbc", "message", "signal"})
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_MARKET_RE = re.compile(r"^[A-Z]{2}$")
# ISO 3779: VIN characters exclude I, O and Q
_WMI_RE = re.compile(r"^[A-HJ-NPR-Z0-9]{3}$")


def load_vehicle_models(directory: Path | Traversable | None = None) -> dict[str, VehicleModel]:
    """Every vehicle model with its validated decoder manifest, keyed by model id.

    ``directory`` defaults to the manifests shipped as package data; pass one to
    validate manifests elsewhere. Raises ``InputError`` naming the file (and the
    binding) of the first invalid manifest.
    """
    if directory is None:
        return dict(_shipped_models())
    return _load_directory(directory)


def get_vehicle_model(model_id: str) -> VehicleModel:
    """The shipped vehicle model ``model_id``; ``NotFound`` lists the valid ids."""
    models = _shipped_models()
    try:
        return models[model_id]
    except KeyError:
        raise NotFound(
            f"no vehicle model {model_id!r}",
            hint=f"known models: {', '.join(sorted(models))}",
        ) from None


@cache
def _shipped_models() -> dict[str, VehicleModel]:
    return _load_directory(resources.files("drivetrain.catalog").joinpath("data", "models"))


def _load_directory(directory: Path | Traversable) -> dict[str, VehicleModel]:
    manifests = sorted(
        (entry for entry in directory.iterdir() if entry.name.endswith(".toml")),
        key=lambda entry: entry.name,
    )
    models: dict[str, VehicleModel] = {}
    for entry in manifests:
        model = parse_manifest(entry.read_text(encoding="utf-8"), entry.name)
        models[model.id] = model
    return models


def parse_manifest(text: str, filename: str) -> VehicleModel:
    """Parse and validate one decoder manifest; ``filename`` names it in errors."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{filename}: not valid TOML: {exc}") from exc
    _check_keys(doc, _MODEL_KEYS, _MODEL_KEYS - {"bindings", "battery_net_kwh"}, filename)
    model_id = _text(doc, "id", filename)
    stem = filename.rsplit("/", 1)[-1].removesuffix(".toml")
    if not _ID_RE.match(model_id) or model_id != stem:
        raise InputError(
            f"{filename}: id {model_id!r} must be lower-case words joined by '-' "
            f"and match the file name {stem!r}"
        )
    powertrain = _text(doc, "powertrain", filename)
    if powertrain not in _POWERTRAINS:
        raise InputError(
            f"{filename}: powertrain {powertrain!r} is not one of {', '.join(sorted(_POWERTRAINS))}"
        )
    raw_bindings = doc.get("bindings", [])
    if not isinstance(raw_bindings, list) or not raw_bindings:
        raise InputError(f"{filename}: needs at least one [[bindings]] table")
    bindings = tuple(_binding(b, i, filename) for i, b in enumerate(raw_bindings))
    seen: set[str] = set()
    for b in bindings:
        if b.vss in seen:
            raise InputError(f"{filename}: {b.vss} is bound twice", hint="keep one binding")
        seen.add(b.vss)
    return VehicleModel(
        id=model_id,
        brand=_text(doc, "brand", filename),
        oem_group=_text(doc, "oem_group", filename),
        name=_text(doc, "name", filename),
        platform=_text(doc, "platform", filename),
        powertrain=powertrain,  # type: ignore[arg-type]  # checked against Powertrain above
        model_years=_model_years(doc["model_years"], filename),
        markets=_markets(doc["markets"], filename),
        wmi=_wmi(doc["wmi"], filename),
        bindings=bindings,
        battery_net_kwh=_battery(doc, powertrain, filename),
    )


def _battery(doc: dict[str, Any], powertrain: str, filename: str) -> float | None:
    """The usable traction-battery capacity: a positive number of kWh, for plug-ins only."""
    value = doc.get("battery_net_kwh")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1000:
        raise InputError(
            f"{filename}: battery_net_kwh {value!r} is not a capacity in kWh",
            hint="write the usable capacity when new, e.g. battery_net_kwh = 57.5",
        )
    if powertrain not in ("phev", "bev"):
        raise InputError(
            f"{filename}: battery_net_kwh is given for a {powertrain} model",
            hint="only plug-in hybrids and battery-electric vehicles have a traction battery "
            "to report; remove the field",
        )
    return float(value)


def _check_keys(
    table: dict[str, Any], allowed: Iterable[str], required: Iterable[str], where: str
) -> None:
    allowed_set = frozenset(allowed)
    unknown = sorted(set(table) - allowed_set)
    if unknown:
        raise InputError(
            f"{where}: unknown field(s) {', '.join(unknown)}",
            hint=f"allowed fields: {', '.join(sorted(allowed_set))}",
        )
    missing = sorted(set(required) - set(table))
    if missing:
        raise InputError(f"{where}: missing field(s) {', '.join(missing)}")


def _text(table: dict[str, Any], key: str, where: str) -> str:
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: {key} must be a non-empty string, got {value!r}")
    return value


def _model_years(value: Any, filename: str) -> tuple[int, int]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(y, int) and 1980 <= y <= 2100 for y in value)
        or value[0] > value[1]
    ):
        raise InputError(f"{filename}: model_years must be [first, last] years, got {value!r}")
    return value[0], value[1]


def _markets(value: Any, filename: str) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(m, str) and _MARKET_RE.match(m) for m in value)
    ):
        raise InputError(
            f"{filename}: markets must be ISO 3166-1 alpha-2 codes such as 'FR', got {value!r}"
        )
    return tuple(value)


def _wmi(value: Any, filename: str) -> str:
    if not isinstance(value, str) or not _WMI_RE.match(value):
        raise InputError(
            f"{filename}: wmi must be a 3-character World Manufacturer Identifier, got {value!r}"
        )
    return value


def _binding(table: Any, index: int, filename: str) -> SignalBinding:
    label = (
        f"{filename}, binding #{index + 1} ({table.get('vss', '?')})"
        if isinstance(table, dict)
        else f"{filename}, binding #{index + 1}"
    )
    if not isinstance(table, dict):
        raise InputError(f"{label}: must be a table")
    _check_keys(table, _BINDING_KEYS, {"vss", "source"}, label)
    vss = _text(table, "vss", label)
    if vss not in load_signal_catalog():
        raise InputError(
            f"{label}: unknown VSS signal {vss!r}",
            hint="use a path of the signal catalog (data/vss_signals.json)",
        )
    source = table["source"]
    if source not in _SOURCES:
        raise InputError(f"{label}: source {source!r} is not one of {', '.join(sorted(_SOURCES))}")
    binding = SignalBinding(
        vss=vss,
        source=source,
        dbc=table.get("dbc"),
        message=table.get("message"),
        signal=table.get("signal"),
        pid=table.get("pid"),
        scale=_number(table.get("scale", 1.0), "scale", label),
        offset=_number(table.get("offset", 0.0), "offset", label),
        note=str(table.get("note", "")),
    )
    if binding.scale == 0:
        raise InputError(f"{label}: scale must not be 0")
    _check_source(binding, table, label)
    try:
        carrier_limits(binding)
    except DrivetrainError as exc:
        raise InputError(f"{label}: {exc}") from exc
    return binding


def _number(value: Any, key: str, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{label}: {key} must be a finite number, got {value!r}")
    return float(value)


def _check_source(binding: SignalBinding, table: dict[str, Any], label: str) -> None:
    present = set(table)
    if binding.source == "can":
        missing = sorted(_CAN_KEYS - present)
        if missing or "pid" in present:
            raise InputError(
                f"{label}: a CAN binding needs dbc, message and signal and no pid",
                hint=f"missing: {', '.join(missing)}" if missing else "remove pid",
            )
        for key in ("dbc", "message", "signal"):
            _text(table, key, label)
        try:
            load_dbc(str(binding.dbc)).signal(str(binding.message), str(binding.signal))
        except NotFound as exc:
            raise InputError(f"{label}: {exc.message}", hint=exc.hint) from exc
    elif binding.source == "obd":
        if "pid" not in present or present & _CAN_KEYS:
            raise InputError(f"{label}: an OBD binding needs a pid and no dbc/message/signal")
        if not isinstance(binding.pid, int) or binding.pid not in MODE_01_PIDS:
            known = ", ".join(f"0x{p:02X}" for p in sorted(MODE_01_PIDS))
            raise InputError(f"{label}: unknown service 01 PID {binding.pid!r}", hint=known)
    elif present & (_CAN_KEYS | {"pid"}) or (binding.scale, binding.offset) != (1.0, 0.0):
        raise InputError(
            f"{label}: a VSS binding takes no dbc, message, signal or pid, "
            "and no unit conversion (the value is already in VSS units)"
        )
