"""Charging recommendations: plan, explain against the baseline, record the provenance."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from drivetrain.cockpit.charging.baseline import plan_baseline
from drivetrain.cockpit.charging.explain import explain_plan
from drivetrain.cockpit.charging.models import ChargingPlan, InfeasibleTrip, TripRequest
from drivetrain.cockpit.charging.network import RoadNetwork
from drivetrain.cockpit.charging.planner import (
    DEFAULT_CORRIDOR,
    DEFAULT_STEP_PCT,
    MODEL,
    VERSION,
    plan_route,
)
from drivetrain.cockpit.charging.trip import TripModel
from drivetrain.cockpit.charging.vehicles import EVParameters
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import record_output

OUTPUT_KIND = "charging_plan"
PURPOSE = "personalisation"


@dataclass(frozen=True)
class ChargingRecommendation:
    """A recorded charging plan: the plan, its provenance id and the baseline it beat."""

    plan: ChargingPlan
    output_id: str
    baseline: ChargingPlan | None
    baseline_failure: str | None

    @property
    def gain_s(self) -> float | None:
        """Time saved against the baseline (None when the baseline strands)."""
        return None if self.baseline is None else self.baseline.total_s - self.plan.total_s


def recommend_charging(
    network: RoadNetwork,
    request: TripRequest,
    *,
    audit: AuditLog,
    principal: str,
    vehicle: EVParameters | None = None,
    purpose: str = PURPOSE,
    soc_step_pct: float = DEFAULT_STEP_PCT,
    corridor: float | None = DEFAULT_CORRIDOR,
    inputs: Mapping[str, int] | None = None,
) -> ChargingRecommendation:
    """Plan a trip's charging stops, explain them and record the plan's provenance.

    The provenance (kind ``charging_plan``) names the planner and its parameters, the
    vehicle's parameters, the trip, the road network's name, seed and version, the
    sites used, the plan's totals and the baseline's. ``explain(audit, output_id)``
    reads it back; ``inputs`` names the lake tables (and versions) the request was built
    from, e.g. the telemetry the state of charge was read from. Raises :class:`InfeasibleTrip` (nothing recorded) when no plan exists.
    """
    trip = TripModel(network, request, vehicle)
    plan = plan_route(network, request, trip.vehicle, soc_step_pct=soc_step_pct, corridor=corridor)
    baseline: ChargingPlan | None = None
    failure: str | None = None
    try:
        baseline = plan_baseline(network, request, trip.vehicle)
    except InfeasibleTrip as exc:
        failure = exc.message
    plan = explain_plan(plan, trip, baseline if baseline is not None else failure)
    output_id = record_output(
        audit,
        kind=OUTPUT_KIND,
        model=MODEL,
        version=VERSION,
        params={
            "planner": {"soc_step_pct": soc_step_pct, "corridor": corridor},
            "trip": request.to_dict(),
            "vehicle": trip.vehicle.to_dict(),
            "network": {"name": network.name, "seed": network.seed, "version": network.version},
            "plan": plan.summary(),
            "stops": [
                {
                    "site_id": stop.site.site_id,
                    "arrive_soc_pct": round(stop.arrive_soc_pct, 2),
                    "depart_soc_pct": round(stop.depart_soc_pct, 2),
                    "wait_s": round(stop.wait_s, 1),
                    "charge_s": round(stop.charge_s, 1),
                }
                for stop in plan.stops
            ],
            "baseline": baseline.summary() if baseline is not None else {"failure": failure},
            "explanation": list(plan.explanation),
        },
        inputs=dict(inputs or {}),
        sources=[
            f"road-network:{network.name}@{network.version}",
            f"vehicle:{trip.vehicle.model_id}",
            *(f"charger:{stop.site.site_id}" for stop in plan.stops),
        ],
        principal=principal,
        purpose=purpose,
    )
    return ChargingRecommendation(plan, output_id, baseline, failure)
