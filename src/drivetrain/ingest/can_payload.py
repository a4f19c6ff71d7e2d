"""Raw CAN frames over MQTT: ``vehicles/{vehicle_id}/can`` carrying candump lines.

A vehicle (or its data logger) publishes batches of frames as ``candump -L``
text, the format every Linux CAN tool reads and writes::

    (1700000000.000001) can0 123#DEADBEEF
    (1700000000.000100) can0 1ABCDEF0#0102

The gateway decodes them like a log file: with the DBC files and manifest of
the vehicle's model, into VSS signals. Unreadable lines and unknown or short
frames are reported per line and the rest of the message is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet

from drivetrain.catalog import VehicleModel
from drivetrain.ingest.can_ingest import decode_to_vss
from drivetrain.ingest.can_logs import parse_candump
from drivetrain.ingest.gateway import PayloadDecoder
from drivetrain.ingest.vss_json import DecodedPayload, PayloadRejected


def can_payload_decoder(models: Mapping[str, VehicleModel]) -> PayloadDecoder:
    """A gateway decoder for ``can`` payloads of the vehicles in ``models`` (id → model)."""

    def decode(vehicle_id: str, payload: bytes, known: AbstractSet[str]) -> DecodedPayload:
        model = models.get(vehicle_id)
        if model is None:
            raise PayloadRejected(
                f"vehicle {vehicle_id!r} is not registered, so its DBC files are unknown"
            )
        try:
            payload.decode("ascii")
        except UnicodeDecodeError:
            raise PayloadRejected("a can payload must be candump -L text (ASCII)") from None
        chunk = parse_candump(payload, f"{vehicle_id}/can")
        telemetry, rejected, _, _ = decode_to_vss(chunk.frames, model, vehicle_id)
        out = DecodedPayload()
        out.rejected.extend((r.location, r.reason) for r in chunk.rejects)
        out.rejected.extend(
            (f"frame id 0x{row['frame_id']:X}", row["reason"]) for row in rejected.to_pylist()
        )
        ts = telemetry["ts"].cast("int64").to_pylist()
        for t, signal, value in zip(
            ts, telemetry["signal"].to_pylist(), telemetry["value"].to_pylist(), strict=True
        ):
            if signal in known:
                out.ts_us.append(t)
                out.signals.append(signal)
                out.values.append(value)
            else:
                out.rejected.append((signal, "signal is not in the catalog"))
        return out

    return decode
