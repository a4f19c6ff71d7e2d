"""drivetrain assistant … and drivetrain recommend …: the in-car assistant from a terminal."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

import typer

from drivetrain.cli.maintenance import plan_for
from drivetrain.cli.output import console, handle_errors, print_json, print_table, settings_of
from drivetrain.cockpit.assistant import Assistant
from drivetrain.cockpit.cabin import SimulatedVehicle
from drivetrain.cockpit.live import KnownStatus, fleet_vehicle, known_status
from drivetrain.cockpit.llm_understanding import LlmUnderstander
from drivetrain.cockpit.nlu import default_model, evaluate, generate_sets
from drivetrain.cockpit.nlu.artefact import default_model_key
from drivetrain.cockpit.profiles_trips import days_words
from drivetrain.cockpit.turns import Kind, Response, Understander
from drivetrain.copilot.providers import provider_from_settings
from drivetrain.demo.cockpit_profile import ProfileStory
from drivetrain.demo.cockpit_tour import CockpitTour
from drivetrain.errors import DrivetrainError, InputError
from drivetrain.fleet import VehicleRecord, get_vehicle
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import principal_named
from drivetrain.lake import Lake
from drivetrain.settings import Settings
from drivetrain.state import migrate, session_scope

app = typer.Typer(
    help="The in-car assistant: talk to a fleet vehicle's cockpit, evaluate its understanding.",
    no_args_is_help=True,
)

PURPOSE = "personalisation"
AsPrincipal = Annotated[
    str,
    typer.Option(
        "--as",
        help="Principal (principals_file) the assistant backend reads the vehicle's status as, "
        "for purpose personalisation; without the driver's consent it sees no status.",
    ),
]
VehicleId = Annotated[str, typer.Option("--vehicle", help="Vehicle id (drivetrain fleet list).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]

HELP = """\
Say what you would say in the car. Commands:
  /drive [KMH]   drive off (default 50 km/h): the distraction rules apply
  /park          stop and put the car in Park
  /state         show the cabin's current values
  /quit          leave (Ctrl-D too)"""


@dataclass
class CockpitSession:
    """What a chat needs: the vehicle, the assistant and where they came from."""

    record: VehicleRecord
    vehicle: SimulatedVehicle
    assistant: Assistant
    status: KnownStatus


def understanding(settings: Settings) -> Understander:
    """The default understanding model (trained on first use, then cached in models_dir),
    behind the configured LLM's function calling when there is one (docs/cockpit_nlu.md)."""
    with console.status("loading the understanding model (trained once on first use) …"):
        model = default_model(settings.resolved_models_dir)
    provider = provider_from_settings(settings)
    return model if provider is None else LlmUnderstander(provider, model)


def service_advice(settings: Settings, vehicle_id: str, principal: str) -> Callable[[], str | None]:
    """What the assistant adds to "when is my service due": the health service's plan.

    Asked only when the driver asks; the health service reads as ``principal`` for
    vehicle_health (its own purpose and legal basis), and records its suggestion.
    """

    def advice() -> str | None:
        try:
            return plan_for(settings, vehicle_id, principal)[1].summary()
        except DrivetrainError as exc:  # the answer goes on without it, and says why
            return f"(No maintenance plan: {exc.message}.)"

    return advice


def open_session(
    settings: Settings,
    vehicle_id: str,
    principal: str,
    model: Understander,
    *,
    health_as: str | None = None,
) -> CockpitSession:
    """A parked cockpit of ``vehicle_id`` with its last known status and open trouble codes."""
    url = settings.resolved_state_url
    migrate(url)
    with session_scope(url) as session:
        record = get_vehicle(session, vehicle_id)
    context = AccessContext(principal_named(settings.resolved_principals_file, principal), PURPOSE)
    lake, audit = Lake(settings.lake_dir), AuditLog(settings.data_dir)
    with session_scope(url) as session:
        status = known_status(lake, record, context, session, audit=audit)
    vehicle = fleet_vehicle(record, status.values)
    assistant = Assistant(
        model,
        vehicle,
        dtcs=status.dtcs,
        service_advice=None
        if health_as is None
        else service_advice(settings, vehicle_id, health_as),
        audit=audit,
        principal=principal,
        model_version=default_model_key(),
    )
    return CockpitSession(record, vehicle, assistant, status)


def print_turn(said: str, response: Response) -> None:
    """One exchange as the terminal shows it: the words, then what was done and why."""
    colour = {Kind.REFUSED: "red", Kind.CLARIFY: "yellow", Kind.CONFIRM: "yellow"}.get(
        response.kind, "green"
    )
    console.print(f"[bold]you >[/] {said}", highlight=False)
    console.print(f"[bold {colour}]car >[/] {response.text}", highlight=False)
    detail = f"{response.kind.value} · {response.intent} ({response.confidence:.0%})"
    for path, value in response.writes:
        detail += f"\n  set {path} = {value}"
    for rule in response.rules:
        detail += f"\n  rule: {rule.value}"
    console.print(f"[dim]{detail}[/]", highlight=False)


