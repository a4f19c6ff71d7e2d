"""``drivetrain auth``: passwords and API keys from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drivetrain.cli.main import app
from drivetrain.demo.governance_tour import DEMO_PRINCIPALS
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.identity import (
    authenticate_api_key,
    check_password,
    find_session,
    open_session,
)
from drivetrain.settings import load_settings
from drivetrain.state import migrate, session_scope

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "principals.toml").write_text(DEMO_PRINCIPALS, encoding="utf-8")
    return tmp_path


def _url(data_dir: Path) -> str:
    url = load_settings(data_dir=data_dir).resolved_state_url
    migrate(url)
    return url


def test_set_password_from_stdin_signs_out_open_sessions(data_dir: Path) -> None:
    from datetime import timedelta

    with session_scope(_url(data_dir)) as session:
        _, token = open_session(session, "warranty", timedelta(hours=1))
    result = runner.invoke(
        app,
        ["--data-dir", str(data_dir), "auth", "set-password", "warranty", "--password-stdin"],
        input="a long enough passphrase\n",
    )
    assert result.exit_code == 0, result.stderr
    assert "1 open session(s) signed out" in result.stdout
    with session_scope(_url(data_dir)) as session:
        assert check_password(session, "warranty", "a long enough passphrase")
        assert find_session(session, token) is None
    admin = AuditLog(data_dir).entries("admin")
    assert admin[-1].details["action"] == "password_set"
    assert "passphrase" not in json.dumps([e.details for e in admin])


def test_set_password_refuses_unknown_principals_and_short_passwords(data_dir: Path) -> None:
    args = ["--data-dir", str(data_dir), "auth", "set-password"]
    unknown = runner.invoke(app, [*args, "mallory", "--password-stdin"], input="x" * 20 + "\n")
    assert unknown.exit_code == 66 and "no principal 'mallory'" in unknown.stderr
    short = runner.invoke(app, [*args, "warranty", "--password-stdin"], input="short\n")
    assert short.exit_code == 65 and "12 to 1024 characters" in short.stderr


def test_key_create_list_and_revoke(data_dir: Path) -> None:
    base = ["--data-dir", str(data_dir), "auth"]
    made = runner.invoke(
        app, [*base, "key-create", "charging-service", "--scope", "fleet:read", "--json"]
    )
    assert made.exit_code == 0, made.stderr
    created = json.loads(made.stdout)
    with session_scope(_url(data_dir)) as session:
        key = authenticate_api_key(session, created["token"])
        assert key is not None and key.scopes == ("fleet:read",)
    listed = json.loads(runner.invoke(app, [*base, "keys", "--json"]).stdout)
    assert [k["key_id"] for k in listed] == [created["key_id"]]
    assert created["token"] not in json.dumps(listed)
    revoked = runner.invoke(app, [*base, "key-revoke", created["key_id"]])
    assert revoked.exit_code == 0, revoked.stderr
    with session_scope(_url(data_dir)) as session:
        assert authenticate_api_key(session, created["token"]) is None
    bad = runner.invoke(app, [*base, "key-create", "parts", "--scope", "everything"])
    assert bad.exit_code == 65 and "unknown or missing scope" in bad.stderr
    missing = runner.invoke(app, [*base, "key-revoke", "nosuchkey"])
    assert missing.exit_code == 66
