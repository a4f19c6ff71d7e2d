"""``/api/v1/cockpit``: talk to a fleet vehicle's in-car assistant (the cockpit sandbox).

``POST /vehicles/{vehicle_id}/assistant`` takes one utterance and answers it as
the car would: the words, what it wrote to the simulated vehicle's VSS
actuators, what it read, and the distraction rules that shaped it. A turn may
first set the driving state (``speed_kmh``: 0 parks, more drives) so the
driving-state policy can be tried. The first turn opens a conversation; pass
its ``conversation_id`` back for follow-ups, corrections and confirmations.
Conversations live in the server's memory for :data:`IDLE_S` and belong to the
caller who opened them.

The vehicle's status (charge, tyres, open trouble codes) is read for purpose
``personalisation`` as the caller may: without a grant or the driver's consent
the assistant answers without it and says so. The understanding model is the
default one (trained on first use, then cached in the data directory).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from drivetrain.api.auth import Caller, require, services_of
from drivetrain.api.context import access_context
from drivetrain.api.problems import PROBLEM_RESPONSES, ApiProblem
from drivetrain.api.routers.fleet import one_vehicle
from drivetrain.cockpit.assistant import Assistant
from drivetrain.cockpit.cabin import SimulatedVehicle
from drivetrain.cockpit.live import fleet_vehicle, known_status
from drivetrain.cockpit.llm_understanding import LlmUnderstander
from drivetrain.cockpit.nlu import default_model
from drivetrain.cockpit.nlu.artefact import default_model_key
from drivetrain.cockpit.turns import Understander
from drivetrain.copilot.providers import provider_from_settings

router = APIRouter(prefix="/api/v1/cockpit", tags=["cockpit"], responses=PROBLEM_RESPONSES)
CockpitCaller = Annotated[Caller, Depends(require("cockpit:write"))]
PURPOSE = "personalisation"
IDLE_S = 30 * 60
MAX_CONVERSATIONS = 256
MAX_HISTORY = 50
_LOADING = threading.Lock()


@dataclass
class Conversation:
    conversation_id: str
    principal_id: str
    vehicle_id: str
    assistant: Assistant
    status_refused: str | None
    used_at: float
    lock: threading.Lock = field(default_factory=threading.Lock)  # one turn at a time
    history: list[TurnResult] = field(default_factory=list)  # the last MAX_HISTORY turns


class Conversations:
    """The open conversations, least recently used first; idle ones are dropped."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, Conversation] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, conversation_id: str, principal_id: str, vehicle_id: str) -> Conversation:
        with self._lock:
            self._expire()
            found = self._items.get(conversation_id)
            if found is None or found.principal_id != principal_id:
                raise ApiProblem(
                    404,
                    "not-found",
                    f"no open conversation {conversation_id!r} of yours",
                    hint=f"conversations close after {IDLE_S // 60} idle minutes; "
                    "start a new one by leaving conversation_id out",
                )
            if found.vehicle_id != vehicle_id:
                raise ApiProblem(
                    409,
                    "conflict",
                    f"conversation {conversation_id} is with {found.vehicle_id}, not {vehicle_id}",
                )
            found.used_at = time.monotonic()
            self._items.move_to_end(conversation_id)
            return found

    def add(self, conversation: Conversation) -> None:
        with self._lock:
            self._expire()
            self._items[conversation.conversation_id] = conversation
            while len(self._items) > MAX_CONVERSATIONS:
                self._items.popitem(last=False)

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, c in self._items.items() if now - c.used_at > IDLE_S]:
            del self._items[key]


def _conversations(request: Request) -> Conversations:
    with _LOADING:
        found = getattr(request.app.state, "cockpit_conversations", None)
        if found is None:
            found = Conversations()
            request.app.state.cockpit_conversations = found
    assert isinstance(found, Conversations)
    return found


def understanding_model(request: Request) -> Understander:
    """The default understanding model, loaded (or trained) once per app, behind the
    configured LLM's function calling when there is one (docs/cockpit_nlu.md)."""
    with _LOADING:
        found = getattr(request.app.state, "cockpit_understander", None)
        if found is None:
            settings = services_of(request).settings
            model = default_model(settings.resolved_models_dir)
            provider = provider_from_settings(settings)
            found = model if provider is None else LlmUnderstander(provider, model)
            request.app.state.cockpit_understander = found
    understander: Understander = found
    return understander


