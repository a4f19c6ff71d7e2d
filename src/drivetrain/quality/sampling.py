"""Incoming-inspection sampling plans by attributes, ANSI/ASQ Z1.4 (MIL-STD-105E) style.

``single_sampling_plan`` looks the code letter up in Table I, follows the
arrows of Table II-A (normal), II-B (tightened) or II-C (reduced) to a plan
(sample size, Ac, Re); ``oc_curve`` gives its probability of acceptance;
``InspectionSwitching`` applies the switching rules to a stream of lots.

Sources: MIL-STD-105E (1989, public domain); ANSI/ASQ Z1.4-2003 (R2008,
R2013) keeps its tables unchanged. Encoded row by row below and cross-checked
cell by cell against independent reproductions: all resolved cells of the
three tables against the R package AQLSchemes (J. Lawson; AQLSchemesCust
fork), II-A's rows against a retyped MIL-STD-105E, the 0.65–15 columns of
II-A and II-B against the NIBS/FMOC "AC-TABLE" derived from MIL-STD-105E,
Table I against two reproductions. One disagreement: that AC-TABLE prints ↑
in II-A row A (n = 2) under AQL 10, where no plan lies above; the others go
down (C, n = 5, 1/2), as here. The tables are diagonal (one code letter down
= one AQL column left, same Ac/Re) except at edges: rows A under 10 and R
under 0.015 point the other way, II-B row A has no plan before AQL 40 and a
lone S row (n = 3150), and II-C rows A and B (n = 2) leave the diagonal above
AQL 15: row A repeats II-A's row A, row B has 2/4 and 3/5 before joining it.
The tests check the rule on every other cell.

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

AQLS: tuple[float, ...] = (
    0.010, 0.015, 0.025, 0.040, 0.065, 0.10, 0.15, 0.25, 0.40, 0.65, 1.0, 1.5, 2.5,
    4.0, 6.5, 10.0, 15.0, 25.0, 40.0, 65.0, 100.0, 150.0, 250.0, 400.0, 650.0, 1000.0,
)  # fmt: skip
LEVELS = ("S-1", "S-2", "S-3", "S-4", "I", "II", "III")
SEVERITIES = ("normal", "tightened", "reduced")
BASES = ("nonconforming", "nonconformities")
OC_METHODS = ("auto", "binomial", "hypergeometric", "poisson")
Severity = Literal["normal", "tightened", "reduced"]
Basis = Literal["nonconforming", "nonconformities"]
Cell = tuple[int, int] | str  # (Ac, Re), or "v" / "^": use the first plan below / above

# Table I: upper end of each lot-size range (the last range, 500 001 and over, is open)
LOT_RANGES = (8, 15, 25, 50, 90, 150, 280, 500, 1200, 3200, 10_000, 35_000, 150_000, 500_000)
_TABLE_I = {
    "S-1": "AAAABBBBCCCCDDD",
    "S-2": "AAABBBCCCDDDEEE",
    "S-3": "AABBCCDDEEFFGGH",
    "S-4": "AABCCDEEFGGHJJK",
    "I": "AABCCDEFGHJKLMN",
    "II": "ABCDEFGHJKLMNPQ",
    "III": "BCDEFGHJKLMNPQR",
}

# Tables II-A, II-B, II-C: code letter, sample size, then the cells of the AQL columns
# 0.010 … 1000 in order; "x*k" repeats cell x k times.
_TABLE_II: dict[str, tuple[tuple[str, int, str], ...]] = {
    "normal": (
        ("A", 2, "v*14 0/1 v*2 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31"),
        ("B", 3, "v*13 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45"),
        ("C", 5, "v*12 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^"),
        ("D", 8, "v*11 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^*2"),
        ("E", 13, "v*10 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31 44/45 ^*3"),
        ("F", 20, "v*9 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*6"),
        ("G", 32, "v*8 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*7"),
        ("H", 50, "v*7 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*8"),
        ("J", 80, "v*6 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*9"),
        ("K", 125, "v*5 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*10"),
        ("L", 200, "v*4 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*11"),
        ("M", 315, "v*3 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*12"),
        ("N", 500, "v*2 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*13"),
        ("P", 800, "v 0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*14"),
        ("Q", 1250, "0/1 ^ v 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*15"),
        ("R", 2000, "^*2 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 ^*16"),
    ),
    "tightened": (
        ("A", 2, "v*18 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28"),
        ("B", 3, "v*14 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42"),
        ("C", 5, "v*13 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42 ^"),
        ("D", 8, "v*12 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42 ^*2"),
        ("E", 13, "v*11 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 27/28 41/42 ^*3"),
        ("F", 20, "v*10 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*6"),
        ("G", 32, "v*9 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*7"),
        ("H", 50, "v*8 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*8"),
        ("J", 80, "v*7 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*9"),
        ("K", 125, "v*6 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*10"),
        ("L", 200, "v*5 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*11"),
        ("M", 315, "v*4 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*12"),
        ("N", 500, "v*3 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*13"),
        ("P", 800, "v*2 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*14"),
        ("Q", 1250, "v 0/1 v*2 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*15"),
        ("R", 2000, "0/1 ^ v 1/2 2/3 3/4 5/6 8/9 12/13 18/19 ^*16"),
        ("S", 3150, "^*2 1/2 ^*23"),  # reached only through the arrows above it
    ),
    "reduced": (
        ("A", 2, "v*14 0/1 v*2 1/2 2/3 3/4 5/6 7/8 10/11 14/15 21/22 30/31"),
        ("B", 2, "v*13 0/1 ^ v 0/2 1/3 2/4 3/5 5/6 7/8 10/11 14/15 21/22 30/31"),
        ("C", 2, "v*12 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 14/17 21/24 ^"),
        ("D", 3, "v*11 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 14/17 21/24 ^*2"),
        ("E", 5, "v*10 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 14/17 21/24 ^*3"),
        ("F", 8, "v*9 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*6"),
        ("G", 13, "v*8 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*7"),
        ("H", 20, "v*7 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*8"),
        ("J", 32, "v*6 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*9"),
        ("K", 50, "v*5 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*10"),
        ("L", 80, "v*4 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*11"),
        ("M", 125, "v*3 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*12"),
        ("N", 200, "v*2 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*13"),
        ("P", 315, "v 0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*14"),
        ("Q", 500, "0/1 ^ v 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*15"),
        ("R", 800, "^*2 0/2 1/3 1/4 2/5 3/6 5/8 7/10 10/13 ^*16"),
    ),
}


@dataclass(frozen=True, slots=True)
class MasterTable:
    """One of Tables II-A/B/C: a sample size and a row of cells per code letter."""

    letters: tuple[str, ...]
    sizes: tuple[int, ...]
    cells: tuple[tuple[Cell, ...], ...]

    def resolve(self, row: int, column: int) -> tuple[int, int, int]:
        """Follow the arrows from a cell: the row reached, its Ac and its Re."""
        while isinstance(cell := self.cells[row][column], str):
            row += 1 if cell == "v" else -1
        return row, cell[0], cell[1]


def _parse(rows: tuple[tuple[str, int, str], ...]) -> MasterTable:
    cells: list[tuple[Cell, ...]] = []
    for letter, _, text in rows:
        row: list[Cell] = []
        for token in text.split():
            cell, _, times = token.partition("*")
            value: Cell = cell if cell in ("v", "^") else _pair(cell)
            row.extend([value] * int(times or 1))
        if len(row) != len(AQLS):
            raise AssertionError(f"row {letter} has {len(row)} cells, not {len(AQLS)}")
        cells.append(tuple(row))
    return MasterTable(tuple(r[0] for r in rows), tuple(r[1] for r in rows), tuple(cells))


def _pair(cell: str) -> tuple[int, int]:
    accept, reject = cell.split("/")
    return int(accept), int(reject)


TABLES: dict[str, MasterTable] = {name: _parse(rows) for name, rows in _TABLE_II.items()}


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
    return _TABLE_I[level][bisect.bisect_left(LOT_RANGES, lot_size)]


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
