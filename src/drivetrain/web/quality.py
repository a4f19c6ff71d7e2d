"""The quality page: a characteristic's control chart, capability, the Pareto, supplier PPM.

Every number is the API's: ``/api/v1/quality/characteristics``, ``…/{id}/chart``,
``/capability``, ``/pareto`` and ``/suppliers`` called as functions with the
page's caller, so the page shows what the API answers to the same principal,
and anyone the policy does not let read the plant's tables for
``manufacturing_quality`` gets the "Not allowed" page. A lake without the
plant's tables gives a page that says how to import them; one without
inspections or supplier lots leaves those sections saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, TypeVar, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from drivetrain.api.routers import quality as quality_api
from drivetrain.api.routers.quality import (
    Characteristic,
    ChartKind,
    ControlChart,
    ParetoBar,
    QualityReader,
)
from drivetrain.errors import InputError, NotFound
from drivetrain.quality.studies import DEFAULT_RULES
from drivetrain.web.pages import render
from drivetrain.web.plots import (
    Bar,
    BarChart,
    LineChart,
    Mark,
    Marker,
    Reference,
    Series,
    X,
    bar_chart,
    line_chart,
    number,
)

router = APIRouter(include_in_schema=False)
API = "/api/v1/quality"
RULE_SETS = ("western_electric", "nelson", "limits")
PARETO_BY = ("defect_code", "station_id", "shift", "lot_id")
ParetoBy = Literal["defect_code", "station_id", "shift", "lot_id"]
CHART_KINDS: tuple[str, ...] = get_args(ChartKind)
#: Bars drawn at most; the rest of a long Pareto is one "others" bar (the table has them all).
MAX_BARS = 15
#: Capability below this is marked: the usual automotive requirement (e.g. IATF 16949 PPAP).
CAPABLE = 1.33
STATISTIC_NAMES = {
    "xbar": "subgroup mean x̄",
    "r": "range R",
    "s": "standard deviation s",
    "x": "individual x",
    "mr": "moving range",
    "p": "proportion defective p",
    "np": "number defective np",
    "c": "defects c",
    "u": "defects per unit u",
    "ewma": "EWMA",
    "cusum": "CUSUM",
}
Text = Annotated[str | None, Query(max_length=64)]
T = TypeVar("T")


def _one_of(name: str, value: str | None, choices: Sequence[str]) -> str | None:
    """``value`` if it is one of ``choices``; empty means the default."""
    if not value:
        return None
    if value not in choices:
        raise InputError(f"{value!r} is not a {name}", hint=f"pick one of: {', '.join(choices)}")
    return value


def _moment(value: str | None) -> datetime | None:
    """The start of a UTC day from a date field; empty means none."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"phase1_until {value!r} is not a day", hint="give it as YYYY-MM-DD, e.g. 2024-02-01"
        ) from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _section(compute: Callable[[], T]) -> tuple[T | None, InputError | None]:
    """A section's answer, or why the data cannot give one (no inspections, no lots)."""
    try:
        return compute(), None
    except InputError as missing:  # the page checked its input: this is about the data
        return None, missing


