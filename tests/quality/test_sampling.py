"""Z1.4 / MIL-STD-105E sampling plans against published tables, OC curves against scipy.

Sources of the expected cells (each group names its own):
- [AQLS] the R package AQLSchemes by J. Lawson (fork fjgonzalezmgt/AQLSchemesCust,
  R/AAZ14Single.R), which stores every cell of Tables I, II-A, II-B, II-C resolved.
- [NIBS] "AC-TABLE" of the NIBS Facilities Maintenance and Operations Committee,
  Tables 1-A (level II, single normal) and 1-B (level III, single tightened),
  "developed from MIL-STD-105E", AQL 0.65–15, with the arrows drawn.
- [105E] a retyped MIL-STD-105E ("legible copy"), Table II-A, page 19 of 74.
- [ISO] Jenkins, Peck & Fernando (PLOS ONE 2023, figure data on figshare): ISO 2859-1:1999
  plans for lots of 35 001–500 000 at levels S-3/S-4 (ISO's single plans are Z1.4's).
- [CHART] "AQL sampling chart" (ANSI/ASQC Z1.4/MIL-STD-105E/BS 6001/ISO 2859), Table I.
- [CFR] 7 CFR § 42.140(c)–(d): the plan n = 500, Ac 3, Re 4 for 0.25 defects per hundred
  units accepts 26 % of lots at 1.0 defects per hundred units, about 99 % at 0.10.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from drivetrain.errors import InputError
from drivetrain.quality import sampling as s
from drivetrain.quality.sampling import LotDisposition, single_sampling_plan

# [CHART] and [AQLS], identical: lot-size range → letters at S-1 S-2 S-3 S-4 I II III
TABLE_I = [
    (2, 8, "AAAAAAB"), (9, 15, "AAAAABC"), (16, 25, "AABBBCD"), (26, 50, "ABBCCDE"),
    (51, 90, "BBCCCEF"), (91, 150, "BBCDDFG"), (151, 280, "BCDEEGH"), (281, 500, "BCDEFHJ"),
    (501, 1200, "CCEFGJK"), (1201, 3200, "CDEGHKL"), (3201, 10_000, "CDFGJLM"),
    (10_001, 35_000, "CDFHKMN"), (35_001, 150_000, "DEGJLNP"), (150_001, 500_000, "DEGJMPQ"),
    (500_001, 10_000_000, "DEHKNQR"),
]  # fmt: skip


@pytest.mark.parametrize(("low", "high", "letters"), TABLE_I)
def test_code_letter_every_range_and_level(low: int, high: int, letters: str) -> None:
    for level, letter in zip(s.LEVELS, letters, strict=True):
        assert s.code_letter(low, level) == letter
        assert s.code_letter(high, level) == letter


def cell(severity: str, letter: str, aql: float) -> tuple[int, int, int]:
    table = s.TABLES[severity]
    row, ac, re = table.resolve(table.letters.index(letter), s.aql_column(aql))
    return table.sizes[row], ac, re


# (severity, code letter, AQL) → (n, Ac, Re) after the arrows
PUBLISHED = [
    # [NIBS] 1-A: level II normal, Re and arrows; resolved here
    ("normal", "A", 6.5, (2, 0, 1)), ("normal", "A", 15, (3, 1, 2)),
    ("normal", "B", 4.0, (3, 0, 1)), ("normal", "B", 6.5, (2, 0, 1)),
    ("normal", "B", 10, (5, 1, 2)), ("normal", "B", 15, (3, 1, 2)),
    ("normal", "E", 0.65, (20, 0, 1)), ("normal", "E", 1.5, (8, 0, 1)),
    ("normal", "E", 2.5, (20, 1, 2)), ("normal", "E", 15, (13, 5, 6)),
    ("normal", "G", 0.65, (20, 0, 1)), ("normal", "H", 0.65, (80, 1, 2)),
    ("normal", "J", 0.65, (80, 1, 2)), ("normal", "J", 15, (80, 21, 22)),
    ("normal", "K", 15, (80, 21, 22)), ("normal", "L", 0.65, (200, 3, 4)),
    ("normal", "M", 10, (125, 21, 22)), ("normal", "Q", 0.65, (1250, 14, 15)),
    ("normal", "Q", 1.5, (800, 21, 22)),
    # [105E] II-A: row A ends 30/31, rows B–E end 44/45, row R has no 0/1 and starts 1/2
    ("normal", "A", 1000, (2, 30, 31)), ("normal", "B", 1000, (3, 44, 45)),
    ("normal", "E", 250, (13, 44, 45)), ("normal", "E", 1000, (3, 44, 45)),
    ("normal", "R", 0.010, (1250, 0, 1)), ("normal", "R", 0.015, (800, 0, 1)),
    ("normal", "R", 0.025, (2000, 1, 2)), ("normal", "R", 0.25, (2000, 10, 11)),
    ("normal", "R", 0.65, (2000, 21, 22)), ("normal", "R", 1.0, (1250, 21, 22)),
    ("normal", "A", 0.010, (1250, 0, 1)),
    # [NIBS] 1-B: tightened, rows A–K
    ("tightened", "A", 6.5, (3, 0, 1)), ("tightened", "A", 10, (8, 1, 2)),
    ("tightened", "A", 15, (5, 1, 2)), ("tightened", "B", 10, (8, 1, 2)),
    ("tightened", "C", 4.0, (5, 0, 1)), ("tightened", "C", 15, (5, 1, 2)),
    ("tightened", "F", 1.0, (20, 0, 1)), ("tightened", "F", 15, (20, 5, 6)),
    ("tightened", "G", 15, (32, 8, 9)), ("tightened", "H", 0.65, (125, 1, 2)),
    ("tightened", "J", 15, (80, 18, 19)), ("tightened", "K", 15, (80, 18, 19)),
    # [AQLS] tightened edges: row A's first plan is at 40, the S row (3150), the caps
    ("tightened", "A", 40, (2, 1, 2)), ("tightened", "A", 1000, (2, 27, 28)),
    ("tightened", "B", 1000, (3, 41, 42)), ("tightened", "C", 1000, (3, 41, 42)),
    ("tightened", "R", 0.010, (2000, 0, 1)), ("tightened", "R", 0.015, (1250, 0, 1)),
    ("tightened", "Q", 0.025, (3150, 1, 2)), ("tightened", "R", 0.025, (3150, 1, 2)),
    ("tightened", "F", 100, (13, 18, 19)), ("tightened", "J", 1.0, (80, 1, 2)),
    # [AQLS] reduced, with the Ac/Re gap and the n = 2 rows
    ("reduced", "J", 2.5, (32, 2, 5)), ("reduced", "J", 0.65, (32, 0, 2)),
    ("reduced", "K", 1.0, (50, 1, 4)), ("reduced", "Q", 0.010, (500, 0, 1)),
    ("reduced", "R", 0.010, (500, 0, 1)), ("reduced", "R", 0.015, (315, 0, 1)),
    ("reduced", "R", 0.040, (800, 1, 3)), ("reduced", "P", 0.040, (500, 0, 2)),
    ("reduced", "A", 10, (2, 0, 2)), ("reduced", "A", 25, (2, 1, 2)),
    ("reduced", "B", 40, (2, 2, 4)), ("reduced", "B", 65, (2, 3, 5)),
    ("reduced", "C", 250, (2, 10, 13)), ("reduced", "C", 1000, (2, 30, 31)),
    ("reduced", "D", 1000, (2, 30, 31)), ("reduced", "D", 400, (3, 21, 24)),
    ("reduced", "C", 6.5, (3, 0, 2)), ("reduced", "F", 100, (5, 10, 13)),
]  # fmt: skip


@pytest.mark.parametrize(("severity", "letter", "aql", "expected"), PUBLISHED)
def test_published_cells(severity: str, letter: str, aql: float, expected: tuple[int, ...]) -> None:
    assert cell(severity, letter, aql) == expected


# The diagonal rule, written independently of the module's rows: Ac/Re depends on
# d = row + column (A = 0, AQL 0.010 = 0) alone, with one "↑" column after the 0/1 diagonal
# (normal, reduced) and rows F onwards stopping at d = 24.
DIAGONAL = {
    "normal": (14, [(0, 1), "^", "v", (1, 2), (2, 3), (3, 4), (5, 6), (7, 8), (10, 11),
                    (14, 15), (21, 22), (30, 31), (44, 45)]),
    "tightened": (15, [(0, 1), "v", "v", (1, 2), (2, 3), (3, 4), (5, 6), (8, 9), (12, 13),
                       (18, 19), (27, 28), (41, 42)]),
    "reduced": (14, [(0, 1), "^", "v", (0, 2), (1, 3), (1, 4), (2, 5), (3, 6), (5, 8), (7, 10),
                     (10, 13), (14, 17), (21, 24)]),
}  # fmt: skip
LETTERS = "ABCDEFGHJKLMNPQR"
EDGES = {
    "normal": {("A", 10), ("R", 0.015)},
    "tightened": {("A", 10), ("R", 0.015)},
    "reduced": {("A", 10), ("R", 0.015)}
    | {("A", a) for a in (25, 40, 65, 100, 150, 250, 400, 650, 1000)}
    | {("B", a) for a in (40, 65, 100, 150, 250, 400, 650, 1000)},
}


def diagonal_cell(severity: str, row: int, column: int) -> object:
    first, sequence = DIAGONAL[severity]
    d = row + column
    if d < first:
        return "v"
    if d - first >= len(sequence) or (row >= 5 and d > 24):
        return "^"
    return sequence[d - first]


@pytest.mark.parametrize("severity", s.SEVERITIES)
def test_tables_follow_the_diagonal_except_at_their_edges(severity: str) -> None:
    table = s.TABLES[severity]
    off = set()
    for row, letter in enumerate(LETTERS):
        assert table.letters[row] == letter
        for column, aql in enumerate(s.AQLS):
            if table.cells[row][column] != diagonal_cell(severity, row, column):
                off.add((letter, aql))
    assert off == EDGES[severity]
    # the edge cells as [AQLS] gives them resolved
    assert cell(severity, "A", 10) == {"normal": (5, 1, 2), "tightened": (8, 1, 2),
                                       "reduced": (2, 0, 2)}[severity]  # fmt: skip
    assert cell(severity, "R", 0.015)[1:] == (0, 1)


def test_tightened_row_a_and_s() -> None:
    # II-B row A has no plan of its own before AQL 40; S (3150) holds the one 1/2 under 0.025
    tightened = s.TABLES["tightened"]
    assert all(isinstance(c, str) for c in tightened.cells[0][:18])
    assert tightened.letters[-1] == "S" and tightened.sizes[-1] == 3150
    assert [c for c in tightened.cells[-1] if not isinstance(c, str)] == [(1, 2)]


def test_the_standards_example_lot_of_1000_at_level_ii() -> None:
    got = {a: single_sampling_plan(1000, a) for a in (0.65, 1.0, 2.5, 4.0)}
    assert {p.code_letter for p in got.values()} == {"J"}
    assert [(p.sample_size, p.accept, p.reject) for p in got.values()] == [
        (80, 1, 2), (80, 2, 3), (80, 5, 6), (80, 7, 8),
    ]  # fmt: skip
    tight = single_sampling_plan(1000, 1.0, severity="tightened")
    reduced = single_sampling_plan(1000, 1.0, severity="reduced")
    assert (tight.sample_size, tight.accept, tight.reject) == (80, 1, 2)
    assert (reduced.sample_size, reduced.accept, reduced.reject) == (32, 1, 3)


@pytest.mark.parametrize(
    ("level", "aql", "n", "ac"),
    [("S-4", 0.65, 80, 1), ("S-3", 0.65, 20, 0), ("S-4", 0.40, 125, 1), ("S-3", 0.40, 32, 0),
     ("S-4", 0.25, 50, 0), ("S-4", 0.15, 80, 0)],
)  # fmt: skip
def test_iso_2859_examples_at_special_levels(level: str, aql: float, n: int, ac: int) -> None:
    for lot in (35_001, 200_000, 500_000):  # [ISO]
        plan = single_sampling_plan(lot, aql, level=level)
        assert (plan.sample_size, plan.accept, plan.reject) == (n, ac, ac + 1)


def test_arrows_report_the_letter_they_led_to() -> None:
    plan = single_sampling_plan(1000, 0.40)  # J: ↓ to K
    assert (plan.code_letter, plan.arrow_to, plan.sample_size) == ("J", "K", 125)
    assert single_sampling_plan(1000, 1.0).arrow_to is None


def test_sample_reaching_the_lot_means_100_percent_inspection() -> None:
    plan = single_sampling_plan(5, 10)  # A → C (n = 5) for a lot of 5
    assert plan.full_inspection and plan.sample_size == 5 and plan.table_sample_size == 5
    plan = single_sampling_plan(20, 0.010)  # C → Q: 1250 from a lot of 20
    assert plan.full_inspection and plan.sample_size == 20 and plan.table_sample_size == 1250
    assert not single_sampling_plan(1000, 1.0).full_inspection


def test_reduced_plans_accept_in_the_gap_but_reinstate_normal() -> None:
    plan = single_sampling_plan(1000, 2.5, severity="reduced")  # J: n 32, Ac 2, Re 5
    verdicts = [plan.disposition(d) for d in range(7)]
    assert (
        verdicts
        == [LotDisposition.ACCEPT] * 3
        + [LotDisposition.ACCEPT_REINSTATE_NORMAL] * 2
        + [LotDisposition.REJECT] * 2
    )
    with pytest.raises(InputError, match=r"whole count"):
        plan.disposition(1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: s.code_letter(1), r"lot size 1 is below"),
        (lambda: s.code_letter(100.0), r"whole number"),  # type: ignore[arg-type]
        (lambda: s.code_letter(100, "IV"), r"unknown inspection level 'IV'"),
        (lambda: single_sampling_plan(100, 0.3), r"AQL 0.3 is not in the preferred series"),
        (lambda: single_sampling_plan(100, 1.0, severity="strict"), r"unknown severity"),
        (lambda: single_sampling_plan(100, 15, basis="nonconforming"), r"AQL 15 has no"),
        (lambda: single_sampling_plan(100, 1.0, basis="defects"), r"unknown basis"),
        (lambda: single_sampling_plan(100, True), r"AQL True is not"),  # type: ignore[arg-type]
    ],
)
def test_bad_input_names_the_valid_values(call: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        call()  # type: ignore[operator]


def test_bad_input_hints_list_the_choices() -> None:
    with pytest.raises(InputError) as caught:
        single_sampling_plan(100, 0.3)
    assert (
        caught.value.hint is not None
        and "0.65" in caught.value.hint
        and "1000" in caught.value.hint
    )
    with pytest.raises(InputError) as caught:
        s.code_letter(100, "IV")
    assert caught.value.hint == "use one of S-1, S-2, S-3, S-4, I, II, III"


P = np.linspace(0.0, 0.2, 41)


def test_oc_binomial_against_scipy() -> None:
    plan = single_sampling_plan(100_000, 1.0)  # N: n 500, Ac 10
    assert (plan.sample_size, plan.accept) == (500, 10)
    np.testing.assert_allclose(s.oc_curve(plan, P), stats.binom.cdf(10, 500, P), rtol=1e-12)
    assert s.oc_curve(plan, 0.01).shape == ()


def test_oc_hypergeometric_when_the_sample_is_a_large_share_of_the_lot() -> None:
    plan = single_sampling_plan(100, 2.5)  # F: n 20 of 100, Ac 1
    expected = [stats.hypergeom.cdf(1, 100, d, 20) for d in np.rint(P * 100)]
    np.testing.assert_allclose(s.oc_curve(plan, P), expected, rtol=1e-12)
    binomial = s.oc_curve(plan, P, method="binomial")
    np.testing.assert_allclose(binomial, stats.binom.cdf(1, 20, P), rtol=1e-12)
    assert not np.allclose(binomial, expected)


def test_oc_poisson_for_nonconformities_and_a_published_value() -> None:
    plan = single_sampling_plan(50_000, 0.25, basis="nonconformities")  # N: n 500, Ac 3
    assert (plan.sample_size, plan.accept, plan.reject) == (500, 3, 4)
    np.testing.assert_allclose(s.oc_curve(plan, P), stats.poisson.cdf(3, 500 * P), rtol=1e-12)
    # [CFR], read off its curve: 26 % accepted at 1.0 defects per hundred units, 99 % at 0.10
    assert 0.26 <= float(s.oc_curve(plan, 0.010)) < 0.27
    assert float(s.oc_curve(plan, 0.001)) > 0.99
    above_10 = single_sampling_plan(1000, 65)  # J: ↑ to F (n 20, 21/22), nonconformities only
    assert (above_10.basis, above_10.arrow_to, above_10.sample_size) == ("nonconformities", "F", 20)
    assert float(s.oc_curve(above_10, 1.0)) == pytest.approx(stats.poisson.cdf(21, 20 * 1.0))


def test_oc_of_a_reduced_plan_counts_the_gap_as_accepted_by_choice() -> None:
    plan = single_sampling_plan(100_000, 1.0, severity="reduced")  # N: n 200, Ac 5, Re 8
    assert (plan.sample_size, plan.accept, plan.reject) == (200, 5, 8)
    np.testing.assert_allclose(s.oc_curve(plan, P), stats.binom.cdf(7, 200, P), rtol=1e-12)
    np.testing.assert_allclose(
        s.oc_curve(plan, P, count_reinstated=False), stats.binom.cdf(5, 200, P), rtol=1e-12
    )
    with pytest.raises(InputError, match=r"at most 1"):
        s.oc_curve(plan, [0.5, 1.5])
    with pytest.raises(InputError, match=r"unknown OC method"):
        s.oc_curve(plan, 0.1, method="normal")


A, R = True, False
REINSTATE = LotDisposition.ACCEPT_REINSTATE_NORMAL


def run(machine: s.InspectionSwitching, results: list[object], **flags: bool) -> list[str]:
    return [machine.record(r, **flags) for r in results]  # type: ignore[arg-type]


def test_two_of_five_rejected_tightens() -> None:
    states = run(s.InspectionSwitching(), [A, R, A, A, R, A])
    assert states == ["normal"] * 4 + ["tightened"] * 2
    # a rejection that has left the window of 5 does not count
    assert run(s.InspectionSwitching(), [R, A, A, A, A, R, A]) == ["normal"] * 7


def test_five_accepted_on_tightened_return_to_normal() -> None:
    machine = s.InspectionSwitching(state="tightened")
    assert run(machine, [A, A, A, A, R, A, A, A, A, A]) == ["tightened"] * 9 + ["normal"]
    assert [(w.lot, w.before, w.after) for w in machine.switches] == [(10, "tightened", "normal")]


def test_five_not_accepted_on_tightened_discontinue_until_resumed() -> None:
    machine = s.InspectionSwitching(state="tightened")
    assert run(machine, [R, A, R, A, A, R, R, A, R])[-1] == "discontinued"
    with pytest.raises(InputError, match=r"discontinued"):
        machine.record(A)
    with pytest.raises(InputError, match=r"discontinued"):
        machine.plan(1000, 1.0)
    assert machine.resume() == "tightened"
    assert machine.plan(1000, 1.0).severity == "tightened"


def test_ten_accepted_lots_allow_reduced_only_when_steady_and_approved() -> None:
    assert run(s.InspectionSwitching(), [A] * 12)[-1] == "normal"  # nobody approved it
    machine = s.InspectionSwitching()
    states = run(machine, [A] * 10, reduced_approved=True)
    assert states == ["normal"] * 9 + ["reduced"]
    assert (
        run(s.InspectionSwitching(), [A] * 10, reduced_approved=True, production_steady=False)[-1]
        == "normal"
    )


def test_the_limit_number_counts_the_last_ten_samples() -> None:
    machine = s.InspectionSwitching(limit_number=4)
    for d in [1, 0, 1, 0, 1, 0, 1, 0, 1, 0]:  # 5 > 4 in the last ten
        machine.record(A, nonconforming=d, reduced_approved=True)
    assert machine.state == "normal"
    machine.record(A, nonconforming=0, reduced_approved=True)  # last ten: 4
    assert machine.state == "reduced"
    with pytest.raises(InputError, match=r"needs the nonconforming count"):
        s.InspectionSwitching(limit_number=4).record(A)


@pytest.mark.parametrize(
    ("result", "steady", "reason"),
    [(R, True, "rejected"), (REINSTATE, True, "between Ac and Re"), (A, False, "irregular")],
)
def test_reduced_returns_to_normal(result: object, steady: bool, reason: str) -> None:
    machine = s.InspectionSwitching(state="reduced")
    assert machine.record(A) == "reduced"
    assert machine.record(result, production_steady=steady) == "normal"  # type: ignore[arg-type]
    assert reason in machine.switches[-1].reason
    assert machine.plan(1000, 1.0).severity == "normal"


def test_a_switch_starts_the_counts_afresh() -> None:
    machine = s.InspectionSwitching()
    run(machine, [R, R])  # → tightened
    run(machine, [A] * 5)  # → normal
    assert machine.state == "normal"
    assert machine.record(R) == "normal"  # the earlier rejections are forgotten
    with pytest.raises(InputError, match=r"only reduced"):
        machine.reinstate_normal()
    reduced = s.InspectionSwitching(state="reduced")
    assert reduced.reinstate_normal("supplier moved the line") == "normal"
    assert reduced.switches[-1].reason == "supplier moved the line"
    with pytest.raises(InputError, match=r"unknown inspection state"):
        s.InspectionSwitching(state="relaxed")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"at least 10"):
        s.InspectionSwitching(lots_for_reduced=5)
