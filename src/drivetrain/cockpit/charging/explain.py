"""Plain-language reasons for a charging plan: why these stops, why charge that far."""

from __future__ import annotations

from dataclasses import replace

from drivetrain.cockpit.charging.availability import wait_probability
from drivetrain.cockpit.charging.models import ChargingPlan, ChargingStop
from drivetrain.cockpit.charging.trip import TripModel

_TAPER = 0.7  # the power has "tapered" below this share of the stop's peak


def duration(seconds: float) -> str:
    """``'3 h 05 min'`` or ``'17 min'``."""
    minutes = round(seconds / 60.0)
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def _clock(hour: float) -> str:
    minutes = round(hour * 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def explain_plan(
    plan: ChargingPlan, trip: TripModel, baseline: ChargingPlan | str | None = None
) -> ChargingPlan:
    """The plan with its explanation; ``baseline`` is the naive plan, or why it strands."""
    network, request = trip.network, trip.request
    lines = [
        (
            f"{duration(plan.total_s)} from {network.place_name(request.origin)} to "
            f"{network.place_name(request.destination)} ({plan.distance_km:.0f} km): "
            f"{duration(plan.drive_s)} driving, {len(plan.stops)} charging stop(s) with "
            f"{duration(plan.charge_s)} charging and {duration(plan.wait_s)} expected waiting; "
            f"arrives with {plan.arrival_soc_pct:.0f} % and never below {plan.min_soc_pct:.0f} % "
            f"(reserve {request.reserve_soc_pct:g} %)."
        )
    ]
    if not plan.stops:
        lines.append(
            f"No charging needed: {request.initial_soc_pct:g} % covers the "
            f"{plan.energy_kwh:.1f} kWh the drive takes at {request.temperature_c:g} °C."
        )
    km = 0.0
    legs = list(plan.legs)
    for number, stop in enumerate(plan.stops, start=1):
        km += legs[number - 1].distance_km
        lines.append(_stop_line(number, stop, km, plan, trip))
    if isinstance(baseline, ChargingPlan):
        gain = baseline.total_s - plan.total_s
        verdict = f"saves {duration(gain)}" if gain >= 30 else "is as fast"
        lines.append(
            f"Against charging below 20 % up to 80 % at the nearest charger "
            f"({len(baseline.stops)} stop(s), {duration(baseline.total_s)}), this plan {verdict}."
        )
    elif isinstance(baseline, str):
        lines.append(f"Charging below 20 % up to 80 % at the nearest charger fails: {baseline}.")
    return replace(plan, explanation=tuple(lines))


def _stop_line(
    number: int, stop: ChargingStop, km: float, plan: ChargingPlan, trip: TripModel
) -> str:
    site = stop.site
    p_free = 1.0 - wait_probability(site, stop.arrival_hour)
    head = (
        f"Stop {number} after {km:.0f} km at {site.name} ({site.power_kw:g} kW, {site.stalls} "
        f"stalls, {site.operator}), about {_clock(stop.arrival_hour)}: arrive with "
        f"{stop.arrive_soc_pct:.0f} %, charge to {stop.depart_soc_pct:.0f} % in "
        f"{duration(stop.charge_s)} (expected wait {duration(stop.wait_s)}, a stall free "
        f"{p_free:.0%} of the time), {stop.energy_kwh:.1f} kWh for €{stop.cost_eur:.2f}."
    )
    return f"{head} {_why_this_far(number, stop, plan, trip)} {_why_here(stop, trip)}".rstrip()


def _why_this_far(number: int, stop: ChargingStop, plan: ChargingPlan, trip: TripModel) -> str:
    request = trip.request
    leg = plan.legs[number]
    last = number == len(plan.stops)
    slack = leg.min_soc_pct - request.reserve_soc_pct
    arrival_slack = leg.arrive_soc_pct - trip.target_pct
    curve = trip.curve(stop.site)
    tapered = stop.power_kw_end < _TAPER * stop.power_kw_max
    if last and arrival_slack < 1.0:
        return (
            f"That is just enough to arrive with {trip.target_pct:g} %: charging beyond it "
            "would only add time."
        )
    if not last and min(slack, leg.arrive_soc_pct - request.reserve_soc_pct) < 1.0:
        following = plan.stops[number]
        there = trip.curve(following.site).power_kw(following.arrive_soc_pct)
        more = (
            f"the next kWh charges faster at {following.site.name} ({there:.0f} kW there, "
            f"{stop.power_kw_end:.0f} kW here by now)"
            if there > stop.power_kw_end
            else "more here would lengthen this stop more than it shortens the next"
        )
        return f"It charges just enough to reach the next stop with the reserve: {more}."
    if tapered:
        return (
            f"It stops at {stop.depart_soc_pct:.0f} % because the power has tapered from "
            f"{stop.power_kw_max:.0f} kW to {stop.power_kw_end:.0f} kW."
        )
    knee = curve.soc_at_power(_TAPER * stop.power_kw_max, stop.arrive_soc_pct)
    if knee < 100.0 and stop.depart_soc_pct < knee:
        return (
            f"It leaves before {knee:.0f} %, where the power would taper below "
            f"{_TAPER * stop.power_kw_max:.0f} kW."
        )
    return (
        f"Charging on to {stop.depart_soc_pct:.0f} % still runs at "
        f"{stop.power_kw_end:.0f} kW, which beats another stop."
    )


def _why_here(stop: ChargingStop, trip: TripModel) -> str:
    vehicle, site = trip.vehicle, stop.site
    if site.power_kw >= vehicle.dc_max_kw:
        return (
            f"Its {site.power_kw:g} kW is enough for the vehicle's {vehicle.dc_max_kw:g} kW peak."
        )
    return f"Here the vehicle takes up to {stop.power_kw_max:.0f} kW."