class Turn(BaseModel):
    text: str = Field(min_length=1, max_length=500, examples=["set the temperature to 21"])
    conversation_id: str | None = Field(
        default=None, pattern=r"^cv-[0-9a-f]{24}$", description="From an earlier turn."
    )
    speed_kmh: float | None = Field(
        default=None, ge=0, le=250, description="Set the driving state first: 0 parks."
    )


class VehicleState(BaseModel):
    vehicle_id: str
    model_id: str
    moving: bool
    speed_kmh: float
    values: dict[str, Any] = Field(description="The VSS leaves the assistant knows, by path.")
    status_refused: str | None = Field(description="Why the vehicle's status is not known.")


class Reply(BaseModel):
    text: str
    kind: str = Field(description="acted, answered, confirm, clarify, refused, cancelled…")
    intent: str
    confidence: float
    slots: dict[str, list[str]]
    writes: list[dict[str, Any]]
    reads: dict[str, Any]
    display: str
    rules: list[str] = Field(description="Distraction rules that shaped or refused the reply.")
    output_id: str | None


class TurnResult(BaseModel):
    conversation_id: str
    said: str
    reply: Reply
    vehicle: VehicleState


def _state(vehicle: SimulatedVehicle, refused: str | None) -> VehicleState:
    return VehicleState(
        vehicle_id=vehicle.vehicle_id,
        model_id=vehicle.features.model_id,
        moving=vehicle.is_moving,
        speed_kmh=vehicle.speed_kmh,
        values=dict(sorted(vehicle.values.items())),
        status_refused=refused,
    )


@router.post(
    "/vehicles/{vehicle_id}/assistant",
    response_model=TurnResult,
    summary="Say something to a vehicle's in-car assistant",
)
def assistant_turn(
    vehicle_id: str, body: Turn, request: Request, caller: CockpitCaller
) -> TurnResult:
    context = access_context(request, caller, PURPOSE)
    record = one_vehicle(request, context, vehicle_id)
    conversations = _conversations(request)
    if body.conversation_id is not None:
        conversation = conversations.get(body.conversation_id, caller.principal_id, vehicle_id)
    else:
        services = services_of(request)
        with services.session() as session:
            status = known_status(services.lake, record, context, session, audit=services.audit)
        vehicle = fleet_vehicle(record, status.values)
        assistant = Assistant(
            understanding_model(request),
            vehicle,
            dtcs=status.dtcs,
            audit=services.audit,
            principal=caller.principal_id,
            model_version=default_model_key(),
        )
        conversation = Conversation(
            f"cv-{secrets.token_hex(12)}",
            caller.principal_id,
            vehicle_id,
            assistant,
            status.refused,
            time.monotonic(),
        )
        conversations.add(conversation)
    vehicle = conversation.assistant.vehicle
    with conversation.lock:
        if body.speed_kmh is not None:
            if body.speed_kmh > 0:
                vehicle.drive(body.speed_kmh)
            else:
                vehicle.park()
        response = conversation.assistant.handle(body.text)
        result = TurnResult(
            conversation_id=conversation.conversation_id,
            said=body.text,
            reply=Reply(**response.to_dict()),
            vehicle=_state(vehicle, conversation.status_refused),
        )
        conversation.history = [*conversation.history, result][-MAX_HISTORY:]
    return result


class ConversationView(BaseModel):
    conversation_id: str
    turns: list[TurnResult] = Field(description=f"The last {MAX_HISTORY} turns, oldest first.")
    vehicle: VehicleState


@router.get(
    "/vehicles/{vehicle_id}/conversations/{conversation_id}",
    response_model=ConversationView,
    summary="An open conversation: its turns and the vehicle now",
)
def conversation(
    vehicle_id: str, conversation_id: str, request: Request, caller: CockpitCaller
) -> ConversationView:
    access_context(request, caller, PURPOSE)
    found = _conversations(request).get(conversation_id, caller.principal_id, vehicle_id)
    with found.lock:
        state = _state(found.assistant.vehicle, found.status_refused)
        return ConversationView(
            conversation_id=conversation_id, turns=list(found.history), vehicle=state
        )
