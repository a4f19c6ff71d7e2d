"""The cockpit sandbox: talk to a fleet vehicle's in-car assistant and watch what it does.

The page picks a vehicle the caller may read for ``personalisation``, shows its
simulated cabin (climate, seats, windows, media, destination) and a transcript,
and sends each utterance to the API's assistant route as a function with the
page's caller (scope ``cockpit:write``), so the reply, the VSS writes, the
distraction rules and the provenance record are the API's. A driving-state
switch (parked, or driving at a speed) comes with every utterance, so the
lock-outs can be tried: a seat move refused while driving, a list read out
instead of shown.

Each utterance is a form post checked for the session's CSRF token. An empty
or overlong one is shown back with what is wrong (400), not sent.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from drivetrain.api.auth import Caller
from drivetrain.api.context import access_context
from drivetrain.api.problems import ApiProblem
from drivetrain.api.routers import cockpit as cockpit_api
from drivetrain.api.routers.cockpit import CockpitCaller, ConversationView, Turn, TurnResult
from drivetrain.api.routers.fleet import visible_vehicles
from drivetrain.web.pages import render
from drivetrain.web.session import form_writer

router = APIRouter(include_in_schema=False)
CockpitForm = Annotated[Caller, Depends(form_writer("cockpit:write"))]
MAX_TEXT = 500  # the API's limit
MAX_VEHICLES = 200  # offered in the picker
EXAMPLES = (
    "set the temperature to 21 degrees",
    "and the passenger side too",
    "how much range do I have",
    "find a charger nearby",
    "move my seat back",
    "text Alex that I'm running late",
)
#: The cabin as the page shows it: label, VSS leaf, unit.
CABIN: tuple[tuple[str, str, str], ...] = (
    ("Driver temperature", "Vehicle.Cabin.HVAC.Station.Row1.Driver.Temperature", "°C"),
    ("Passenger temperature", "Vehicle.Cabin.HVAC.Station.Row1.Passenger.Temperature", "°C"),
    ("Fan (driver)", "Vehicle.Cabin.HVAC.Station.Row1.Driver.FanSpeed", "%"),
    ("Driver seat heating", "Vehicle.Cabin.Seat.Row1.DriverSide.HeatingCooling", "%"),
    ("Driver seat position", "Vehicle.Cabin.Seat.Row1.DriverSide.Position", "mm"),
    ("Driver window", "Vehicle.Cabin.Door.Row1.DriverSide.Window.Position", "% open"),
    ("Volume", "Vehicle.Cabin.Infotainment.Media.Volume", "%"),
    ("Media", "Vehicle.Cabin.Infotainment.Media.Action", ""),
    ("Destination latitude", "Vehicle.Cabin.Infotainment.Navigation.DestinationSet.Latitude", "°"),
    ("State of charge", "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current", "%"),
    ("Range", "Vehicle.Powertrain.Range", "m"),
)


@router.get("/cockpit")
def cockpit_page(
    request: Request,
    caller: CockpitCaller,
    vehicle: Annotated[str | None, Query(max_length=64)] = None,
    conversation: Annotated[str | None, Query(pattern=r"^cv-[0-9a-f]{24}$")] = None,
) -> Response:
    """The vehicle picker, and the sandbox of the chosen vehicle (and conversation)."""
    view = _open(request, caller, vehicle, conversation) if vehicle and conversation else None
    return _page(request, caller, vehicle=vehicle, view=view)


def _open(
    request: Request, caller: Caller, vehicle: str, conversation_id: str
) -> ConversationView | None:
    """The conversation if it is still open and the caller's (else None: start afresh)."""
    if not conversation_id:
        return None
    try:
        return cockpit_api.conversation(vehicle, conversation_id, request, caller)
    except ApiProblem:
        return None


@router.post("/cockpit")
def say(
    request: Request,
    caller: CockpitForm,
    vehicle: Annotated[str, Form(max_length=64)],
    text: Annotated[str, Form(max_length=20_000)] = "",
    conversation_id: Annotated[str, Form(max_length=64)] = "",
    driving: Annotated[str, Form(pattern=r"^(parked|driving)$")] = "parked",
    speed_kmh: Annotated[float, Form(ge=1, le=250)] = 50.0,
) -> Response:
    """Say ``text`` to ``vehicle``'s assistant in the chosen driving state."""
    said = " ".join(text.split())
    error = None
    body = None
    if not said:
        error = "Type what you would say in the car first."
    else:
        try:
            body = Turn(
                text=said,
                conversation_id=conversation_id or None,
                speed_kmh=speed_kmh if driving == "driving" else 0.0,
            )
        except ValidationError as exc:
            error = "; ".join(str(e.get("msg", "")) for e in exc.errors())
    if body is None or error is not None:
        view = _open(request, caller, vehicle, conversation_id)
        return _page(request, caller, vehicle=vehicle, view=view, text=text, error=error,
                     driving=driving, speed_kmh=speed_kmh, status=400)  # fmt: skip
    if body.conversation_id and _open(request, caller, vehicle, body.conversation_id) is None:
        body = body.model_copy(update={"conversation_id": None})  # closed meanwhile: a new one
    result: TurnResult = cockpit_api.assistant_turn(vehicle, body, request, caller)
    view = cockpit_api.conversation(vehicle, result.conversation_id, request, caller)
    return _page(request, caller, vehicle=vehicle, view=view, driving=driving, speed_kmh=speed_kmh)


def _page(
    request: Request,
    caller: Caller,
    *,
    vehicle: str | None,
    view: ConversationView | None,
    text: str = "",
    error: str | None = None,
    driving: str = "parked",
    speed_kmh: float = 50.0,
    status: int = 200,
) -> Response:
    context = access_context(request, caller, cockpit_api.PURPOSE)
    vehicles = visible_vehicles(request, context)[:MAX_VEHICLES]
    chosen = next((v for v in vehicles if v.vehicle_id == vehicle), None)
    if vehicle and chosen is None:
        error = error or f"No vehicle {vehicle!r} that you may read for personalisation."
        status = 404 if status == 200 else status
    cabin = []
    if view is not None:
        values = view.vehicle.values
        cabin = [(label, values.get(path), unit) for label, path, unit in CABIN if path in values]
    return render(
        request,
        "cockpit.html",
        {
            "vehicles": vehicles,
            "chosen": chosen,
            "view": view,
            "cabin": cabin,
            "text": text,
            "error": error,
            "driving": driving,
            "speed_kmh": speed_kmh,
            "examples": EXAMPLES,
            "max_text": MAX_TEXT,
            "purpose": cockpit_api.PURPOSE,
        },
        status=status,
    )
