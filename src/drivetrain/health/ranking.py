"""A learned ranking of diagnosis causes, beside the rules, with every ranking explained.

:func:`~drivetrain.health.diagnosis.diagnose` ranks a vehicle's candidate causes
by fixed evidence weights. Where the workshop's outcomes say which cause was the
real one, a model can learn how much each kind of evidence is worth instead:

* **features** per candidate (:data:`FEATURES`), from the evidence numbers
  ``diagnose`` records on each candidate (``Candidate.features``) plus the rules
  score, the candidate's share of the vehicle's total score, whether it is a
  trouble code no failure mode explains, and how *background-ish* its codes are
  (:func:`code_background`: the share of the fleet's vehicles reporting the
  code that show no anomaly at all — a code many healthy cars set now and then
  says little);
* **labels** (:func:`confirmed_causes`): a repair in ``service_events`` that
  fixes a cause (``repairs`` in ``diagnosis.toml``) after which none of the
  cause's evidence — its codes reported again, an alarm on its indicators —
  came back within ``window_days`` confirms that cause; evidence that came back
  means the repair did not fix it (no label); a repair too recent to judge stays
  open. :func:`label_cases` turns confirmed causes and diagnoses into
  :class:`LabelledCase` s;
* **model** (:class:`LearnedRanker`): a scikit-learn logistic regression on
  standardised features, one row per candidate, label = "is the confirmed
  cause". It ranks by probability and explains each ranking: every feature's
  contribution to the log-odds (coefficient × standardised value), which add up
  with the intercept to the logit of the probability.

It refuses to learn from fewer than :data:`MIN_CASES` labelled cases or from
one class only: a ranking learned from a handful of repairs would be noise
presented as knowledge, and the rules are the better answer until the labels
exist. How it compares with the rules on a held-out simulated fleet:
:mod:`drivetrain.demo.ranking_eval`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from importlib.metadata import version as package_version
from typing import Self

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from drivetrain.errors import InputError
from drivetrain.health.diagnosis import Candidate, knowledge_base
from drivetrain.health.episodes import SET_STATUSES

FEATURES: tuple[str, ...] = (
    "rules_score",  # the knowledge-base rules' score
    "score_share",  # the candidate's share of the vehicle's summed rules scores
    "anomaly_score",  # log(1 + the largest anomaly score on the cause's indicators)
    "anomalies",  # alarms on the cause's indicators
    "dtc_active",  # active episodes of the cause's codes
    "dtc_cleared",  # cleared episodes
    "dtc_recurrence",  # recurrences summed over the episodes
    "dtc_occurrences",  # log(1 + reports of the codes)
    "wear_at_limit",
    "wear_due",  # a wear item of the cause due within 30 days
    "came_back_after_repair",  # service history: evidence after a repair of the cause
    "repaired_after_evidence",  # service history: a repair after all the evidence
    "cleared_came_back",  # codes cleared without a repair that came back
    "unexplained_code",  # a trouble code no failure mode explains
    "code_background",  # largest background share of the candidate's codes
)
_LOGGED = frozenset({"anomaly_score", "dtc_occurrences"})
MIN_CASES = 30
WINDOW_DAYS = 14
UNSEEN_CODE_BACKGROUND = 0.5  # a code the fleet never showed: no evidence either way
OUTCOMES = ("confirmed", "came_back", "open")


@dataclass(frozen=True, slots=True)
class LabelledCase:
    """A diagnosed vehicle whose real cause is known (``confirmed`` empty: fault-free)."""

    vehicle_id: str
    candidates: tuple[Candidate, ...]
    confirmed: frozenset[str]


@dataclass(frozen=True, slots=True)
class RankedCause:
    """A candidate with its learned probability and the explanation of it."""

    candidate: Candidate
    probability: float
    intercept: float
    contributions: tuple[tuple[str, float], ...]  # (feature, log-odds), largest effect first
    values: Mapping[str, float]  # the feature values, before standardising

    @property
    def logit(self) -> float:
        return self.intercept + sum(c for _, c in self.contributions)

    def explain(self, top: int = 3) -> list[str]:
        """The ``top`` contributions as lines: ``+1.42 anomaly_score = 1.6``."""
        return [
            f"{c:+.2f} {name} = {self.values[name]:.3g}" for name, c in self.contributions[:top]
        ]


def code_background(episodes: pl.DataFrame, anomalies: pl.DataFrame) -> dict[str, float]:
    """Per trouble code, the share of the vehicles reporting it that show no anomaly.

    Smoothed towards one half (``(quiet + 1) / (vehicles + 2)``) so a code seen
    on one car is not called certain either way. ``episodes``: DTC episodes
    (``derive_episodes``) of a fleet; ``anomalies``: that fleet's scan alarms.
    """
    if episodes.is_empty():
        return {}
    alarmed = anomalies.select("vehicle_id").unique().with_columns(pl.lit(True).alias("alarmed"))
    shares = (
        episodes.select("vehicle_id", "dtc")
        .unique()
        .join(alarmed, on="vehicle_id", how="left")
        .group_by("dtc")
        .agg(((pl.col("alarmed").is_null().sum() + 1) / (pl.len() + 2)).alias("share"))
    )
    return {str(code): float(share) for code, share in shares.iter_rows()}


def candidate_features(
    candidates: Sequence[Candidate], background: Mapping[str, float]
) -> np.ndarray:
    """The :data:`FEATURES` of one vehicle's candidates, one row each."""
    total = sum(max(c.score, 0.0) for c in candidates)
    rows = []
    for c in candidates:
        raw = dict(c.features)
        raw["rules_score"] = c.score
        raw["score_share"] = max(c.score, 0.0) / total if total > 0 else 0.0
        raw["unexplained_code"] = float(c.cause_id.startswith("dtc:"))
        raw["code_background"] = max(
            (background.get(code, UNSEEN_CODE_BACKGROUND) for code in c.codes), default=0.0
        )
        rows.append(
            [math.log1p(raw.get(f, 0.0)) if f in _LOGGED else raw.get(f, 0.0) for f in FEATURES]
        )
    return np.asarray(rows, dtype=np.float64).reshape(len(candidates), len(FEATURES))


