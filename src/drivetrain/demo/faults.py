"""Faults the simulator injects, with the ground truth kept for evaluation.

A fault is only injected into a vehicle whose model reports every signal the
fault shows up in, so that each injected fault is observable in the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drivetrain.catalog import VehicleModel

FL = "Vehicle.Chassis.Axle.Row1.Wheel.Left"


@dataclass(frozen=True, slots=True)
class FaultType:
    """A failure mode: the signals it shows up in and the DTCs it sets (SAE J2012)."""

    name: str
    description: str
    affected_signals: tuple[str, ...]
    expected_dtcs: tuple[str, ...]
    powertrains: tuple[str, ...]


FAULT_TYPES: tuple[FaultType, ...] = (
    FaultType(
        "thermostat_stuck_open",
        "Coolant thermostat stuck open: the engine never reaches regulating temperature.",
        ("Vehicle.Powertrain.CombustionEngine.EngineCoolant.Temperature",),
        ("P0128",),
        ("ice", "hev", "phev"),
    ),
    FaultType(
        "misfire",
        "Ignition misfire on one cylinder: rough running, unsteady engine speed.",
        ("Vehicle.Powertrain.CombustionEngine.Speed",),
        ("P0300", "P030X"),  # X = the misfiring cylinder, filled in per vehicle
        ("ice", "hev", "phev"),
    ),
    FaultType(
        "lv_battery_degradation",
        "12 V battery losing capacity: resting and cranking voltage fall day by day.",
        ("Vehicle.LowVoltageBattery.CurrentVoltage",),
        ("P0562",),
        ("ice", "hev", "phev", "bev"),
    ),
    FaultType(
        "slow_tyre_leak",
        "Slow puncture of the front-left tyre: pressure falls a few kPa a day.",
        (f"{FL}.Tire.Pressure",),
        (),
        ("ice", "hev", "phev", "bev"),
    ),
    FaultType(
        "cell_imbalance",
        "Traction battery cell imbalance: the min–max cell voltage spread grows.",
        (
            "Vehicle.Powertrain.TractionBattery.CellVoltage.Min",
            "Vehicle.Powertrain.TractionBattery.CellVoltage.Max",
        ),
        ("P0A7F",),
        ("bev", "phev"),
    ),
    FaultType(
        "brake_wear",
        "Sticking front-left caliper: that pad wears several times faster.",
        (f"{FL}.Brake.PadWear",),
        (),
        ("ice", "hev", "phev", "bev"),
    ),
)

FAULTS_BY_NAME = {f.name: f for f in FAULT_TYPES}


def eligible_faults(model: VehicleModel) -> list[FaultType]:
    """Fault types observable on ``model``: right powertrain and every affected signal bound."""
    carried = set(model.signals)
    return [
        f
        for f in FAULT_TYPES
        if model.powertrain in f.powertrains and set(f.affected_signals) <= carried
    ]


@dataclass(frozen=True, slots=True)
class FaultAssignment:
    """Per-vehicle fault arrays: index into FAULT_TYPES (-1 none), onset, severity, cylinder."""

    kind: np.ndarray  # int16
    onset_us: np.ndarray  # int64, µs since epoch
    severity: np.ndarray  # float64 in [0.5, 1.5]
    cylinder: np.ndarray  # int8, 1-based, misfire only

    def has(self, name: str) -> np.ndarray:
        return np.asarray(self.kind == _index(name))

    def active(self, name: str, ts_us: np.ndarray, vehicle: np.ndarray) -> np.ndarray:
        """Mask of samples (vehicle index, time) at which fault ``name`` is active."""
        return np.asarray(self.has(name)[vehicle] & (ts_us >= self.onset_us[vehicle]))

    def days_active(self, name: str, ts_us: np.ndarray, vehicle: np.ndarray) -> np.ndarray:
        """Days since onset where fault ``name`` is active, else 0."""
        days = (ts_us - self.onset_us[vehicle]) / 86_400e6
        return np.where(self.active(name, ts_us, vehicle), days, 0.0)


def _index(name: str) -> int:
    return next(i for i, f in enumerate(FAULT_TYPES) if f.name == name)


def assign_faults(
    rng: np.random.Generator,
    models: list[VehicleModel],
    model_index: np.ndarray,
    start_us: int,
    days: int,
    fault_rate: float,
) -> FaultAssignment:
    """Pick which vehicles get which fault and when it starts.

    About ``fault_rate`` of the vehicles get one fault each, chosen among the
    faults their model can show; onsets fall in the first 70 % of the period so
    there is data both before and after.
    """
    n = len(model_index)
    kind = np.full(n, -1, dtype=np.int16)
    choose = rng.random(n) < fault_rate
    eligible = [[_index(f.name) for f in eligible_faults(m)] for m in models]
    # Weight each fault by 1 / (models that can show it) so rare-signal faults
    # (cell imbalance, brake wear) are injected about as often as common ones.
    reach = np.bincount([k for options in eligible for k in options], minlength=len(FAULT_TYPES))
    for v in np.flatnonzero(choose):
        options = eligible[model_index[v]]
        if options:
            weights = 1.0 / reach[options]
            kind[v] = options[rng.choice(len(options), p=weights / weights.sum())]
    onset_span = max(1, int(days * 0.7 * 86_400))
    onset = start_us + rng.integers(int(0.1 * days * 86_400), onset_span + 1, n) * 1_000_000
    severity = rng.uniform(0.5, 1.5, n)
    cylinder = rng.integers(1, 5, n).astype(np.int8)
    return FaultAssignment(kind, onset.astype(np.int64), severity, cylinder)
