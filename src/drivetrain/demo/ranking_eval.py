"""The learned ranking of diagnosis causes against the rules, on a held-out simulated fleet.

Two fleets are simulated with different seeds into scratch lakes (no
governance: synthetic data that belongs to nobody, as in
:mod:`drivetrain.demo.health_eval`), scanned (daily indicators, anomalies,
remaining life, DTC episodes) and every vehicle with an injected fault or any
evidence is diagnosed by the rules. The simulator's ground truth stands in for
the workshop's confirmed repairs: on the *training* fleet, the cause of each
vehicle's injected fault (:data:`SIM_CAUSE`) is its confirmed cause and a
vehicle without a fault is a known fault-free case; the ranker learns from
those and is judged on the *held-out* fleet, beside the rules.

Metrics, on the held-out vehicles with an injected fault and at least one
candidate cause: top-1 accuracy, mean reciprocal rank (0 when the true cause is
not a candidate), top-1 on the *ambiguous* ones (more than one candidate: the
only vehicles where an order can be wrong when the true cause is found at all),
and the Brier score of the top cause's probability against
"the top cause is the true one". The rules have no probability; theirs is the
top cause's share of the vehicle's summed scores — the obvious reading of a
ranked score list, and the one a user would make of it. On fault-free vehicles:
how often a made-up cause is ranked first at all (any candidate: the same for
both, as the learned ranking only reorders) and with a probability of at least
one half (``confident_false_first``). ``brier_all`` adds the fault-free
vehicles (their top cause is never right).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from drivetrain.demo.health_eval import _day, _frame
from drivetrain.demo.simulator import Progress, SimulationConfig, simulate_fleet
from drivetrain.health.anomaly import score_indicators
from drivetrain.health.diagnosis import Candidate, diagnose
from drivetrain.health.episodes import derive_episodes
from drivetrain.health.features import FEATURE_SCHEMA, daily_indicators
from drivetrain.health.ranking import LabelledCase, LearnedRanker, code_background, label_cases
from drivetrain.health.wear import remaining_life
from drivetrain.lake import Lake

# Which knowledge-base cause each simulated fault type is (its confirmed repair).
SIM_CAUSE: dict[str, str] = {
    "misfire": "ignition_misfire",
    "thermostat_stuck_open": "thermostat_stuck_open",
    "lv_battery_degradation": "weak_12v_battery",
    "slow_tyre_leak": "slow_puncture",
    "cell_imbalance": "traction_cell_imbalance",
    "brake_wear": "sticking_brake_caliper",
}
TRAINING = SimulationConfig(vehicles=350, days=30, seed=101, fault_rate=0.4)
HELD_OUT = SimulationConfig(vehicles=350, days=30, seed=2026, fault_rate=0.4)
CONFIDENT = 0.5


@dataclass(frozen=True, slots=True)
class DiagnosedFleet:
    """The rules' diagnosis of every vehicle with a fault or any evidence, and the truth."""

    diagnoses: dict[str, list[Candidate]]
    truth: dict[str, str | None]  # every vehicle: its injected fault's cause, None if fault-free
    background: dict[str, float]  # code_background of the fleet


def diagnose_fleet(
    anomalies: pl.DataFrame,
    wear: pl.DataFrame,
    episodes: pl.DataFrame,
    models: pl.DataFrame,
    faults: pl.DataFrame,
) -> DiagnosedFleet:
    """Diagnose by the rules every vehicle of ``models`` with a fault (``sim_faults``) or
    any evidence (an alarm, a wear item, a DTC episode)."""
    truth: dict[str, str | None] = dict.fromkeys(models["vehicle_id"].to_list())
    for vehicle, fault in faults.select("vehicle_id", "fault").iter_rows():
        truth[vehicle] = SIM_CAUSE[fault]
    evident = {
        *anomalies["vehicle_id"].to_list(),
        *wear.filter(pl.col("status").is_in(["trend", "at_limit"]))["vehicle_id"].to_list(),
        *episodes["vehicle_id"].to_list(),
    }
    diagnoses = {
        vehicle: diagnose(
            vehicle, anomalies, wear, episodes, fleet_anomalies=anomalies, models=models
        )
        for vehicle, cause in truth.items()
        if cause is not None or vehicle in evident
    }
    return DiagnosedFleet(diagnoses, truth, code_background(episodes, anomalies))


def diagnose_simulated(
    config: SimulationConfig, *, on_progress: Progress | None = None
) -> DiagnosedFleet:
    """Simulate ``config`` into a scratch lake, scan it and diagnose it."""
    with tempfile.TemporaryDirectory(prefix="drivetrain-ranking-") as scratch:
        lake = Lake(Path(scratch) / "lake")
        report = simulate_fleet(config, lake, on_progress=on_progress)
        parts = [
            daily_indicators(lake.read("telemetry", filter=_day(day)))
            for day in lake.partitions("telemetry")
        ]
        features = pl.concat(parts) if parts else pl.DataFrame(schema=FEATURE_SCHEMA)
        faults = _frame(lake, "sim_faults")
        episodes = pl.from_arrow(derive_episodes(lake.read("dtc_events")))
    assert isinstance(episodes, pl.DataFrame)
    models = pl.DataFrame(
        {
            "vehicle_id": [v.vehicle_id for v in report.vehicles],
            "model_id": [v.model_id for v in report.vehicles],
        }
    )
    anomalies = score_indicators(features, models).anomalies
    wear = remaining_life(features, anomalies)
    return diagnose_fleet(anomalies, wear, episodes, models, faults)


