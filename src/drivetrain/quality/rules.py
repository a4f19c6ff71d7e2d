"""Run rules for Shewhart charts: Western Electric (1956) and Nelson (1984).

A rule reads a chart's points as ``z``: each point's distance from the centre
line in units of the plotted statistic's own standard error, so one set of
rules serves X̄, individuals, p, np, c and u charts and subgroups of unequal
size. Points beyond the control limits (rule 1 of both sets) are found from
the limits themselves, because attribute charts clip the lower limit at zero.

A rule fires at the point that completes its pattern, and the zone rules ("2 of
3 beyond 2σ on one side") only at a point that is itself one of the pattern's
points. Points exactly on the centre line belong to neither side.

========  ===================================================================
rule      pattern (Nelson, *J. Quality Technology* 16(4), 1984; Western
          Electric *Statistical Quality Control Handbook*, 1956)
========  ===================================================================
nelson1   one point beyond the control limits                        (= we1)
nelson2   nine points in a row on one side of the centre line
nelson3   six points in a row steadily increasing or decreasing
nelson4   fourteen points in a row alternating up and down
nelson5   two of three points in a row beyond 2σ on one side         (= we2)
nelson6   four of five points in a row beyond 1σ on one side         (= we3)
nelson7   fifteen points in a row within 1σ of the centre line
nelson8   eight points in a row beyond 1σ, on both sides
we4       eight points in a row on one side of the centre line
========  ===================================================================

All rules run at once over a matrix of many characteristics (rows) by
subgroups (columns, padded with NaN at the end of shorter rows); ``history``
carries the last points of an earlier call so that a stream evaluated piece
by piece flags exactly what one batch call would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from drivetrain.errors import InputError

Matrix = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Rule:
    """One run rule: its id, bit in the violation mask and what it detects."""

    id: str
    bit: int
    description: str


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("nelson1", 0, "one point beyond the control limits"),
        Rule("nelson2", 1, "nine points in a row on one side of the centre line"),
        Rule("nelson3", 2, "six points in a row steadily increasing or decreasing"),
        Rule("nelson4", 3, "fourteen points in a row alternating up and down"),
        Rule("nelson5", 4, "two of three points in a row beyond 2 sigma on one side"),
        Rule("nelson6", 5, "four of five points in a row beyond 1 sigma on one side"),
        Rule("nelson7", 6, "fifteen points in a row within 1 sigma of the centre line"),
        Rule("nelson8", 7, "eight points in a row beyond 1 sigma, on both sides"),
        Rule("we4", 8, "eight points in a row on one side of the centre line"),
    )
}
# Western Electric rules 1-3 are Nelson's 1, 5 and 6; an alias keeps their names.
ALIASES = {"we1": "nelson1", "we2": "nelson5", "we3": "nelson6"}
RULE_SETS: dict[str, tuple[str, ...]] = {
    "limits": ("nelson1",),
    "western_electric": ("nelson1", "nelson5", "nelson6", "we4"),
    "nelson": tuple(f"nelson{i}" for i in range(1, 9)),
}
HISTORY = 15  # the longest pattern: what a stream must remember between calls


def resolve_rules(rules: str | Sequence[str]) -> tuple[str, ...]:
    """Rule ids from a set name (``nelson``, ``western_electric``, ``limits``) or a list."""
    names = [rules] if isinstance(rules, str) else list(rules)
    resolved: list[str] = []
    for name in names:
        key = name.strip().lower().replace("-", "_").replace(" ", "_")
        ids = RULE_SETS.get(key) or (ALIASES.get(key, key),)
        for rule_id in ids:
            if rule_id not in RULES:
                raise InputError(
                    f"unknown run rule {name!r}",
                    hint=f"use a set ({', '.join(RULE_SETS)}) or rules {', '.join(RULES)}, "
                    f"{', '.join(ALIASES)}",
                )
            if rule_id not in resolved:
                resolved.append(rule_id)
    return tuple(resolved)


def rule_names(mask: int) -> list[str]:
    """The ids of the rules set in a violation mask."""
    return [rule.id for rule in RULES.values() if mask >> rule.bit & 1]


def _run(flags: Mask, length: int) -> Mask:
    """True where the last ``length`` flags (along each row) are all true."""
    full: Mask = _window(flags, length) == length
    return full


def _window(flags: Mask, length: int) -> npt.NDArray[np.int64]:
    """Number of true flags among the last ``length`` (fewer at a row's start count as short)."""
    rows, cols = flags.shape
    cumulative = np.zeros((rows, cols + 1), dtype=np.int64)
    np.cumsum(flags, axis=1, out=cumulative[:, 1:])
    counts = np.zeros((rows, cols), dtype=np.int64)
    if cols >= length:
        counts[:, length - 1 :] = cumulative[:, length:] - cumulative[:, : cols + 1 - length]
    return counts


def _some_of(flags: Mask, some: int, of: int) -> Mask:
    found: Mask = (_window(flags, of) >= some) & flags
    return found


def violations(
    z: Matrix,
    beyond: Mask,
    rules: Sequence[str],
    history: Matrix | None = None,
    history_beyond: Mask | None = None,
) -> npt.NDArray[np.uint16]:
    """A bit mask of the rules each point violates (``RULES[id].bit``), shape of ``z``.

    ``z`` is characteristics × subgroups in standard errors from the centre
    line, NaN where a row has no point; ``beyond`` marks points outside the
    limits. ``history`` (characteristics × up to ``HISTORY`` earlier points,
    NaN-padded at the start) lets a later call see patterns begun earlier.
    """
    if z.shape != beyond.shape:
        raise ValueError("z and beyond must have the same shape")
    past = 0
    if history is not None and history.shape[1]:
        past = history.shape[1]
        earlier = np.zeros(history.shape, dtype=bool) if history_beyond is None else history_beyond
        z = np.concatenate([history, z], axis=1)
        beyond = np.concatenate([earlier, beyond], axis=1)
    with np.errstate(invalid="ignore"):
        above, below = z > 0, z < 0
        step = np.diff(z, axis=1, prepend=np.nan)
        up, down = step > 0, step < 0
        turn = np.zeros_like(up)
        turn[:, 1:] = (up[:, 1:] & down[:, :-1]) | (down[:, 1:] & up[:, :-1])
        outer1 = np.abs(z) > 1
        checks: dict[str, Callable[[], Mask]] = {
            "nelson1": lambda: beyond,
            "nelson2": lambda: _run(above, 9) | _run(below, 9),
            "nelson3": lambda: _run(up, 5) | _run(down, 5),
            "nelson4": lambda: _run(turn, 12),
            "nelson5": lambda: _some_of(z > 2, 2, 3) | _some_of(z < -2, 2, 3),
            "nelson6": lambda: _some_of(z > 1, 4, 5) | _some_of(z < -1, 4, 5),
            "nelson7": lambda: _run(np.abs(z) < 1, 15),
            "nelson8": lambda: _run(outer1, 8) & (_window(z > 1, 8) > 0) & (_window(z < -1, 8) > 0),
            "we4": lambda: _run(above, 8) | _run(below, 8),
        }
        mask = np.zeros(z.shape, dtype=np.uint16)
        for rule_id in rules:
            rule = RULES[rule_id]
            mask |= checks[rule_id]().astype(np.uint16) << np.uint16(rule.bit)
    mask[np.isnan(z)] = 0
    return mask[:, past:]
