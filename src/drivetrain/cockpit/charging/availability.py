"""Charger availability: the chance of a free stall and the expected wait, by time of day.

A site is an M/M/c queue (Erlang C): ``stalls`` servers, sessions of
``SESSION_MIN`` minutes on average, and a utilisation that follows a daily
profile scaled to the site's ``peak_utilisation``. The profile is interpolated
linearly between hours so the expected wait changes smoothly with the arrival
time — slowly enough that arriving later never means leaving earlier, which the
planner's label-setting relies on.
"""

from __future__ import annotations

import math

from drivetrain.cockpit.charging.models import ChargerSite

SESSION_MIN = 30.0
MAX_UTILISATION = 0.9
# Share of the peak utilisation by local hour 0..23: quiet nights, a morning rise, busy from
# late morning to early evening (the shape of public fast-charger occupancy in published
# utilisation reports; a deployment replaces it with its network's measured profile).
DAILY_PROFILE: tuple[float, ...] = (
    0.15, 0.10, 0.08, 0.08, 0.10, 0.15, 0.30, 0.50, 0.65, 0.75, 0.85, 0.95,
    1.00, 1.00, 0.95, 0.95, 1.00, 1.00, 0.90, 0.75, 0.60, 0.45, 0.30, 0.20,
)  # fmt: skip


def utilisation(site: ChargerSite, hour: float) -> float:
    """The share of the site's stalls busy at a local time of day (hours, any real number)."""
    h = hour % 24.0
    low = math.floor(h)
    frac = h - low
    share = DAILY_PROFILE[low] * (1 - frac) + DAILY_PROFILE[(low + 1) % 24] * frac
    return min(MAX_UTILISATION, site.peak_utilisation * share)


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability an arrival waits in an M/M/c queue with ``offered_load`` = λ/μ < c."""
    if offered_load <= 0:
        return 0.0
    term = 1.0
    total = 1.0  # running sum of a^k / k! for k < c
    for k in range(1, servers):
        term *= offered_load / k
        total += term
    last = term * offered_load / servers  # a^c / c!
    rho = offered_load / servers
    waiting = last / (1 - rho)
    return waiting / (total + waiting)


def wait_probability(site: ChargerSite, hour: float) -> float:
    """Probability every stall is taken on arrival."""
    rho = utilisation(site, hour)
    return erlang_c(site.stalls, rho * site.stalls)


def expected_wait_s(site: ChargerSite, hour: float) -> float:
    """Expected wait (s) for a free stall when arriving at a local time of day."""
    rho = utilisation(site, hour)
    if rho <= 0:
        return 0.0
    p_wait = erlang_c(site.stalls, rho * site.stalls)
    return p_wait * SESSION_MIN * 60.0 / (site.stalls * (1.0 - rho))
