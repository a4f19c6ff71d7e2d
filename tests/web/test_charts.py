"""Signal charts: round ticks, the points where their values are, lines broken at gaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from drivetrain.api.routers.health import Point, SignalSeries
from drivetrain.web.charts import nice_ticks, signal_panels, time_ticks

T0 = datetime(2026, 4, 13, 6, tzinfo=UTC)


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (0, 100, [0, 20, 40, 60, 80, 100]),
        (0.3, 0.9, [0.2, 0.4, 0.6, 0.8, 1.0]),
        (-1.6, 0.4, [-2.0, -1.5, -1.0, -0.5, 0.0, 0.5]),
        (12.0, 12.0, [10.5, 11.0, 11.5, 12.0, 12.5, 13.0, 13.5]),
    ],
)
def test_nice_ticks(low: float, high: float, expected: list[float]) -> None:
    ticks = nice_ticks(low, high)
    assert ticks == pytest.approx(expected)
    assert ticks[0] <= low and ticks[-1] >= high


def test_time_ticks_fall_on_days_or_hours() -> None:
    days = time_ticks(T0, T0 + timedelta(days=3))
    assert [t.hour for t in days] == [0, 0, 0] and days[0] > T0
    hours = time_ticks(T0, T0 + timedelta(hours=5))
    assert all(t.minute == 0 for t in hours) and len(hours) == 6


def _series(values: list[tuple[int, float]]) -> SignalSeries:
    points = [Point(ts=T0 + timedelta(minutes=m), value=v) for m, v in values]
    return SignalSeries(
        signal="Vehicle.Speed",
        points=points,
        min=min(v for _, v in values),
        max=max(v for _, v in values),
    )


def test_points_are_drawn_where_their_values_are() -> None:
    series = _series([(0, 0.0), (1, 50.0), (2, 100.0), (3, 25.0)])
    (panel,) = signal_panels([series], every_s=60)
    assert panel.unit == "km/h" and panel.points == 4
    (line,) = panel.lines
    xy = [tuple(map(float, p.split(","))) for p in line.split()]
    assert [x for x, _ in xy] == sorted(x for x, _ in xy)
    assert xy[0][0] == panel.left and xy[-1][0] == pytest.approx(panel.right, abs=0.1)
    ticks = {label: y for y, label in panel.y_ticks}
    assert xy[0][1] == ticks["0"] and xy[2][1] == ticks["100"]  # 0 and 100 on their ticks
    assert xy[1][1] == pytest.approx((ticks["0"] + ticks["100"]) / 2, abs=0.1)
    assert "lowest value 0, highest 100" in panel.label


def test_a_gap_breaks_the_line_and_a_lone_point_is_a_dot() -> None:
    series = _series([(0, 1.0), (1, 2.0), (2, 3.0), (60, 4.0), (200, 5.0), (201, 6.0)])
    (panel,) = signal_panels([series], every_s=60)
    assert len(panel.lines) == 2 and len(panel.dots) == 1
    drawn = sum(len(line.split()) for line in panel.lines) + len(panel.dots)
    assert drawn == 6


def test_no_points_no_panels() -> None:
    empty = SignalSeries(signal="Vehicle.Speed", points=[], min=0, max=0)
    assert signal_panels([empty], every_s=60) == []
