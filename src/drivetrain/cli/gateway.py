"""``drivetrain gateway …`` — the MQTT vehicle gateway."""

from __future__ import annotations

from typing import Annotated

import typer

from drivetrain.cli.output import console, handle_errors, print_json, print_table
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.keys import Keyring
from drivetrain.ingest.can_payload import can_payload_decoder
from drivetrain.ingest.gate_refresh import DEFAULT_REFRESH_S, ControlPlaneGate
from drivetrain.ingest.gateway import Gateway, GatewayConfig
from drivetrain.lake import Lake
from drivetrain.settings import Settings
from drivetrain.state import migrate

app = typer.Typer(help="The MQTT vehicle gateway: vehicles → broker → lake.", no_args_is_help=True)


@app.command("run")
@handle_errors
def run(
    ctx: typer.Context,
    client_id: Annotated[
        str, typer.Option(help="MQTT client id; keep it stable so the session survives.")
    ] = "drivetrain-gateway",
    batch_messages: Annotated[int, typer.Option(help="Flush after this many messages.")] = 1000,
    batch_seconds: Annotated[float, typer.Option(help="Flush at least this often.")] = 1.0,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: run until Ctrl-C).")
    ] = None,
    max_messages: Annotated[int | None, typer.Option(help="Stop after this many messages.")] = None,
    purpose: Annotated[str, typer.Option(help="Purpose recorded with what is stored.")] = (
        "vehicle_health"
    ),
    kind: Annotated[
        list[str] | None,
        typer.Option(help="Payload kinds to subscribe to: vss (VSS JSON), can (candump lines)."),
    ] = None,
    refresh_seconds: Annotated[
        float,
        typer.Option(
            min=0,
            help="Re-read campaigns, vehicles and consent from the state database this often "
            "(0: before every batch).",
        ),
    ] = DEFAULT_REFRESH_S,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Subscribe to vehicles/+/vss and vehicles/+/can; store what active campaigns ask for.

    VSS JSON payloads carry signals by VSS path; can payloads carry candump -L lines,
    decoded with the registered vehicle's DBC files and manifest.

    At-least-once delivery with idempotent writes: a message is acknowledged only
    after it is in the lake, and a message delivered twice is stored once.
    Malformed messages are quarantined. Broker from mqtt_host/mqtt_port settings.

    Campaigns, registered vehicles, owner links and consent are re-read every
    --refresh-seconds while the gateway runs, so a consent withdrawal applies to
    the batches stored from then on; if the state database cannot be read, the
    error is logged and the previous gate stays in use.
    Example: drivetrain gateway run --duration 60 --refresh-seconds 10
    """
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    url = settings.resolved_state_url
    settings.ensure_data_dir()
    migrate(url)
    control_plane = ControlPlaneGate(url, Keyring.load_or_create(settings.data_dir))
    gate = control_plane()  # at start-up a state database that cannot be read is an error
    config = GatewayConfig(
        host=settings.mqtt_host,
        port=settings.mqtt_port,
        client_id=client_id,
        batch_messages=batch_messages,
        batch_seconds=batch_seconds,
        purpose=purpose,
        kinds=tuple(kind or ("vss", "can")),
    )
    lake = Lake(settings.lake_dir)
    if not as_json:
        console.print(
            f"gateway {client_id} on mqtt://{settings.mqtt_host}:{settings.mqtt_port}, "
            f"{control_plane.active_campaigns} active campaign(s), "
            f"{control_plane.registered_vehicles} registered vehicle(s), "
            f"refreshed every {refresh_seconds:g} s"
        )
    # the decoder reads the models the control plane keeps current at each refresh
    decoders = {"can": can_payload_decoder(control_plane.vehicle_models)}
    audit = AuditLog(settings.data_dir)
    with Gateway(
        lake,
        config,
        campaigns=gate,
        gate_factory=control_plane,
        refresh_s=refresh_seconds,
        decoders=decoders,
        audit=audit,
    ) as gateway:
        stats = gateway.run(duration_s=duration, max_messages=max_messages)
    if as_json:
        print_json(stats.as_dict())
        return
    print_table("gateway run", ("", "value"), sorted(stats.as_dict().items()))