def _command(line: str, vehicle: SimulatedVehicle, *, quiet: bool = False) -> bool:
    """Run a /command (``quiet``: say nothing); False when the chat should end."""
    name, _, rest = line[1:].partition(" ")
    if name in ("quit", "exit", "q"):
        return False
    if name == "drive":
        try:
            speed = float(rest) if rest.strip() else 50.0
        except ValueError:
            raise InputError(
                f"/drive takes a speed in km/h, e.g. /drive 80, not {rest!r}"
            ) from None
        vehicle.drive(speed)
        if not quiet:
            console.print(f"[dim]driving at {vehicle.speed_kmh:g} km/h[/]")
    elif name == "park":
        vehicle.park()
        if not quiet:
            console.print("[dim]parked[/]")
    elif quiet:
        raise InputError(f"--json takes /drive KMH and /park, not {line!r}")
    elif name == "state":
        print_table(
            f"{vehicle.vehicle_id} ({vehicle.features.model_id})",
            ("VSS leaf", "value"),
            sorted(vehicle.values.items()),
        )
    else:
        console.print(HELP, highlight=False)
    return True


@app.command("chat")
@handle_errors
def chat(
    ctx: typer.Context,
    vehicle: VehicleId,
    as_: AsPrincipal = "cockpit-service",
    say: Annotated[
        list[str] | None,
        typer.Option(
            "--say",
            help="Say this instead of asking at a prompt (repeatable; a /command works too).",
        ),
    ] = None,
    health_as: Annotated[
        str,
        typer.Option(
            "--health-as",
            help="Principal of the health service asked when the driver asks about service "
            "(purpose vehicle_health).",
        ),
    ] = "fleet-health",
    as_json: AsJson = False,
) -> None:
    """Talk to a vehicle's cockpit: an interactive session in the terminal.

    The vehicle starts parked with its last known status from the lake (charge,
    tyre pressures, open trouble codes). Type /drive to set off: then the
    driver-distraction rules lock out text, long lists and safety-relevant
    settings. Every action and refusal is recorded in the audit log.
    Example: drivetrain assistant chat --vehicle VH-00003
    """
    settings = settings_of(ctx)
    session = open_session(settings, vehicle, as_, understanding(settings), health_as=health_as)
    lines = list(say or [])
    if as_json:
        turns: list[dict[str, object]] = []
        for line in lines:
            if line.startswith("/"):
                _command(line, session.vehicle, quiet=True)
                continue
            turns.append({"said": line, **session.assistant.handle(line).to_dict()})
        print_json({"vehicle": vehicle, "turns": turns})
        return
    model = session.record.model_name
    console.print(
        f"[bold]{vehicle}[/] · {model} · parked · "
        f"{len(session.status.values)} status value(s) known"
        + (f" ({session.status.refused})" if session.status.refused else "")
        + ". /help for commands.",
        highlight=False,
    )
    while True:
        if lines:
            line = lines.pop(0)
        elif say:
            return
        else:
            try:
                line = console.input("[bold]you > [/]")
            except EOFError:
                return
        line = line.strip()
        if not line:
            continue
        if line.startswith("/"):
            try:
                if not _command(line, session.vehicle):
                    return
            except InputError as exc:
                console.print(f"[red]{exc.message}[/]", highlight=False)
            continue
        response = session.assistant.handle(line)
        if say:
            print_turn(line, response)
        else:
            _print_reply(response)


def _print_reply(response: Response) -> None:
    colour = "red" if response.kind is Kind.REFUSED else "green"
    console.print(f"[bold {colour}]car >[/] {response.text}", highlight=False)
    for path, value in response.writes:
        console.print(f"[dim]  set {path} = {value}[/]", highlight=False)


