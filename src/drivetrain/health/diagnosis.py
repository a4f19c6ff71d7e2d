"""Diagnosis of one vehicle: likely causes, ranked, each with its evidence and an action.

The knowledge base (``data/diagnosis.toml``) lists failure modes with the
evidence that points to each: condition indicators, trouble codes, wear items.
For a vehicle, every piece of evidence found adds a weight to the failure modes
it supports:

* an anomaly on an indicator: ``2 + min(score, 5)`` (a firm alarm weighs more);
* a DTC episode of a matching code: 3 if still active, 1.5 if cleared, +1 per
  recurrence (a code that keeps coming back is no fluke);
* a wear item at its limit: 3; due within 30 days: 2;
* the workshop's records (``service_events``): evidence that came back after a
  repair of the cause +1.5 (the repair did not fix it); a repair after all the
  evidence cuts the cause to 30 % (probably fixed); codes cleared without a
  repair that came back +1;
* the same failure mode found on other vehicles of the model in the same scan
  adds nothing to the score, but is shown: a pattern across the fleet may be a
  field issue rather than bad luck.

Trouble codes no failure mode explains become candidates of their own, described
and classified by :mod:`drivetrain.health.dtc`. Candidates are ranked by weight;
the recommended urgency is the most urgent of the top cause's own action and
the severity of the codes behind it (``stop_safely`` > ``book_service`` >
``drive_on``). Every ranking is explained by its evidence lines — deterministic
rules, chosen because the domain has them. Where workshop outcomes label which
cause was the real one, :mod:`drivetrain.health.ranking` learns the evidence
weights instead and explains its ranking by each feature's contribution; the
numbers it learns from are recorded on each candidate (``Candidate.features``).
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from importlib import resources

import polars as pl

from drivetrain.errors import ConfigError
from drivetrain.health.dtc import interpret_dtc

ACTIONS = ("drive_on", "book_service", "stop_safely")
_FROM_SEVERITY = {
    "stop_safely": "stop_safely",
    "service_soon": "book_service",
    "monitor": "drive_on",
}
SOON_DAYS = 30.0


@dataclass(frozen=True, slots=True)
class FailureMode:
    """One entry of the knowledge base."""

    cause_id: str
    name: str
    system: str
    action: str
    advice: str
    indicators: tuple[str, ...] = ()
    dtcs: tuple[str, ...] = ()
    wear: tuple[str, ...] = ()
    repairs: tuple[str, ...] = ()

    def matches_dtc(self, code: str) -> bool:
        return any(fnmatch.fnmatchcase(code, pattern) for pattern in self.dtcs)


@dataclass(slots=True)
class Candidate:
    """A likely cause with its score, evidence lines and recommended action."""

    cause_id: str
    name: str
    system: str
    action: str
    advice: str
    score: float = 0.0
    evidence: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    fleet_pattern: int = 0  # other vehicles of the model showing the same failure mode
    since: list[date | None] = field(default_factory=list, repr=False)  # when each piece began
    # the raw evidence numbers behind the score, for the learned ranking (health.ranking)
    features: dict[str, float] = field(default_factory=dict, repr=False)

    def add(self, weight: float, line: str, since: date | None = None) -> None:
        self.score += weight
        self.evidence.append(f"{weight:+.1f} {line}")
        self.since.append(since)

    def note(self, feature: str, value: float = 1.0, *, largest: bool = False) -> None:
        """Record an evidence number: added up, or the largest kept."""
        old = self.features.get(feature, 0.0)
        self.features[feature] = max(old, value) if largest else old + value


@cache
def knowledge_base() -> tuple[FailureMode, ...]:
    """The packaged failure modes (validated once)."""
    path = resources.files("drivetrain.health").joinpath("data", "diagnosis.toml")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    modes = []
    for entry in data.get("cause", []):
        try:
            mode = FailureMode(
                cause_id=entry["id"],
                name=entry["name"],
                system=entry["system"],
                action=entry["action"],
                advice=entry["advice"],
                indicators=tuple(entry.get("indicators", ())),
                dtcs=tuple(entry.get("dtcs", ())),
                wear=tuple(entry.get("wear", ())),
                repairs=tuple(entry.get("repairs", ())),
            )
        except KeyError as exc:
            raise ConfigError(f"diagnosis.toml: a cause lacks {exc}") from None
        if mode.action not in ACTIONS:
            raise ConfigError(f"diagnosis.toml: cause {mode.cause_id} has action {mode.action!r}")
        modes.append(mode)
    return tuple(modes)


def _more_urgent(a: str, b: str) -> str:
    return a if ACTIONS.index(a) >= ACTIONS.index(b) else b


def diagnose(
    vehicle_id: str,
    anomalies: pl.DataFrame,
    wear: pl.DataFrame,
    episodes: pl.DataFrame,
    *,
    fleet_anomalies: pl.DataFrame | None = None,
    models: pl.DataFrame | None = None,
    service: pl.DataFrame | None = None,
) -> list[Candidate]:
    """Ranked likely causes for ``vehicle_id``.

    ``anomalies``/``wear``: the scan's outputs (any vehicles: this one is
    selected); ``episodes``: DTC episodes (``derive_episodes``); with
    ``fleet_anomalies`` and ``models``, failure modes seen on other vehicles of
    the same model are counted.
    """
    modes = knowledge_base()
    found: dict[str, Candidate] = {}

    def candidate(mode: FailureMode) -> Candidate:
        if mode.cause_id not in found:
            found[mode.cause_id] = Candidate(
                mode.cause_id, mode.name, mode.system, mode.action, mode.advice
            )
        return found[mode.cause_id]

    mine = anomalies.filter(pl.col("vehicle_id") == vehicle_id)
    for row in mine.iter_rows(named=True):
        for mode in modes:
            if row["indicator"] in mode.indicators:
                candidate(mode).add(
                    2 + min(float(row["score"]), 5.0),
                    f"anomaly on {row['indicator']} since {row['onset_day']} "
                    f"(score {row['score']:.1f}, {row['basis']}; baseline "
                    f"{_num(row['baseline'])}, now {_num(row['latest'])})",
                    row["onset_day"],
                )
                candidate(mode).note("anomalies")
                candidate(mode).note("anomaly_score", float(row["score"]), largest=True)
    for row in wear.filter(pl.col("vehicle_id") == vehicle_id).iter_rows(named=True):
        due = row["days_left"]
        if row["status"] not in ("trend", "at_limit") or due is None or due > SOON_DAYS:
            continue
        for mode in modes:
            if row["item"] in mode.wear:
                candidate(mode).note("wear_at_limit" if row["status"] == "at_limit" else "wear_due")
                if row["status"] == "at_limit":
                    candidate(mode).add(3.0, f"{row['item']} at its limit")
                else:
                    low, high = row["days_left_low"], row["days_left_high"]
                    candidate(mode).add(
                        2.0, f"{row['item']} due in {due:.0f} days ({low:.0f}-{high:.0f})"
                    )
    for row in episodes.filter(pl.col("vehicle_id") == vehicle_id).iter_rows(named=True):
        code = str(row["dtc"])
        weight = (3.0 if row["active"] else 1.5) + float(row["recurrence"])
        line = (
            f"{code} {'active' if row['active'] else 'cleared'} since "
            f"{row['first_seen']:%Y-%m-%d}, seen {row['occurrences']}×"
            + (f", recurrence {row['recurrence']}" if row["recurrence"] else "")
        )
        meaning = interpret_dtc(code)
        matched = [m for m in modes if m.matches_dtc(code)]
        numbers = {
            "dtc_active" if row["active"] else "dtc_cleared": 1.0,
            "dtc_recurrence": float(row["recurrence"]),
            "dtc_occurrences": float(row["occurrences"]),
        }
        for mode in matched:
            c = candidate(mode)
            c.add(weight, line, row["first_seen"].date())
            c.codes.append(code)
            for name, value in numbers.items():
                c.note(name, value)
            c.action = _more_urgent(c.action, _FROM_SEVERITY.get(meaning.severity, "drive_on"))
        if not matched:
            key = f"dtc:{code}"
            if key not in found:
                found[key] = Candidate(
                    key,
                    meaning.description or f"{code} ({meaning.coverage.replace('_', ' ')})",
                    meaning.system if meaning.subsystem is None else meaning.subsystem,
                    _FROM_SEVERITY.get(meaning.severity, "book_service"),
                    "Typical causes: " + "; ".join(meaning.causes)
                    if meaning.causes
                    else "Read the freeze frame and the manufacturer's service information.",
                )
            found[key].add(weight, line, row["first_seen"].date())
            found[key].codes.append(code)
            for name, value in numbers.items():
                found[key].note(name, value)
    if fleet_anomalies is not None and models is not None:
        _fleet_patterns(vehicle_id, found, modes, fleet_anomalies, models)
    if service is not None:
        _service_history(vehicle_id, found, modes, service)
    return sorted(found.values(), key=lambda c: (-c.score, c.cause_id))


def _service_history(
    vehicle_id: str,
    found: dict[str, Candidate],
    modes: tuple[FailureMode, ...],
    service: pl.DataFrame,
) -> None:
    """Weigh each cause by the workshop's record of the vehicle.

    A repair for the cause after which evidence appeared again: +1.5, the
    repair did not fix it (look deeper). A repair after all the evidence: the
    cause's weight falls to 30 % — it was probably fixed and the data has not
    caught up. Codes cleared without a repair that came back: +1.
    """
    mine = service.filter(pl.col("vehicle_id") == vehicle_id).sort("ts")
    by_mode = {m.cause_id: m for m in modes}
    cleared = [ts.date() for ts in mine.filter(pl.col("operation") == "dtc_cleared")["ts"]]
    for c in found.values():
        mode = by_mode.get(c.cause_id)
        dated = [d for d in c.since if d is not None]
        if mode is not None and mode.repairs and dated:
            repairs = mine.filter(pl.col("operation").is_in(list(mode.repairs)))
            if repairs.height:
                last = repairs.row(-1, named=True)
                when = last["ts"].date()
                if max(dated) > when:
                    c.add(1.5, f"came back after {last['operation']} on {when}: look deeper", when)
                    c.note("came_back_after_repair")
                else:
                    cut = -0.7 * c.score
                    c.add(cut, f"{last['operation']} on {when}, after all the evidence", when)
                    c.note("repaired_after_evidence")
        if c.codes and cleared and dated and max(dated) > cleared[-1]:
            c.add(1.0, f"codes cleared on {cleared[-1]} without a repair came back", cleared[-1])
            c.note("cleared_came_back")


def urgency(candidates: list[Candidate]) -> str:
    """The recommended action for the vehicle: that of its most likely cause."""
    return candidates[0].action if candidates else "drive_on"


def _fleet_patterns(
    vehicle_id: str,
    found: dict[str, Candidate],
    modes: tuple[FailureMode, ...],
    fleet_anomalies: pl.DataFrame,
    models: pl.DataFrame,
) -> None:
    model = models.filter(pl.col("vehicle_id") == vehicle_id)["model_id"]
    if model.is_empty():
        return
    peers = models.filter((pl.col("model_id") == model[0]) & (pl.col("vehicle_id") != vehicle_id))[
        "vehicle_id"
    ]
    theirs = fleet_anomalies.filter(pl.col("vehicle_id").is_in(peers.implode()))
    for mode in modes:
        if mode.cause_id in found and mode.indicators:
            hits = theirs.filter(pl.col("indicator").is_in(list(mode.indicators)))
            found[mode.cause_id].fleet_pattern = hits["vehicle_id"].n_unique()


def _num(value: object) -> str:
    return "n/a" if value is None else f"{float(value):.3g}"  # type: ignore[arg-type]
