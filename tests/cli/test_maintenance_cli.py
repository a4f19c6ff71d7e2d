"""``drivetrain recommend maintenance`` through Typer's CliRunner, on the small demo fleet.

The command is registered on a bare Typer app here (its root callback builds the
Settings as ``drivetrain.cli.main`` does), so the test does not depend on where
the CLI mounts it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from typer.testing import CliRunner

from drivetrain.cli.maintenance import maintenance
from drivetrain.fleet import VehicleRecord, list_vehicles
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.principals import principal_named
from drivetrain.governance.provenance import explain
from drivetrain.health.booking_file import JsonFileBookingStore, bookings_path
from drivetrain.health.scan import diagnose_vehicle, fleet_scan
from drivetrain.health.service_booking import (
    MaintenancePlan,
    VehicleHealth,
    book_slot,
    suggest_maintenance,
)
from drivetrain.health.workshop_calendar import InMemoryBookingStore
from drivetrain.health.workshops import generate_workshop_network
from drivetrain.lake import Lake
from drivetrain.settings import Settings, load_settings
from drivetrain.state import session_scope
from tests.demo_data import build_demo, copy_data

runner = CliRunner()
NETWORK = generate_workshop_network(0)


def make_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root(ctx: typer.Context, data_dir: Annotated[Path, typer.Option("--data-dir")]) -> None:
        ctx.obj = load_settings(data_dir=data_dir)

    app.command("maintenance")(maintenance)
    return app


APP = make_app()


def invoke(settings: Settings, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(APP, ["--data-dir", str(settings.data_dir), "maintenance", *args])
    return result.exit_code, result.stdout, result.stderr


@dataclass(frozen=True)
class Demo:
    settings: Settings
    due: VehicleRecord  # a vehicle with a suggestion that has slots
    plan: MaintenancePlan  # its suggestions, computed by the library (nothing booked)
    quiet: VehicleRecord  # a vehicle with nothing due
    china: VehicleRecord  # a vehicle fleet-health may not read (PIPL residency)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    settings, _ = build_demo(tmp_path_factory.mktemp("maintenance-cli") / "data")
    with session_scope(settings.resolved_state_url) as session:
        fleet = list_vehicles(session)
    principal = principal_named(settings.resolved_principals_file, "fleet-health")
    context, lake = AccessContext(principal, "vehicle_health"), Lake(settings.lake_dir)
    plans: dict[str, tuple[VehicleRecord, MaintenancePlan]] = {}
    for model in sorted({v.model_id for v in fleet}):
        peers = [v for v in fleet if v.model_id == model]
        scan = fleet_scan(lake, context, peers)
        for v in peers:
            if v.region == "cn":
                continue
            health = VehicleHealth.from_health(scan, diagnose_vehicle(lake, context, v, scan))
            plan = suggest_maintenance(v, health, network=NETWORK, store=InMemoryBookingStore())
            plans[v.vehicle_id] = (v, plan)
    due = [p for p in plans.values() if p[1].suggestions and len(p[1].suggestions[0].slots) >= 2]
    quiet = [p[0] for p in plans.values() if p[1].nothing_due]
    china = [v for v in fleet if v.region == "cn"]
    assert due and quiet and china, "the demo fleet should have all three kinds of vehicle"
    return Demo(settings, due[0][0], due[0][1], quiet[0], china[0])


def run_json(settings: Settings, *args: str) -> dict[str, Any]:
    code, out, err = invoke(settings, *args, "--json")
    assert code == 0, err
    return dict(json.loads(out))


def test_help_names_the_options_and_has_the_example(demo: Demo) -> None:
    code, out, _ = invoke(demo.settings, "--help")
    assert code == 0
    assert "Example: drivetrain recommend maintenance --vehicle VH-00003" in out
    for option in ("--vehicle", "--as", "--slots", "--book", "--json"):
        assert option in out


def test_json_has_the_suggestions_the_library_makes_and_records_them(demo: Demo) -> None:
    body = run_json(demo.settings, "--vehicle", demo.due.vehicle_id)
    assert body["vehicle_id"] == demo.due.vehicle_id and body["booking"] is None
    got, expected = body["suggestions"], [s.to_dict() for s in demo.plan.suggestions]
    fields = ("job_id", "job", "capability", "urgency", "latest_date", "evidence", "findings")
    assert [{k: s[k] for k in fields} for s in got] == [{k: s[k] for k in fields} for s in expected]
    audit = AuditLog(demo.settings.data_dir)
    for s in got:
        assert 1 <= len(s["slots"]) <= 3
        for slot in s["slots"]:
            workshop = NETWORK.get(slot["workshop_id"])
            assert workshop.market == demo.due.market and workshop.can(s["capability"])
        e = explain(audit, s["output_id"])
        assert (e.output_kind, e.purpose, e.principal) == (
            "maintenance_suggestion", "vehicle_health", "fleet-health"
        )  # fmt: skip
        assert e.params["job"] == s["job_id"] and e.params["network"] == NETWORK.name
        assert set(e.params["health_outputs"]) == {"health_scan", "health_diagnosis"}
    assert not bookings_path(demo.settings.data_dir).exists()  # nothing booked, nothing written


def test_slots_option_limits_the_offer(demo: Demo) -> None:
    body = run_json(demo.settings, "--vehicle", demo.due.vehicle_id, "--slots", "1")
    assert [len(s["slots"]) for s in body["suggestions"]] == [
        min(1, len(s.slots)) for s in demo.plan.suggestions
    ]


def test_table_shows_job_urgency_evidence_slots_and_output_ids(demo: Demo) -> None:
    code, out, err = invoke(demo.settings, "--vehicle", demo.due.vehicle_id)
    assert code == 0, err
    flat = " ".join(out.split())
    first = demo.plan.suggestions[0]
    assert f"1. {first.job}" in flat and first.urgency in flat
    assert f"latest {first.latest_date}" in flat
    assert first.evidence[0].split()[0] in flat
    for slot in first.slots:
        assert slot.workshop_id in out
    assert flat.count("drivetrain explain out-") == len(demo.plan.suggestions)


def test_book_takes_the_nth_slot_and_persists_for_the_next_run(demo: Demo, tmp_path: Path) -> None:
    settings = copy_data(demo.settings, tmp_path)
    vid = demo.due.vehicle_id
    first = run_json(settings, "--vehicle", vid)["suggestions"][0]
    second_slot = first["slots"][1]
    workshop = NETWORK.get(second_slot["workshop_id"])
    # another run (or the API) took all but one bay of that slot
    store = JsonFileBookingStore(bookings_path(settings.data_dir))
    for n in range(workshop.bays - 1):
        book_slot(NETWORK, store, workshop_id=workshop.workshop_id,
                  start=datetime.fromisoformat(second_slot["start"]), job_id=first["job_id"],
                  vehicle_id=f"veh_other{n}")  # fmt: skip
    body = run_json(settings, "--vehicle", vid, "--book", "2")
    booking = body["booking"]
    assert (booking["workshop_id"], booking["start"]) == (
        second_slot["workshop_id"], second_slot["start"]
    )  # fmt: skip
    assert booking["vehicle_id"] == vid and booking["job_id"] == first["job_id"]
    assert booking["suggestion_id"] == body["suggestions"][0]["output_id"]
    on_file = json.loads(bookings_path(settings.data_dir).read_text(encoding="utf-8"))
    assert [b["vehicle_id"] for b in on_file["bookings"]][-1] == vid
    assert len(on_file["bookings"]) == workshop.bays
    # the slot is full now: the next run no longer offers it
    again = run_json(settings, "--vehicle", vid)["suggestions"][0]["slots"]
    offered = {(s["workshop_id"], s["start"]) for s in again}
    assert (second_slot["workshop_id"], second_slot["start"]) not in offered
    code, out, err = invoke(settings, "--vehicle", vid, "--book", "1")
    assert code == 0, err
    assert "booked bkg-" in " ".join(out.split())
    assert len(list(JsonFileBookingStore(bookings_path(settings.data_dir)))) == workshop.bays + 1


def test_book_beyond_the_offered_slots_is_an_input_error(demo: Demo, tmp_path: Path) -> None:
    settings = copy_data(demo.settings, tmp_path)
    code, out, err = invoke(settings, "--vehicle", demo.due.vehicle_id, "--book", "9")
    assert code == 65 and "--book 9: the first suggestion offers" in err
    assert "Traceback" not in out + err and "hint:" in err
    assert not bookings_path(settings.data_dir).exists()


def test_a_vehicle_with_nothing_due_says_so_and_has_nothing_to_book(demo: Demo) -> None:
    vid = demo.quiet.vehicle_id
    code, out, err = invoke(demo.settings, "--vehicle", vid)
    assert code == 0, err
    flat = " ".join(out.split())
    assert "Nothing needs a workshop in the next 90 days" in flat
    assert "drivetrain explain out-" in flat
    body = run_json(demo.settings, "--vehicle", vid)
    assert body["nothing_due"] is True and body["suggestions"] == []
    assert body["output_id"].startswith("out-")
    code, _, err = invoke(demo.settings, "--vehicle", vid, "--book", "1")
    assert code == 65 and "nothing to book" in err


def test_unknown_vehicle_and_refused_reads_exit_without_traceback(demo: Demo) -> None:
    code, out, err = invoke(demo.settings, "--vehicle", "veh_0000000000000000")
    assert code == 66 and "no registered vehicle veh_0000000000000000" in err
    code, out, err = invoke(demo.settings, "--vehicle", demo.china.vehicle_id)
    assert code == 77 and "pipl_residency" in " ".join(err.split())
    assert "Traceback" not in out + err
    code, _, err = invoke(demo.settings, "--vehicle", demo.due.vehicle_id, "--as", "nobody")
    assert code != 0 and "nobody" in err
