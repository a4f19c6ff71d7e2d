"""AI provenance through the audit log, and the ``audit``/``explain`` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from drivetrain.cli import audit as audit_cli
from drivetrain.errors import InputError, IntegrityError, NotFound
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import explain, find_output, record_output, record_run
from drivetrain.settings import load_settings


def _record(audit: AuditLog, **overrides: Any) -> str:
    arguments: dict[str, Any] = {
        "kind": "diagnosis",
        "model": "health.ranked-diagnosis",
        "version": "0.3.1",
        "params": {"threshold": 0.8, "window_s": 600},
        "inputs": {"telemetry": 4, "dtc_events": 2},
        "sources": ["dtc:P0217", "doc:service-manual-4.2#cooling"],
        "principal": "svc:health",
        "purpose": "vehicle_health",
    }
    arguments.update(overrides)
    return record_output(audit, **arguments)


def test_an_output_is_recorded_and_explained_with_a_verified_proof(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path)
    audit.append("access", principal="svc:health", purpose="vehicle_health")
    output_id = _record(audit)
    assert output_id.startswith("out-") and len(output_id) == 36
    for i in range(5):  # later entries do not disturb the proof
        audit.append("access", principal="a", purpose="warranty", details={"i": i})
    result = explain(audit, output_id)
    assert (result.output_kind, result.model, result.version) == (
        "diagnosis",
        "health.ranked-diagnosis",
        "0.3.1",
    )
    assert result.inputs == {"telemetry": 4, "dtc_events": 2}
    assert result.params == {"threshold": 0.8, "window_s": 600}
    assert result.sources == ["dtc:P0217", "doc:service-manual-4.2#cooling"]
    assert (result.principal, result.purpose) == ("svc:health", "vehicle_health")
    assert result.entry.seq == 1 and result.entry.kind == "ai_output"
    assert result.tree_head.tree_size == 7
    assert result.proof.verify(result.tree_head.root_hash)
    assert json.loads(json.dumps(result.to_dict()))["verified"] is True


def test_explain_refuses_an_altered_record(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path)
    output_id = _record(audit)
    audit.append("access", principal="a", purpose="warranty")
    path = tmp_path / "audit" / "log.jsonl"
    path.write_bytes(path.read_bytes().replace(b'"0.3.1"', b'"0.3.2"'))
    with pytest.raises(IntegrityError, match=r"entry #0, line 1\) does not match tree head #2"):
        explain(AuditLog(tmp_path), output_id)


def test_bad_provenance_is_refused(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path)
    with pytest.raises(InputError, match="table versions"):
        _record(audit, inputs={"telemetry": "latest"})
    with pytest.raises(InputError, match="table versions"):
        _record(audit, inputs={"telemetry": -1})
    with pytest.raises(InputError, match="needs a model"):
        _record(audit, model="")
    with pytest.raises(InputError, match="sources"):
        _record(audit, sources="doc:one")
    with pytest.raises(InputError, match="not an output id"):
        explain(audit, "sim-123")
    with pytest.raises(NotFound, match="no AI output"):
        find_output(audit, "out-" + "0" * 32)
    assert audit.entries() == []


def test_runs_are_recorded(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path)
    entry = record_run(
        audit,
        "run-20261124-ab12",
        "ingest",
        {"tables": {"telemetry": 5}, "rows": 1200, "quarantined": 3},
        "user:alice",
        "vehicle_health",
    )
    assert entry.kind == "ingest" and entry.details["run_id"] == "run-20261124-ab12"
    query = record_run(
        audit, "q-1", "query", {"sql": "SELECT 1", "versions": {}}, "user:bob", "warranty"
    )
    assert query.seq == 1
    with pytest.raises(InputError, match="ingest, query"):
        record_run(audit, "x", "export", {}, "a", "b")
    with pytest.raises(InputError, match="not 'x'"):
        record_run(audit, "x", "query", {"run_id": "y"}, "a", "b")


# -- the command line ----------------------------------------------------------------------

runner = CliRunner()


def _cli(data_dir: Path) -> typer.Typer:
    """The audit commands mounted as cli/main.py mounts them."""
    root = typer.Typer()

    @root.callback()
    def _main(ctx: typer.Context) -> None:
        ctx.obj = load_settings(None, data_dir=data_dir)

    root.add_typer(audit_cli.app, name="audit")
    root.command("explain")(audit_cli.explain)
    return root


def _invoke(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(_cli(data_dir), list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_verify_log_and_explain(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path)
    audit.append("denial", principal="user:eve", purpose="marketing", details={"rule": "r1"})
    output_id = _record(audit)
    code, out, err = _invoke(tmp_path, "audit", "verify")
    assert code == 0, err
    assert "2 entries match all 2 signed tree heads" in out
    code, out, _ = _invoke(tmp_path, "audit", "verify", "--json")
    assert json.loads(out)["entries"] == 2
    code, out, _ = _invoke(tmp_path, "audit", "log", "--kind", "denial", "--json")
    assert code == 0 and [e["principal"] for e in json.loads(out)] == ["user:eve"]
    code, out, _ = _invoke(tmp_path, "audit", "log", "--limit", "1")
    assert code == 0 and "ai_output" in out and "denial" not in out
    code, out, err = _invoke(tmp_path, "explain", output_id)
    assert code == 0, err
    for text in ("health.ranked-diagnosis 0.3.1", "telemetry v4", "dtc:P0217", "svc:health"):
        assert text in out
    assert "inclusion proof verified against tree head #2 signed at" in out
    code, out, _ = _invoke(tmp_path, "explain", output_id, "--json")
    assert json.loads(out)["inputs"] == {"telemetry": 4, "dtc_events": 2}


def test_cli_verify_names_the_altered_entry(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path)
    for i in range(3):
        audit.append("access", principal="svc", purpose="warranty", details={"n": i})
    path = tmp_path / "audit" / "log.jsonl"
    path.write_bytes(path.read_bytes().replace(b'"n":1', b'"n":7'))
    code, _, err = _invoke(tmp_path, "audit", "verify")
    assert code == IntegrityError.exit_code
    assert "entry #1 (line 2 of log.jsonl) was altered" in err
    code, _, err = _invoke(tmp_path, "explain", "out-" + "1" * 32)
    assert code == NotFound.exit_code and "no AI output" in err


def test_every_audit_command_has_an_example() -> None:
    commands = [c.callback for c in audit_cli.app.registered_commands]
    for callback in [*commands, audit_cli.explain]:
        assert callback is not None and callback.__doc__ is not None
        assert "Example: drivetrain " in callback.__doc__.strip().splitlines()[-1]