@router.get("/quality")
def quality_page(
    request: Request,
    caller: QualityReader,
    characteristic: Text = None,
    chart: Text = None,
    rules: Text = None,
    phase1_until: Annotated[str | None, Query(max_length=10)] = None,
    by: Text = None,
) -> Response:
    """A characteristic's control chart and signals, capability of all, Pareto, suppliers."""
    kind = next((k for k in get_args(ChartKind) if k == chart), None)
    if chart and kind is None:
        raise InputError(
            f"{chart!r} is not a control chart", hint=f"one of {', '.join(CHART_KINDS)}"
        )
    rule_set = _one_of("rule set", rules, RULE_SETS) or DEFAULT_RULES
    until = _moment(phase1_until)
    pareto_by = next((b for b in get_args(ParetoBy) if b == (by or "defect_code")), None)
    if pareto_by is None:
        raise InputError(f"{by!r} is not a Pareto grouping", hint=f"one of {', '.join(PARETO_BY)}")
    form = {
        "chart_kind": kind or "",
        "rules": rule_set,
        "phase1_until": phase1_until or "",
        "by": pareto_by,
        "chart_kinds": CHART_KINDS,
        "rule_sets": RULE_SETS,
        "pareto_by": PARETO_BY,
        "api": API,
        "number": number,
        "capable": CAPABLE,
    }
    try:
        masters = quality_api.characteristics(request, caller)
    except NotFound as missing:  # no plant tables in the lake yet
        return render(request, "quality.html", {"missing": missing, **form})
    known = [c.characteristic_id for c in masters]
    chosen = _one_of("characteristic", characteristic, known) or (known[0] if known else None)
    context: dict[str, Any] = {
        "missing": None,
        "characteristics": masters,
        "characteristic": next((c for c in masters if c.characteristic_id == chosen), None),
        "control": None,
        "panels": [],
        **form,
    }
    if chosen is not None:
        control = quality_api.chart(
            chosen, request, caller, kind=kind, phase1_until=until, rules=rule_set
        )
        context["control"] = control
        context["panels"] = control_panels(control, context["characteristic"])
    context["capability"] = quality_api.capability(request, caller, until=until)
    pareto, context["pareto_problem"] = _section(
        lambda: quality_api.pareto_chart(request, caller, by=pareto_by, since=None, until=None)
    )
    context["pareto"] = pareto
    context["pareto_chart"] = pareto_plot(pareto.bars, pareto_by) if pareto else None
    context["suppliers"], context["suppliers_problem"] = _section(
        lambda: quality_api.suppliers(request, caller)
    )
    return render(request, "quality.html", context)


def control_panels(found: ControlChart, master: Characteristic | None) -> list[LineChart]:
    """One panel per plotted statistic: the points, centre line and limits, the signals marked."""
    unit = f" ({master.unit})" if master and master.unit else ""
    panels = []
    signals = {(s.statistic, s.subgroup): s for s in found.signals}
    for statistic in dict.fromkeys(p.statistic for p in found.points):
        points = [p for p in found.points if p.statistic == statistic]
        values = [(p.subgroup, p.value) for p in points]
        series = [Series(STATISTIC_NAMES.get(statistic, statistic), values, style="c1")]
        references: list[Reference] = []
        for name, field in (("UCL", "ucl"), ("CL", "center"), ("LCL", "lcl")):
            limits: list[tuple[X, float | None]] = [(p.subgroup, getattr(p, field)) for p in points]
            distinct = {v for _, v in limits if v is not None}
            if len(distinct) == 1:
                value = distinct.pop()
                references.append(Reference(value, f"{name} {number(value, 4)}", field))
            elif distinct:  # limits that change with the subgroup size or the EWMA's start
                series.append(Series(name, limits, style=field, step=True))
        marks = [
            Mark(
                p.subgroup,
                p.value,
                f"subgroup {p.subgroup}: {number(p.value, 4)} — {', '.join(s.rules)}: {s.reason}",
            )
            for p in points
            if p.value is not None and (s := signals.get((statistic, p.subgroup))) is not None
        ]
        phase_two = next((p.subgroup for p in points if p.phase == "II"), None)
        markers = [Marker(phase_two, "Phase II from here")] if phase_two is not None else []
        panels.append(
            line_chart(
                series,
                title=f"{found.characteristic_id}: {STATISTIC_NAMES.get(statistic, statistic)}"
                f" ({found.chart} chart)",
                references=references,
                markers=markers,
                marks=marks,
                x_title="subgroup",
                y_title=statistic + (unit if statistic not in ("p", "np", "c", "u") else ""),
            )
        )
    return panels


def pareto_plot(bars: Sequence[ParetoBar], by: str) -> BarChart:
    """The Pareto's bars (the vital few darker) and cumulative share; a long tail as "others"."""
    shown = list(bars[:MAX_BARS])
    drawn = [
        Bar(
            b.category or "(none)",
            b.defects if b.defects is not None else b.count,
            style="vital" if b.vital else "bar",
            legend="vital few (80 %)" if b.vital else "the others",
        )
        for b in shown
    ]
    cumulative = [(b.cumulative_share or 0.0) * 100 for b in shown]
    rest = bars[MAX_BARS:]
    if rest:
        drawn.append(
            Bar(
                f"{len(rest)} others",
                sum(b.defects if b.defects is not None else b.count for b in rest),
                legend="the others",
            )
        )
        cumulative.append(100.0)
    return bar_chart(
        drawn,
        title=f"Defects of the failed inspections by {by.replace('_', ' ')}",
        cumulative=cumulative,
        reference=Reference(80.0, "80 %", "limit"),
        y_title="defects",
    )