class LearnedRanker:
    """Logistic regression over candidate features, fitted on labelled cases.

    ``background``: :func:`code_background` of the fleet the ranker serves
    (stored with the model). ``balanced``: weigh the two classes equally
    (``class_weight="balanced"``); off by default — on two pairs of simulated
    fleets it ranked no better and its top-cause probabilities on faulty
    vehicles scored worse (Brier 0.011 against 0.008, and 0.00035 against
    0.00023). ``c``: inverse L2 regularisation strength.
    """

    def __init__(
        self,
        *,
        background: Mapping[str, float] | None = None,
        min_cases: int = MIN_CASES,
        balanced: bool = False,
        c: float = 1.0,
    ) -> None:
        if c <= 0:
            raise InputError(f"the regularisation strength c must be positive, got {c}")
        self.background: dict[str, float] = dict(background or {})
        self.min_cases = min_cases
        self.balanced = balanced
        self.c = c
        self._scaler: StandardScaler | None = None
        self._model: LogisticRegression | None = None
        self._trained_on: dict[str, int] = {}

    def fit(self, cases: Sequence[LabelledCase]) -> Self:
        """Learn from ``cases``; refuses too few cases or a single class."""
        usable = [case for case in cases if case.candidates]
        if len(usable) < self.min_cases:
            raise InputError(
                f"a learned ranking needs at least {self.min_cases} labelled cases, "
                f"got {len(usable)} (with at least one candidate cause)",
                hint="label more workshop outcomes (confirmed_causes: repairs after which the "
                "evidence stayed away) or keep the rules' ranking",
            )
        x = np.vstack([candidate_features(case.candidates, self.background) for case in usable])
        y = np.array(
            [c.cause_id in case.confirmed for case in usable for c in case.candidates], dtype=int
        )
        positives = int(y.sum())
        if positives in (0, len(y)):
            which = "confirmed causes" if positives else "candidates that were not the cause"
            raise InputError(
                f"the {len(y)} candidate rows of {len(usable)} cases are all one class: "
                f"there are no {which}",
                hint="a learned ranking needs cases where the confirmed cause is among the "
                "candidates and candidates that were not it",
            )
        self._scaler = StandardScaler().fit(x)
        self._model = LogisticRegression(
            C=self.c, class_weight="balanced" if self.balanced else None, max_iter=2000
        ).fit(self._scaler.transform(x), y)
        self._trained_on = {"cases": len(usable), "rows": len(y), "positives": positives}
        return self

    @property
    def fitted(self) -> bool:
        return self._model is not None

    def _parts(self) -> tuple[StandardScaler, LogisticRegression]:
        if self._scaler is None or self._model is None:
            raise InputError("the learned ranker is not fitted", hint="call fit(cases) first")
        return self._scaler, self._model

    @property
    def coefficients(self) -> dict[str, float]:
        """Log-odds per standard deviation of each feature."""
        _, model = self._parts()
        return {f: float(w) for f, w in zip(FEATURES, model.coef_[0], strict=True)}

    def probabilities(self, candidates: Sequence[Candidate]) -> np.ndarray:
        """P(each candidate is the confirmed cause), in the candidates' order."""
        scaler, model = self._parts()
        if not candidates:
            return np.zeros(0)
        x = scaler.transform(candidate_features(candidates, self.background))
        return np.asarray(model.predict_proba(x)[:, 1], dtype=np.float64)

    def rank(self, candidates: Sequence[Candidate]) -> list[RankedCause]:
        """The candidates ordered by learned probability, each with its explanation."""
        scaler, model = self._parts()
        if not candidates:
            return []
        raw = candidate_features(candidates, self.background)
        contributions = scaler.transform(raw) * model.coef_[0]
        intercept = float(model.intercept_[0])
        ranked = [
            RankedCause(
                candidate=c,
                probability=float(p),
                intercept=intercept,
                contributions=tuple(
                    sorted(
                        ((f, float(v)) for f, v in zip(FEATURES, parts, strict=True)),
                        key=lambda item: (-abs(item[1]), item[0]),
                    )
                ),
                values={f: float(v) for f, v in zip(FEATURES, values, strict=True)},
            )
            for c, p, parts, values in zip(
                candidates, self.probabilities(candidates), contributions, raw, strict=True
            )
        ]
        return sorted(
            ranked, key=lambda r: (-r.probability, -r.candidate.score, r.candidate.cause_id)
        )

    def describe(self) -> dict[str, object]:
        """Model, version and parameters, for the provenance record of a ranking."""
        scaler, model = self._parts()
        return {
            "model": "drivetrain.health.ranking (logistic regression on standardised "
            "candidate features)",
            "version": package_version("drivetrain"),
            "sklearn": package_version("scikit-learn"),
            "features": list(FEATURES),
            "log1p": sorted(_LOGGED),
            "coefficients": self.coefficients,
            "intercept": float(model.intercept_[0]),
            "mean": dict(zip(FEATURES, map(float, scaler.mean_), strict=True)),
            "scale": dict(zip(FEATURES, map(float, scaler.scale_), strict=True)),
            "class_weight": "balanced" if self.balanced else None,
            "C": self.c,
            "min_cases": self.min_cases,
            **self._trained_on,
            "background": dict(sorted(self.background.items())),
        }


