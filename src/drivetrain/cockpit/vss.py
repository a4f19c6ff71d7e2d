"""The VSS leaves the in-car assistant reads and commands, with their types, ranges and values.

The assistant acts on the vehicle through COVESA VSS actuators
(``Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature``…) and answers from its
sensors (``Vehicle.Powertrain.Range``…). Which leaves those are is
:data:`COCKPIT_PATTERNS`; their datatype, unit, ``min``/``max`` and
``allowed`` values are VSS's own, extracted from the specification with
``vss-tools`` (:func:`extract`) and shipped as package data
(``data/cockpit_vss.json``), so an installed drivetrain needs no copy of the
spec. ``python -m drivetrain.cockpit.vss SPEC.vspec OUT.json LABEL [OVERLAY…]``
rebuilds the file from a newer spec (VSS 6 moved ``Vehicle.OBD`` to the overlay
``overlays/extensions/OBD.vspec``); a test checks the shipped file against the
spec it names.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from drivetrain.errors import InputError, NotFound

DATA_FILE = "cockpit_vss.json"

#: The leaves the assistant uses, as regular expressions over VSS paths.
COCKPIT_PATTERNS: tuple[str, ...] = (
    r"Vehicle\.Cabin\.HVAC\.Station\.Row[12]\.(Driver|Passenger)\.(Temperature|FanSpeed|AirDistribution)",
    r"Vehicle\.Cabin\.HVAC\.Is(AirConditioning|Recirculation|FrontDefroster|RearDefroster)Active",
    r"Vehicle\.Cabin\.Seat\.Row1\.(DriverSide|PassengerSide)\.(HeatingCooling|Massage\.Level|Position|Height|Backrest\.Recline)",
    r"Vehicle\.Cabin\.Door\.Row[12]\.(DriverSide|PassengerSide)\.(Window\.Position|IsLocked|IsOpen)",
    r"Vehicle\.Cabin\.Infotainment\.Media\.(Action|Volume|SelectedURI|Played\.(Source|Artist|Track|Album|Genre))",
    r"Vehicle\.Cabin\.Infotainment\.Navigation\.(DestinationSet\.(Latitude|Longitude)|Volume|Mute)",
    r"Vehicle\.Cabin\.Light\.AmbientLight\.Row1\.(DriverSide|PassengerSide)\.(IsLightOn|Intensity|Color)",
    r"Vehicle\.Cabin\.Light\.IsDomeOn",
    r"Vehicle\.Cabin\.Sunroof\.(Position|Switch)",
    r"Vehicle\.Powertrain\.(Range|TractionBattery\.(StateOfCharge\.(Current|Displayed)|Range|Charging\.(IsCharging|TimeToComplete))|FuelSystem\.(RelativeLevel|Range)|Transmission\.(CurrentGear|SelectedGear))",
    r"Vehicle\.Chassis\.Axle\.Row[12]\.Wheel\.(Left|Right)\.Tire\.Pressure",
    r"Vehicle\.Chassis\.ParkingBrake\.IsEngaged",
    r"Vehicle\.Speed",
    r"Vehicle\.Service\.(DistanceToService|TimeToService|IsServiceDue)",
    r"Vehicle\.OBD\.Status\.(IsMILOn|DTCCount)",
    r"Vehicle\.ADAS\.(CruiseControl|ABS|ESC|TCS|LaneDepartureDetection)\.IsEnabled",
    r"Vehicle\.Body\.(Trunk\.Rear\.IsOpen|Lights\.Beam\.(Low|High)\.IsOn|Windshield\.Front\.Wiping\.Mode)",
)
_MATCH = re.compile("|".join(f"(?:{p})" for p in COCKPIT_PATTERNS))


@dataclass(frozen=True, slots=True)
class CockpitSignal:
    """A VSS leaf as the assistant knows it: what it is, its type, range and allowed values."""

    path: str
    type: str  # sensor or actuator
    datatype: str
    unit: str | None
    min: float | None
    max: float | None
    allowed: tuple[str, ...]
    description: str

    @property
    def is_actuator(self) -> bool:
        return self.type == "actuator"


def extract(vspec: Path, overlays: tuple[Path, ...] = ()) -> list[CockpitSignal]:
    """The leaves of :data:`COCKPIT_PATTERNS` in the VSS tree at ``vspec`` (with ``overlays``)."""
    from anytree import PreOrderIter
    from vss_tools.main import get_trees

    for file in (vspec, *overlays):
        if not file.is_file():
            raise InputError(f"VSS file {file} does not exist", hint="pass the spec's root .vspec")
    folder = vspec.parent
    root, _ = get_trees(
        vspec,
        include_dirs=(folder,),
        quantities=tuple(p for p in (folder / "quantities.yaml",) if p.is_file()),
        units=tuple(p for p in (folder / "units.yaml",) if p.is_file()),
        overlays=overlays,
    )
    found = []
    for node in PreOrderIter(root):
        data = node.data
        kind = getattr(getattr(data, "type", None), "value", None)
        path = node.get_fqn()
        if kind not in {"sensor", "actuator"} or not _MATCH.fullmatch(path):
            continue
        allowed = getattr(data, "allowed", None)
        found.append(
            CockpitSignal(
                path=path,
                type=str(kind),
                datatype=str(getattr(data, "datatype", "") or ""),
                unit=getattr(data, "unit", None),
                min=_number(getattr(data, "min", None)),
                max=_number(getattr(data, "max", None)),
                allowed=tuple(str(a) for a in allowed) if isinstance(allowed, list) else (),
                description=str(getattr(data, "description", "") or ""),
            )
        )
    return found


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@cache
def cockpit_signals() -> dict[str, CockpitSignal]:
    """The shipped leaves, keyed by path."""
    text = resources.files("drivetrain.cockpit").joinpath("data", DATA_FILE).read_text("utf-8")
    rows = json.loads(text)["signals"]
    return {r["path"]: CockpitSignal(**{**r, "allowed": tuple(r["allowed"])}) for r in rows}


def cockpit_signal(path: str) -> CockpitSignal:
    """One shipped leaf; ``NotFound`` if the assistant does not know it."""
    try:
        return cockpit_signals()[path]
    except KeyError:
        raise NotFound(
            f"{path!r} is not a VSS leaf the assistant uses",
            hint="see drivetrain.cockpit.vss.COCKPIT_PATTERNS",
        ) from None


def write(signals: list[CockpitSignal], out: Path, source: str) -> None:
    """Write ``signals`` as the package-data file (sorted, one object per leaf)."""
    body = {
        "source": source,
        "patterns": list(COCKPIT_PATTERNS),
        "signals": [asdict(s) for s in sorted(signals, key=lambda s: s.path)],
    }
    out.write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    spec, target = Path(sys.argv[1]), Path(sys.argv[2])
    label = sys.argv[3] if len(sys.argv) > 3 else spec.name
    write(extract(spec, tuple(Path(a) for a in sys.argv[4:])), target, label)
    print(f"wrote {target}")