def sim_cases(fleet: DiagnosedFleet) -> list[LabelledCase]:
    """The fleet's diagnosed vehicles as labelled cases, the injected fault's cause confirmed."""
    confirmed = {v: () if cause is None else (cause,) for v, cause in fleet.truth.items()}
    return label_cases(fleet.diagnoses, confirmed)


def rules_probability(candidates: list[Candidate]) -> float:
    """The rules' top cause read as a probability: its share of the summed scores."""
    total = sum(max(c.score, 0.0) for c in candidates)
    return max(candidates[0].score, 0.0) / total if total > 0 else 0.0


def _ranked(ranker: LearnedRanker | None, candidates: list[Candidate]) -> tuple[list[str], float]:
    """Cause ids best first, and the top cause's probability."""
    if ranker is None:
        return [c.cause_id for c in candidates], rules_probability(candidates)
    ranked = ranker.rank(candidates)
    return [r.candidate.cause_id for r in ranked], ranked[0].probability


def score_rankings(
    fleet: DiagnosedFleet, methods: Mapping[str, LearnedRanker | None]
) -> pl.DataFrame:
    """One row of metrics per method (``None``: the rules' own order)."""
    rows = []
    faulty = [v for v, cause in fleet.truth.items() if cause is not None]
    healthy = [v for v, cause in fleet.truth.items() if cause is None]
    for name, ranker in methods.items():
        hits, reciprocal, brier, brier_all, confident = [], [], [], [], 0
        ambiguous: list[bool] = []  # faulty vehicles with more than one candidate
        for vehicle, candidates in fleet.diagnoses.items():
            if not candidates:
                continue
            order, p_top = _ranked(ranker, candidates)
            cause = fleet.truth[vehicle]
            right = cause is not None and order[0] == cause
            brier_all.append((p_top - right) ** 2)
            if cause is None:
                confident += p_top >= CONFIDENT
                continue
            hits.append(right)
            if len(candidates) > 1:
                ambiguous.append(right)
            reciprocal.append(1 / (order.index(cause) + 1) if cause in order else 0.0)
            brier.append((p_top - right) ** 2)
        made_up = sum(1 for v in healthy if fleet.diagnoses.get(v))
        rows.append(
            {
                "method": name,
                "faulty": len(faulty),
                "diagnosed": len(hits),
                "top1": _mean(hits),
                "mrr": _mean(reciprocal),
                "ambiguous": len(ambiguous),
                "top1_ambiguous": _mean(ambiguous),
                "brier": _mean(brier),
                "fault_free": len(healthy),
                "false_first": made_up / len(healthy) if healthy else None,
                "confident_false_first": confident / len(healthy) if healthy else None,
                "brier_all": _mean(brier_all),
            }
        )
    return pl.DataFrame(rows)


def _mean(values: list[float] | list[bool]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True, slots=True)
class RankingEvaluation:
    """Rules vs learned ranking on the held-out fleet, and what it was computed on."""

    metrics: pl.DataFrame
    ranker: LearnedRanker
    training: SimulationConfig
    held_out: SimulationConfig
    training_cases: int
    disagreements: pl.DataFrame  # held-out faulty vehicles where the two top causes differ
    elapsed_s: float
    timings: dict[str, float] = field(default_factory=dict)


def evaluate_ranking(
    training: SimulationConfig = TRAINING,
    held_out: SimulationConfig = HELD_OUT,
    *,
    on_progress: Progress | None = None,
) -> RankingEvaluation:
    """Train the learned ranking on ``training``'s ground truth; judge it and the rules
    on ``held_out`` (the class-weighted variant is reported beside it)."""
    began = time.perf_counter()
    train_fleet = diagnose_simulated(training, on_progress=on_progress)
    simulated = time.perf_counter()
    test_fleet = diagnose_simulated(held_out, on_progress=on_progress)
    cases = sim_cases(train_fleet)
    ranker = LearnedRanker(background=train_fleet.background).fit(cases)
    balanced = LearnedRanker(background=train_fleet.background, balanced=True).fit(cases)
    metrics = score_rankings(
        test_fleet, {"rules": None, "learned": ranker, "learned (balanced)": balanced}
    )
    rows = []
    for vehicle, candidates in test_fleet.diagnoses.items():
        cause = test_fleet.truth[vehicle]
        if cause is None or not candidates:
            continue
        learned = ranker.rank(candidates)[0].candidate.cause_id
        if learned != candidates[0].cause_id:
            rows.append((vehicle, cause, candidates[0].cause_id, learned))
    disagreements = pl.DataFrame(
        rows, schema=["vehicle_id", "true_cause", "rules_top", "learned_top"], orient="row"
    )
    done = time.perf_counter()
    return RankingEvaluation(
        metrics=metrics,
        ranker=ranker,
        training=training,
        held_out=held_out,
        training_cases=len(cases),
        disagreements=disagreements,
        elapsed_s=done - began,
        timings={"training_fleet_s": simulated - began, "held_out_and_fit_s": done - simulated},
    )
