"""Raw CAN frames over MQTT (candump lines on vehicles/{id}/can) through the gateway."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pyarrow.compute as pc

from drivetrain.catalog import load_vehicle_models
from drivetrain.demo import SimulationConfig, simulate_fleet
from drivetrain.demo.can_export import can_frames
from drivetrain.ingest.can_logs import candump_lines
from drivetrain.ingest.can_payload import can_payload_decoder
from drivetrain.ingest.gateway import Gateway
from drivetrain.lake import Lake

from .conftest import Broker
from .test_gateway import config, publish


def test_candump_payloads_are_decoded_with_the_vehicles_dbc(broker: Broker, tmp_path: Path) -> None:
    source = Lake(tmp_path / "source")
    report = simulate_fleet(
        SimulationConfig(
            vehicles=6, days=1, seed=9, models=("hyundai-i30",), start=date(2026, 4, 6)
        ),
        source,
    )
    vehicle = report.vehicles[0].vehicle_id
    model = load_vehicle_models()["hyundai-i30"]
    tel = source.read("telemetry", filter=pc.field("vehicle_id") == vehicle)
    lines = candump_lines(can_frames(tel, model))
    batches = [lines[i : i + 200] for i in range(0, len(lines), 200)]
    messages = [(f"vehicles/{vehicle}/can", "\n".join(b).encode()) for b in batches]
    messages.append((f"vehicles/{vehicle}/can", b"(1700000000.000001) can0 7AB#01\nrubbish"))
    messages.append(("vehicles/veh_unregistered/can", lines[0].encode()))

    lake = Lake(tmp_path / "lake")
    decoders = {"can": can_payload_decoder({vehicle: model})}
    with Gateway(lake, config(broker, kinds=("can",)), decoders=decoders) as gateway:
        gateway.open()
        publish(broker.port, messages)
        stats = gateway.run(max_messages=len(messages), duration_s=30)
    assert stats.received == len(messages)

    cols = ["ts", "signal", "value"]
    original = pl.from_arrow(tel.select(cols))
    stored = pl.from_arrow(lake.read("telemetry").select(cols))
    assert isinstance(original, pl.DataFrame) and isinstance(stored, pl.DataFrame)
    joined = original.join(stored, on=["ts", "signal"], how="full", suffix="_back")
    assert joined["value"].null_count() == 0 and joined["value_back"].null_count() == 0
    error = (joined["value"] - joined["value_back"]).abs()
    assert (error <= 1e-9 * joined["value"].abs().clip(lower_bound=1.0)).all()

    reasons = sorted(lake.read("quarantine")["reason"].to_pylist())
    assert reasons == [
        "no DBC of the vehicle model knows this frame id",
        "not a candump line",
        "vehicle 'veh_unregistered' is not registered, so its DBC files are unknown",
    ]
