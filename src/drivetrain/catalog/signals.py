"""The signal catalog: the COVESA VSS leaves drivetrain knows, with units and data category.

The catalog ships as package data (``data/vss_signals.json``) so it is readable
from an installed wheel. Units, datatypes and limits are those of VSS itself.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, get_args

from drivetrain.catalog.models import DataCategory, VssSignal
from drivetrain.errors import ConfigError, NotFound

_CATALOG_FILE = "vss_signals.json"
_imported: Path | None = None
_generation = 0
_CATEGORIES = frozenset(get_args(DataCategory))


def load_signal_catalog() -> dict[str, VssSignal]:
    """Every VSS signal of the catalog, keyed by its path."""
    return dict(_catalog())


def get_signal(path: str) -> VssSignal:
    """The catalog entry of one VSS path; ``NotFound`` names the closest known paths."""
    catalog = _catalog()
    try:
        return catalog[path]
    except KeyError:
        close = difflib.get_close_matches(path, list(catalog), n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else "see `load_signal_catalog()`"
        raise NotFound(f"VSS signal {path!r} is not in the signal catalog", hint=hint) from None


def use_imported_catalog(path: Path | None) -> None:
    """Add the signals of an imported catalog file (``catalog import-vss``) to the catalog.

    Imported entries extend the shipped catalog and replace shipped entries of
    the same path. ``None`` goes back to the shipped catalog alone.
    """
    global _imported, _generation
    if path != _imported:
        _imported = path
        _generation += 1
        _catalog.cache_clear()


def catalog_generation() -> int:
    """A number that changes whenever the catalog in use changes (for callers' caches)."""
    return _generation


@cache
def _catalog() -> dict[str, VssSignal]:
    source = resources.files("drivetrain.catalog").joinpath("data", _CATALOG_FILE)
    signals = _read(source.read_text, _CATALOG_FILE, "reinstall drivetrain; it is package data")
    if _imported is not None:
        path = _imported
        signals |= _read(
            lambda encoding: path.read_text(encoding=encoding),
            str(path),
            "import it again with 'drivetrain catalog import-vss'",
        )
    return signals


def _read(read_text: Any, name: str, hint: str) -> dict[str, VssSignal]:
    try:
        document = json.loads(read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read the signal catalog {name}: {exc}", hint=hint) from exc
    signals: dict[str, VssSignal] = {}
    for index, entry in enumerate(document.get("signals", [])):
        signal = _signal_from_json(entry, index)
        if signal.path in signals:
            raise ConfigError(f"{name}: signal {signal.path!r} is listed twice")
        signals[signal.path] = signal
    return signals


def _signal_from_json(entry: dict[str, Any], index: int) -> VssSignal:
    where = f"{_CATALOG_FILE}, signal #{index} ({entry.get('path', '?')})"
    try:
        category = entry["category"]
        if category not in _CATEGORIES:
            raise ConfigError(
                f"{where}: unknown data category {category!r}",
                hint=f"use one of {', '.join(sorted(_CATEGORIES))}",
            )
        return VssSignal(
            path=str(entry["path"]),
            type=str(entry["type"]),
            datatype=str(entry["datatype"]),
            unit=None if entry["unit"] is None else str(entry["unit"]),
            min=None if entry["min"] is None else float(entry["min"]),
            max=None if entry["max"] is None else float(entry["max"]),
            description=str(entry["description"]),
            category=category,
        )
    except KeyError as exc:
        raise ConfigError(f"{where}: missing field {exc.args[0]!r}") from exc
