"""Catalog records: VSS signals, their bindings to vehicle sources, vehicle models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

DataCategory = Literal["technical", "location", "driving_behaviour", "identity", "cabin"]
Powertrain = Literal["ice", "hev", "phev", "bev"]
SourceKind = Literal["can", "obd", "vss"]


@dataclass(frozen=True, slots=True)
class VssSignal:
    """One leaf of the COVESA VSS tree as drivetrain uses it (units as in VSS)."""

    path: str
    type: str
    datatype: str
    unit: str | None
    min: float | None
    max: float | None
    description: str
    category: DataCategory


@dataclass(frozen=True, slots=True)
class SignalBinding:
    """Where a vehicle model gets one VSS signal from.

    ``source`` is ``can`` (a DBC message/signal), ``obd`` (an SAE J1979 mode 01
    PID) or ``vss`` (the model's telematics unit reports the VSS path natively).
    The VSS value is ``source_value * scale + offset``: the unit conversion.
    """

    vss: str
    source: SourceKind
    dbc: str | None = None
    message: str | None = None
    signal: str | None = None
    pid: int | None = None
    scale: float = 1.0
    offset: float = 0.0
    note: str = ""


@dataclass(frozen=True, slots=True)
class VehicleModel:
    """A vehicle model and its decoder manifest (the bindings of its signals)."""

    id: str
    brand: str
    oem_group: str
    name: str
    platform: str
    powertrain: Powertrain
    model_years: tuple[int, int]
    markets: tuple[str, ...]
    wmi: str
    bindings: tuple[SignalBinding, ...] = field(default_factory=tuple)
    battery_net_kwh: float | None = None  # usable traction battery when new (VSS NetCapacity)

    @property
    def signals(self) -> tuple[str, ...]:
        """VSS paths this model can report."""
        return tuple(b.vss for b in self.bindings)

    @property
    def dbc_files(self) -> tuple[str, ...]:
        return tuple(sorted({b.dbc for b in self.bindings if b.dbc}))

    def binding(self, vss_path: str) -> SignalBinding | None:
        return next((b for b in self.bindings if b.vss == vss_path), None)
