"""Diagnostic trouble codes the simulated vehicles set (SAE J2012 generic codes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from drivetrain.demo.dynamics import DayOutput
    from drivetrain.demo.fleet_block import FleetBlock

US = 1_000_000

# Unrelated codes that real fleets report now and then, per powertrain family.
BACKGROUND_ICE = ("P0420", "P0171", "P0442", "P0455", "P0506", "U0100")
BACKGROUND_BEV = ("U0100", "C0035", "P0AA6")
BACKGROUND_RATE = 0.004  # per trip

LV_LOW_VOLTS = 11.9
CELL_SPREAD_VOLTS = 0.10
COLD_ENGINE_C = 75.0


def ecu_of(dtc: str) -> str:
    """The module that typically reports a generic code."""
    if dtc.startswith("P0A"):
        return "BECM"
    return {"P": "ECM", "C": "ABS", "B": "BCM", "U": "GW"}[dtc[0]]


def trip_dtcs(
    rng: np.random.Generator,
    block: FleetBlock,
    day: DayOutput,
    trips: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """DTC events of the day: those the injected faults set, plus background noise."""
    tv, start, dur = trips["vehicle"], trips["start_us"], trips["duration"]
    f = block.faults
    n = len(tv)
    vehicles: list[np.ndarray] = []
    times: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    status: list[np.ndarray] = []

    def emit(mask: np.ndarray, code: np.ndarray | str, ts: np.ndarray, state: str) -> None:
        idx = np.flatnonzero(mask)
        vehicles.append(tv[idx])
        times.append(ts[idx])
        codes.append(np.broadcast_to(np.asarray(code, dtype=object), (n,))[idx])
        status.append(np.full(len(idx), state, dtype=object))

    lottery = rng.random((n, 4))
    mid = start + (dur * rng.uniform(0.2, 0.8, n)).astype(np.int64) * US
    misfire = f.active("misfire", start, tv) & (lottery[:, 0] < 0.7)
    emit(misfire, "P0300", mid, "confirmed")
    cylinder_codes = np.array([f"P030{c}" for c in f.cylinder[tv]], dtype=object)
    emit(misfire, cylinder_codes, mid + US, "confirmed")

    cold = f.active("thermostat_stuck_open", start, tv) & (dur > 900) & (lottery[:, 1] < 0.8)
    emit(cold, "P0128", start + 900 * US, "confirmed")

    first = np.searchsorted(day.trip, np.arange(n))
    key_on_v = day.signals["Vehicle.LowVoltageBattery.CurrentVoltage"][first]
    emit(
        f.has("lv_battery_degradation")[tv] & (key_on_v < LV_LOW_VOLTS), "P0562", start, "confirmed"
    )

    spread = (
        day.signals["Vehicle.Powertrain.TractionBattery.CellVoltage.Max"]
        - day.signals["Vehicle.Powertrain.TractionBattery.CellVoltage.Min"]
    )
    trip_spread = np.zeros(n)
    np.maximum.at(trip_spread, day.trip, spread)
    imbalanced = f.has("cell_imbalance")[tv] & (trip_spread > CELL_SPREAD_VOLTS)
    emit(imbalanced & (lottery[:, 2] < 0.8), "P0A7F", mid, "confirmed")

    noise = lottery[:, 3] < BACKGROUND_RATE
    bev = block.powertrain[tv] == 3
    pick = rng.integers(0, 1 << 30, n)
    background = np.where(
        bev,
        np.array(BACKGROUND_BEV, dtype=object)[pick % len(BACKGROUND_BEV)],
        np.array(BACKGROUND_ICE, dtype=object)[pick % len(BACKGROUND_ICE)],
    )
    emit(noise, background, mid, "pending")

    dtc = np.concatenate(codes) if codes else np.zeros(0, dtype=object)
    return {
        "vehicle": np.concatenate(vehicles),
        "ts_us": np.concatenate(times),
        "dtc": dtc,
        "ecu": np.array([ecu_of(c) for c in dtc], dtype=object),
        "status": np.concatenate(status),
    }
