"""The warranty page: emerging field issues, claims per thousand vehicles, life-data fits.

Every number is the API's: ``/api/v1/warranty/alerts``, ``/claims-per-thousand``
and ``/reliability/{component}`` called as functions with the page's caller,
so a brand- or region-scoped engineer sees what the API answers them, and a
role without a warranty grant gets the "Not allowed" page. The components,
models and regions offered in the selectors are those of the same governed
read the routes use. When the lake holds no warranty data yet the page says so
and how to import it, instead of failing.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from drivetrain.api.auth import Caller
from drivetrain.api.context import access_context
from drivetrain.api.routers import warranty as warranty_api
from drivetrain.api.routers.warranty import (
    COHORTS,
    ClaimsPerThousand,
    Cohort,
    Fit,
    Reliability,
    WarrantyReader,
)
from drivetrain.errors import InputError, NotFound
from drivetrain.warranty.early_warning import DEFAULT_H
from drivetrain.web.pages import render
from drivetrain.web.plots import LineChart, Series, line_chart, number

router = APIRouter(include_in_schema=False)
PURPOSE = warranty_api.PURPOSE
Method = Literal["glr", "cusum"]
METHODS: tuple[Method, ...] = ("glr", "cusum")
#: Cohorts with fewer vehicles in their first month in service are in the table, not the chart.
MIN_CHARTED = 30
CURVE_POINTS = 61
Text = Annotated[str | None, Query(max_length=64)]
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
API = "/api/v1/warranty"
#: The fits' parameters as reliability engineers write them.
PARAMETER_NAMES = {
    "alpha": "η (scale)",
    "beta": "β (shape)",
    "DS": "defective share",
    "gamma": "γ (threshold)",  # noqa: RUF001 (the Greek letter is meant)
    "mu": "μ (log scale)",
    "sigma": "σ (log shape)",
    "Lambda": "λ (rate per day)",
}


def _day(name: str, value: str | None) -> date | None:
    """A day from a date field; an empty field means the default."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{name} {value!r} is not a day", hint="give it as YYYY-MM-DD, e.g. 2026-04-13"
        ) from None


def _month(name: str, value: str | None) -> str | None:
    if not value:
        return None
    if not _MONTH.fullmatch(value):
        raise InputError(f"{name} {value!r} is not a build month", hint="write it as YYYY-MM")
    return value


def _threshold(value: str | None) -> float:
    if not value:
        return DEFAULT_H
    try:
        h = float(value)
    except ValueError:
        h = math.nan
    if not 0 < h <= 1000:
        raise InputError(
            f"the decision threshold {value!r} is not a number above 0 and at most 1000",
            hint=f"the default is {DEFAULT_H:g}; lower finds issues sooner, with more false alarms",
        )
    return h


def _pick(name: str, value: str | None, choices: Sequence[str]) -> str | None:
    """``value`` if it is one of ``choices``; empty means any."""
    if not value:
        return None
    if value not in choices:
        raise InputError(
            f"{value!r} is not a {name} with claims you may read",
            hint=f"pick one of: {', '.join(choices) or 'none'}",
        )
    return value


def _choices(frame: pl.DataFrame, column: str) -> list[str]:
    if column not in frame.columns:
        return []
    return sorted(str(v) for v in frame.get_column(column).drop_nulls().unique().to_list())


@router.get("/warranty")
def warranty_page(
    request: Request,
    caller: WarrantyReader,
    as_of: Annotated[str | None, Query(max_length=10)] = None,
    method: Text = None,
    h: Annotated[str | None, Query(max_length=16)] = None,
    component: Text = None,
    model: Text = None,
    region: Text = None,
    build_from: Annotated[str | None, Query(max_length=7)] = None,
    build_to: Annotated[str | None, Query(max_length=7)] = None,
    cohort: Text = None,
) -> Response:
    """Alerts, then one component's claims per thousand and life-data fits."""
    when = _day("as_of", as_of)
    detector = next((m for m in METHODS if m == (method or "glr")), None)
    if detector is None:
        raise InputError(f"{method!r} is not a detector", hint=f"pick one of {', '.join(METHODS)}")
    threshold = _threshold(h)
    grouping = cohort or "build_month"
    if grouping not in COHORTS:
        raise InputError(f"{cohort!r} is not a cohort", hint=f"pick one of {', '.join(COHORTS)}")
    first, last = _month("build_from", build_from), _month("build_to", build_to)
    form = {
        "as_of": as_of or "",
        "method": detector,
        "h": h or "",
        "cohort": grouping,
        "build_from": first or "",
        "build_to": last or "",
        "methods": METHODS,
        "cohorts": COHORTS,
        "api": API,
        "number": number,
        "parameter_names": PARAMETER_NAMES,
    }
    try:
        found = warranty_api.alerts(request, caller, as_of=when, method=detector, h=threshold)
    except NotFound as missing:  # nothing imported yet, or nothing this principal may read
        return render(request, "warranty.html", {"missing": missing, **form})
    data = warranty_api.warranty_data(request, access_context(request, caller, PURPOSE))
    components = _choices(data.claims, "causal_part")
    models, regions = _choices(data.production, "model_id"), _choices(data.production, "region")
    part = _pick("component", component, components)
    chosen_model = _pick("model", model, models)
    chosen_region = _pick("region", region, regions)
    if component is None and found.alerts:  # first visit: the top alert's component
        top = found.alerts[0]
        part, chosen_model = top.component, top.model_id if top.model_id in models else None
    if part is None:
        part = _most_claimed(data.claims)
    context: dict[str, Any] = {
        "missing": None,
        "alerts": found,
        "components": components,
        "models": models,
        "regions": regions,
        "component": part,
        "model": chosen_model or "",
        "region": chosen_region or "",
        **form,
    }
    if part is not None:
        per = warranty_api.per_thousand(
            request,
            caller,
            component=part,
            model=chosen_model,
            cohort=Cohort(grouping),
            as_of=when,
        )
        windows = {
            m
            for a in found.alerts
            if a.component == part and chosen_model in (None, a.model_id)
            for m in a.build_months
        }
        context.update(_per_thousand_view(per, windows if grouping == "build_month" else set()))
        context.update(
            _reliability_view(request, caller, part, chosen_model, chosen_region, first, last, when)
        )
    return render(request, "warranty.html", context)