def confirmed_causes(
    service: pl.DataFrame,
    dtc_events: pl.DataFrame,
    anomalies: pl.DataFrame,
    *,
    window_days: int = WINDOW_DAYS,
    as_of: datetime | None = None,
) -> pl.DataFrame:
    """Each repair of a known cause in ``service`` judged by what followed it.

    ``outcome``: ``confirmed`` (none of the cause's evidence came back within
    ``window_days``), ``came_back`` (a code of the cause was reported again, or
    an alarm on one of its indicators was first raised, after the repair day and
    within the window; ``evidence_after`` says which) or ``open`` (the data ends,
    at ``as_of`` — default the latest time in the three tables — before the
    window does). ``dtc_events``: the lake's table; ``anomalies``: scan alarms.
    """
    if window_days <= 0:
        raise InputError(f"window_days must be positive, got {window_days}")
    modes = knowledge_base()
    reports = dtc_events.filter(pl.col("status").is_in(list(SET_STATUSES)))
    as_of = as_of if as_of is not None else _latest(service, reports, anomalies)
    fixes = _pairs([(op, m.cause_id) for m in modes for op in m.repairs], "operation")
    signs = _pairs([(i, m.cause_id) for m in modes for i in m.indicators], "indicator")
    codes = _pairs(
        [(c, m.cause_id) for c in reports["dtc"].unique().to_list() for m in modes
         if m.matches_dtc(c)],
        "dtc",
    )  # fmt: skip
    repairs = service.select("vehicle_id", "operation", pl.col("ts").alias("repaired")).join(
        fixes, on="operation"
    )
    key = ["vehicle_id", "cause_id", "operation", "repaired"]
    ends = pl.col("repaired") + pl.duration(days=window_days)
    code_back = (
        repairs.join(reports.join(codes, on="dtc"), on=["vehicle_id", "cause_id"])
        .filter((pl.col("ts") > pl.col("repaired")) & (pl.col("ts") <= ends))
        .sort("ts")
        .unique(key, keep="first", maintain_order=True)
        .select(*key, pl.format("{} on {}", "dtc", pl.col("ts").dt.date()).alias("code"))
    )
    alarm_back = (
        repairs.join(
            anomalies.select("vehicle_id", "indicator", "alarm_day").join(signs, on="indicator"),
            on=["vehicle_id", "cause_id"],
        )
        .filter(
            (pl.col("alarm_day") > pl.col("repaired").dt.date())
            & (pl.col("alarm_day") <= ends.dt.date())
        )
        .sort("alarm_day")
        .unique(key, keep="first", maintain_order=True)
        .select(*key, pl.format("{} alarm on {}", "indicator", "alarm_day").alias("alarm"))
    )
    back = pl.concat_str("code", "alarm", separator="; ", ignore_nulls=True)
    known = pl.lit(False) if as_of is None else pl.lit(as_of).dt.convert_time_zone("UTC") >= ends
    return (
        repairs.join(code_back, on=key, how="left")
        .join(alarm_back, on=key, how="left")
        .with_columns(pl.when(back != "").then(back).alias("evidence_after"))
        .with_columns(
            pl.when(pl.col("evidence_after").is_not_null())
            .then(pl.lit("came_back"))
            .when(known)
            .then(pl.lit("confirmed"))
            .otherwise(pl.lit("open"))
            .alias("outcome")
        )
        .select("vehicle_id", "cause_id", "operation", "repaired", "outcome", "evidence_after")
        .sort("vehicle_id", "repaired", "cause_id")
    )


