"""drivetrain parts signal: warranty's alerts become the part demand the fleet foresees."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from drivetrain.catalog import load_vehicle_models
from drivetrain.cli.main import app
from drivetrain.demo.governance_tour import DEMO_PRINCIPALS
from drivetrain.demo.parts_generator import PartsConfig, generate_parts_network
from drivetrain.demo.warranty_generator import WarrantyConfig, generate_warranty
from drivetrain.lake import Lake

PER_MODEL_MONTH = "100"
AS_OF = date(2024, 9, 30)


def _run(data: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--data-dir", str(data), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("signal") / "data"
    data.mkdir()
    (data / "principals.toml").write_text(DEMO_PRINCIPALS)
    export = data.parent / "warranty"
    steps = [
        ("warranty", "simulate", "--out", str(export), "--per-model-month", PER_MODEL_MONTH),
        ("warranty", "import", str(export / "production.csv"), "--production"),
        ("warranty", "import", str(export / "claims.csv")),
        ("parts", "simulate", "--per-model-month", PER_MODEL_MONTH, "--no-defect-signal"),
    ]
    for step in steps:
        code, _, err = _run(data, *step)
        assert code == 0, err
    return data


def _signal(data: Path) -> pl.DataFrame:
    frame = pl.from_arrow(Lake(data / "lake").read("parts_fleet_signal"))
    assert isinstance(frame, pl.DataFrame)
    return frame


@pytest.mark.slow
def test_the_thermostat_alert_foresees_the_rest_of_the_wave_at_the_tipo_dealers(
    data: Path,
) -> None:
    code, out, err = _run(data, "parts", "signal", "--as", "parts", "--warranty-as", "warranty",
                          "--as-of", AS_OF.isoformat(), "--json")  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["alerts"] >= 1 and result["unplaced_markets"] == []
    rows = _signal(data).filter(pl.col("source") == "warranty")
    assert rows.height == result["rows"] > 0
    assert set(rows["issued"]) == {date(2024, 9, 1)}
    assert rows["month"].min() == date(2024, 10, 1) and rows["month"].max() == date(2025, 9, 1)
    assert ((rows["variance"] >= 0) & (rows["expected"] >= 0)).all()
    thermostat = rows.filter(pl.col("part_number") == "TH-1004")
    markets = load_vehicle_models()["fiat-tipo"].markets
    assert all(loc.split("-")[1] in markets and loc.startswith("DLR-") for loc in thermostat["location_id"])  # fmt: skip
    # what the network really issued for the defect over those months (the simulator's truth)
    history = generate_warranty(WarrantyConfig(per_model_month=int(PER_MODEL_MONTH)))
    truth = generate_parts_network(history, PartsConfig(defect_known_from=None)).truth
    wave = truth.filter(
        (pl.col("part_number") == "TH-1004") & (pl.col("cause") == "defect")
        & pl.col("month").is_between(date(2024, 10, 1), date(2025, 9, 1))
    )["quantity"].sum()  # fmt: skip
    foreseen = thermostat["expected"].sum()
    # 15 claims in: the fits disagree, and the forecast is within a factor of 3 of the truth
    assert wave / 3 < foreseen < 3 * wave
    # the planner's signal as known in October 2024 holds it, on top of the simulator's
    from drivetrain.governance.access import AccessContext
    from drivetrain.governance.principals import principal_named
    from drivetrain.parts.data import load_parts_data, signal_series

    planner = AccessContext(principal_named(data / "principals.toml", "parts"), "parts_planning")
    composite = signal_series(load_parts_data(Lake(data / "lake"), planner))
    at = composite.filter(pl.col("issued") == date(2024, 9, 1))
    own = at.filter(pl.col("unique_id").str.starts_with("TH-1004@DLR-"))["expected"].sum()
    earlier = composite.filter(pl.col("issued") < date(2024, 9, 1))["issued"].max()
    before = composite.filter(pl.col("issued") == earlier)
    sim = before.filter(pl.col("unique_id").str.starts_with("TH-1004@DLR-"), pl.col("ds") >= date(2024, 10, 1))["expected"].sum()  # fmt: skip
    sim_after = at.filter(pl.col("unique_id").str.starts_with("TH-1004@DLR-"), pl.col("ds") >= date(2024, 10, 1))["expected"].sum()  # fmt: skip
    assert own > 0 and sim_after == pytest.approx(sim + foreseen, rel=1e-6)


@pytest.mark.slow
def test_a_day_without_alerts_stores_nothing(data: Path) -> None:
    before = _signal(data).height
    code, out, err = _run(data, "parts", "signal", "--as", "parts", "--warranty-as", "warranty",
                          "--as-of", "2023-11-30")  # fmt: skip
    assert code == 0, err
    assert "alerts: 0" in out
    assert _signal(data).height == before


@pytest.fixture(scope="module")
def connected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A connected fleet with telemetry (for vehicle health) and a simulated parts network."""
    data = tmp_path_factory.mktemp("health") / "data"
    data.mkdir()
    (data / "principals.toml").write_text(DEMO_PRINCIPALS)
    for step in (("fleet", "simulate", "--vehicles", "12", "--days", "10"),
                 ("parts", "simulate", "--per-model-month", "60")):  # fmt: skip
        code, _, err = _run(data, *step)
        assert code == 0, err
    return data