def _most_claimed(claims: pl.DataFrame) -> str | None:
    if claims.is_empty() or "causal_part" not in claims.columns:
        return None
    counts = claims.group_by("causal_part").len().sort(["len", "causal_part"], descending=True)
    return str(counts.get_column("causal_part")[0])


def _per_thousand_view(per: ClaimsPerThousand, highlight: set[str]) -> dict[str, Any]:
    """The cumulative curves of the cohorts big enough to chart, the pooled curve as reference."""
    by_cohort: dict[str, list[tuple[int, float | None]]] = defaultdict(list)
    first_month: dict[str, int] = {}
    pooled: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for row in per.rows:
        by_cohort[row.cohort].append((row.mis, row.cumulative_per_thousand))
        if row.mis == 1:
            first_month[row.cohort] = row.at_risk
        pooled[row.mis][0] += row.claims
        pooled[row.mis][1] += row.at_risk
    charted = [c for c in by_cohort if first_month.get(c, 0) >= MIN_CHARTED]
    series = [
        Series(
            cohort,
            sorted(by_cohort[cohort]),
            style="highlight" if cohort in highlight else "muted",
            legend=f"{per.cohort} in an alert" if cohort in highlight else f"other {per.cohort}",
        )
        for cohort in sorted(charted, key=lambda c: c in highlight)  # highlighted on top
    ]
    total, curve = 0.0, []
    for mis in sorted(pooled):
        claims, at_risk = pooled[mis]
        if at_risk == 0:
            break
        total += claims / at_risk * 1000
        curve.append((mis, round(total, 3)))
    if curve:
        series.append(Series("all cohorts (pooled)", curve, style="reference"))
    chart = line_chart(
        series,
        title=f"Cumulative {per.component} claims per 1,000 vehicles"
        + (f" of {per.model}" if per.model else "")
        + f", by {per.cohort}",
        x_title="months in service",
        y_title="claims per 1,000",
        y_include=(0,),
    )
    return {
        "per_thousand": per,
        "per_chart": chart,
        "omitted_cohorts": len(by_cohort) - len(charted),
        "min_charted": MIN_CHARTED,
    }


def _reliability_view(
    request: Request,
    caller: Caller,
    component: str,
    model: str | None,
    region: str | None,
    build_from: str | None,
    build_to: str | None,
    when: date | None,
) -> dict[str, Any]:
    """The fits, or why there are none (too few failures, no vehicle matching the filters)."""
    try:
        found = warranty_api.reliability(
            component, request, caller, model, region, build_from, build_to, as_of=when
        )
    except InputError as refused:  # the page checked the input: this is about the data
        return {"reliability": None, "fit_problem": refused, "fit_chart": None}
    return {"reliability": found, "fit_problem": None, "fit_chart": _fit_chart(found)}


def unreliability(fit: Fit, age: float) -> float | None:
    """F(age), the share failed by ``age`` days, of a fit returned by the API."""
    p = fit.parameters
    try:
        if fit.distribution in ("weibull", "weibull_ds", "weibull_3p"):
            alpha, beta = p["alpha"], p["beta"]
            if alpha is None or beta is None:
                return None
            shifted = max(age - (p.get("gamma") or 0.0), 0.0)
            share = 1 - math.exp(-((shifted / alpha) ** beta))
            ds = p.get("DS", 1.0)
            return None if ds is None else ds * share
        if fit.distribution == "lognormal":
            mu, sigma = p["mu"], p["sigma"]
            if mu is None or sigma is None or age <= 0:
                return None if age > 0 else 0.0
            return 0.5 * (1 + math.erf((math.log(age) - mu) / (sigma * math.sqrt(2))))
        if fit.distribution == "exponential":
            rate = p["Lambda"]
            return None if rate is None else 1 - math.exp(-rate * age)
    except (KeyError, OverflowError, ValueError, ZeroDivisionError):
        return None
    return None


def _fit_chart(found: Reliability) -> LineChart:
    """Each fit's share failed over the warranty period, from the API's parameters."""
    horizon = found.warranty_days
    ages = [horizon * i / (CURVE_POINTS - 1) for i in range(CURVE_POINTS)]
    series = []
    for rank, fit in enumerate(found.fits):
        points = [(round(a, 1), _percent(unreliability(fit, a))) for a in ages]
        name = fit.distribution + (" (best AICc)" if rank == 0 else "")
        series.append(Series(name, points, style="best" if rank == 0 else ""))
    return line_chart(
        series,
        title=f"Share of {found.component} failed by age, each fit",
        x_title="days in service",
        y_title="% failed",
        y_include=(0,),
    )


def _percent(share: float | None) -> float | None:
    return None if share is None or not math.isfinite(share) else round(share * 100, 4)
