"""Signals over time as server-drawn SVG: one small panel per signal, a shared time axis.

Each signal has its own unit and range, so each gets its own panel and y axis
rather than sharing one. A gap in the data (the vehicle parked between trips)
breaks the line instead of being bridged. The template draws what
:func:`signal_panels` computes; it holds no numbers of its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from drivetrain.api.routers.health import SignalSeries
from drivetrain.catalog import load_signal_catalog

WIDTH, HEIGHT = 880.0, 150.0
LEFT, RIGHT, TOP, BOTTOM = 64.0, 16.0, 10.0, 26.0
GAP_FACTOR = 3  # a step longer than this many bins is a gap, not a line


@dataclass(frozen=True, slots=True)
class Panel:
    """One signal's chart: polylines and ticks in SVG user units."""

    signal: str
    unit: str
    description: str
    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float
    lines: tuple[str, ...]  # SVG polyline points, one per unbroken stretch
    dots: tuple[tuple[float, float], ...]  # single points with no neighbour to join
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    minimum: float
    maximum: float
    points: int
    label: str
    table: tuple[tuple[datetime, float], ...]


def nice_ticks(low: float, high: float, most: int = 5) -> list[float]:
    """Round tick values (1, 2 or 5 × 10ⁿ apart) covering ``low``..``high``."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / max(1, most)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _label(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.2g}"


def time_ticks(start: datetime, end: datetime, most: int = 8) -> list[datetime]:
    """Tick times on whole days, or whole hours for spans under two days."""
    span = (end - start).total_seconds()
    if span <= 0:
        return [start]
    hours = span / 3600
    if hours >= 48:
        step = timedelta(days=max(1, math.ceil(hours / 24 / most)))
        first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        step = timedelta(hours=next(h for h in (1, 2, 3, 6, 12, 24) if hours / h <= most))
        first = start.replace(minute=0, second=0, microsecond=0)
    ticks, t = [], first
    while t <= end:
        if t >= start:
            ticks.append(t)
        t += step
    return ticks


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def signal_panels(series: Sequence[SignalSeries], every_s: int) -> list[Panel]:
    """The panels of ``series`` (each point the mean of ``every_s`` seconds)."""
    stamps = [_utc(p.ts) for s in series for p in s.points]
    if not stamps:
        return []
    start, end = min(stamps), max(stamps)
    span = max((end - start).total_seconds(), 1.0)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    catalog = load_signal_catalog()

    def x_of(ts: datetime) -> float:
        return round(LEFT + (_utc(ts) - start).total_seconds() / span * plot_w, 1)

    x_ticks = []
    for t in time_ticks(start, end):
        fmt = "%b %d" if t.hour == 0 else "%H:%M"
        x_ticks.append((x_of(t), t.strftime(fmt)))
    panels = []
    for one in series:
        if not one.points:
            continue
        values = [p.value for p in one.points]
        ticks = nice_ticks(min(values), max(values))
        low, high = ticks[0], ticks[-1]

        def y_of(v: float, low: float = low, high: float = high) -> float:
            return round(TOP + (high - v) / (high - low) * plot_h, 1)

        stretches: list[list[tuple[float, float]]] = [[]]
        previous: datetime | None = None
        for p in one.points:
            ts = _utc(p.ts)
            if previous is not None and (ts - previous).total_seconds() > GAP_FACTOR * every_s:
                stretches.append([])
            stretches[-1].append((x_of(ts), y_of(p.value)))
            previous = ts
        known = catalog.get(one.signal)
        unit = (known.unit if known else None) or ""
        panels.append(
            Panel(
                signal=one.signal,
                unit=unit,
                description=known.description if known else "",
                width=WIDTH,
                height=HEIGHT,
                left=LEFT,
                right=WIDTH - RIGHT,
                top=TOP,
                bottom=HEIGHT - BOTTOM,
                lines=tuple(" ".join(f"{x},{y}" for x, y in s) for s in stretches if len(s) > 1),
                dots=tuple(s[0] for s in stretches if len(s) == 1),
                y_ticks=tuple((y_of(v), _label(v)) for v in ticks),
                x_ticks=tuple(x_ticks),
                minimum=one.min,
                maximum=one.max,
                points=len(one.points),
                label=f"{one.signal}{f' ({unit})' if unit else ''} from "
                f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC: {len(one.points)} points, "
                f"each the mean of {every_s} s; lowest value {one.min:g}, highest {one.max:g}",
                table=tuple((p.ts, p.value) for p in one.points),
            )
        )
    return panels
