"""Run rules against a plain point-by-point reading of Nelson (1984) and Western Electric (1956).

The reference below is written from the rules' wording, one point at a time,
independently of the vectorised windows in ``drivetrain.quality.rules``.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from drivetrain.errors import InputError
from drivetrain.quality.rules import RULES, resolve_rules, rule_names, violations


def reference(z: list[float], beyond: list[bool]) -> list[set[str]]:
    """Which rules each point completes, read literally from the rules' text."""
    out: list[set[str]] = []
    for j in range(len(z)):
        fired: set[str] = set()

        def last(m: int, j: int = j) -> list[float] | None:
            return z[j - m + 1 : j + 1] if j + 1 >= m else None

        if beyond[j]:
            fired.add("nelson1")
        for m, name in ((9, "nelson2"), (8, "we4")):
            w = last(m)
            if w and (all(v > 0 for v in w) or all(v < 0 for v in w)):
                fired.add(name)
        w = last(6)
        if w and (all(b > a for a, b in pairwise(w)) or all(b < a for a, b in pairwise(w))):
            fired.add("nelson3")
        w = last(14)
        if w:
            d = [b - a for a, b in pairwise(w)]
            if all(x * y < 0 for x, y in pairwise(d)):
                fired.add("nelson4")
        for some, of, level, name in ((2, 3, 2, "nelson5"), (4, 5, 1, "nelson6")):
            w = last(of)
            if w:
                for sign in (1, -1):
                    if sign * z[j] > level and sum(sign * v > level for v in w) >= some:
                        fired.add(name)
        w = last(15)
        if w and all(abs(v) < 1 for v in w):
            fired.add("nelson7")
        w = last(8)
        if w and all(abs(v) > 1 for v in w) and any(v > 1 for v in w) and any(v < -1 for v in w):
            fired.add("nelson8")
        out.append(fired)
    return out


ALL = tuple(RULES)


def mask_of(z: np.ndarray, beyond: np.ndarray, **history) -> list[set[str]]:
    mask = violations(z[None, :], beyond[None, :], ALL, **history)[0]
    return [set(rule_names(int(m))) for m in mask]


def test_random_sequences_agree_with_the_literal_reading() -> None:
    rng = np.random.default_rng(2024)
    seen: set[str] = set()
    for trial in range(200):
        n = int(rng.integers(1, 80))
        # mixtures of noise, drifts and sawtooth so that every rule gets exercised
        z = rng.normal(0, rng.choice([0.4, 1.0, 1.6]), n) + rng.choice([0.0, 0.8, -0.8])
        if trial % 5 == 0:
            z += np.linspace(0, rng.normal(0, 4), n)
        if trial % 7 == 0:
            z = np.where(np.arange(n) % 2 == 0, 1.3, -1.4) + rng.normal(0, 0.05, n)
        beyond = np.abs(z) > 3
        expected = reference(z.tolist(), beyond.tolist())
        assert mask_of(z, beyond) == expected, trial
        seen.update(*expected)
    assert seen == set(ALL)  # the sequences exercised every rule


def test_each_rule_fires_at_the_point_that_completes_its_pattern() -> None:
    cases = {
        "nelson2": [0.5] * 9,
        "we4": [-0.5] * 8,
        "nelson3": [-1.0, -0.6, -0.2, 0.2, 0.6, 1.0],
        "nelson4": [0.3 if i % 2 else -0.3 for i in range(14)],
        "nelson5": [2.5, 0.0, 2.2],
        "nelson6": [1.5, 1.2, 0.0, 1.1, 1.9],
        "nelson7": [0.5 if i % 3 else -0.4 for i in range(15)],
        "nelson8": [1.5, -1.5, 1.2, -1.2, 1.4, -1.6, 1.1, -1.3],
    }
    for rule, pattern in cases.items():
        z = np.array(pattern)
        flags = mask_of(z, np.zeros(len(z), dtype=bool))
        assert rule in flags[-1], rule
        assert all(rule not in f for f in flags[:-1]), rule  # not one point earlier


def test_history_lets_a_pattern_span_two_calls() -> None:
    z = np.array([0.4] * 5)
    history = np.full((1, 15), np.nan)
    history[0, -4:] = 0.6  # four earlier points above the centre line
    flags = mask_of(z, np.zeros(5, dtype=bool), history=history)
    assert "nelson2" in flags[4] and "nelson2" not in flags[3]
    assert "we4" in flags[3]


def test_padding_and_many_rows_are_handled_alike() -> None:
    rng = np.random.default_rng(1)
    rows = [rng.normal(0.5, 1, int(rng.integers(5, 40))) for _ in range(50)]
    width = max(len(r) for r in rows)
    z = np.full((50, width), np.nan)
    for i, r in enumerate(rows):
        z[i, : len(r)] = r
    beyond = np.nan_to_num(np.abs(z)) > 3
    mask = violations(z, beyond, ALL)
    for i, r in enumerate(rows):
        got = [set(rule_names(int(m))) for m in mask[i, : len(r)]]
        assert got == reference(r.tolist(), (np.abs(r) > 3).tolist())
        assert not mask[i, len(r) :].any()


def test_rule_sets_resolve_by_name() -> None:
    assert resolve_rules("western_electric") == ("nelson1", "nelson5", "nelson6", "we4")
    assert resolve_rules("Western-Electric") == resolve_rules("western_electric")
    assert resolve_rules(["we2", "nelson5", "nelson3"]) == ("nelson5", "nelson3")
    assert len(resolve_rules("nelson")) == 8
    with pytest.raises(InputError, match="unknown run rule"):
        resolve_rules("shewhart")
