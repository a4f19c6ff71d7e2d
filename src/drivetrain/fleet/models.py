"""Records of the fleet registry: a vehicle and the software on its ECUs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class EcuSoftware:
    """A software version installed on one ECU (electronic control unit) of a vehicle."""

    ecu: str
    hardware_part: str
    software_version: str
    installed_at: datetime  # timezone-aware, UTC when read back


@dataclass(frozen=True, slots=True)
class VehicleRecord:
    """A registered vehicle.

    ``vehicle_id`` is the opaque pseudonymous key used in the lake (e.g.
    ``veh_3fa9c01b2e7d``); ``market`` is an ISO 3166-1 alpha-2 country code and
    ``region`` the governance region it belongs to (``eu``, ``us``, ``cn``…).
    ``registered_at`` is set by the registry when left ``None``.
    """

    vehicle_id: str
    vin: str
    brand: str
    model_id: str
    model_name: str
    model_year: int
    platform: str
    market: str
    region: str
    powertrain: str  # ice | hev | phev | bev
    software: tuple[EcuSoftware, ...] = ()
    registered_at: datetime | None = None
