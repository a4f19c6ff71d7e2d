"""``drivetrain auth …`` — console passwords and API keys of principals."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Annotated

import typer

from drivetrain.cli.output import console, handle_errors, print_json, print_table, settings_of
from drivetrain.errors import InputError
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.changes import operator, record_admin_change
from drivetrain.governance.identity import (
    close_sessions_of,
    issue_api_key,
    list_api_keys,
    revoke_api_key,
    set_password,
)
from drivetrain.governance.principals import principal_named
from drivetrain.settings import Settings
from drivetrain.state import migrate, session_scope

app = typer.Typer(
    help="Sign-in for the web console (passwords) and for services (scoped API keys).",
    no_args_is_help=True,
)


def _url(settings: Settings) -> str:
    migrate(settings.resolved_state_url)
    return settings.resolved_state_url


def _record(settings: Settings, action: str, details: dict[str, object]) -> None:
    record_admin_change(AuditLog(settings.ensure_data_dir()), action, details, principal=operator())


@app.command("set-password")
@handle_errors
def set_password_command(
    ctx: typer.Context,
    principal: Annotated[str, typer.Argument(help="A principal of the principals file.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set a principal's console password (argon2id); signs out its open sessions.

    Asks twice on a terminal; with --password-stdin reads one line (for scripts).
    Example: drivetrain auth set-password fleet-health
    """
    settings = settings_of(ctx)
    principal_named(settings.resolved_principals_file, principal)  # must exist
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with session_scope(_url(settings)) as session:
        set_password(session, principal, password)
        closed = close_sessions_of(session, principal)
    _record(settings, "password_set", {"principal": principal, "sessions_closed": closed})
    console.print(f"password of [bold]{principal}[/] set; {closed} open session(s) signed out")


def _days(days: int | None) -> timedelta | None:
    if days is None:
        return None
    if days <= 0:
        raise InputError(f"--days must be positive, got {days}", hint="or leave it out: no expiry")
    return timedelta(days=days)


@app.command("key-create")
@handle_errors
def key_create(
    ctx: typer.Context,
    principal: Annotated[str, typer.Argument(help="The principal the key acts as.")],
    scope: Annotated[
        list[str], typer.Option(help="What the key may do, e.g. fleet:read (repeatable; * all).")
    ],
    label: Annotated[str, typer.Option(help="What the key is for.")] = "",
    days: Annotated[int | None, typer.Option(help="Days until it expires (default 90).")] = 90,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create a scoped API key; the key is printed once and stored only as a digest.

    Send it as 'Authorization: Bearer dtk_…'. Scopes narrow what the principal's
    roles allow; they never widen it.
    Example: drivetrain auth key-create charging-service --scope fleet:read --label charger-sync
    """
    settings = settings_of(ctx)
    principal_named(settings.resolved_principals_file, principal)
    with session_scope(_url(settings)) as session:
        key, token = issue_api_key(session, principal, scope, label=label, expires_in=_days(days))
    _record(settings, "api_key_created", {"key_id": key.key_id, "principal": principal,
                                           "scopes": list(key.scopes)})  # fmt: skip
    if as_json:
        print_json({"key_id": key.key_id, "token": token, "expires_at": key.expires_at})
        return
    console.print(f"API key [bold]{key.key_id}[/] for {principal} ({', '.join(key.scopes)})")
    console.print(token, highlight=False, soft_wrap=True)
    console.print("[dim]store it now: it is not shown again[/]")


@app.command("keys")
@handle_errors
def keys(
    ctx: typer.Context,
    principal: Annotated[str | None, typer.Option(help="Only this principal's keys.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List API keys (ids, scopes, expiry, last use — never the keys themselves).

    Example: drivetrain auth keys --principal charging-service
    """
    with session_scope(_url(settings_of(ctx))) as session:
        found = list_api_keys(session, principal)
    if as_json:
        print_json([
            {"key_id": k.key_id, "principal": k.principal_id, "label": k.label,
             "scopes": list(k.scopes), "created_at": k.created_at, "expires_at": k.expires_at,
             "revoked_at": k.revoked_at, "last_used_at": k.last_used_at, "active": k.active}
            for k in found
        ])  # fmt: skip
        return
    print_table(
        f"{len(found)} API key(s)",
        ("key", "principal", "scopes", "label", "expires", "last used", "state"),
        (
            (
                k.key_id,
                k.principal_id,
                ", ".join(k.scopes),
                k.label,
                f"{k.expires_at:%Y-%m-%d}" if k.expires_at else "never",
                f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "—",
                "active" if k.active else ("revoked" if k.revoked_at else "expired"),
            )
            for k in found
        ),
    )


@app.command("key-revoke")
@handle_errors
def key_revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key's id (from 'drivetrain auth keys').")],
) -> None:
    """Revoke an API key at once; requests with it are refused from now on.

    Example: drivetrain auth key-revoke 3k9x0a7b2m1q
    """
    settings = settings_of(ctx)
    with session_scope(_url(settings)) as session:
        key = revoke_api_key(session, key_id)
    _record(settings, "api_key_revoked", {"key_id": key_id, "principal": key.principal_id})
    console.print(f"API key [bold]{key_id}[/] of {key.principal_id} revoked")
