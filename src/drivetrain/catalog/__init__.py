"""The signal catalog, vehicle models and their decoder manifests.

VSS signals (paths, units, data categories), the SAE J1979 PIDs and opendbc
DBC files that vehicles carry them in, and per-model manifests binding each
VSS path to its source with the unit conversion.
"""

from drivetrain.catalog.dbc import (
    CarrierLimits,
    DbcDatabase,
    DbcMessage,
    DbcSignal,
    DbcSyntaxError,
    DbcWarning,
    available_dbcs,
    carrier_limits,
    load_dbc,
    opendbc_source_files,
    quantise,
)
from drivetrain.catalog.models import (
    DataCategory,
    Powertrain,
    SignalBinding,
    SourceKind,
    VehicleModel,
    VssSignal,
)
from drivetrain.catalog.obd import MODE_01_PIDS, ObdPid, decode_pid, encode_pid, get_pid
from drivetrain.catalog.signals import (
    catalog_generation,
    get_signal,
    load_signal_catalog,
    use_imported_catalog,
)
from drivetrain.catalog.vehicle_models import (
    get_vehicle_model,
    load_vehicle_models,
    parse_manifest,
)
from drivetrain.catalog.vss_import import (
    DEFAULT_CATEGORY_RULES,
    categorise,
    import_vss,
    write_catalog,
)

__all__ = [
    "DEFAULT_CATEGORY_RULES",
    "MODE_01_PIDS",
    "CarrierLimits",
    "DataCategory",
    "DbcDatabase",
    "DbcMessage",
    "DbcSignal",
    "DbcSyntaxError",
    "DbcWarning",
    "ObdPid",
    "Powertrain",
    "SignalBinding",
    "SourceKind",
    "VehicleModel",
    "VssSignal",
    "available_dbcs",
    "carrier_limits",
    "catalog_generation",
    "categorise",
    "decode_pid",
    "encode_pid",
    "get_pid",
    "get_signal",
    "get_vehicle_model",
    "import_vss",
    "load_dbc",
    "load_signal_catalog",
    "load_vehicle_models",
    "opendbc_source_files",
    "parse_manifest",
    "quantise",
    "use_imported_catalog",
    "write_catalog",
]
