"""``drivetrain governance …`` — data subjects, consent and regional policy."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from drivetrain.cli.output import console, handle_errors, print_json, print_table, settings_of
from drivetrain.errors import InputError
from drivetrain.governance.access import AccessContext
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.changes import (
    operator,
    record_admin_change,
    record_consent_events,
)
from drivetrain.governance.consent import (
    consent_history,
    consent_receipt,
    give_consent,
    withdraw_consent,
)
from drivetrain.governance.keys import Keyring
from drivetrain.governance.policies import region_policy
from drivetrain.governance.principals import principal_named
from drivetrain.governance.reidentify import reidentify
from drivetrain.governance.retention import QUARANTINE_DAYS, enforce_retention
from drivetrain.governance.subject_rights import compact_state, erase_subject, export_subject
from drivetrain.governance.subjects import link_vehicle, register_subject
from drivetrain.ingest import list_campaigns
from drivetrain.lake import Lake
from drivetrain.settings import Settings
from drivetrain.state import migrate, session_scope

app = typer.Typer(
    help="Governance: data subjects, consent and the regional data-protection policies.",
    no_args_is_help=True,
)
subject_app = typer.Typer(help="Owners, drivers and households, and their vehicles.")
consent_app = typer.Typer(help="Consent given and withdrawn, per purpose and data category.")
policy_app = typer.Typer(help="Regional data-protection policies.")
app.add_typer(subject_app, name="subject", no_args_is_help=True)
app.add_typer(consent_app, name="consent", no_args_is_help=True)
app.add_typer(policy_app, name="policy", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _url(ctx: typer.Context) -> str:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    migrate(settings.resolved_state_url)
    return settings.resolved_state_url


def _audit(ctx: typer.Context) -> AuditLog:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return AuditLog(settings.ensure_data_dir())


def _when(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 time; without a zone it is taken as UTC."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InputError(
            f"--{name} {value!r} is not an ISO 8601 time", hint="e.g. 2026-10-05T12:00:00Z"
        ) from exc
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


@subject_app.command("add")
@handle_errors
def subject_add(
    ctx: typer.Context,
    subject_id: Annotated[str, typer.Argument(help="Id of the subject, e.g. a customer number.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    region: Annotated[str, typer.Option(help="Governance region: eu, us, cn, kr or ca.")],
    kind: Annotated[str, typer.Option(help="owner, driver or household.")] = "owner",
) -> None:
    """Register a data subject.

    Example: drivetrain governance subject add cust-0042 --name 'Anna Rossi' --region eu
    """
    with session_scope(_url(ctx)) as session:
        subject = register_subject(session, subject_id, kind=kind, display_name=name, region=region)
    details = {"subject": subject_id, "kind": kind, "region": region}
    record_admin_change(_audit(ctx), "subject_add", details, principal=operator())
    console.print(f"subject [bold]{subject.subject_id}[/] ({subject.kind}, {subject.region})")


@subject_app.command("link")
@handle_errors
def subject_link(
    ctx: typer.Context,
    subject_id: Annotated[str, typer.Argument(help="The subject.")],
    vehicle_id: Annotated[str, typer.Argument(help="The vehicle (its pseudonymous id).")],
    role: Annotated[str, typer.Option(help="owner or driver.")] = "owner",
    valid_from: Annotated[
        str | None, typer.Option("--from", help="Start, ISO 8601 (default: now).")
    ] = None,
    valid_to: Annotated[str | None, typer.Option("--to", help="End, ISO 8601 (open).")] = None,
) -> None:
    """Link a subject to a vehicle as its owner or a driver over a period.

    Example: drivetrain governance subject link cust-0042 veh_3fa9c01b2e7d --role owner
    --from 2026-01-15T00:00:00Z
    """
    start = _when(valid_from, "from") or datetime.now(UTC)
    with session_scope(_url(ctx)) as session:
        link = link_vehicle(session, subject_id, vehicle_id, role, start, _when(valid_to, "to"))
    details = {"subject": subject_id, "vehicle": vehicle_id, "role": role, "period": link.period()}
    record_admin_change(_audit(ctx), "subject_link", details, principal=operator())
    console.print(f"{link.subject_id} is {link.role} of {link.vehicle_id} {link.period()}")


@consent_app.command("give")
@handle_errors
def consent_give(
    ctx: typer.Context,
    subject_id: Annotated[str, typer.Argument(help="The subject.")],
    purpose: Annotated[str, typer.Option(help="Purpose, e.g. vehicle_health.")],
    category: Annotated[list[str], typer.Option(help="Data category (repeatable).")],
    notice: Annotated[str, typer.Option(help="Version of the privacy notice shown.")],
    basis: Annotated[str, typer.Option(help="Legal basis.")] = "consent",
    at: Annotated[str | None, typer.Option(help="When, ISO 8601 (default: now).")] = None,
) -> None:
    """Record that a subject gave consent for a purpose and data categories.

    Example: drivetrain governance consent give cust-0042 --purpose location_services
    --category location --notice 2026-03
    """
    with session_scope(_url(ctx)) as session:
        records = give_consent(
            session,
            subject_id,
            purpose,
            category,
            notice_version=notice,
            legal_basis=basis,
            at=_when(at, "at"),
        )
    record_consent_events(_audit(ctx), records, principal=operator())
    for r in records:
        console.print(f"{r.subject_id}: {r.data_category} for {r.purpose} given ({r.legal_basis})")


@consent_app.command("withdraw")
@handle_errors
def consent_withdraw(
    ctx: typer.Context,
    subject_id: Annotated[str, typer.Argument(help="The subject.")],
    purpose: Annotated[str, typer.Option(help="Purpose, e.g. vehicle_health.")],
    category: Annotated[list[str], typer.Option(help="Data category (repeatable).")],
    at: Annotated[str | None, typer.Option(help="When, ISO 8601 (default: now).")] = None,
) -> None:
    """Record a withdrawal (or objection): data from that moment on is no longer collected.

    Example: drivetrain governance consent withdraw cust-0042 --purpose vehicle_health
    --category location
    """
    with session_scope(_url(ctx)) as session:
        records = withdraw_consent(session, subject_id, purpose, category, at=_when(at, "at"))
    record_consent_events(_audit(ctx), records, principal=operator())
    for r in records:
        console.print(
            f"{r.subject_id}: {r.data_category} for {r.purpose} withdrawn from {r.at.isoformat()}"
        )


@consent_app.command("history")
@handle_errors
def consent_history_(
    ctx: typer.Context,
    subject_id: Annotated[str, typer.Argument(help="The subject.")],
    as_json: AsJson = False,
) -> None:
    """Show every consent event of a subject, oldest first.

    Example: drivetrain governance consent history cust-0042 --json
    """
    with session_scope(_url(ctx)) as session:
        history = consent_history(session, subject_id)
    if as_json:
        print_json([dataclasses.asdict(r) for r in history])
        return
    print_table(
        f"{len(history)} consent event(s) of {subject_id}",
        ("at", "action", "purpose", "category", "basis", "region", "notice"),
        (
            (r.at.isoformat(), r.action, r.purpose, r.data_category, r.legal_basis, r.region,
             r.notice_version)
            for r in history
        ),
    )  # fmt: skip


@consent_app.command("receipt")
@handle_errors
def consent_receipt_(
    ctx: typer.Context,
    subject_id: Annotated[str, typer.Argument(help="The subject.")],
    controller: Annotated[
        str | None, typer.Option(help="Name of the data controller on the receipt.")
    ] = None,
) -> None:
    """Print the subject's consent receipt (Kantara Consent Receipt v1.1 structure, JSON).

    Example: drivetrain governance consent receipt cust-0042 --controller 'Fiat Europe'
    """
    with session_scope(_url(ctx)) as session:
        receipt = consent_receipt(
            session, subject_id, controller={"piiController": controller} if controller else None
        )
    print_json(receipt)


@policy_app.command("show")
@handle_errors
def policy_show(
    region: Annotated[str, typer.Argument(help="eu, us, cn, kr or ca.")],
    as_json: AsJson = False,
) -> None:
    """Show a region's policy: legal bases per purpose and category, residency, rights.

    Example: drivetrain governance policy show eu
    """
    policy = region_policy(region)
    if as_json:
        print_json(
            {
                "region": policy.region,
                "name": policy.name,
                "laws": list(policy.laws),
                "default_basis": policy.default_basis,
                "bases": [
                    {"purpose": p, "category": c, "basis": b}
                    for (p, c), b in sorted(policy.bases.items())
                ],
                "no_subject": {
                    "categories": sorted(policy.no_subject_categories),
                    "bases": sorted(policy.no_subject_bases),
                },
                "readable_from": sorted(policy.readable_from),
                "rights": [dataclasses.asdict(r) for r in policy.rights.values()],
            }
        )
        return
    console.print(f"[bold]{policy.name}[/]  ({'; '.join(policy.laws)})")
    print_table(
        f"legal bases (anything else: {policy.default_basis})",
        ("purpose", "category", "basis"),
        ((p, c, b) for (p, c), b in sorted(policy.bases.items())),
    )
    console.print(
        "without a registered subject: "
        f"{', '.join(sorted(policy.no_subject_categories)) or 'nothing'} data under "
        f"{', '.join(sorted(policy.no_subject_bases)) or 'no basis'}"
    )
    console.print(
        "readable from: "
        + (", ".join(sorted(policy.readable_from)) if policy.readable_from else "anywhere")
    )
    print_table(
        "data-subject rights",
        ("right", "law", "deadline", "what"),
        (
            (
                r.name,
                r.law,
                f"{r.deadline_days} d" if r.deadline_days is not None else r.deadline_note,
                r.description,
            )
            for r in policy.rights.values()
        ),
    )


@app.command("export")
@handle_errors
def export(
    ctx: typer.Context,
    subject_id: Annotated[str, typer.Argument(help="The data subject.")],
    out: Annotated[Path, typer.Option(help="Zip file to write.")],
) -> None:
    """Write a data-subject access export (GDPR Art. 15, EU Data Act): Parquet + JSON in a zip.

    Holds the lake rows of the subject's vehicles within their ownership periods (sealed
    personal signals opened with the subject's key), the subject's record, links,
    consent history and consent receipt.
    Example: drivetrain governance export owner-00002 --out owner-00002.zip
    """
    settings = settings_of(ctx)
    with session_scope(_url(ctx)) as session:
        keyring = Keyring.load_or_create(settings.ensure_data_dir())
        data = export_subject(session, Lake(settings.lake_dir), subject_id, out, keyring)
    AuditLog(settings.data_dir).append(
        "export",
        principal="data_protection_officer",
        purpose="legal_obligation",
        details={"subject": subject_id, "rows": data.rows},
    )
    console.print(f"wrote {out}: " + ", ".join(f"{t} {n:,}" for t, n in data.rows.items()))


@app.command("erase")
@handle_errors
def erase(
    ctx: typer.Context,
    subject_id: Annotated[str, typer.Argument(help="The data subject to erase.")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
) -> None:
    """Erase a data subject (GDPR Art. 17): their keys, their lake rows (vacuumed), their records.

    The subject's data keys are destroyed first (crypto-shredding): their sealed personal
    signals are unreadable from then on in any copy of any file. Old table versions are
    vacuumed too, so time travel to before the erasure ends.
    Example: drivetrain governance erase owner-00002 --yes
    """
    if not yes:
        raise InputError(f"erasing {subject_id} cannot be undone", hint="add --yes to confirm")
    settings = settings_of(ctx)
    with session_scope(_url(ctx)) as session:
        report = erase_subject(
            session, Lake(settings.lake_dir), subject_id, audit=AuditLog(settings.data_dir)
        )
        compact_state(session)
    console.print(
        f"erased {subject_id}: rows "
        + ", ".join(f"{t} {n:,}" for t, n in report.rows_deleted.items())
        + f"; {report.files_removed} files removed; {len(report.keys_destroyed)} data key(s) destroyed"
    )


@app.command("enforce-retention")
@handle_errors
def enforce_retention_command(
    ctx: typer.Context,
    quarantine_days: Annotated[
        int, typer.Option(help="Keep refused (quarantined) rows this many days.", min=1)
    ] = QUARANTINE_DAYS,
) -> None:
    """Delete signals older than the retention of the campaigns that collected them.

    A signal (in clear or sealed) is kept for the longest retention among the campaigns
    asking for it; signals no campaign asks for any more are listed for an administrator
    to decide. Quarantined rows are deleted --quarantine-days after they were refused.
    Example: drivetrain governance enforce-retention --quarantine-days 14
    """
    settings = settings_of(ctx)
    with session_scope(_url(ctx)) as session:
        campaigns = list_campaigns(session)
    report = enforce_retention(
        Lake(settings.lake_dir),
        campaigns,
        audit=AuditLog(settings.data_dir),
        quarantine_days=quarantine_days,
    )
    print_table(
        "retention enforced",
        ("kept for (days)", "rows deleted"),
        ((days, f"{n:,}") for days, n in sorted(report.deleted.items())),
    )
    console.print(
        f"quarantine: {report.quarantine_deleted:,} rows refused over {quarantine_days} days ago "
        "deleted"
    )
    if report.uncovered_signals:
        console.print(
            f"{len(report.uncovered_signals)} stored signal(s) no campaign asks for any more: "
            + ", ".join(report.uncovered_signals)
        )


@app.command("reidentify")
@handle_errors
def reidentify_command(
    ctx: typer.Context,
    vehicle_id: Annotated[str, typer.Argument(help="The vehicle's pseudonym (veh_…).")],
    as_: Annotated[str, typer.Option("--as", help="The principal asking (principals_file).")],
    purpose: Annotated[str, typer.Option(help="Why, e.g. warranty (a recall).")],
) -> None:
    """Show the VIN behind a vehicle pseudonym, if the principal may re-identify it.

    A read of the protected object vehicle_identity: allowed by the access policy to
    warranty engineers for warranty and to the data-protection officer for
    legal_obligation; audited either way.
    Example: drivetrain governance reidentify veh_0123456789abcdef --as wendy --purpose warranty
    """
    settings = settings_of(ctx)
    principal = principal_named(settings.resolved_principals_file, as_)
    context = AccessContext(principal, purpose)
    with session_scope(_url(ctx)) as session:
        vin = reidentify(session, vehicle_id, context, audit=AuditLog(settings.data_dir))
    console.print(f"{vehicle_id}: {vin}", highlight=False)
