"""Check a vehicle model's decoder manifest against its DBC files and the VSS catalog.

``check_manifest`` reports, for one model:

- **range findings** per binding: where the carrier (CAN signal through its DBC
  factor/offset, or OBD-II PID through its formula), converted to VSS units,
  reaches outside the VSS signal's min/max (decoded values there would be
  quarantined), or cannot reach all of it (values saturate);
- **unmapped DBC signals**: physical signals of the messages the manifest
  already reads that no binding maps to VSS (candidates for new bindings);
- **catalog signals not reported** by the model (coverage gaps).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivetrain.catalog.dbc import load_dbc
from drivetrain.catalog.models import SignalBinding, VehicleModel
from drivetrain.catalog.obd import get_pid
from drivetrain.catalog.signals import get_signal, load_signal_catalog


@dataclass(frozen=True, slots=True)
class RangeFinding:
    """A binding whose carrier range and VSS range disagree."""

    vss: str
    carrier: str
    carrier_min: float
    carrier_max: float
    vss_min: float | None
    vss_max: float | None
    problem: str


@dataclass(slots=True)
class ManifestReport:
    """The findings of :func:`check_manifest`."""

    model_id: str
    bindings: int
    ranges: list[RangeFinding] = field(default_factory=list)
    unmapped_dbc_signals: list[str] = field(default_factory=list)
    unreported_catalog_signals: list[str] = field(default_factory=list)


def _carrier_range(binding: SignalBinding) -> tuple[str, float, float] | None:
    if binding.source == "can" and binding.dbc and binding.message and binding.signal:
        sig = load_dbc(binding.dbc).signal(binding.message, binding.signal)
        lo, hi = sig.raw_range
        factor, offset = sig.factor, sig.offset
        name = f"{binding.dbc}:{binding.message}.{binding.signal}"
    elif binding.source == "obd" and binding.pid is not None:
        pid = get_pid(binding.pid)
        lo, hi = pid.raw_range
        factor, offset = pid.scale, pid.offset
        name = f"OBD-II PID 0x{binding.pid:02X}"
    else:
        return None
    ends = sorted((raw * factor + offset) * binding.scale + binding.offset for raw in (lo, hi))
    return name, ends[0], ends[1]


def check_manifest(model: VehicleModel) -> ManifestReport:
    """Range findings, unmapped DBC signals and coverage gaps of ``model``'s manifest."""
    report = ManifestReport(model.id, len(model.bindings))
    for binding in model.bindings:
        carrier = _carrier_range(binding)
        if carrier is None:
            continue
        name, lo, hi = carrier
        vss = get_signal(binding.vss)
        problems = []
        if vss.min is not None and lo < vss.min:
            problems.append(f"carrier reaches {lo:g}, below the VSS minimum {vss.min:g}")
        if vss.max is not None and hi > vss.max:
            problems.append(f"carrier reaches {hi:g}, above the VSS maximum {vss.max:g}")
        if vss.min is not None and lo > vss.min:
            problems.append(f"carrier cannot go below {lo:g} (VSS minimum {vss.min:g})")
        if vss.max is not None and hi < vss.max:
            problems.append(f"carrier cannot go above {hi:g} (VSS maximum {vss.max:g})")
        for problem in problems:
            report.ranges.append(RangeFinding(binding.vss, name, lo, hi, vss.min, vss.max, problem))
    for dbc_name in model.dbc_files:
        db = load_dbc(dbc_name)
        read = {
            (b.message, b.signal) for b in model.bindings if b.source == "can" and b.dbc == dbc_name
        }
        for message_name in sorted({m for m, _ in read if m}):
            message = db.message(message_name)
            for sig in message.signals.values():
                if sig.kind == "physical" and (message_name, sig.name) not in read:
                    report.unmapped_dbc_signals.append(f"{dbc_name}:{message_name}.{sig.name}")
    reported = set(model.signals)
    report.unreported_catalog_signals = sorted(set(load_signal_catalog()) - reported)
    return report
