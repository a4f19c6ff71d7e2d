"""``warranty-alerts``: the current early-warning alerts, their evidence, their claim curves.

The warranty tables are read with :func:`drivetrain.warranty.load_warranty_data`
(purpose ``warranty``) and the alerts raised with
:func:`drivetrain.warranty.warranty_alerts` — what ``drivetrain warranty
alerts`` runs — at the analysis date (``--until``, default the last claim
filed). Each alert is recorded as its own AI output, and the report cites them.
For each flagged component the cumulative claims per thousand vehicles at risk
by month in service are drawn, a line per build month, the alert's build
months in colour (warranty's own chart).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from drivetrain.errors import InputError
from drivetrain.governance.access import AccessContext
from drivetrain.reports.figures import captured
from drivetrain.reports.models import (
    Block,
    Figure,
    Paragraph,
    Report,
    ReportInputs,
    Section,
    Table,
    now_utc,
)
from drivetrain.warranty import (
    DetectorConfig,
    WarrantyAlert,
    WarrantyData,
    claims_per_thousand,
    latest_claim_date,
    load_warranty_data,
    warranty_alerts,
    with_build_month,
)
from drivetrain.warranty.plots import claims_per_thousand_plot

NAME = "warranty-alerts"
PURPOSE = "warranty"
PRINCIPAL = "warranty"
MAX_CHARTS = 5  # claim curves drawn, strongest alerts first


def _alerts_table(alerts: list[WarrantyAlert]) -> Table:
    rows = []
    for n, a in enumerate(alerts, start=1):
        i = a.issue
        projected = "—"
        if a.projected_claims is not None and a.projected_range is not None:
            low, high = a.projected_range
            projected = f"{a.projected_claims:,.0f} ({low:,.0f}–{high:,.0f})"
        rows.append(
            (
                str(n),
                i.causal_part,
                i.model_id,
                i.region,
                f"{a.build_from} – {a.build_to}",
                f"{a.claims:,}",
                f"{a.claims_per_thousand:.1f}",
                f"{a.expected_per_thousand:.1f}",
                f"×{i.rate_ratio:.1f}",
                str(i.alarm_mis),
                f"{a.vehicles_at_risk:,}",
                projected,
            )
        )
    return Table(
        "Early-warning alerts, strongest first (claims per 1,000 vehicles sold)",
        (
            "#",
            "component",
            "model",
            "region",
            "build window",
            "claims",
            "per 1,000",
            "expected",
            "ratio",
            "alarm MIS",
            "at risk",
            "projected at warranty end",
        ),
        tuple(rows),
        (True, False, False, False, False, True, True, True, True, True, True, True),
    )


def _evidence(alert: WarrantyAlert) -> list[Block]:
    i = alert.issue
    window = (
        f"{i.causal_part} on {i.model_id} ({i.region}), built {alert.build_from} to "
        f"{alert.build_to} at {', '.join(alert.plants) or 'an unknown plant'}: {alert.claims:,} "
        f"claims, {alert.claims_per_thousand:.1f} per 1,000 sold against "
        f"{alert.expected_per_thousand:.1f} expected (×{i.rate_ratio:.1f}); out of line from "
        f"month in service {i.alarm_mis}. Vehicles at risk: {alert.vehicles_at_risk:,} sold of "
        f"{alert.vehicles_built:,} built."
    )
    lines = [window]
    if alert.projected_claims is not None and alert.projected_range is not None:
        low, high = alert.projected_range
        lines.append(
            f"Projected at warranty end: {alert.projected_claims:,.0f} claims (the fits range "
            f"{low:,.0f}–{high:,.0f}), {alert.projected_cost or 0:,.0f} {alert.currency}; so far "
            f"{alert.cost_so_far:,.0f} {alert.currency}. {alert.projection}."
        )
    else:
        lines.append(alert.projection + ".")
    codes = ", ".join(f"{c} ×{n}" for c, n in alert.failure_codes) or "none"
    lines.append(f"Failure codes on the claims: {codes}.")
    if alert.connected_vehicles:
        linked = "; ".join(
            f"{c.code} on {c.vehicles} ({c.share:.0%} against {c.reference_share:.0%} of the "
            "model's other connected vehicles)"
            for c in alert.linked_codes
        )
        lines.append(
            f"Connected vehicles in the window: {alert.connected_vehicles}; trouble codes they "
            f"reported: {linked or 'none'}."
        )
    else:
        lines.append("No connected vehicle in the window: no telemetry evidence.")
    blocks: list[Block] = [Paragraph(line) for line in lines]
    if alert.comments:
        blocks.append(
            Table(
                "Typical technician comments",
                ("claim", "comment"),
                tuple((c, t) for c, t in alert.comments),
            )
        )
    if alert.output_id:
        blocks.append(
            Paragraph(f"How the alert was produced: drivetrain explain {alert.output_id}")
        )
    return blocks


def claim_curves(data: WarrantyData, alert: WarrantyAlert, as_of: date) -> pl.DataFrame:
    """Cumulative claims per thousand of the alert's component on its model, by build month."""
    i = alert.issue
    vehicles = with_build_month(data.production).filter(pl.col("model_id") == i.model_id)
    claims = data.claims.filter(pl.col("causal_part") == i.causal_part)
    return claims_per_thousand(claims, vehicles, as_of, cohort="build_month")


