"""Frequent destinations learned from a driver's trips: where, on which days, leaving when.

A trip is a destination event: the place's name, its position and the
departure time. The trips of the last :data:`HISTORY` to one place (by name,
case-insensitive) are split into weekday (Monday–Friday) and weekend trips, and
each of those into clusters of departure times of day (local, in the driver's
time zone) with no gap wider than :data:`CLUSTER_GAP_MIN` minutes. A cluster
of at least :data:`MIN_TRIPS` trips is a habit: its departure is the median
time of day, its spread the median absolute deviation in minutes, its days the
weekdays it was seen on, and its position the median of the trips' positions.
Departures around midnight are split at the day boundary.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

HISTORY = timedelta(days=90)
CLUSTER_GAP_MIN = 60
MIN_TRIPS = 3
_DAY_NAMES = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")

#: (event id, place name, latitude, longitude, departure time)
Trip = tuple[int, str, float, float, datetime]


@dataclass(frozen=True, slots=True)
class DestinationHabit:
    """A place the driver leaves for on certain days at about the same time."""

    name: str
    latitude: float
    longitude: float
    weekdays: tuple[int, ...]  # ISO: 1 Monday … 7 Sunday
    departure: time  # local time of day, in ``tz``
    spread_min: float  # median absolute deviation of the departure times
    trips: int
    first: datetime
    last: datetime
    event_ids: tuple[int, ...]
    tz: str

    @property
    def days(self) -> str:
        """The days in words: "Weekdays", "Weekends", "Every day", "Mondays and Thursdays"."""
        return days_words(self.weekdays)

    @property
    def key(self) -> str:
        return f"{self.name.casefold()}/{''.join(map(str, self.weekdays))}/{self.departure:%H:%M}"


def days_words(weekdays: Iterable[int]) -> str:
    """ISO weekdays as a person says them."""
    days = sorted(set(weekdays))
    if days == [1, 2, 3, 4, 5]:
        return "Weekdays"
    if days == [6, 7]:
        return "Weekends"
    if days == list(range(1, 8)):
        return "Every day"
    names = [_DAY_NAMES[d - 1] for d in days]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _minute(moment: datetime) -> float:
    return moment.hour * 60 + moment.minute + moment.second / 60


def _clusters(trips: list[tuple[Trip, datetime]]) -> list[list[tuple[Trip, datetime]]]:
    ordered = sorted(trips, key=lambda t: _minute(t[1]))
    groups: list[list[tuple[Trip, datetime]]] = []
    for trip in ordered:
        if groups and _minute(trip[1]) - _minute(groups[-1][-1][1]) <= CLUSTER_GAP_MIN:
            groups[-1].append(trip)
        else:
            groups.append([trip])
    return groups


def frequent_destinations(
    trips: Iterable[Trip],
    at: datetime,
    tz: tzinfo,
    *,
    min_trips: int = MIN_TRIPS,
    history: timedelta = HISTORY,
) -> list[DestinationHabit]:
    """The habits in ``trips`` as of ``at``, most-travelled first."""
    by_place: dict[tuple[str, bool], list[tuple[Trip, datetime]]] = {}
    for trip in trips:
        when = trip[4]
        if not at - history <= when <= at:
            continue
        local = when.astimezone(tz)
        weekend = local.isoweekday() >= 6
        by_place.setdefault((trip[1].casefold(), weekend), []).append((trip, local))
    habits = []
    for group in by_place.values():
        for cluster in _clusters(group):
            if len(cluster) < min_trips:
                continue
            minutes = [_minute(local) for _, local in cluster]
            centre = float(statistics.median(minutes))
            spread = float(statistics.median(abs(m - centre) for m in minutes))
            rounded = round(centre) % (24 * 60)
            latest = max(cluster, key=lambda t: t[0][4])[0]
            habits.append(
                DestinationHabit(
                    name=latest[1],  # the spelling used last
                    latitude=float(statistics.median(t[2] for t, _ in cluster)),
                    longitude=float(statistics.median(t[3] for t, _ in cluster)),
                    weekdays=tuple(sorted({local.isoweekday() for _, local in cluster})),
                    departure=time(rounded // 60, rounded % 60),
                    spread_min=spread,
                    trips=len(cluster),
                    first=min(t[4] for t, _ in cluster),
                    last=latest[4],
                    event_ids=tuple(sorted(t[0] for t, _ in cluster)),
                    tz=str(tz),
                )
            )
    return sorted(habits, key=lambda h: (-h.trips, h.name.casefold(), h.departure))
