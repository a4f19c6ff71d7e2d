"""The shipped signal catalog, checked against the real COVESA VSS tree."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from drivetrain.catalog import VssSignal, get_signal, load_signal_catalog
from drivetrain.errors import NotFound

VSS_DIR = Path(__file__).parents[2].parent / "shared/data/vss"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(reason: str) -> None:
    """Skip locally; in CI a missing prerequisite is a failure, not a silent skip."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true, so this does not skip)")
    pytest.skip(reason)


def _vspec_command() -> str | None:
    beside_python = Path(sys.executable).with_name("vspec")
    return str(beside_python) if beside_python.exists() else shutil.which("vspec")


@pytest.fixture(scope="module")
def vss_tree(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """The VSS tree with the OBD overlay, exported to CSV by vss-tools, by path."""
    spec = VSS_DIR / "spec"
    if not (spec / "VehicleSignalSpecification.vspec").exists():
        _unavailable(f"the COVESA VSS tree is not at {VSS_DIR}")
    vspec = _vspec_command()
    if vspec is None:
        _unavailable("vss-tools is not installed (`pip install vss-tools` gives `vspec`)")
    assert vspec is not None
    overlay = VSS_DIR / "overlays/extensions/OBD.vspec"
    out = tmp_path_factory.mktemp("vss") / "vss.csv"
    command = [vspec, "export", "csv", "-u", "units.yaml", "-q", "quantities.yaml"]
    command += ["-s", "VehicleSignalSpecification.vspec", "-l", str(overlay), "-o", str(out)]
    done = subprocess.run(
        command, check=False, cwd=spec, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with out.open(newline="", encoding="utf-8") as f:
        return {row["Signal"]: row for row in csv.DictReader(f)}


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


def test_catalog_has_the_simulator_signals() -> None:
    catalog = load_signal_catalog()
    assert len(catalog) == 33
    assert catalog["Vehicle.Powertrain.TractionBattery.AccumulatedConsumedEnergy"].unit == "kWh"
    assert all(path == s.path and path.startswith("Vehicle.") for path, s in catalog.items())
    assert catalog["Vehicle.CurrentLocation.Latitude"].category == "location"
    assert catalog["Vehicle.Speed"].unit == "km/h"


def test_load_signal_catalog_returns_a_copy() -> None:
    load_signal_catalog().clear()
    assert "Vehicle.Speed" in load_signal_catalog()


def test_get_signal_and_not_found_hint() -> None:
    assert get_signal("Vehicle.TraveledDistance").unit == "m"
    with pytest.raises(NotFound, match=r"Vehicle\.Sped") as info:
        get_signal("Vehicle.Sped")
    assert "Vehicle.Speed" in str(info.value.hint)


@pytest.mark.parametrize("signal", list(load_signal_catalog().values()), ids=lambda s: s.path)
def test_catalog_agrees_with_the_vss_tree(
    signal: VssSignal, vss_tree: dict[str, dict[str, str]]
) -> None:
    row = vss_tree.get(signal.path)
    assert row is not None, f"{signal.path} is not a path of the VSS tree"
    assert row["Type"] == signal.type
    assert row["DataType"] == signal.datatype
    assert (row["Unit"] or None) == signal.unit
    assert _number(row["Min"]) == signal.min
    assert _number(row["Max"]) == signal.max
    assert row["Desc"] == signal.description