def _pairs(rows: list[tuple[str, str]], name: str) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={name: pl.String, "cause_id": pl.String}, orient="row")


def _latest(
    service: pl.DataFrame, reports: pl.DataFrame, anomalies: pl.DataFrame
) -> datetime | None:
    moments = [t for t in (service["ts"].max(), reports["ts"].max()) if isinstance(t, datetime)]
    day = anomalies["alarm_day"].max() if anomalies.height else None
    if isinstance(day, date):
        moments.append(datetime.combine(day, time.max, tzinfo=UTC))
    return max(moments, default=None)


def label_cases(
    diagnoses: Mapping[str, Sequence[Candidate]],
    confirmed: Mapping[str, Collection[str]],
) -> list[LabelledCase]:
    """Cases of the vehicles in ``confirmed`` (vehicle → confirmed cause ids; empty:
    known fault-free) that have a diagnosis with at least one candidate.

    For workshop labels, diagnose each vehicle on the data *before* its repair
    (the repair itself must not be evidence): what the ranker will see in use.
    """
    return [
        LabelledCase(vehicle, tuple(diagnoses[vehicle]), frozenset(causes))
        for vehicle, causes in sorted(confirmed.items())
        if diagnoses.get(vehicle)
    ]


def workshop_labels(outcomes: pl.DataFrame) -> dict[str, frozenset[str]]:
    """Vehicle → confirmed causes, from :func:`confirmed_causes`."""
    confirmed = outcomes.filter(pl.col("outcome") == "confirmed")
    return {
        str(v): frozenset(causes)
        for v, causes in confirmed.group_by("vehicle_id").agg(pl.col("cause_id")).iter_rows()
    }
