"""The fleet simulator: plausible multi-brand telemetry with injected, known faults."""

from drivetrain.demo.faults import FAULT_TYPES, FaultType, eligible_faults
from drivetrain.demo.run import prepare_demo_dir, run_simulation
from drivetrain.demo.simulator import SimulationConfig, SimulationReport, simulate_fleet

__all__ = [
    "FAULT_TYPES",
    "FaultType",
    "SimulationConfig",
    "SimulationReport",
    "eligible_faults",
    "prepare_demo_dir",
    "run_simulation",
    "simulate_fleet",
]
