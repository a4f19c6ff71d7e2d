"""The signal catalog: the COVESA VSS leaves drivetrain knows, with units and data category.

The catalog ships as package data (``data/vss_signals.json``) so it is readable
from an installed wheel. Units, datatypes and limits are those of VSS itself.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib import resources
from typing import Any, get_args

from drivetrain.catalog.models import DataCategory, VssSignal
from drivetrain.errors import ConfigError, NotFound

_CATALOG_FILE = "vss_signals.json"
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


@cache
def _catalog() -> dict[str, VssSignal]:
    source = resources.files("drivetrain.catalog").joinpath("data", _CATALOG_FILE)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"cannot read the signal catalog {_CATALOG_FILE}: {exc}",
            hint="reinstall drivetrain; the catalog is package data",
        ) from exc
    signals: dict[str, VssSignal] = {}
    for index, entry in enumerate(document.get("signals", [])):
        signal = _signal_from_json(entry, index)
        if signal.path in signals:
            raise ConfigError(f"{_CATALOG_FILE}: signal {signal.path!r} is listed twice")
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
