"""Import a full COVESA VSS tree (with an OEM's overlays) into a signal catalog.

The tree is read with ``vss-tools`` — the reference implementation of the
VSS toolchain — so ``#include``, instances (``Row1``…, ``Left``/``Right``),
overlays, units and quantities behave exactly as in the standard. Every
sensor, actuator and attribute becomes a :class:`VssSignal` with a data
category from :data:`DEFAULT_CATEGORY_RULES`, which the user can override per
path prefix (``category_overrides`` in ``drivetrain.toml``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import get_args

from drivetrain.catalog.models import DataCategory, VssSignal
from drivetrain.errors import InputError

# First matching prefix wins; the default is "technical". Order from specific to general.
DEFAULT_CATEGORY_RULES: tuple[tuple[str, DataCategory], ...] = (
    ("Vehicle.CurrentLocation", "location"),
    ("Vehicle.Cabin.Infotainment.Navigation", "location"),
    ("Vehicle.VehicleIdentification", "identity"),
    ("Vehicle.Occupant", "identity"),
    ("Vehicle.Driver", "driving_behaviour"),
    ("Vehicle.Chassis.Accelerator", "driving_behaviour"),
    ("Vehicle.Chassis.Brake.PedalPosition", "driving_behaviour"),
    ("Vehicle.Chassis.SteeringWheel", "driving_behaviour"),
    ("Vehicle.Acceleration", "driving_behaviour"),
    ("Vehicle.AngularVelocity", "driving_behaviour"),
    ("Vehicle.Cabin", "cabin"),
)
_CATEGORIES = frozenset(get_args(DataCategory))
_LEAF_TYPES = {"sensor", "actuator", "attribute"}


def categorise(path: str, overrides: Mapping[str, str] | None = None) -> DataCategory:
    """The data category of ``path``: the longest matching override, else the default rules."""
    for prefix, category in sorted((overrides or {}).items(), key=lambda kv: -len(kv[0])):
        if path == prefix or path.startswith(prefix + "."):
            if category not in _CATEGORIES:
                raise InputError(
                    f"category override {prefix!r} = {category!r} is not a data category",
                    hint=f"use one of {', '.join(sorted(_CATEGORIES))}",
                )
            return category  # type: ignore[return-value]
    for prefix, category in DEFAULT_CATEGORY_RULES:
        if path == prefix or path.startswith(prefix + "."):
            return category
    return "technical"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def import_vss(
    vspec: Path,
    *,
    overlays: Sequence[Path] = (),
    include_dirs: Sequence[Path] = (),
    overrides: Mapping[str, str] | None = None,
) -> list[VssSignal]:
    """Every leaf of the VSS tree rooted at ``vspec`` (plus ``overlays``), as catalog signals.

    ``units.yaml`` and ``quantities.yaml`` next to ``vspec`` are used when present.
    """
    from anytree import PreOrderIter
    from vss_tools.main import get_trees

    for path in (vspec, *overlays):
        if not path.is_file():
            raise InputError(f"VSS file {path} does not exist")
    root_dir = vspec.parent
    units = tuple(p for p in (root_dir / "units.yaml",) if p.is_file())
    quantities = tuple(p for p in (root_dir / "quantities.yaml",) if p.is_file())
    collector = _Collect()
    vss_log = logging.getLogger("vss_tools")
    vss_log.addHandler(collector)
    level = vss_log.level
    vss_log.setLevel(logging.WARNING)  # its INFO progress lines are not for our users
    try:
        root, _ = get_trees(
            vspec,
            include_dirs=(root_dir, *include_dirs),
            quantities=quantities,
            units=units,
            overlays=tuple(overlays),
        )
    except SystemExit:  # vss-tools exits after logging what is wrong
        raise InputError(
            f"the VSS tree {vspec} does not load: {'; '.join(collector.messages) or 'see log'}",
            hint="check the .vspec files and overlays with 'vspec export csv'",
        ) from None
    except Exception as exc:
        raise InputError(f"the VSS tree {vspec} does not load: {exc}") from exc
    finally:
        vss_log.removeHandler(collector)
        vss_log.setLevel(level)
    signals = []
    for node in PreOrderIter(root):
        data = node.data
        kind = getattr(getattr(data, "type", None), "value", None)
        if kind not in _LEAF_TYPES:
            continue
        path = node.get_fqn()
        signals.append(
            VssSignal(
                path=path,
                type=kind,
                datatype=str(getattr(data, "datatype", "") or ""),
                unit=getattr(data, "unit", None),
                min=_number(getattr(data, "min", None)),
                max=_number(getattr(data, "max", None)),
                description=str(getattr(data, "description", "") or ""),
                category=categorise(path, overrides),
            )
        )
    return signals


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def write_catalog(signals: Sequence[VssSignal], path: Path, *, source: str) -> None:
    """Write ``signals`` as a catalog file (the format of the shipped catalog), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    document = {"source": source, "signals": [asdict(s) for s in signals]}
    tmp.write_text(json.dumps(document, indent=1), encoding="utf-8")
    tmp.replace(path)
