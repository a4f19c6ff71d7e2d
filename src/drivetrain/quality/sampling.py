"""Incoming-inspection sampling plans by attributes, ANSI/ASQ Z1.4 (MIL-STD-105E) style.

``single_sampling_plan`` looks the code letter up in Table I, follows the
arrows of Table II-A (normal), II-B (tightened) or II-C (reduced) to a plan
(sample size, Ac, Re); ``oc_curve`` gives its probability of acceptance;
``InspectionSwitching`` applies the switching rules to a stream of lots.

The tables and where they come from are in ``sampling_tables``.

Switching (MIL-STD-105E §4.7, Z1.4-2003 §8): normal → tightened when 2 of 5
or fewer consecutive lots are not accepted; tightened → normal after 5
consecutive accepted; normal → reduced when the preceding 10 lots on normal
were accepted, their sample total is within the Table VIII limit number,
production is steady and the responsible authority approves; reduced →
normal on a rejection, a lot accepted between Ac and Re, or irregular
production; discontinued once 5 lots are not accepted on tightened
(Z1.4-2003; 105E: 10 lots on tightened). Table VIII is not encoded: the caller
passes the limit number, or none to drop that condition as Z1.4 §8.5 allows.
This is not ISO 2859-1:1999's switching score.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from drivetrain.errors import InputError
from drivetrain.quality.sampling_tables import (
    AQLS,
    LOT_RANGES,
    TABLE_I,
    TABLES,
    Cell,
    MasterTable,
)

__all__ = [
    "AQLS",
    "BASES",
    "LEVELS",
    "LOT_RANGES",
    "OC_METHODS",
    "SEVERITIES",
    "TABLES",
    "Basis",
    "Cell",
    "InspectionSwitching",
    "LotDisposition",
    "MasterTable",
    "SamplingPlan",
    "Severity",
    "State",
    "Switch",
    "aql_column",
    "code_letter",
    "oc_curve",
    "single_sampling_plan",
]

LEVELS = ("S-1", "S-2", "S-3", "S-4", "I", "II", "III")
SEVERITIES = ("normal", "tightened", "reduced")
BASES = ("nonconforming", "nonconformities")
OC_METHODS = ("auto", "binomial", "hypergeometric", "poisson")
Severity = Literal["normal", "tightened", "reduced"]
Basis = Literal["nonconforming", "nonconformities"]


class LotDisposition(StrEnum):
    """What a plan says about a lot; the middle case exists only under reduced inspection."""

    ACCEPT = "accept"
    ACCEPT_REINSTATE_NORMAL = "accept-reinstate-normal"  # Ac < d < Re (Table II-C footnote)
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class SamplingPlan:
    """A single sampling plan for one lot: inspect ``sample_size``, accept up to ``accept``."""

    lot_size: int
    aql: float
    level: str
    severity: str
    basis: str  # "nonconforming" (percent) or "nonconformities" (per 100 units)
    code_letter: str  # from Table I
    sample_size: int  # units to inspect; the whole lot when the plan's n reaches it
    accept: int  # Ac
    reject: int  # Re; Re > Ac + 1 only in reduced plans
    arrow_to: str | None  # the code letter an arrow led to, when it led anywhere
    table_sample_size: int  # n of the plan as the table gives it
    full_inspection: bool  # n ≥ lot size: inspect 100 %

    def disposition(self, nonconforming: int) -> LotDisposition:
        """Judge a lot by the nonconforming units (or nonconformities) found in its sample."""
        if isinstance(nonconforming, bool) or not isinstance(nonconforming, int | np.integer):
            raise InputError(f"nonconforming must be a whole count, not {nonconforming!r}")
        if nonconforming < 0:
            raise InputError(f"nonconforming must be 0 or more, not {nonconforming}")
        if nonconforming <= self.accept:
            return LotDisposition.ACCEPT
        if nonconforming < self.reject:
            return LotDisposition.ACCEPT_REINSTATE_NORMAL
        return LotDisposition.REJECT


def _choice(value: str, valid: tuple[str, ...], what: str) -> str:
    if value not in valid:
        raise InputError(f"unknown {what} {value!r}", hint=f"use one of {', '.join(valid)}")
    return value


def aql_column(aql: float) -> int:
    """The column of ``aql`` in the preferred series 0.010 … 1000 of Tables II."""
    for column, preferred in enumerate(AQLS):
        number = isinstance(aql, int | float) and not isinstance(aql, bool)
        if number and math.isclose(aql, preferred, rel_tol=1e-9):
            return column
    raise InputError(
        f"AQL {aql!r} is not in the preferred series of ANSI/ASQ Z1.4",
        hint="use one of " + ", ".join(f"{a:g}" for a in AQLS),
    )


def code_letter(lot_size: int, level: str = "II") -> str:
    """The sample size code letter of Table I for a lot size and inspection level."""
    _choice(level, LEVELS, "inspection level")
    if isinstance(lot_size, bool) or not isinstance(lot_size, int | np.integer):
        raise InputError(f"lot size must be a whole number of units, not {lot_size!r}")
    if lot_size < 2:
        raise InputError(
            f"lot size {lot_size} is below the smallest range of Table I",
            hint="Table I starts at lots of 2 units; inspect a single unit outright",
        )
    return TABLE_I[level][bisect.bisect_left(LOT_RANGES, lot_size)]


def single_sampling_plan(
    lot_size: int,
    aql: float,
    *,
    level: str = "II",
    severity: str = "normal",
    basis: str | None = None,
) -> SamplingPlan:
    """The Z1.4 single sampling plan for a lot, with the tables' arrows followed.

    ``aql`` is in percent nonconforming or nonconformities per 100 units; AQLs
    above 10 exist only for nonconformities. ``basis`` defaults accordingly.
    """
    letter = code_letter(lot_size, level)
    column = aql_column(aql)
    table = TABLES[_choice(severity, SEVERITIES, "severity")]
    if basis is None:
        basis = "nonconforming" if aql <= 10 else "nonconformities"
    _choice(basis, BASES, "basis")
    if basis == "nonconforming" and aql > 10:
        raise InputError(
            f"AQL {aql:g} has no percent-nonconforming plan",
            hint="AQLs above 10 are nonconformities per 100 units; pass basis='nonconformities'",
        )
    row, accept, reject = table.resolve(table.letters.index(letter), column)
    n = table.sizes[row]
    return SamplingPlan(
        lot_size=lot_size,
        aql=AQLS[column],
        level=level,
        severity=severity,
        basis=basis,
        code_letter=letter,
        sample_size=min(n, lot_size),
        accept=accept,
        reject=reject,
        arrow_to=None if table.letters[row] == letter else table.letters[row],
        table_sample_size=n,
        full_inspection=n >= lot_size,
    )


def oc_curve(
    plan: SamplingPlan,
    p: npt.ArrayLike,
    *,
    method: str = "auto",
    count_reinstated: bool = True,
) -> npt.NDArray[np.float64]:
    """Probability of accepting a lot of quality ``p``, vectorised over ``p``.

    ``p`` is the fraction nonconforming (percent / 100) or, for nonconformities,
    the mean nonconformities per unit (per 100 units / 100). ``method``:
    binomial (an endless stream of lots), hypergeometric (this lot of
    ``lot_size`` units holding round(p·N) nonconforming; "auto" picks it when
    the sample is over 10 % of the lot), or Poisson (nonconformities). With
    ``count_reinstated`` a reduced-inspection lot accepted between Ac and Re
    counts as accepted: Pa = P(d < Re); otherwise Pa = P(d ≤ Ac).
    """
    _choice(method, OC_METHODS, "OC method")
    q = np.asarray(p, dtype=np.float64)
    if not np.all(np.isfinite(q)) or np.any(q < 0):
        raise InputError("p must be finite and 0 or more")
    if method == "auto":
        if plan.basis == "nonconformities":
            method = "poisson"
        else:
            method = "hypergeometric" if plan.sample_size > 0.1 * plan.lot_size else "binomial"
    if method != "poisson" and np.any(q > 1):
        raise InputError("p is a fraction nonconforming here and must be at most 1")
    c = plan.reject - 1 if count_reinstated else plan.accept
    n = plan.sample_size
    if method == "binomial":
        pa = stats.binom.cdf(c, n, q)
    elif method == "poisson":
        pa = stats.poisson.cdf(c, n * q)
    else:
        pa = stats.hypergeom.cdf(c, plan.lot_size, np.rint(q * plan.lot_size), n)
    return np.asarray(pa, dtype=np.float64)


State = Literal["normal", "tightened", "reduced", "discontinued"]


@dataclass(frozen=True, slots=True)
class Switch:
    """One change of severity: after which lot (1-based), from what, to what, and why."""

    lot: int
    before: str
    after: str
    reason: str


@dataclass(slots=True)
class InspectionSwitching:
    """The Z1.4 §8 switching rules for one class of nonconformity, fed lot by lot.

    ``limit_number`` is the Table VIII limit for the 10-lot sample total and the
    AQL; ``None`` drops that condition (Z1.4 §8.5). ``record`` returns the
    severity that applies to the next lot.
    """

    state: State = "normal"
    limit_number: int | None = None
    lots_for_reduced: int = 10
    switches: list[Switch] = field(default_factory=list)
    lots: int = 0
    _recent: deque[tuple[bool, int | None]] = field(default_factory=deque)
    _rejected_on_tightened: int = 0

    def __post_init__(self) -> None:
        _choice(self.state, (*SEVERITIES, "discontinued"), "inspection state")
        if self.lots_for_reduced < 10:
            raise InputError(
                f"lots_for_reduced is {self.lots_for_reduced}; the standard asks for at least 10"
            )
        self._recent = deque(self._recent, maxlen=max(5, self.lots_for_reduced))

    def record(
        self,
        result: LotDisposition | bool,
        *,
        nonconforming: int | None = None,
        production_steady: bool = True,
        reduced_approved: bool = False,
    ) -> State:
        """Record one lot's result on original inspection (``True`` = accepted)."""
        if self.state == "discontinued":
            raise InputError(
                "inspection under the standard is discontinued",
                hint="after the supplier's corrective action call resume() for tightened",
            )
        if isinstance(result, bool):
            result = LotDisposition.ACCEPT if result else LotDisposition.REJECT
        result = LotDisposition(result)
        if self.limit_number is not None and self.state == "normal" and nonconforming is None:
            raise InputError(
                f"lot {self.lots + 1}: the limit number needs the nonconforming count",
                hint="pass nonconforming=, or limit_number=None to drop that condition",
            )
        self.lots += 1
        accepted = result != LotDisposition.REJECT
        self._recent.append((accepted, nonconforming))
        if self.state == "normal":
            self._after_normal(production_steady, reduced_approved)
        elif self.state == "tightened":
            self._rejected_on_tightened += not accepted
            if self._rejected_on_tightened >= 5:
                self._switch("discontinued", "5 lots not accepted on tightened inspection")
            elif len(self._recent) >= 5 and all(a for a, _ in list(self._recent)[-5:]):
                self._switch("normal", "5 consecutive lots accepted on tightened inspection")
        elif result == LotDisposition.REJECT:
            self._switch("normal", "a lot rejected on reduced inspection")
        elif result == LotDisposition.ACCEPT_REINSTATE_NORMAL:
            self._switch("normal", "a lot accepted between Ac and Re on reduced inspection")
        elif not production_steady:
            self._switch("normal", "production irregular or delayed")
        return self.state

    def _after_normal(self, production_steady: bool, reduced_approved: bool) -> None:
        last5 = list(self._recent)[-5:]
        if sum(not a for a, _ in last5) >= 2:
            self._switch("tightened", "2 of 5 or fewer consecutive lots not accepted")
            return
        window = list(self._recent)[-self.lots_for_reduced :]
        if len(window) < self.lots_for_reduced or not all(a for a, _ in window):
            return
        if self.limit_number is not None and sum(d or 0 for _, d in window) > self.limit_number:
            return
        if production_steady and reduced_approved:
            self._switch("reduced", f"{self.lots_for_reduced} lots accepted on normal inspection")

    def reinstate_normal(self, reason: str = "other conditions warrant normal inspection") -> State:
        """Return from reduced to normal when other conditions warrant it (§8.3.4 d)."""
        if self.state != "reduced":
            raise InputError(f"inspection is {self.state}; only reduced returns to normal this way")
        self._switch("normal", reason)
        return self.state

    def resume(self) -> State:
        """After corrective action, restart a discontinued scheme on tightened inspection."""
        if self.state != "discontinued":
            raise InputError(f"inspection is {self.state}, not discontinued; nothing to resume")
        self._switch("tightened", "resumed after corrective action")
        return self.state

    def plan(self, lot_size: int, aql: float, *, level: str = "II") -> SamplingPlan:
        """The plan for the next lot at the current severity."""
        if self.state == "discontinued":
            raise InputError("inspection is discontinued; no plan applies until resume()")
        return single_sampling_plan(lot_size, aql, level=level, severity=self.state)

    def _switch(self, after: State, reason: str) -> None:
        self.switches.append(Switch(self.lots, self.state, after, reason))
        self.state = after
        self._recent.clear()
        self._rejected_on_tightened = 0
