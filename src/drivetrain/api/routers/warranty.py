"""``/api/v1/warranty``: early warning, reliability fits, claims per thousand vehicles.

Everything is read for the purpose ``warranty`` through
:func:`~drivetrain.warranty.load_warranty_data`: a brand- or region-scoped
engineer sees only the vehicles and claims the access policy grants, a role
without a warranty grant is refused (403 ``policy-denied``). The governed read,
the alerts and the fits run once per principal, parameters and lake state and
are then served from memory; alerts and fits are recorded with their
provenance (``output_id``, see ``/api/v1/explain``) when first computed.
"""

from __future__ import annotations

import math
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from drivetrain.api.auth import Caller, require, services_of
from drivetrain.api.context import access_context
from drivetrain.api.problems import PROBLEM_RESPONSES
from drivetrain.governance.access import AccessContext
from drivetrain.warranty import (
    DetectorConfig,
    WarrantyData,
    claims_per_thousand,
    fit_component,
    latest_claim_date,
    life_sample,
    load_warranty_data,
    warranty_alerts,
    with_build_month,
)
from drivetrain.warranty.early_warning import DEFAULT_H

router = APIRouter(prefix="/api/v1/warranty", tags=["warranty"], responses=PROBLEM_RESPONSES)
WarrantyReader = Annotated[Caller, Depends(require("warranty:read"))]
PURPOSE = "warranty"
COHORTS = ("build_month", "plant", "model_id", "region", "market", "model_year")
Cohort = StrEnum("Cohort", {c: c for c in COHORTS})  # type: ignore[misc]
AsOf = Annotated[date | None, Query(description="Analysis date (default: the last claim).")]
Name = Annotated[str | None, Query(min_length=1, max_length=64)]
BuildMonth = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


