"""``drivetrain assistant chat|eval`` and ``drivetrain recommend charging`` on the demo fleet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from deltalake import DeltaTable
from typer.testing import CliRunner

from drivetrain.cli.main import app
from drivetrain.fleet import list_vehicles
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.consent import consent_state, withdraw_consent
from drivetrain.governance.provenance import explain
from drivetrain.governance.subjects import links_of_vehicles
from drivetrain.settings import Settings
from drivetrain.state import session_scope
from tests.demo_data import build_demo, copy_data

runner = CliRunner()
SOC = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings, _ = build_demo(tmp_path_factory.mktemp("cockpit-cli"))
    return settings


def _invoke(settings: Settings, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--data-dir", str(settings.data_dir), *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def _vehicle(settings: Settings, model_id: str) -> str:
    """A European vehicle of ``model_id`` whose owner consented to personalisation."""
    with session_scope(settings.resolved_state_url) as session:
        ids = [  # in the EU personalisation needs consent; cockpit-service reads no cn car
            v.vehicle_id
            for v in list_vehicles(session)
            if v.model_id == model_id and v.region == "eu"
        ]
        owner = {link.vehicle_id: link.subject_id for link in links_of_vehicles(session, ids)}
        return next(
            v
            for v in ids
            if consent_state(session, owner[v], "personalisation", "technical").active
        )


def test_the_commands_explain_themselves() -> None:
    for args in (["assistant", "chat", "--help"], ["assistant", "eval", "--help"],
                 ["recommend", "charging", "--help"]):  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0 and "Example: drivetrain" in result.stdout, args


@pytest.mark.slow
def test_a_scripted_chat_acts_refuses_while_driving_and_is_audited(demo: Settings) -> None:
    vehicle = _vehicle(demo, "tesla-model-3")
    code, out, err = _invoke(
        demo, "assistant", "chat", "--vehicle", vehicle, "--json",
        "--say", "set the temperature to 22 degrees",
        "--say", "/drive 80",
        "--say", "move my seat back",
    )  # fmt: skip
    assert code == 0, err
    turns = json.loads(out)["turns"]
    assert [t["kind"] for t in turns] == ["acted", "refused"]
    assert turns[0]["writes"][0]["value"] == 22.0
    assert "NO_SAFETY_ACTUATORS" in turns[1]["rules"]
    audit = AuditLog(demo.data_dir)
    for turn in turns:
        record = explain(audit, turn["output_id"])
        assert record.output_kind == "assistant_turn" and record.purpose == "personalisation"
    assert explain(audit, turns[1]["output_id"]).params["moving"] is True


@pytest.mark.slow
def test_an_interactive_chat_reads_lines_until_quit(demo: Settings) -> None:
    vehicle = _vehicle(demo, "peugeot-308")
    code, out, err = _invoke(
        demo, "assistant", "chat", "--vehicle", vehicle,
        stdin="set the fan to high\n/state\n/quit\nset the temperature to 25\n",
    )  # fmt: skip
    assert code == 0, err
    assert "car >" in out and "Fan at 100 %" in out
    assert "Vehicle.Cabin.HVAC.Station.Row1.Driver.FanSpeed" in out  # the /state table
    assert "25 °C" not in out  # nothing is read after /quit


@pytest.mark.slow
def test_charging_is_planned_from_the_last_reported_charge(demo: Settings) -> None:
    vehicle = _vehicle(demo, "tesla-model-3")
    code, out, err = _invoke(
        demo, "recommend", "charging", "--vehicle", vehicle, "--to", "hamburg", "--json"
    )
    assert code == 0, err
    plan = json.loads(out)
    rows = DeltaTable(str(demo.lake_dir / "telemetry")).to_pyarrow_table(
        columns=["ts", "value"],
        filters=[("vehicle_id", "=", vehicle), ("signal", "=", SOC)],
    )
    latest = max(rows.to_pylist(), key=lambda r: r["ts"])["value"]
    assert plan["request"]["initial_soc_pct"] == pytest.approx(latest)
    assert plan["request"]["destination"] == "hamburg" and plan["arrival_soc_pct"] >= 10
    record = explain(AuditLog(demo.data_dir), plan["output_id"])
    assert record.output_kind == "charging_plan" and "telemetry" in record.inputs


def test_charging_needs_an_electric_car_and_a_known_place(demo: Settings) -> None:
    with session_scope(demo.resolved_state_url) as session:
        pickup = next(v.vehicle_id for v in list_vehicles(session) if v.model_id == "ram-1500")
    code, _, err = _invoke(demo, "recommend", "charging", "--vehicle", pickup, "--to", "hamburg")
    assert code != 0 and "no charging model" in err
    tesla = _vehicle(demo, "tesla-model-3")
    code, _, err = _invoke(demo, "recommend", "charging", "--vehicle", tesla, "--to", "atlantis")
    assert code != 0 and "atlantis" in err


def test_without_consent_charging_needs_the_charge_given(demo: Settings, tmp_path: Path) -> None:
    mine = copy_data(demo, tmp_path)
    tesla = _vehicle(mine, "tesla-model-3")
    with session_scope(mine.resolved_state_url) as session:
        (link,) = [k for k in links_of_vehicles(session, [tesla]) if k.role == "owner"]
        withdraw_consent(session, link.subject_id, "personalisation", ["technical"])
    code, _, err = _invoke(mine, "recommend", "charging", "--vehicle", tesla, "--to", "hamburg")
    assert code != 0 and "--soc" in err and "no legal basis" in err
    code, out, err = _invoke(
        mine, "recommend", "charging", "--vehicle", tesla, "--to", "hamburg",
        "--soc", "80", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["request"]["initial_soc_pct"] == 80


@pytest.mark.slow
def test_eval_scores_the_held_out_split(demo: Settings) -> None:
    code, out, err = _invoke(demo, "assistant", "eval", "--json", "--sample", "300")
    assert code == 0, err
    scores = json.loads(out)
    assert scores["utterances"] == 300  # the full split is scored by tests/cockpit/test_nlu.py
    assert scores["intent_accuracy"] > 0.8 and scores["slot_f1"] > 0.65  # 87 % / 79 % on all
