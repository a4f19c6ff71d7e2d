"""Warranty alerts with their evidence: window, vehicles at risk, projection, DTCs, comments.

An :class:`EmergingIssue` says *that* a build window fails a component early;
a :class:`WarrantyAlert` says what an engineer needs to act on it:

* the **build window** (first and last build date of its vehicles, the plants);
* the **vehicles at risk**: built in the window, and of them sold (in service);
* the **claims** so far and the rate against the fleet's expectation;
* the **projection to the end of warranty**: a life distribution fitted to the
  window's vehicles (first failure of the component, the others censored at
  their age; a Weibull with a defective subpopulation when it fits better by
  AICc, as a bad lot usually does) gives each running vehicle's probability of
  failing before its warranty ends, given it has not yet; their sum plus the
  claims so far is the projected count, times the mean claim cost the
  projected cost. The mileage limit is not modelled (the projection is by age);
* **linked DTC patterns** from vehicle health: the trouble codes the window's
  claims were coded with, and the codes connected vehicles of the window
  reported in ``dtc_events``, and the anomalies vehicle health found on them
  (its scan's ``indicator`` alarms, handed in by the caller), each against the
  share among the model's other
  connected vehicles;
* the **most typical technician comments** of the window's claims.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from drivetrain.warranty.claims_table import DAYS_PER_MONTH, life_ages, with_build_month
from drivetrain.warranty.early_warning import DetectorConfig, EmergingIssue, emerging_issues
from drivetrain.warranty.field_support import ServiceCase, similar_claims
from drivetrain.warranty.reliability import TooFewFailures, compare_fits

WARRANTY_MONTHS = 36


@dataclass(frozen=True, slots=True)
class LinkedCode:
    """A trouble code connected vehicles of the window report, against the model's others."""

    code: str
    vehicles: int
    share: float  # of the window's connected vehicles
    reference_share: float  # of the model's other connected vehicles


