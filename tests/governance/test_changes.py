"""Consent events and administrative changes reach the audit log, after they commit."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from drivetrain.cli.main import app
from drivetrain.governance.audit import AuditLog
from drivetrain.state import migrate, session_scope

from .test_consent import add_vehicle


def test_cli_changes_are_audited_and_refused_ones_are_not(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    migrate(url)
    with session_scope(url) as s:
        vehicle = add_vehicle(s, 1)
    runner = CliRunner()

    def run(*args: str) -> int:
        result = runner.invoke(app, ["--data-dir", str(tmp_path), *args])
        return result.exit_code

    assert run("governance", "subject", "add", "anna", "--name", "Anna", "--region", "eu") == 0
    assert run("governance", "subject", "link", "anna", vehicle, "--from", "2026-01-01") == 0
    give = ("governance", "consent", "give", "anna", "--purpose", "location_services")
    assert run(*give, "--category", "location", "--category", "cabin", "--notice", "v1") == 0
    assert run(*give, "--category", "location", "--notice", "v1", "--basis", "whim") == 65
    assert (
        run(
            "governance",
            "consent",
            "withdraw",
            "anna",
            "--purpose",
            "location_services",
            "--category",
            "location",
            "--at",
            "2026-05-01T00:00:00Z",
        )
        == 0
    )
    assert (
        run("campaign", "create", "c1", "--purpose", "vehicle_health", "--signal", "Vehicle.Speed")
        == 0
    )
    assert run("campaign", "stop", "c1") == 0
    entries = AuditLog(tmp_path).entries()
    got = [(e.kind, e.details.get("action"), e.details.get("data_category")) for e in entries]
    assert got == [
        ("admin", "subject_add", None),
        ("admin", "subject_link", None),
        ("consent", "given", "location"),
        ("consent", "given", "cabin"),
        ("consent", "withdrawn", "location"),
        ("admin", "campaign_create", None),
        ("admin", "campaign_stop", None),
    ]
    consent = entries[2]
    assert consent.purpose == "location_services" and consent.details["subject"] == "anna"
    assert consent.details["notice_version"] == "v1" and consent.principal.startswith("cli:")
    # the subject's display name is personal data: never in the append-only log
    assert b"Anna" not in b"".join(p.read_bytes() for p in (tmp_path / "audit").iterdir())
    AuditLog(tmp_path).verify()
