"""drivetrain recommend …: the cockpit's recommendations for one vehicle, from the terminal."""

from __future__ import annotations

from typing import Annotated

import typer

from drivetrain.cli.output import console, handle_errors, print_json, print_table, settings_of
from drivetrain.cockpit.charging import (
    TripRequest,
    generate_road_network,
    known_vehicles,
    recommend_charging,
)
from drivetrain.cockpit.charging.explain import duration
from drivetrain.cockpit.charging.network import RoadNetwork
from drivetrain.cockpit.live import known_status
from drivetrain.cockpit.requests import SOC
from drivetrain.demo.cockpit_tour import home_city
from drivetrain.errors import InputError, NotFound
from drivetrain.fleet import VehicleRecord, get_vehicle
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import principal_named
from drivetrain.lake import Lake
from drivetrain.state import migrate, session_scope

app = typer.Typer(
    help="Recommendations for a fleet vehicle, explained and recorded (charging stops).",
    no_args_is_help=True,
)
PURPOSE = "personalisation"


def _origin(network: RoadNetwork, record: VehicleRecord, given: str | None) -> str:
    """The trip's start: ``given``, else the network city nearest the vehicle's home market."""
    if not given:
        return home_city(network, record)
    place = given.strip().lower()
    network.check_place(place, "origin")
    return place


@app.command("charging")
@handle_errors
def charging(
    ctx: typer.Context,
    vehicle: Annotated[str, typer.Option("--vehicle", help="Vehicle id (an electric one).")],
    to: Annotated[str, typer.Option("--to", help="Destination city of the road network.")],
    from_: Annotated[
        str | None,
        typer.Option("--from", help="Start (default: the city nearest the vehicle's market)."),
    ] = None,
    soc: Annotated[
        float | None,
        typer.Option(
            "--soc",
            min=1,
            max=100,
            help="Charge at departure, % (default: the vehicle's last reported charge).",
        ),
    ] = None,
    temperature: Annotated[
        float, typer.Option("--temperature", min=-30, max=45, help="Outside air, °C.")
    ] = 15.0,
    depart: Annotated[
        float, typer.Option("--depart", min=0, max=24, help="Departure hour (local, 0–24).")
    ] = 9.0,
    as_: Annotated[
        str,
        typer.Option("--as", help="Principal reading the vehicle's charge (personalisation)."),
    ] = "cockpit-service",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Charging stops for a trip: the least-total-time plan, against the naive baseline.

    Plans over the embedded European road network (seed 0) with the vehicle's
    energy model, tapering charging curve and expected waits, compares it with
    "charge when below 20 % to 80 %", explains it and records it in the audit
    log (drivetrain explain OUTPUT_ID).
    Example: drivetrain recommend charging --vehicle VH-00007 --to berlin
    """
    settings = settings_of(ctx)
    url = settings.resolved_state_url
    migrate(url)
    with session_scope(url) as session:
        record = get_vehicle(session, vehicle)
    if record.model_id not in known_vehicles():
        raise InputError(
            f"{vehicle} is a {record.model_name} ({record.powertrain}): the planner "
            "has no charging model for it",
            hint=f"electric models it knows: {', '.join(known_vehicles())}",
        )
    lake, audit = Lake(settings.lake_dir), AuditLog(settings.data_dir)
    inputs: dict[str, int] = {}
    if soc is None:
        context = AccessContext(principal_named(settings.resolved_principals_file, as_), PURPOSE)
        with session_scope(url) as session:
            status = known_status(lake, record, context, session, audit=audit)
        if SOC not in status.values:
            raise NotFound(
                f"no state of charge of {vehicle} is known for purpose {PURPOSE}: {status.refused}",
                hint="pass --soc, or record the driver's consent for personalisation",
            )
        soc = float(status.values[SOC])
        if (version := lake.version("telemetry")) is not None:
            inputs["telemetry"] = version
    network = generate_road_network(0)
    destination = to.strip().lower()
    network.check_place(destination, "destination")
    request = TripRequest(
        origin=_origin(network, record, from_),
        destination=destination,
        vehicle=record.model_id,
        initial_soc_pct=max(1.0, min(100.0, soc)),
        temperature_c=temperature,
        departure_hour=depart,
        trip_id=f"{vehicle}:{destination}",
    )
    rec = recommend_charging(network, request, audit=audit, principal=as_, inputs=inputs)
    if as_json:
        print_json({"output_id": rec.output_id, "gain_s": rec.gain_s, **rec.plan.to_dict()})
        return
    print_table(
        f"{vehicle}: {network.place_name(request.origin)} → {network.place_name(destination)}, "
        f"leaving with {request.initial_soc_pct:.0f} %",
        ("stop", "site", "kW", "arrive %", "leave %", "wait", "charge"),
        (
            (
                n,
                s.site.name,
                f"{s.site.power_kw:g}",
                f"{s.arrive_soc_pct:.0f}",
                f"{s.depart_soc_pct:.0f}",
                duration(s.wait_s),
                duration(s.charge_s),
            )
            for n, s in enumerate(rec.plan.stops, start=1)
        ),
    )
    for line in rec.plan.explanation:
        console.print(f"• {line}", highlight=False)
    console.print(f"[dim]recorded as {rec.output_id} (drivetrain explain {rec.output_id})[/]")