@dataclass(frozen=True, slots=True)
class WarrantyAlert:
    """An emerging issue and the evidence that goes with it."""

    issue: EmergingIssue
    build_from: date
    build_to: date
    plants: tuple[str, ...]
    vehicles_built: int
    vehicles_at_risk: int  # sold: the warranty clock runs
    claims: int
    claims_per_thousand: float
    expected_per_thousand: float
    projected_claims: float | None
    projected_range: tuple[float, float] | None
    projected_cost: float | None
    cost_so_far: float
    currency: str
    projection: str  # how the projection was made, or why there is none
    failure_codes: list[tuple[str, int]]
    connected_vehicles: int
    linked_codes: list[LinkedCode]
    linked_anomalies: list[LinkedCode]  # vehicle-health indicators alarming in the window
    comments: list[tuple[str, str]]  # (claim id, comment)
    claim_ids: list[str] = field(repr=False)
    output_id: str | None = None

    def to_dict(self) -> dict[str, object]:
        i = self.issue
        return {
            "output_id": self.output_id,
            "component": i.causal_part,
            "model_id": i.model_id,
            "region": i.region,
            "build_months": list(i.build_months),
            "build_window": [self.build_from.isoformat(), self.build_to.isoformat()],
            "plants": list(self.plants),
            "statistic": round(i.statistic, 2),
            "alarm_mis": i.alarm_mis,
            "vehicles_built": self.vehicles_built,
            "vehicles_at_risk": self.vehicles_at_risk,
            "claims": self.claims,
            "claims_per_thousand": round(self.claims_per_thousand, 2),
            "expected_per_thousand": round(self.expected_per_thousand, 2),
            "rate_ratio": round(i.rate_ratio, 1),
            "projected_claims_at_warranty_end": _round(self.projected_claims),
            "projected_claims_range": (
                None
                if self.projected_range is None
                else [round(v, 1) for v in self.projected_range]
            ),
            "projected_cost_at_warranty_end": _round(self.projected_cost),
            "cost_so_far": round(self.cost_so_far, 2),
            "currency": self.currency,
            "projection": self.projection,
            "failure_codes": [{"code": c, "claims": n} for c, n in self.failure_codes],
            "connected_vehicles": self.connected_vehicles,
            "linked_dtcs": [
                {
                    "code": c.code,
                    "vehicles": c.vehicles,
                    "share": round(c.share, 3),
                    "reference_share": round(c.reference_share, 3),
                }
                for c in self.linked_codes
            ],
            "linked_anomalies": [
                {
                    "indicator": c.code,
                    "vehicles": c.vehicles,
                    "share": round(c.share, 3),
                    "reference_share": round(c.reference_share, 3),
                }
                for c in self.linked_anomalies
            ],
            "comments": [{"claim_id": c, "comment": t} for c, t in self.comments],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def build_alerts(
    claims: pl.DataFrame,
    production: pl.DataFrame,
    as_of: date,
    *,
    config: DetectorConfig | None = None,
    dtc_events: pl.DataFrame | None = None,
    anomalies: pl.DataFrame | None = None,
    connected: set[str] | None = None,
    currency: str = "EUR",
    warranty_months: int = WARRANTY_MONTHS,
) -> list[WarrantyAlert]:
    """Every emerging issue at ``as_of`` with its evidence, strongest first.

    ``dtc_events``: ``vehicle_id, dtc`` of the connected vehicles (governed read);
    ``anomalies``: ``vehicle_id, indicator`` alarms of vehicle health's fleet scan;
    ``connected``: the vehicle ids that report telemetry at all.
    """
    issues = emerging_issues(claims, production, as_of, config)  # the default when None
    if not issues:
        return []
    vehicles = with_build_month(production)
    known = claims.filter(pl.col("claim_date") <= as_of)
    return [
        _evidence(
            issue,
            known,
            vehicles,
            as_of,
            _Health(dtc_events, anomalies, connected or set()),
            currency,
            warranty_months,
        )
        for issue in issues
    ]


def _evidence(
    issue: EmergingIssue,
    claims: pl.DataFrame,
    vehicles: pl.DataFrame,
    as_of: date,
    health: _Health,
    currency: str,
    warranty_months: int,
) -> WarrantyAlert:
    window = vehicles.filter(
        (pl.col("model_id") == issue.model_id)
        & (pl.col("region") == issue.region)
        & pl.col("build_month").is_in(list(issue.build_months))
        & (pl.col("build_date") <= as_of)
    )
    sold = window.filter(pl.col("sale_date").is_not_null() & (pl.col("sale_date") <= as_of))
    ids = set(window["vehicle_id"].to_list())
    own = claims.filter(
        pl.col("vehicle_id").is_in(list(ids)) & (pl.col("causal_part") == issue.causal_part)
    ).sort("claim_date")
    projected, spread, cost, how = _project(
        own, sold, window.height - sold.height, as_of, warranty_months
    )
    at_risk = max(sold.height, 1)
    codes = Counter(own["failure_code"].to_list()).most_common(5)
    linked, n_connected = _linked(
        health.dtc_events, "dtc", window, vehicles, issue, health.connected
    )
    flagged, _ = _linked(health.anomalies, "indicator", window, vehicles, issue, health.connected)
    build_from, build_to = window["build_date"].min(), window["build_date"].max()
    return WarrantyAlert(
        issue=issue,
        build_from=build_from if isinstance(build_from, date) else as_of,
        build_to=build_to if isinstance(build_to, date) else as_of,
        plants=tuple(sorted(set(window["plant"].to_list()))) if "plant" in window.columns else (),
        vehicles_built=window.height,
        vehicles_at_risk=sold.height,
        claims=own.height,
        claims_per_thousand=1000 * own.height / at_risk,
        expected_per_thousand=1000 * issue.expected / at_risk,
        projected_claims=projected,
        projected_range=spread,
        projected_cost=cost,
        cost_so_far=float(own["cost"].cast(pl.Float64).sum()) if "cost" in own.columns else 0.0,
        currency=currency,
        projection=how,
        failure_codes=[(str(c), n) for c, n in codes],
        connected_vehicles=n_connected,
        linked_codes=linked,
        linked_anomalies=flagged,
        comments=_typical_comments(own),
        claim_ids=own["claim_id"].to_list() if "claim_id" in own.columns else [],
    )


def _project(
    own: pl.DataFrame, sold: pl.DataFrame, unsold: int, as_of: date, warranty_months: int
) -> tuple[float | None, tuple[float, float] | None, float | None, str]:
    """Projected claims at the end of warranty (best fit by AICc, and the range over the
    fits), the projected cost, and how (see the module docstring)."""
    horizon = warranty_months * DAYS_PER_MONTH
    failed, running = life_ages(own, sold, as_of, warranty_months=warranty_months)
    try:
        fits = compare_fits(failed, running, distributions=("weibull", "weibull_ds"))
    except TooFewFailures as exc:
        return None, None, None, f"no projection: {exc.message}"
    ages_at, counts = np.unique(running, return_counts=True)
    per_vehicle = own.height / max(len(failed), 1)
    totals = []
    for fit in fits:
        end = fit.p_fail(horizon)
        now = np.array([fit.p_fail(a) for a in ages_at])
        more = float((np.clip((end - now) / np.maximum(1.0 - now, 1e-12), 0, 1) * counts).sum())
        # claims per failing vehicle so far (repeats, wrong first repairs) carry over
        totals.append(own.height + per_vehicle * (more + unsold * end))
    best = fits[0]
    mean_cost = own["cost"].cast(pl.Float64).mean() if "cost" in own.columns else 0.0
    mean_cost = mean_cost if isinstance(mean_cost, float) else 0.0
    params = ", ".join(f"{k}={v:.3g}" for k, v in best.parameters.items())
    how = (
        f"{best.distribution} ({params}; age in days since sale), best by AICc of "
        f"{' and '.join(f.distribution for f in fits)}, fitted to {best.failures} failures and "
        f"{best.censored} running vehicles; P(fail by {warranty_months} months) = "
        f"{best.p_fail(horizon):.1%}; the range is over the fits (early on a defective "
        "subpopulation and a wear-out look alike); by age only, no mileage limit"
    )
    return totals[0], (min(totals), max(totals)), totals[0] * mean_cost, how


@dataclass(frozen=True, slots=True)
class _Health:
    """What vehicle health knows of the connected vehicles."""

    dtc_events: pl.DataFrame | None
    anomalies: pl.DataFrame | None
    connected: set[str]


def _linked(
    events: pl.DataFrame | None,
    code: str,
    window: pl.DataFrame,
    vehicles: pl.DataFrame,
    issue: EmergingIssue,
    connected: set[str],
) -> tuple[list[LinkedCode], int]:
    inside = set(window["vehicle_id"].to_list()) & connected
    if events is None or not inside:
        return [], len(inside)
    model = set(vehicles.filter(pl.col("model_id") == issue.model_id)["vehicle_id"].to_list())
    others = (model & connected) - inside
    pairs = events.select("vehicle_id", code).unique()
    mine = pairs.filter(pl.col("vehicle_id").is_in(list(inside))).group_by(code).len()
    theirs = dict(
        pairs.filter(pl.col("vehicle_id").is_in(list(others))).group_by(code).len().iter_rows()
    )
    linked = [
        LinkedCode(str(code), int(n), n / len(inside), theirs.get(code, 0) / max(len(others), 1))
        for code, n in mine.sort("len", descending=True).iter_rows()
    ]
    return linked[:5], len(inside)


def _typical_comments(own: pl.DataFrame, k: int = 3) -> list[tuple[str, str]]:
    """The window's comments closest to all of them together (the centroid's words)."""
    written = own.filter(pl.col("comment").is_not_null() & (pl.col("comment") != "")).unique(
        "comment", keep="first", maintain_order=True
    )
    if written.height < 2:
        return [(str(c), str(t)) for c, t in written.select("claim_id", "comment").iter_rows()]
    case = ServiceCase(symptoms=" ".join(written["comment"].to_list()))
    ranked = similar_claims(written, case, k=k)
    return [(str(c), str(t)) for c, t in ranked.select("claim_id", "comment").iter_rows()]
