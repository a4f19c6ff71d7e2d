"""Generated trips, and the planner against the naive baseline on all of them at once."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from drivetrain.cockpit.charging.baseline import plan_baseline
from drivetrain.cockpit.charging.models import InfeasibleTrip, TripRequest
from drivetrain.cockpit.charging.network import RoadNetwork
from drivetrain.cockpit.charging.planner import DEFAULT_STEP_PCT, plan_route
from drivetrain.cockpit.charging.vehicles import known_vehicles

EPSILON_S = 1.0  # "no later than the baseline" allows for this much floating-point noise


def generate_trips(
    network: RoadNetwork,
    n: int,
    *,
    seed: int = 0,
    min_km: float = 250.0,
    max_km: float = 1000.0,
    vehicles: Sequence[str] | None = None,
) -> list[TripRequest]:
    """``n`` seeded trips between cities ``min_km``-``max_km`` apart by the fastest road:
    starting charge 40-100 %, -10 to 30 °C, departures 06:00-18:00, mixed vehicles."""
    rng = np.random.default_rng(seed)
    cities = network.cities
    fleet = list(vehicles or known_vehicles())
    trips: list[TripRequest] = []
    while len(trips) < n:
        origin, destination = (str(c) for c in rng.choice(cities, size=2, replace=False))
        paths = network.paths_from(origin, 130.0)
        route = paths.routes.get(destination)
        if route is None:
            continue
        km = sum(network.road(u, v)["length_km"] for u, v in itertools.pairwise(route))
        if not min_km <= km <= max_km:
            continue
        trips.append(
            TripRequest(
                origin=origin,
                destination=destination,
                vehicle=str(rng.choice(fleet)),
                initial_soc_pct=round(float(rng.uniform(40.0, 100.0)), 1),
                temperature_c=round(float(rng.uniform(-10.0, 30.0)), 1),
                departure_hour=round(float(rng.uniform(6.0, 18.0)), 2),
                trip_id=f"trip-{len(trips):04d}",
            )
        )
    return trips


def compare_strategies(
    network: RoadNetwork, trips: Sequence[TripRequest], *, soc_step_pct: float = DEFAULT_STEP_PCT
) -> pl.DataFrame:
    """One row per trip: each strategy's total time, stops and cost (null where it fails),
    the planner's latency and its gain over the baseline."""
    rows: list[dict[str, Any]] = []
    for trip in trips:
        row: dict[str, Any] = {**trip.to_dict()}
        started = time.perf_counter()
        try:
            plan = plan_route(network, trip, soc_step_pct=soc_step_pct)
        except InfeasibleTrip as exc:
            plan, row["planner_failure"] = None, exc.message
        row["planner_latency_s"] = time.perf_counter() - started
        try:
            baseline = plan_baseline(network, trip)
        except InfeasibleTrip as exc:
            baseline, row["baseline_failure"] = None, exc.message
        for name, result in (("planner", plan), ("baseline", baseline)):
            row[f"{name}_ok"] = result is not None
            row[f"{name}_total_s"] = None if result is None else result.total_s
            row[f"{name}_stops"] = None if result is None else len(result.stops)
            row[f"{name}_charge_s"] = None if result is None else result.charge_s
            row[f"{name}_wait_s"] = None if result is None else result.wait_s
            row[f"{name}_cost_eur"] = None if result is None else result.cost_eur
            row[f"{name}_min_soc_pct"] = None if result is None else result.min_soc_pct
        row["distance_km"] = None if plan is None else plan.distance_km
        rows.append(row)
    table = pl.DataFrame(rows, infer_schema_length=None)
    for column in ("planner_failure", "baseline_failure"):
        if column not in table.columns:
            table = table.with_columns(pl.lit(None, dtype=pl.String).alias(column))
    return table.with_columns(
        (pl.col("baseline_total_s") - pl.col("planner_total_s")).alias("gain_s"),
        (
            (pl.col("baseline_total_s") - pl.col("planner_total_s")) / pl.col("baseline_total_s")
        ).alias("gain_share"),
    )


def summarise_comparison(table: pl.DataFrame) -> dict[str, float | int]:
    """Gain over the baseline on the trips where both arrive, and how often each fails."""
    both = table.filter(pl.col("planner_ok") & pl.col("baseline_ok"))
    gain = both["gain_s"].to_numpy().astype(np.float64)
    share = both["gain_share"].to_numpy().astype(np.float64)
    latency = table["planner_latency_s"].to_numpy()

    def mean(values: Any) -> float:
        return float(np.mean(values)) if len(values) else 0.0

    return {
        "trips": table.height,
        "both_arrive": both.height,
        "planner_fails": int((~table["planner_ok"]).sum()),
        "baseline_fails": int((~table["baseline_ok"]).sum()),
        "baseline_fails_planner_arrives": int((table["planner_ok"] & ~table["baseline_ok"]).sum()),
        "mean_gain_min": mean(gain) / 60.0,
        "median_gain_min": float(np.median(gain)) / 60.0 if len(gain) else 0.0,
        "mean_gain_pct": 100.0 * mean(share),
        "improved_pct": 100.0 * mean(gain > EPSILON_S),
        "later_than_baseline": int((gain < -EPSILON_S).sum()),
        "worst_gain_s": float(gain.min()) if len(gain) else 0.0,
        "planner_stops_mean": mean(both["planner_stops"].to_numpy()),
        "baseline_stops_mean": mean(both["baseline_stops"].to_numpy()),
        "latency_p50_ms": 1000.0 * float(np.percentile(latency, 50)),
        "latency_p95_ms": 1000.0 * float(np.percentile(latency, 95)),
    }