def _curve(data: WarrantyData, alert: WarrantyAlert, as_of: date, months: int) -> Figure:
    i = alert.issue
    table = claim_curves(data, alert, as_of).filter(pl.col("mis") <= months)
    title = f"{i.causal_part} claims per 1,000 {i.model_id} by build month"
    png = captured(
        lambda path: claims_per_thousand_plot(table, path, title=title, highlight=i.build_months)
    )
    return Figure(
        f"{i.causal_part} on {i.model_id}: cumulative claims per 1,000 vehicles at risk by "
        f"month in service; build months {', '.join(i.build_months)} highlighted",
        png,
        f"Claims per thousand by month in service, a line per build month of {i.model_id}",
    )


def warranty_alerts_report(inputs: ReportInputs, context: AccessContext) -> Report:
    """Build the warranty alerts report as ``context`` may read the warranty tables."""
    if inputs.since is not None:
        raise InputError(
            "warranty-alerts has no --since: alerts judge every claim up to the analysis date",
            hint="set the analysis date with --until YYYY-MM-DD (default: the last claim filed)",
        )
    data = load_warranty_data(inputs.lake, context, fleet=inputs.vehicles, audit=inputs.audit)
    as_of = inputs.until or latest_claim_date(data)
    config = DetectorConfig(max_months=inputs.warranty_months)
    alerts = warranty_alerts(
        data, context, as_of, config=config, currency=inputs.currency, audit=inputs.audit
    )
    known = data.claims.filter(pl.col("claim_date") <= as_of).height
    overview = Paragraph(
        f"{len(alerts)} alert(s) as of {as_of} over {data.production.height:,} vehicles built "
        f"and {known:,} claims this principal may read. A Poisson GLR detector per component, "
        "model, region and build month compares each cell's claims with the fleet's rate at "
        "the same month in service (exposure: vehicles at risk)."
    )
    sections: list[Section] = [Section("Overview", (overview,))]
    if alerts:
        sections[0] = Section("Overview", (overview, _alerts_table(alerts)))
        for n, alert in enumerate(alerts, start=1):
            blocks = _evidence(alert)
            if n <= MAX_CHARTS:
                blocks.append(_curve(data, alert, as_of, inputs.warranty_months))
            i = alert.issue
            sections.append(
                Section(f"Alert {n}: {i.causal_part} on {i.model_id} ({i.region})", tuple(blocks))
            )
    else:
        sections.append(
            Section(
                "Alerts", (Paragraph("No emerging field issue: every build window is in line."),)
            )
        )
    summary: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "vehicles": data.production.height,
        "claims": known,
        "alerts": [a.to_dict() for a in alerts],
    }
    return Report(
        name=NAME,
        title="Warranty — early-warning alerts",
        period=f"claims up to {as_of}",
        principal=context.principal.principal_id,
        purpose=context.purpose,
        sections=tuple(sections),
        inputs=dict(data.versions),
        generated_at=now_utc(),
        params={"as_of": as_of.isoformat(), "method": config.method, "h": config.h},
        sources=tuple(f"warranty_alert {a.output_id}" for a in alerts if a.output_id),
        summary=summary,
    )
