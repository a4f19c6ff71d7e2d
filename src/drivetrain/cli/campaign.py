"""``drivetrain campaign …`` — data-collection campaigns."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer

from drivetrain.cli.output import console, handle_errors, print_json, print_table
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.changes import operator, record_admin_change
from drivetrain.ingest import Campaign, create_campaign, list_campaigns, stop_campaign
from drivetrain.settings import Settings
from drivetrain.state import migrate, session_scope

app = typer.Typer(
    help="Data-collection campaigns: which vehicles, which signals, how often, and why.",
    no_args_is_help=True,
)


def _record(ctx: typer.Context, action: str, details: dict[str, object]) -> None:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    audit = AuditLog(settings.ensure_data_dir())
    record_admin_change(audit, action, details, principal=operator())


def _url(ctx: typer.Context) -> str:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    migrate(settings.resolved_state_url)
    return settings.resolved_state_url


@app.command("create")
@handle_errors
def create(
    ctx: typer.Context,
    campaign_id: Annotated[str, typer.Argument(help="Id: lower-case letters, digits, - or _.")],
    purpose: Annotated[str, typer.Option(help="Why the data is collected, e.g. vehicle_health.")],
    signal: Annotated[list[str], typer.Option(help="VSS path or prefix ending in * (repeatable).")],
    period: Annotated[float | None, typer.Option(help="Keep at most one value per N s.")] = None,
    condition: Annotated[
        str | None, typer.Option(help="Collect only around moments this holds.")
    ] = None,
    pre: Annotated[float, typer.Option(help="Seconds kept before a trigger.")] = 0.0,
    post: Annotated[float, typer.Option(help="Seconds kept after a trigger.")] = 0.0,
    brand: Annotated[list[str] | None, typer.Option(help="Target brand (repeatable).")] = None,
    model: Annotated[list[str] | None, typer.Option(help="Target model id (repeatable).")] = None,
    market: Annotated[list[str] | None, typer.Option(help="Target market (repeatable).")] = None,
    retention_days: Annotated[int, typer.Option(help="Days the data is kept.")] = 30,
    location_precision: Annotated[
        int | None,
        typer.Option(help="Keep positions only to this geohash precision (5 ≈ 5 km cells)."),
    ] = None,
    description: Annotated[str, typer.Option(help="What the campaign is for.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Start a campaign; ingestion stores only what active campaigns ask for.

    Example: drivetrain campaign create overheat --purpose vehicle_health
    --signal 'Vehicle.Powertrain.CombustionEngine.*'
    --condition 'Vehicle.Powertrain.CombustionEngine.EngineCoolant.Temperature > 110'
    --pre 30 --post 60 --market US
    """
    campaign = Campaign(
        campaign_id=campaign_id,
        purpose=purpose,
        signals=tuple(signal),
        retention_days=retention_days,
        description=description,
        target_brands=tuple(brand or ()),
        target_models=tuple(model or ()),
        target_markets=tuple(market or ()),
        period_s=period,
        condition=condition,
        pre_trigger_s=pre,
        post_trigger_s=post,
        location_precision=location_precision,
    )
    with session_scope(_url(ctx)) as session:
        stored = create_campaign(session, campaign)
    _record(ctx, "campaign_create", json.loads(json.dumps(dataclasses.asdict(stored), default=str)))
    if as_json:
        print_json(dataclasses.asdict(stored))
    else:
        console.print(
            f"campaign [bold]{stored.campaign_id}[/] is active: "
            f"{len(stored.requested_paths())} signal(s) for {stored.purpose}"
        )


@app.command("list")
@handle_errors
def list_(
    ctx: typer.Context,
    active: Annotated[bool, typer.Option("--active", help="Only active campaigns.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List campaigns.

    Example: drivetrain campaign list --active --json
    """
    with session_scope(_url(ctx)) as session:
        campaigns = list_campaigns(session, active_only=active)
    if as_json:
        print_json([dataclasses.asdict(c) for c in campaigns])
        return
    print_table(
        f"{len(campaigns)} campaign(s)",
        ("id", "status", "purpose", "signals", "sampling", "targets", "retention"),
        (
            (
                c.campaign_id,
                c.status,
                c.purpose,
                ", ".join(c.signals),
                _sampling(c),
                ", ".join((*c.target_brands, *c.target_models, *c.target_markets)) or "all",
                f"{c.retention_days} d",
            )
            for c in campaigns
        ),
    )


def _sampling(c: Campaign) -> str:
    parts = []
    if c.period_s:
        parts.append(f"every {c.period_s:g} s")
    if c.condition:
        parts.append(f"when {c.condition} (-{c.pre_trigger_s:g} s/+{c.post_trigger_s:g} s)")
    return "; ".join(parts) or "every value"


@app.command("stop")
@handle_errors
def stop(
    ctx: typer.Context,
    campaign_id: Annotated[str, typer.Argument(help="The campaign to stop.")],
) -> None:
    """Stop a campaign: nothing more is collected for it; stored data keeps its retention.

    Example: drivetrain campaign stop overheat
    """
    with session_scope(_url(ctx)) as session:
        stopped = stop_campaign(session, campaign_id)
    _record(ctx, "campaign_stop", {"campaign": campaign_id})
    console.print(f"campaign [bold]{stopped.campaign_id}[/] stopped")
