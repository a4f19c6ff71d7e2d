"""Software versions and version ranges of ECUs (``>=1.2,<2``, ``==2.1.0``, ``!=1.3``).

A version is compared part by part on its dotted segments: numeric segments as
numbers, others as text (``2.10.0`` > ``2.9.1``; ``1.0-rc1`` sorts after ``1.0``
only through its text part). A range is a comma-separated list of comparisons
that must all hold; a ``*`` segment in an ``==``/``!=`` comparison matches any
suffix (``==1.*``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from drivetrain.ota.rollout_errors import CampaignInputError

_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*([A-Za-z0-9][A-Za-z0-9.+_*-]*)\s*$")
_SEGMENT = re.compile(r"\d+|[^\d.]+")


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key of ``version``: numeric segments by value, text segments after them."""
    key: list[tuple[int, int | str]] = []
    for part in _SEGMENT.findall(version):
        key.append((0, int(part)) if part.isdigit() else (1, part))
    return tuple(key)


@dataclass(frozen=True, slots=True)
class VersionRange:
    """A set of versions, written as comma-separated comparisons."""

    text: str
    clauses: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, text: str) -> VersionRange:
        clauses = []
        for raw in text.split(","):
            match = _CLAUSE.match(raw)
            if match is None:
                raise CampaignInputError(
                    f"{raw.strip()!r} in the version range {text!r} is not a comparison",
                    hint="write comparisons like '>=1.2,<2' or '==2.1.*' or '!=1.3.0'",
                )
            op, version = match.groups()
            if "*" in version and (op not in ("==", "!=") or not version.endswith(".*")):
                raise CampaignInputError(
                    f"{raw.strip()!r}: '*' is only allowed as the last segment of == or !=",
                    hint="e.g. '==2.*'",
                )
            clauses.append((op, version))
        return cls(text, tuple(clauses))

    def contains(self, version: str) -> bool:
        return all(_holds(op, version, bound) for op, bound in self.clauses)


def _holds(op: str, version: str, bound: str) -> bool:
    if bound.endswith(".*"):
        prefix = version_key(bound[:-2])
        matches = version_key(version)[: len(prefix)] == prefix
        return matches if op == "==" else not matches
    a, b = version_key(version), version_key(bound)
    return {
        ">=": a >= b,
        "<=": a <= b,
        ">": a > b,
        "<": a < b,
        "==": a == b,
        "!=": a != b,
    }[op]