@pytest.mark.slow
def test_due_wear_items_become_their_fitted_parts_at_the_vehicles_dealers(connected: Path) -> None:
    from scipy.stats import norm

    from drivetrain.fleet import list_vehicles
    from drivetrain.governance.access import AccessContext
    from drivetrain.governance.principals import principal_named
    from drivetrain.health.scan import fleet_scan
    from drivetrain.settings import Settings
    from drivetrain.state import session_scope

    code, out, err = _run(connected, "parts", "signal", "--as", "parts", "--health-as",
                          "fleet-health", "--json")  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    rows = _signal(connected).filter(pl.col("source") == "health")
    assert rows.height == result["rows"] > 0
    # the reference: the scan's due items, each a normal due day (scipy), fitted to parts
    settings = Settings(data_dir=connected)
    with session_scope(settings.resolved_state_url) as session:
        fleet = list_vehicles(session)
    who = AccessContext(principal_named(connected / "principals.toml", "fleet-health"), "vehicle_health")  # fmt: skip
    wear = fleet_scan(Lake(connected / "lake"), who, fleet).wear
    fitment = pl.from_arrow(Lake(connected / "lake").read("parts_fitment"))
    assert isinstance(fitment, pl.DataFrame)
    models = {v.vehicle_id: v.model_id for v in fleet}
    expected: dict[str, float] = {}
    for r in wear.filter(pl.col("status").is_in(["trend", "at_limit"])).iter_rows(named=True):
        part = fitment.filter(pl.col("model_id") == models[r["vehicle_id"]], pl.col("service_item") == r["item"])  # fmt: skip
        if part.is_empty():
            continue
        # remaining life caps at 365 days ("a year or more"): beyond the horizon
        low, high = (730.0 if (v := r[k] if r[k] is not None else r["days_left"]) >= 365 else v for k in ("days_left_low", "days_left_high"))  # fmt: skip
        sd = (high - low) / (2 * norm.ppf(0.95))
        as_of = r["as_of"]
        end = (date(as_of.year + 1, as_of.month, 1) - as_of).days  # the horizon: 12 months
        mean = 730.0 if r["days_left"] >= 365 else r["days_left"]
        p = 1.0 if sd == 0 and mean < end else (norm.cdf(end, mean, sd) if sd > 0 else 0.0)
        number = part["part_number"][0]
        expected[number] = expected.get(number, 0.0) + p * part["quantity"][0]
    stored = dict(rows.group_by("part_number").agg(pl.col("expected").sum()).iter_rows())
    assert set(stored) == {k for k, v in expected.items() if v > 1e-6}
    for number, units in expected.items():
        if units > 1e-6:
            assert stored[number] == pytest.approx(units, rel=1e-3, abs=1e-3), number
    assert set(rows["issued"]) == {wear["as_of"].max().replace(day=1)}  # type: ignore[union-attr]


@pytest.mark.slow
def test_a_signal_needs_a_source_and_health_needs_the_fitment(connected: Path) -> None:
    code, _, err = _run(connected, "parts", "signal", "--as", "parts")
    assert code == 65 and "--health-as" in err
