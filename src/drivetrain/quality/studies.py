"""Studies of the plant's characteristics: a control chart of one, the capability of all.

What ``drivetrain quality chart`` and ``capability`` compute, as functions of
:class:`~drivetrain.quality.data.PlantData` (what a quality engineer may read),
so that every face charts the same way:

* :func:`chart_study`: one characteristic's subgroups (the master's
  ``subgroup_size`` consecutive parts); limits from the measurements before
  ``phase1_until`` (Phase I, all of them without it), the later ones judged
  against those limits (Phase II); the points, the limits and the signals;
* :func:`capability_study`: Cp, Cpk, Pp, Ppk, Cpm (with intervals) of every
  characteristic with specification limits, on the measurements before ``until``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from drivetrain.errors import InputError, NotFound
from drivetrain.quality.capability import capability_table
from drivetrain.quality.charts import control_chart, signals_of
from drivetrain.quality.data import PlantData, measurement_subgroups

DEFAULT_RULES = "western_electric"


@dataclass(frozen=True, slots=True)
class ChartStudy:
    """A characteristic's control chart: its Phase I parameters, points and signals."""

    characteristic_id: str
    chart: str
    rules: tuple[str, ...]
    parameters: dict[str, Any]  # center, sigma, subgroups, used, removed… (one row)
    points: pl.DataFrame  # subgroup, statistic, value, center, lcl, ucl, signal, phase…
    signals: pl.DataFrame  # the points that broke a rule, with rules and reason

    def limits(self) -> pl.DataFrame:
        """Phase I centre line and limits of each plotted statistic."""
        return (
            self.points.filter(pl.col("phase") == "I")
            .group_by("statistic", maintain_order=True)
            .agg(pl.col("center", "lcl", "ucl").first())
        )


def _rule_ids(rules: str | Sequence[str]) -> str | list[str]:
    if isinstance(rules, str):
        return [r.strip() for r in rules.split(",")] if "," in rules else rules
    return list(rules)


def chart_study(
    data: PlantData,
    characteristic_id: str,
    *,
    chart: str | None = None,
    phase1_until: datetime | None = None,
    rules: str | Sequence[str] = DEFAULT_RULES,
) -> ChartStudy:
    """The control chart of ``characteristic_id`` (``chart``: the master's by default).

    ``rules`` is a rule set (``western_electric``, ``nelson``, ``limits``) or rule
    ids (``nelson1,nelson5``). NotFound for an unknown characteristic; InputError
    when no measurement precedes ``phase1_until``.
    """
    master = data.characteristics.filter(pl.col("characteristic_id") == characteristic_id)
    if master.is_empty():
        known = ", ".join(data.characteristics.get_column("characteristic_id").to_list())
        raise NotFound(f"no characteristic {characteristic_id!r}", hint=f"known: {known}")
    kind = chart or str(master["chart"][0])
    own = data.measurements.filter(pl.col("characteristic_id") == characteristic_id)
    grouped = measurement_subgroups(own, data.characteristics)
    history = grouped if phase1_until is None else grouped.filter(pl.col("ts") < phase1_until)
    if history.is_empty():
        raise InputError(
            f"no measurements of {characteristic_id} before {phase1_until}",
            hint="move the end of Phase I later",
        )
    result = control_chart(history, kind, by="characteristic_id", rules=_rule_ids(rules))
    points = result.points
    if phase1_until is not None:
        later = grouped.filter(pl.col("ts") >= phase1_until)
        if later.height:
            watched = result.monitor(later.select("characteristic_id", "subgroup", "value"))
            points = pl.concat([points, watched.points])
    return ChartStudy(
        characteristic_id,
        kind,
        tuple(result.options.rules),
        result.parameters.row(0, named=True),
        points,
        signals_of(points),
    )


def capability_study(data: PlantData, until: datetime | None = None) -> pl.DataFrame:
    """Capability of every characteristic on its measurements before ``until`` (all)."""
    measured = data.measurements
    if until is not None:
        measured = measured.filter(pl.col("ts") < until)
    grouped = measurement_subgroups(measured, data.characteristics)
    limits = data.characteristics.select(
        pl.col("characteristic_id").alias("characteristic"),
        "lsl",
        "usl",
        pl.col("nominal").alias("target"),
    )
    frame = grouped.select(
        pl.col("characteristic_id").alias("characteristic"), "subgroup", "value"
    ).join(limits, on="characteristic", how="left")
    return capability_table(frame)