@app.command("eval")
@handle_errors
def evaluate_command(
    ctx: typer.Context,
    show_errors: Annotated[
        int, typer.Option("--errors", min=0, help="Misunderstood utterances to list.")
    ] = 10,
    sample: Annotated[
        int | None,
        typer.Option(
            "--sample", min=10, help="Score a seeded random sample of this many (quicker)."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Score the understanding model on its held-out split (never trained on).

    The split uses other sentence templates and other slot values than training
    (see docs/cockpit.md). Prints intent accuracy, slot precision/recall/F1
    (exact spans), exact match and parse latency.
    Example: drivetrain assistant eval --errors 5
    """
    settings = settings_of(ctx)
    with console.status("loading the understanding model (trained once on first use) …"):
        model = default_model(settings.resolved_models_dir)  # the trained model, not an LLM
    held_out = generate_sets().eval
    if sample is not None and sample < len(held_out):
        held_out = random.Random(0).sample(held_out, sample)
    with console.status(f"parsing {len(held_out)} held-out utterances …"):
        started = time.perf_counter()
        report = evaluate(model, held_out)
        seconds = time.perf_counter() - started
    summary = {
        "utterances": report.utterances,
        "intent_accuracy": round(report.intent_accuracy, 4),
        "slot_precision": round(report.slot_precision, 4),
        "slot_recall": round(report.slot_recall, 4),
        "slot_f1": round(report.slot_f1, 4),
        "exact_match": round(report.exact_match, 4),
        "mean_parse_ms": round(seconds / max(1, report.utterances) * 1000, 2),
    }
    if as_json:
        print_json(summary)
        return
    print_table(
        "Understanding, held-out split", ("measure", "value"), [(k, v) for k, v in summary.items()]
    )
    errors = report.errors[:show_errors]
    if errors:
        print_table(
            f"First {len(errors)} misunderstood",
            ("utterance", "expected", "understood"),
            ((u.text, u.intent, p.intent) for u, p in errors),
        )


def print_cockpit_tour(tour: CockpitTour | None) -> None:
    """The demo's cockpit section: the scripted conversation, then a charging plan."""
    if tour is None:
        console.print("no European electric vehicle with personalisation consent: skipped")
        return
    record = tour.vehicle
    console.print(
        f"{record.vehicle_id} · {record.model_name} · the owner consented to "
        f"personalisation, so the assistant knows {len(tour.status.values)} status value(s) "
        f"(understanding model ready in {tour.model_seconds:.1f} s)",
        highlight=False,
    )
    moving_before = False
    for said, moving, response in tour.turns:
        if moving and not moving_before:
            console.print("[dim]— the car drives off at 80 km/h: the distraction rules apply —[/]")
        moving_before = moving
        print_turn(said, response)
    stored = [e.kind for e, r in tour.remembered if r.stored]
    console.print(
        f"remembered, with the owner's consent: {len(stored)} preference event(s) "
        f"({', '.join(sorted(set(stored))) or 'none'})",
        highlight=False,
    )
    if tour.profile is not None:
        print_profile_story(tour.profile)
    if tour.charging is None:
        console.print("charging plan: the charge is too low to reach any charger")
        return
    plan, rec = tour.charging.plan, tour.charging
    request = plan.request
    gain = (
        f"{rec.gain_s / 60:.0f} min faster than charging below 20 % to 80 %"
        if rec.gain_s is not None
        else f"the naive baseline strands: {rec.baseline_failure}"
    )
    console.print(
        f"[dim]$ drivetrain recommend charging --vehicle {record.vehicle_id} "
        f"--to {request.destination}[/]"
    )
    console.print(
        f"{request.origin.title()} → {request.destination.title()} leaving with "
        f"{request.initial_soc_pct:.0f} %: {len(plan.stops)} stop(s), "
        f"{plan.total_s / 3600:.1f} h in all; {gain} (recorded as {rec.output_id})",
        highlight=False,
    )


def print_profile_story(story: ProfileStory) -> None:
    """The driver's profile: how they were recognised, what was learned, a second car."""
    learned = ", ".join(
        f"{p.kind.replace('_', ' ')} {p.target or ''} {p.value:g} ({p.events} events)".replace(
            "  ", " "
        )
        for p in story.preferences.settings
    )
    habits = ", ".join(
        f"{d.name} {days_words(d.weekdays)} ~{d.departure:%H:%M}"
        for d in story.preferences.destinations
    )
    console.print(
        f"profile {story.subject_id}: recognised by the paired {story.identified_by} (kept as a "
        f"keyed digest); from {story.events} earlier events (three weeks, simulated) it "
        f"learned {learned or 'nothing'}{'; trips: ' + habits if habits else ''}",
        highlight=False,
    )
    other, setup = story.other, story.other_settings
    done = ", ".join(
        f"{w.path.rsplit('.', 2)[-2]}.{w.path.rsplit('.', 1)[-1]} = {w.value}" for w in setup.writes
    )
    skipped = "; ".join(f"{k.path.rsplit('.', 1)[-1]}: {k.reason}" for k in setup.skipped)
    console.print(
        f"the profile follows the driver into {other.vehicle_id} ({other.model_name}): sets {done or 'nothing'}"
        + (f"; skipped — {skipped}" if skipped else ""),
        highlight=False,
    )
    advice = story.departures
    if advice.suggestions:
        first = advice.suggestions[0]
        console.print(
            f"Monday 07:25: “{first.message}” ({first.explanation}; recorded as {first.output_id})",
            highlight=False,
        )
    else:
        console.print(f"no departure suggestion: {advice.reason}", highlight=False)