def finite(value: Any) -> Any:
    """``value`` with every infinite or NaN float replaced by null (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def warranty_data(request: Request, context: AccessContext) -> WarrantyData:
    """What ``context`` may read of the warranty tables, cached per lake state."""
    services = services_of(request)
    return services.cached(
        ("warranty-data", context.principal),
        lambda: load_warranty_data(
            services.lake, context, fleet=services.vehicles(), audit=services.audit
        ),
    )


class FailureCode(BaseModel):
    code: str
    claims: int


class LinkedCode(BaseModel):
    code: str
    vehicles: int
    share: float
    reference_share: float


class LinkedIndicator(BaseModel):
    indicator: str
    vehicles: int
    share: float
    reference_share: float


class Comment(BaseModel):
    claim_id: str
    comment: str


class Alert(BaseModel):
    output_id: str | None
    component: str
    model_id: str
    region: str
    build_months: list[str]
    build_window: list[date] = Field(description="First and last build date.")
    plants: list[str]
    statistic: float | None
    alarm_mis: int = Field(description="Month in service the window first alarmed.")
    vehicles_built: int
    vehicles_at_risk: int = Field(description="Sold: the warranty clock runs.")
    claims: int
    claims_per_thousand: float | None
    expected_per_thousand: float | None
    rate_ratio: float | None
    projected_claims_at_warranty_end: float | None
    projected_claims_range: list[float | None] | None
    projected_cost_at_warranty_end: float | None
    cost_so_far: float | None
    currency: str
    projection: str
    failure_codes: list[FailureCode]
    connected_vehicles: int
    linked_dtcs: list[LinkedCode]
    linked_anomalies: list[LinkedIndicator]
    comments: list[Comment]


class Alerts(BaseModel):
    as_of: date
    vehicles: int = Field(description="Production records read.")
    claims: int = Field(description="Claims read.")
    alerts: list[Alert]


@router.get("/alerts", response_model=Alerts, summary="Emerging field issues (early warning)")
def alerts(
    request: Request,
    caller: WarrantyReader,
    as_of: AsOf = None,
    method: Annotated[Literal["glr", "cusum"], Query(description="The detector.")] = "glr",
    h: Annotated[float, Query(gt=0, le=1000, description="Decision threshold.")] = DEFAULT_H,
) -> Alerts:
    context = access_context(request, caller, PURPOSE)
    services = services_of(request)
    data = warranty_data(request, context)
    when = as_of or latest_claim_date(data)
    settings = services.settings
    config = DetectorConfig(method=method, h=h, max_months=settings.warranty_months)
    found = services.cached(
        ("warranty-alerts", context.principal, when, method, h),
        lambda: warranty_alerts(
            data,
            context,
            when,
            config=config,
            currency=settings.warranty_currency,
            audit=services.audit,
        ),
    )
    return Alerts(
        as_of=when,
        vehicles=data.production.height,
        claims=data.claims.height,
        alerts=[Alert.model_validate(finite(a.to_dict())) for a in found],
    )


class Fit(BaseModel):
    distribution: str
    parameters: dict[str, float | None]
    bounds: dict[str, list[float | None]]
    b10_days: float | None = Field(description="Age by which 10 % fail; null: never.")
    p_fail_by_warranty_end: float | None
    aicc: float | None
    bic: float | None
    anderson_darling: float | None


class Reliability(BaseModel):
    component: str
    sample: str
    failures: int
    running: int = Field(description="Vehicles without a failure, censored at their age.")
    vehicles: int
    as_of: date
    warranty_days: float
    output_id: str | None
    fits: list[Fit] = Field(description="Best AICc first.")


@router.get(
    "/reliability/{component}",
    response_model=Reliability,
    summary="Life distributions fitted to a component's claims (ages in days)",
)
def reliability(
    component: Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")],
    request: Request,
    caller: WarrantyReader,
    model: Name = None,
    region: Name = None,
    build_from: BuildMonth = None,
    build_to: BuildMonth = None,
    as_of: AsOf = None,
) -> Reliability:
    context = access_context(request, caller, PURPOSE)
    services = services_of(request)
    data = warranty_data(request, context)
    when = as_of or latest_claim_date(data)
    months = services.settings.warranty_months
    horizon = months * 365.25 / 12
    sample = life_sample(
        data,
        component,
        when,
        model_id=model,
        region=region,
        build_from=build_from,
        build_to=build_to,
        warranty_months=months,
    )
    fits, output_id = services.cached(
        ("warranty-fit", context.principal, component, model, region, build_from, build_to, when),
        lambda: fit_component(
            sample, context, data=data, audit=services.audit, params={"as_of": when.isoformat()}
        ),
    )
    return Reliability(
        component=component,
        sample=sample.description,
        failures=len(sample.failures),
        running=len(sample.running),
        vehicles=sample.vehicles,
        as_of=when,
        warranty_days=horizon,
        output_id=output_id,
        fits=[
            Fit.model_validate(
                finite(
                    {
                        "distribution": f.distribution,
                        "parameters": f.parameters,
                        "bounds": {k: list(v) for k, v in f.bounds.items()},
                        "b10_days": f.b10,
                        "p_fail_by_warranty_end": f.p_fail(horizon),
                        "aicc": f.aicc,
                        "bic": f.bic,
                        "anderson_darling": f.anderson_darling,
                    }
                )
            )
            for f in fits
        ],
    )


class CohortMonth(BaseModel):
    cohort: str
    mis: int = Field(description="Month in service.")
    at_risk: int = Field(description="Vehicles that completed this month in service.")
    claims: int
    per_thousand: float | None
    cumulative_per_thousand: float | None


class ClaimsPerThousand(BaseModel):
    as_of: date
    cohort: str
    component: str | None
    model: str | None
    rows: list[CohortMonth]


@router.get(
    "/claims-per-thousand",
    response_model=ClaimsPerThousand,
    summary="Claims per thousand vehicles at risk by cohort and month in service",
)
def per_thousand(
    request: Request,
    caller: WarrantyReader,
    component: Name = None,
    model: Name = None,
    cohort: Cohort = Cohort.build_month,  # type: ignore[attr-defined]
    as_of: AsOf = None,
) -> ClaimsPerThousand:
    context = access_context(request, caller, PURPOSE)
    data = warranty_data(request, context)
    when = as_of or latest_claim_date(data)
    vehicles = with_build_month(data.production)
    if model:
        vehicles = vehicles.filter(pl.col("model_id") == model)
    claims = data.claims
    if component:
        claims = claims.filter(pl.col("causal_part") == component)
    table = claims_per_thousand(claims, vehicles, when, cohort=cohort.value)
    rows = table.with_columns(pl.col("cohort").cast(pl.String)).to_dicts()
    return ClaimsPerThousand(
        as_of=when,
        cohort=cohort.value,
        component=component,
        model=model,
        rows=[CohortMonth.model_validate(finite(r)) for r in rows],
    )
