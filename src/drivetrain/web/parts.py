"""The parts page: the stocking plan of every part and location, and one part's demand.

The plan is the API's ``/api/v1/parts/plan`` called as a function with the
page's caller (scope ``parts:read``; the parts tables are read for the purpose
``parts_planning``, so anyone but parts planners and fleet analysts gets the
"Not allowed" page), a page at a time and filtered by part and location as the
API filters. Picking a part (a row's link, or the filters) charts its monthly
demand: the history the forecast was made from (the API's parts data,
superseded numbers merged into their successor) and the months ahead from
``/api/v1/parts/forecast``; a part without a location is the sum over its
locations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

import polars as pl
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from drivetrain.api.auth import Caller, services_of
from drivetrain.api.context import PageParams, access_context
from drivetrain.api.routers import parts as parts_api
from drivetrain.api.routers.parts import PartsPlan, PartsReader
from drivetrain.errors import InputError
from drivetrain.parts.data import PURPOSE, demand_series
from drivetrain.web.pages import render
from drivetrain.web.plots import LineChart, Marker, Series, X, line_chart

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
EVERY = 10_000_000  # a page holding the whole plan: the filters' choices come from it
HORIZON = 12  # months of forecast charted
SERVICE_LEVELS = (0.8, 0.9, 0.95, 0.98, 0.99)


@dataclass(frozen=True, slots=True)
class DemandMonth:
    """One month of the chart's data table: units issued, or units forecast."""

    month: date
    issued: float | None
    forecast: float | None


@dataclass(frozen=True, slots=True)
class DemandChart:
    """A part's monthly demand and forecast: the plot and the months in a table."""

    title: str
    plot: LineChart
    months: tuple[DemandMonth, ...]


