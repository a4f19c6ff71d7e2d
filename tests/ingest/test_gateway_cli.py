"""From the command line: simulate --publish → broker → gateway run → lake, with campaigns."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drivetrain.cli.main import app
from drivetrain.governance import AuditLog
from drivetrain.lake import Lake

from .conftest import Broker

Run = Callable[..., dict[str, object]]


@pytest.fixture
def run(broker: Broker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``drivetrain --data-dir tmp_path … --json`` against this test's private broker."""
    monkeypatch.setenv("DRIVETRAIN_MQTT_PORT", str(broker.port))
    runner = CliRunner()

    def invoke(*args: str) -> dict[str, object]:
        result = runner.invoke(app, ["--data-dir", str(tmp_path), *args, "--json"])
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)  # type: ignore[no-any-return]

    return invoke


@pytest.mark.slow
def test_publish_then_gateway_run(run: Run, tmp_path: Path) -> None:
    run(
        "campaign",
        "create",
        "no-location",
        "--purpose",
        "vehicle_health",
        "--signal",
        "Vehicle.Speed",
        "--signal",
        "Vehicle.Powertrain.*",
    )
    run("gateway", "run", "--duration", "1")  # opens the persistent session
    published = run(
        "fleet",
        "simulate",
        "--publish",
        "--vehicles",
        "4",
        "--days",
        "1",
        "--model",
        "tesla-model-3",
        "--window",
        "120",
    )
    stats = run(
        "gateway",
        "run",
        "--max-messages",
        str(published["messages"]),
        "--duration",
        "60",
        "--batch-seconds",
        "0.5",
    )
    assert stats["received"] == published["messages"]
    stored = Lake(tmp_path / "lake").read("telemetry")
    signals = set(stored["signal"].to_pylist())
    assert "Vehicle.Speed" in signals
    assert not any(s.startswith("Vehicle.CurrentLocation") for s in signals)
    assert stored.num_rows == stats["stored_rows"]
    assert stats["dropped_rows"] > 0  # location and the rest, never stored
    runs = [e for e in AuditLog(tmp_path).entries() if e.kind == "ingest"]
    assert runs and runs[-1].details["stored_rows"] == stats["stored_rows"]


@pytest.mark.slow
def test_without_an_active_campaign_nothing_is_stored(run: Run) -> None:
    run("gateway", "run", "--duration", "1")
    published = run(
        "fleet",
        "simulate",
        "--publish",
        "--vehicles",
        "2",
        "--days",
        "1",
        "--model",
        "tesla-model-3",
        "--window",
        "600",
    )
    stats = run(
        "gateway",
        "run",
        "--max-messages",
        str(published["messages"]),
        "--duration",
        "60",
        "--batch-seconds",
        "0.5",
    )
    assert stats["received"] == published["messages"]
    assert stats["stored_rows"] == 0 and stats["dropped_rows"] > 0
