"""``drivetrain audit …`` and ``drivetrain explain`` — the tamper-evident audit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from drivetrain.cli.output import console, handle_errors, print_json, print_table
from drivetrain.governance.audit import AuditLog, load_public_key
from drivetrain.governance.provenance import Explanation
from drivetrain.governance.provenance import explain as explain_output
from drivetrain.settings import Settings

app = typer.Typer(
    help="The tamper-evident audit log: accesses, denials, consent, admin changes, AI outputs.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _audit(ctx: typer.Context) -> AuditLog:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return AuditLog(settings.data_dir)


@app.command("verify")
@handle_errors
def verify(
    ctx: typer.Context,
    public_key: Annotated[
        Path | None,
        typer.Option(help="A copy of the log's public key (PEM) kept outside the data directory."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute every entry's hash and check every signed tree head.

    Exits non-zero naming the first altered, removed, reordered or missing entry,
    or the forged tree head.
    Example: drivetrain audit verify --public-key /secure/audit_ed25519.pub.pem
    """
    audit = _audit(ctx)
    report = audit.verify(load_public_key(public_key) if public_key else None)
    latest = report.latest
    if as_json:
        print_json(
            {
                "ok": True,
                "entries": report.entries,
                "tree_heads": report.tree_heads,
                "uncovered": report.uncovered,
                "key_id": report.key_id,
                "latest": latest.to_dict() if latest else None,
            }
        )
        return
    if latest is None:
        console.print(f"audit log {audit.log_path} is empty: nothing to verify")
        return
    console.print(
        f"[bold green]ok[/]: {report.entries:,} entries match all {report.tree_heads:,} "
        f"signed tree heads (key {report.key_id}); latest #{latest.tree_size} signed at "
        f"{latest.time:%Y-%m-%d %H:%M:%S} UTC, root {latest.root_hash.hex()}"
    )
    if report.uncovered:
        console.print(
            f"[yellow]warning[/]: the last {report.uncovered} entr(y/ies) are not yet covered by "
            "a signed tree head (the next append signs them)"
        )


@app.command("log")
@handle_errors
def log(
    ctx: typer.Context,
    kind: Annotated[
        str | None, typer.Option(help="Only this kind, e.g. access, denial, ai_output.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Show the last N entries.", min=1)] = 20,
    as_json: JsonOption = False,
) -> None:
    """Show the latest audit entries, oldest first.

    Example: drivetrain audit log --kind denial --limit 50
    """
    entries = _audit(ctx).entries(kind=kind)[-limit:]
    if as_json:
        print_json([e.to_dict() for e in entries])
        return
    print_table(
        f"{len(entries)} audit entr{'y' if len(entries) == 1 else 'ies'}",
        ("seq", "time (UTC)", "kind", "principal", "purpose", "details"),
        (
            (
                e.seq,
                f"{e.time:%Y-%m-%d %H:%M:%S}",
                e.kind,
                e.principal,
                e.purpose,
                _short(json.dumps(e.details, sort_keys=True, ensure_ascii=False)),
            )
            for e in entries
        ),
    )


def _short(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@handle_errors
def explain(
    ctx: typer.Context,
    output_id: Annotated[str, typer.Argument(help="The id of an AI output, out-<32 hex>.")],
    as_json: JsonOption = False,
) -> None:
    """Show how an AI output was produced, and prove its record was not altered.

    Example: drivetrain explain out-4b1f0c2e9a7d4e6f8a3b5c7d9e1f2a3b
    """
    result = explain_output(_audit(ctx), output_id)
    if as_json:
        print_json(result.to_dict())
        return
    print_explanation(result)


def print_explanation(result: Explanation) -> None:
    """The table ``drivetrain explain`` prints, with the verified proof under it."""
    print_table(
        f"output {result.output_id}",
        ("", ""),
        (
            ("kind", result.output_kind),
            ("model", f"{result.model} {result.version}"),
            ("parameters", json.dumps(result.params, sort_keys=True, ensure_ascii=False)),
            ("inputs", ", ".join(f"{t} v{v}" for t, v in sorted(result.inputs.items())) or "—"),
            ("sources", "\n".join(result.sources) or "—"),
            ("principal", result.principal),
            ("purpose", result.purpose),
            ("time", f"{result.time:%Y-%m-%d %H:%M:%S} UTC"),
            ("audit entry", f"#{result.entry.seq}"),
        ),
    )
    head = result.tree_head
    console.print(
        f"[bold green]inclusion proof verified[/] against tree head #{head.tree_size} "
        f"signed at {head.time:%Y-%m-%d %H:%M:%S} UTC (key {head.key_id}, "
        f"{len(result.proof.path)} hashes)"
    )
