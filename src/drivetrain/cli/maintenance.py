"""``drivetrain recommend maintenance``: what a vehicle needs from a workshop, and booking it.

A self-contained Typer command (registered by ``drivetrain.cli.recommend``):
it scans the vehicle with the peers of its model as ``drivetrain health
diagnose`` does, turns the findings into maintenance suggestions with free
slots at workshops of the embedded network (seed 0) and, with ``--book N``,
books the Nth slot of the first suggestion. Bookings persist in
``DATA_DIR/bookings.json``, so a booked slot is taken for the next run.
"""

from __future__ import annotations

from typing import Annotated

import typer

from drivetrain.cli.output import console, handle_errors, print_json, print_table, settings_of
from drivetrain.errors import InputError, NotFound
from drivetrain.fleet import VehicleRecord, list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import principal_named
from drivetrain.health.booking_file import JsonFileBookingStore, bookings_path
from drivetrain.health.scan import diagnose_vehicle, fleet_scan
from drivetrain.health.service_booking import (
    PURPOSE,
    Booking,
    MaintenancePlan,
    VehicleHealth,
    book_slot,
    suggest_maintenance,
)
from drivetrain.health.workshops import WorkshopNetwork, generate_workshop_network
from drivetrain.lake import Lake
from drivetrain.settings import Settings
from drivetrain.state import migrate, session_scope

NETWORK_SEED = 0


@handle_errors
def maintenance(
    ctx: typer.Context,
    vehicle: Annotated[str, typer.Option("--vehicle", help="The vehicle's id (veh_…).")],
    as_: Annotated[
        str,
        typer.Option("--as", help="Principal reading the vehicle's health (vehicle_health)."),
    ] = "fleet-health",
    slots: Annotated[
        int, typer.Option("--slots", min=1, max=20, help="Slots offered per suggestion.")
    ] = 3,
    book: Annotated[
        int | None,
        typer.Option("--book", min=1, help="Book the Nth offered slot of the first suggestion."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Maintenance a vehicle needs, how urgent, by when, why, and free workshop slots.

    Scans the vehicle with the other vehicles of its model (purpose
    vehicle_health), diagnoses it, and suggests the workshop jobs its wear items,
    diagnosed causes and traction battery call for, each with the earliest free
    slots at capable workshops near home. Every suggestion is recorded for
    `drivetrain explain`. --book N books the Nth slot of the first suggestion;
    bookings are kept in DATA_DIR/bookings.json.
    Example: drivetrain recommend maintenance --vehicle VH-00003
    """
    settings = settings_of(ctx)
    target, plan, network, store = plan_for(settings, vehicle, as_, slots=slots)
    booking = None
    if book is not None:
        if plan.nothing_due:
            raise InputError(f"{vehicle} needs no workshop visit: there is nothing to book")
        first = plan.suggestions[0]
        if book > len(first.slots):
            raise InputError(
                f"--book {book}: the first suggestion offers {len(first.slots)} slot(s)",
                hint="pick one of the numbered slots (run without --book to see them)",
            )
        slot = first.slots[book - 1]
        booking = book_slot(
            network,
            store,
            workshop_id=slot.workshop_id,
            start=slot.start,
            job_id=first.job_id,
            vehicle_id=target.vehicle_id,
            suggestion_id=first.output_id,
        )
    if as_json:
        print_json({**plan.to_dict(), "booking": None if booking is None else booking.to_dict()})
        return
    _print_plan(plan, f"{vehicle} ({target.model_name}, {target.market})")
    if booking is not None:
        _print_booking(booking, network.get(booking.workshop_id).name)


def plan_for(
    settings: Settings, vehicle: str, principal: str, *, slots: int = 3
) -> tuple[VehicleRecord, MaintenancePlan, WorkshopNetwork, JsonFileBookingStore]:
    """The vehicle, its maintenance plan (recorded), the workshops and the bookings file.

    The scan reads the vehicle with the other vehicles of its model as
    ``principal`` for vehicle_health, then diagnoses it.
    """
    url = settings.resolved_state_url
    migrate(url)
    with session_scope(url) as session:
        fleet = list_vehicles(session)
    target = next((v for v in fleet if v.vehicle_id == vehicle), None)
    if target is None:
        raise NotFound(f"no registered vehicle {vehicle}", hint="drivetrain fleet list")
    context = AccessContext(principal_named(settings.resolved_principals_file, principal), PURPOSE)
    lake, audit = Lake(settings.lake_dir), AuditLog(settings.ensure_data_dir())
    peers = [v for v in fleet if v.model_id == target.model_id]
    scan = fleet_scan(lake, context, peers, audit=audit)
    diagnosis = diagnose_vehicle(lake, context, target, scan, audit=audit)
    network = generate_workshop_network(NETWORK_SEED)
    store = JsonFileBookingStore(bookings_path(settings.data_dir))
    plan = suggest_maintenance(
        target,
        VehicleHealth.from_health(scan, diagnosis),
        network=network,
        store=store,
        slots=slots,
        audit=audit,
        context=context,
    )
    return target, plan, network, store


def _print_plan(plan: MaintenancePlan, who: str) -> None:
    if plan.nothing_due:
        console.print(f"[bold]{who}[/]: {plan.summary()}", highlight=False)
        console.print(f"[dim]recorded as {plan.output_id} (drivetrain explain {plan.output_id})[/]")
        return
    for n, s in enumerate(plan.suggestions, start=1):
        colour = {"immediate": "bold red", "soon": "yellow", "planned": "green"}[s.urgency]
        console.print(
            f"{n}. [bold]{s.job}[/] ([{colour}]{s.urgency}[/], latest {s.latest_date}) for {who}",
            highlight=False,
        )
        for line in s.evidence:
            console.print(f"   • {line}", highlight=False)
        if s.slots:
            print_table(
                None,
                ("slot", "workshop", "local time", "km", "note"),
                (
                    (
                        k,
                        f"{x.workshop_name} ({x.workshop_id})",
                        f"{x.local_start():%a %d %b %Y %H:%M} ({x.timezone})",
                        f"{x.distance_km:.0f}",
                        "after the latest date" if x.late else "",
                    )
                    for k, x in enumerate(s.slots, start=1)
                ),
            )
        else:
            console.print(f"   {s.note}", highlight=False)
        console.print(f"   [dim]drivetrain explain {s.output_id}[/]")


def _print_booking(booking: Booking, workshop: str) -> None:
    console.print(
        f"[bold green]booked[/] {booking.booking_id}: {booking.job_id} at {workshop} "
        f"({booking.workshop_id}), {booking.start:%Y-%m-%d %H:%M}-{booking.end:%H:%M} UTC",
        highlight=False,
    )