@router.get("/parts")
def parts_page(
    request: Request,
    caller: PartsReader,
    part_number: Annotated[str | None, Query(max_length=64, description="Only this part.")] = None,
    location_id: Annotated[
        str | None, Query(max_length=64, description="Only this location.")
    ] = None,
    service_level: Annotated[float, Query(ge=0.5, le=0.999, description="The target.")] = 0.95,
    fill_rate: Annotated[bool, Query(description="Target the fill rate.")] = False,
    fleet: Annotated[bool, Query(description="Add the change the fleet foresees.")] = False,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    """The stocking plan, a page at a time, and the chosen part's demand and forecast."""
    # an empty select means "any": the form sends it as part_number=
    part, location = part_number or None, location_id or None

    def plan(page: PageParams, part: str | None = None, location: str | None = None) -> PartsPlan:
        return parts_api.plan(
            request,
            caller,
            page,
            service_level=service_level,
            fill_rate=fill_rate,
            fleet=fleet,
            part_number=part,
            location_id=location,
        )

    whole = plan(PageParams(limit=EVERY, offset=0))
    parts = sorted({r.part_number for r in whole.items})
    locations = sorted({r.location_id for r in whole.items})
    _check_known("part", part, parts)
    _check_known("location", location, locations)
    page = plan(PageParams(limit=PAGE_SIZE, offset=offset), part, location)
    chart = None
    if part is not None:
        chart = _demand_chart(request, caller, part, location, fleet)
    filters = {
        "part_number": part,
        "location_id": location,
        "service_level": service_level,
        "fill_rate": fill_rate,
        "fleet": fleet,
    }
    return render(
        request,
        "parts.html",
        {
            "plan": page,
            "filters": filters,
            "parts": parts,
            "locations": locations,
            "service_levels": sorted({*SERVICE_LEVELS, service_level}),
            "chart": chart,
            "query": _query,
            "pct": _pct,
        },
    )


def _check_known(what: str, value: str | None, known: list[str]) -> None:
    """Refuse a part or location the plan does not have (a typo in the address)."""
    if value is not None and value not in known:
        shown = ", ".join(known[:5]) + (" …" if len(known) > 5 else "")
        raise InputError(
            f"{value!r} is not a {what} of the plan",
            hint=f"pick one of the {what}s the filter offers (e.g. {shown})",
        )


def _query(filters: dict[str, object], **changes: object) -> str:
    """The query string of the page with ``filters`` and ``changes``; defaults left out."""
    wanted = {**filters, **changes}
    pairs: list[tuple[str, str]] = []
    for name, value in wanted.items():
        if value is None or value is False or (name == "offset" and value == 0):
            continue
        if name == "service_level" and value == 0.95:
            continue
        pairs.append((name, "true" if value is True else str(value)))
    return urlencode(pairs)


def _pct(value: float | None) -> str:
    """A share as a percentage, to one decimal ('—' when unknown)."""
    return "—" if value is None else f"{value * 100:.1f} %"


def _history(request: Request, caller: Caller) -> pl.DataFrame:
    """The demand per series and month the forecasts are made from (``unique_id, ds, y``)."""
    context = access_context(request, caller, PURPOSE)
    data = parts_api.parts_data(request, context)
    return services_of(request).cached(
        ("parts-history", context.principal), lambda: demand_series(data).series
    )


def _demand_chart(
    request: Request, caller: Caller, part: str, location: str | None, fleet: bool
) -> DemandChart | None:
    """The demand chart of ``part`` at ``location`` (every location when ``None``)."""
    ahead = parts_api.forecast(
        request,
        caller,
        PageParams(limit=EVERY, offset=0),
        horizon=HORIZON,
        fleet=fleet,
        part_number=part,
        location_id=location,
    )
    wanted = [f"{part}@{location}"] if location else None
    series = _history(request, caller)
    ids = pl.col("unique_id")
    mine = series.filter(ids.is_in(wanted) if wanted else ids.str.starts_with(f"{part}@"))
    issued = {
        d: float(y) for d, y in mine.group_by("ds").agg(pl.col("y").sum()).sort("ds").iter_rows()
    }
    expected: dict[date, float] = {}
    for row in ahead.items:
        expected[row.ds] = expected.get(row.ds, 0.0) + (row.forecast or 0.0)
    if not issued and not expected:
        return None
    where = f"at {location}" if location else "over every location"
    models = tuple(sorted({row.model for row in ahead.items}))
    return demand_chart(f"{part} {where}", issued, expected, models)


def _months(first: date, last: date) -> list[date]:
    months, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        months.append(date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


def _month(day: date) -> str:
    return day.strftime("%Y-%m")


def demand_chart(
    title: str, issued: dict[date, float], expected: dict[date, float], models: tuple[str, ...] = ()
) -> DemandChart:
    """The chart of units issued per month (``issued``) and forecast ahead (``expected``).

    A month between the first and last issued that the history does not list is a
    month without demand. The forecast line starts at the last month issued, so the
    two lines join.
    """
    known = sorted({*issued, *expected})
    months = _months(known[0], known[-1])
    end = max(issued) if issued else None
    past = [m for m in months if end is not None and m <= end]
    future = [m for m in months if m in expected and (end is None or m > end)]
    # months as categories: a tick and a band per month, labelled as planners write them
    history: list[tuple[X, float | None]] = [(_month(m), issued.get(m, 0.0)) for m in past]
    ahead = [*history[-1:], *((_month(m), expected[m]) for m in future)]
    by = f" ({', '.join(models)})" if models else ""
    plot = line_chart(
        [
            Series("Issued", history, style="c1", legend="issued"),
            Series("Forecast", ahead, style="c2", legend=f"forecast{by}"),
        ],
        title=f"Units per month of {title}",
        markers=[Marker(_month(future[0]), "forecast")] if future and past else [],
        x_title="Month",
        y_title="Units",
        y_include=(0.0,),
    )
    rows = tuple(
        DemandMonth(m, issued.get(m, 0.0) if m in past else None, expected.get(m)) for m in months
    )
    return DemandChart(title, plot, rows)
