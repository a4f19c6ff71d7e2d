"""Importing the real COVESA VSS tree (../shared/data/vss) into a catalog."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from drivetrain.catalog import (
    categorise,
    import_vss,
    load_signal_catalog,
    use_imported_catalog,
    write_catalog,
)
from drivetrain.errors import InputError

VSS_DIR = Path(__file__).parents[2].parent / "shared/data/vss"
SPEC = VSS_DIR / "spec/VehicleSignalSpecification.vspec"
OBD = VSS_DIR / "overlays/extensions/OBD.vspec"


@pytest.fixture(scope="module")
def imported() -> dict[str, object]:
    if not SPEC.is_file():
        reason = f"the COVESA VSS tree is not at {VSS_DIR}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true, so this does not skip)")
        pytest.skip(reason)
    return {s.path: s for s in import_vss(SPEC, overlays=(OBD,))}


def test_the_whole_tree_with_its_instances_and_overlay(imported: dict[str, object]) -> None:
    assert len(imported) > 1000
    speed = imported["Vehicle.Speed"]
    assert (speed.unit, speed.datatype, speed.type) == ("km/h", "float", "sensor")  # type: ignore[attr-defined]
    lat = imported["Vehicle.CurrentLocation.Latitude"]
    assert (lat.min, lat.max, lat.category) == (-90.0, 90.0, "location")  # type: ignore[attr-defined]
    assert "Vehicle.Chassis.Axle.Row2.Wheel.Right.Tire.Pressure" in imported  # instances expanded
    assert "Vehicle.OBD.EngineLoad" in imported  # from the overlay
    vin = imported["Vehicle.VehicleIdentification.VIN"]
    assert (vin.type, vin.category) == ("attribute", "identity")  # type: ignore[attr-defined]
    assert {s.category for s in imported.values()} == {  # type: ignore[attr-defined]
        "technical",
        "location",
        "driving_behaviour",
        "identity",
        "cabin",
    }


def test_shipped_catalog_agrees_with_the_import(imported: dict[str, object]) -> None:
    for path, shipped in load_signal_catalog().items():
        got = imported[path]
        assert (got.unit, got.datatype, got.min, got.max) == (  # type: ignore[attr-defined]
            shipped.unit,
            shipped.datatype,
            shipped.min,
            shipped.max,
        ), path
        assert categorise(path) == shipped.category, path


def test_overrides_and_bad_categories() -> None:
    assert categorise("Vehicle.Speed") == "technical"
    assert (
        categorise("Vehicle.Speed", {"Vehicle.Speed": "driving_behaviour"}) == "driving_behaviour"
    )
    assert categorise("Vehicle.Cabin.Seat.Row1", {"Vehicle.Cabin": "technical"}) == "technical"
    assert categorise("Vehicle.SpeedX", {"Vehicle.Speed": "cabin"}) == "technical"  # prefix = node
    with pytest.raises(InputError, match="not a data category"):
        categorise("Vehicle.Speed", {"Vehicle": "secret"})


def test_broken_trees_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        import_vss(tmp_path / "missing.vspec")
    broken = tmp_path / "broken.vspec"
    broken.write_text("Vehicle:\n  type: branch\n  description: root\nVehicle.Speed:\n  type: [\n")
    with pytest.raises(InputError, match="does not load"):
        import_vss(broken)


def test_imported_catalog_extends_the_shipped_one(
    imported: dict[str, object], tmp_path: Path
) -> None:
    target = tmp_path / "vss_signals.json"
    write_catalog(list(imported.values()), target, source=str(SPEC))  # type: ignore[arg-type]
    shipped = len(load_signal_catalog())
    use_imported_catalog(target)
    try:
        assert len(load_signal_catalog()) == len(imported) > shipped
    finally:
        use_imported_catalog(None)
    assert len(load_signal_catalog()) == shipped


def test_cli_import_then_search(imported: dict[str, object], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from drivetrain.cli.main import app

    runner = CliRunner()
    base = ["--data-dir", str(tmp_path)]
    try:
        result = runner.invoke(
            app, [*base, "catalog", "import-vss", str(SPEC), "--overlay", str(OBD), "--json"]
        )
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["signals"] == len(imported)
        found = runner.invoke(app, [*base, "catalog", "search", "seat heating", "--json"])
        paths = [r["path"] for r in json.loads(found.stdout)]
        assert "Vehicle.Cabin.Seat.Row1.DriverSide.Seating.HeatingCooling" in paths
        assert all(r["category"] == "cabin" for r in json.loads(found.stdout))
    finally:
        use_imported_catalog(None)
