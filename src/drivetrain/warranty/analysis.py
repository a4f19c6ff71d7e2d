"""Warranty analytics on the lake: governed reads in, recorded outputs out.

Every function here reads the warranty tables through an access context
(principal + purpose ``warranty``), so a brand- or region-scoped engineer sees
only the vehicles and claims the policy grants, and records what it produced
with the provenance API (``drivetrain explain <id>``): the detector and its
parameters, the table versions read, the claims cited.

Who may read which vehicle is decided on the production records' brand and
region (:func:`drivetrain.ingest.warranty_records.vehicles_of`): every vehicle
built is there, connected or not, so they play the fleet registry's part for
the warranty tables.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from importlib.metadata import version as package_version

import polars as pl

from drivetrain.errors import InputError, NotFound, PolicyDenied
from drivetrain.governance.access import AccessContext, AccessEnforcer, VehicleRecordLike
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.governed_read import governed_read
from drivetrain.governance.provenance import record_output
from drivetrain.ingest.warranty_records import built_vehicles
from drivetrain.lake import Lake, polars_frame
from drivetrain.warranty.alerts import WarrantyAlert, build_alerts
from drivetrain.warranty.claims_table import life_ages, with_build_month
from drivetrain.warranty.early_warning import DetectorConfig
from drivetrain.warranty.reliability import DISTRIBUTIONS, Distribution, LifeFit, compare_fits

PURPOSE = "warranty"
_BUILD_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
TABLES = ("vehicle_production", "warranty_claims")


@dataclass(frozen=True, slots=True)
class WarrantyData:
    """What the principal may read of the warranty tables, and the versions read."""

    production: pl.DataFrame
    claims: pl.DataFrame
    versions: dict[str, int]
    dtc_events: pl.DataFrame | None  # of connected vehicles; None where not readable
    connected: set[str]
    claims_stored: int = 0  # claims in the lake, readable or not (for an honest hint)



def load_warranty_data(
    lake: Lake,
    context: AccessContext,
    *,
    fleet: Sequence[VehicleRecordLike] = (),
    audit: AuditLog | None = None,
    enforcer: AccessEnforcer | None = None,
) -> WarrantyData:
    """Production and claims as ``context`` may read them; with ``fleet`` (the connected,
    registered vehicles), their trouble codes too, where the policy grants them."""
    if not lake.exists("vehicle_production"):
        raise NotFound(
            "there are no production records in the lake",
            hint="import them with 'drivetrain warranty import production.csv --production' "
            "(or run 'drivetrain demo')",
        )
    population: list[VehicleRecordLike] = list(built_vehicles(lake))
    versions: dict[str, int] = {}
    frames: dict[str, pl.DataFrame] = {}
    for name in TABLES:
        table = governed_read(lake, name, context, population, audit=audit, enforcer=enforcer)
        frames[name] = polars_frame(table)
        if (v := lake.version(name)) is not None:
            versions[name] = v
    dtcs: pl.DataFrame | None = None
    if fleet and lake.exists("dtc_events"):
        try:
            dtcs = polars_frame(
                governed_read(
                    lake,
                    "dtc_events",
                    context,
                    fleet,
                    columns=["vehicle_id", "dtc"],
                    audit=audit,
                    enforcer=enforcer,
                )
            )
            versions["dtc_events"] = lake.version("dtc_events") or 0
        except PolicyDenied:
            dtcs = None
    return WarrantyData(
        production=frames["vehicle_production"],
        claims=frames["warranty_claims"],
        versions=versions,
        dtc_events=dtcs,
        connected={v.vehicle_id for v in fleet},
        claims_stored=lake.read("warranty_claims", columns=["claim_id"]).num_rows
        if lake.exists("warranty_claims")
        else 0,
    )


def latest_claim_date(data: WarrantyData) -> date:
    """The analysis date by default: the last day a claim was filed."""
    last = data.claims["claim_date"].max() if data.claims.height else None
    if not isinstance(last, date):
        hint = (
            "the lake holds claims, but none of vehicles in this principal's brands and regions"
            if data.claims_stored
            else "import claims with 'drivetrain warranty import claims.csv'"
        )
        raise NotFound("there are no warranty claims this principal may read", hint=hint)
    return last


def warranty_alerts(
    data: WarrantyData,
    context: AccessContext,
    as_of: date,
    *,
    config: DetectorConfig | None = None,
    currency: str = "EUR",
    audit: AuditLog | None = None,
    anomalies: pl.DataFrame | None = None,
) -> list[WarrantyAlert]:
    """Every emerging issue at ``as_of`` with its evidence, each recorded as an AI output.

    ``anomalies``: vehicle health's alarms (``vehicle_id, indicator``) on the connected
    fleet, read by whoever may read them for vehicle health; linked into the evidence.
    """
    config = config or DetectorConfig()
    alerts = build_alerts(
        data.claims,
        data.production,
        as_of,
        config=config,
        dtc_events=data.dtc_events,
        anomalies=anomalies,
        connected=data.connected,
        currency=currency,
        warranty_months=config.max_months,
    )
    if audit is None:
        return alerts
    recorded = []
    for alert in alerts:
        i = alert.issue
        output_id = record_output(
            audit,
            kind="warranty_alert",
            model=f"drivetrain.warranty.early_warning (Poisson {config.method.upper()})",
            version=package_version("drivetrain"),
            params={
                "as_of": as_of.isoformat(),
                "method": config.method,
                "h": config.h,
                "rho": config.rho,
                "component": i.causal_part,
                "model_id": i.model_id,
                "region": i.region,
                "build_months": list(i.build_months),
                "statistic": round(i.statistic, 3),
                "projection": alert.projection,
            },
            inputs=data.versions,
            sources=[f"warranty_claims:{c}" for c in alert.claim_ids[:100]],
            principal=context.principal.principal_id,
            purpose=context.purpose,
        )
        recorded.append(_with_id(alert, output_id))
    return recorded


def _with_id(alert: WarrantyAlert, output_id: str) -> WarrantyAlert:
    return replace(alert, output_id=output_id)


@dataclass(frozen=True, slots=True)
class LifeSample:
    """Failure and running ages (days in service) of one component over a set of vehicles."""

    component: str
    failures: list[float]
    running: list[float]
    vehicles: int
    description: str


def life_sample(
    data: WarrantyData,
    component: str,
    as_of: date,
    *,
    model_id: str | None = None,
    region: str | None = None,
    build_from: str | None = None,
    build_to: str | None = None,
    warranty_months: int = 36,
) -> LifeSample:
    """Age at the first claim of ``component`` of each vehicle that had one, and the age of
    every other sold vehicle (censored at the end of warranty: failures after it are
    not seen in claims). ``build_from``/``build_to`` are build months ``YYYY-MM``."""
    for name, value in (("--build-from", build_from), ("--build-to", build_to)):
        if value is not None and not _BUILD_MONTH.fullmatch(value):
            raise InputError(
                f"{name} {value!r} is not a build month", hint="write it as YYYY-MM, e.g. 2024-02"
            )
    vehicles = with_build_month(data.production).filter(
        pl.col("sale_date").is_not_null() & (pl.col("sale_date") <= as_of)
    )
    parts = []
    for column, value in (("model_id", model_id), ("region", region)):
        if value is not None:
            vehicles = vehicles.filter(pl.col(column) == value)
            parts.append(f"{column} {value!r}")
    if build_from is not None:
        vehicles = vehicles.filter(pl.col("build_month") >= build_from)
    if build_to is not None:
        vehicles = vehicles.filter(pl.col("build_month") <= build_to)
    if build_from or build_to:
        parts.append(f"built {build_from or '…'} to {build_to or '…'}")
    known = set(data.claims["causal_part"].unique().to_list())
    if component not in known:
        raise NotFound(
            f"no claim names the causal part {component!r}",
            hint=f"causal parts with claims: {', '.join(sorted(known)) or 'none'}",
        )
    if vehicles.is_empty():
        raise InputError(f"no sold vehicle matches {', '.join(parts) or 'the filters'}")
    failed, running = life_ages(
        data.claims.filter((pl.col("causal_part") == component) & (pl.col("claim_date") <= as_of)),
        vehicles,
        as_of,
        warranty_months=warranty_months,
    )
    what = f"{component}" + (f" ({', '.join(parts)})" if parts else "")
    return LifeSample(
        component,
        failed.tolist(),
        running.tolist(),
        vehicles.height,
        what,
    )


def fit_component(
    sample: LifeSample,
    context: AccessContext,
    *,
    data: WarrantyData,
    distributions: Sequence[Distribution] = DISTRIBUTIONS,
    audit: AuditLog | None = None,
    params: dict[str, object] | None = None,
) -> tuple[list[LifeFit], str | None]:
    """Every distribution fitted to ``sample`` (best AICc first), recorded as one AI output."""
    fits = compare_fits(sample.failures, sample.running, distributions)
    output_id = None
    if audit is not None:
        best = fits[0]
        output_id = record_output(
            audit,
            kind="warranty_life_fit",
            model="reliability (maximum likelihood, right-censored) via drivetrain.warranty",
            version=package_version("drivetrain"),
            params={
                **(params or {}),
                "sample": sample.description,
                "failures": len(sample.failures),
                "running": len(sample.running),
                "best": best.distribution,
                "parameters": {k: round(v, 6) for k, v in best.parameters.items()},
                "b10_days": None if best.b10 == float("inf") else round(best.b10, 2),
            },
            inputs={t: v for t, v in data.versions.items() if t in TABLES},
            sources=[f"{f.distribution}: AICc {f.aicc:.1f}" for f in fits],
            principal=context.principal.principal_id,
            purpose=context.purpose,
        )
    return fits, output_id
