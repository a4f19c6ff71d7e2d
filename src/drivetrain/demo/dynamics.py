"""One simulated day of a block of vehicles, vectorised over every trip-second.

Physics runs at 1 Hz over a flat array of all trip-seconds of the day (trips
of all vehicles laid end to end); signals are then sampled every
``period_s`` seconds. Speed follows a smooth stop-and-go profile per trip;
acceleration, road load, power, engine speed, energy use, temperatures and
positions follow from it with textbook first-order models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from drivetrain.demo.dtcs import trip_dtcs
from drivetrain.demo.faults import FaultAssignment
from drivetrain.demo.fleet_block import FleetBlock, FleetState
from drivetrain.demo.markets import ambient_temperature
from drivetrain.demo.traction_battery import COUNTER_STEP_KWH, SOC_NOISE_PCT

US = 1_000_000
DAY_US = 86_400 * US
RHO_AIR = 1.2  # kg/m³
G = 9.81  # m/s²
GASOLINE_BSFC_L_PER_KWH = 0.25 / 0.745  # 250 g/kWh at 745 g/l
GEAR_UP_KMH = np.array([18.0, 32.0, 50.0, 70.0, 92.0])
RPM_PER_KMH = np.array([110.0, 66.0, 46.0, 35.0, 28.0, 24.0])
MAX_TRIPS_PER_DAY = 6


@dataclass(slots=True)
class DayOutput:
    """Samples (one per vehicle-time, many signals), trips, DTCs and end-of-day snapshots."""

    vehicle: np.ndarray  # int32 vehicle index per sample
    ts_us: np.ndarray  # int64 µs since epoch per sample
    trip: np.ndarray  # trip index per sample (samples are ordered by trip)
    signals: dict[str, np.ndarray]
    trips: dict[str, np.ndarray]
    dtcs: dict[str, np.ndarray]
    snapshot: dict[str, np.ndarray] = field(default_factory=dict)


def _segment_cumsum(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Cumulative sum of ``x`` restarting at every index in ``starts`` (sorted, first = 0)."""
    total = np.cumsum(x)
    before = np.concatenate(([0.0], total[starts[1:] - 1]))
    lengths = np.diff(np.append(starts, len(x)))
    return np.asarray(total - np.repeat(before, lengths))


def _plan_trips(
    rng: np.random.Generator, block: FleetBlock, day_start_us: int
) -> dict[str, np.ndarray]:
    """Trips of the day: vehicle, start, duration and the parameters of their speed profile."""
    counts = np.minimum(rng.poisson(block.trips_per_day), MAX_TRIPS_PER_DAY)
    vehicle = np.repeat(np.arange(block.n), counts)
    t = len(vehicle)
    pick = rng.random(t)
    start_h = np.where(
        pick < 0.35,
        rng.normal(8.0, 1.0, t),
        np.where(pick < 0.7, rng.normal(17.5, 1.2, t), rng.uniform(9.5, 21.5, t)),
    )
    start_s = np.clip(start_h, 5.0, 22.5) * 3600.0
    distance_km = np.clip(rng.lognormal(np.log(11.0 * block.km_scale[vehicle]), 0.75), 1.0, 300.0)
    kind = np.digitize(distance_km, [8.0, 30.0])  # 0 urban, 1 mixed, 2 highway
    cruise_kmh = np.array([40.0, 62.0, 108.0])[kind] * block.aggressiveness[vehicle]
    cruise_kmh *= rng.uniform(0.9, 1.1, t)
    mean_factor = np.array([0.55, 0.72, 0.92])[kind]
    duration = np.clip(distance_km / (cruise_kmh * mean_factor) * 3600.0, 120, 4 * 3600).astype(
        np.int64
    )
    order = np.lexsort((start_s, vehicle))
    vehicle, start_s, duration = vehicle[order], start_s[order], duration[order]
    kind, cruise_kmh = kind[order], cruise_kmh[order]
    first = np.searchsorted(vehicle, vehicle)
    rank = np.arange(t) - first
    for r in range(1, MAX_TRIPS_PER_DAY):
        idx = np.flatnonzero(rank == r)
        start_s[idx] = np.maximum(start_s[idx], start_s[idx - 1] + duration[idx - 1] + 300.0)
    keep = start_s + duration < 86_400.0 - 60.0
    local_start_us = day_start_us - (block.utc_offset_h[vehicle] * 3600 * US).astype(np.int64)
    return {
        "vehicle": vehicle[keep],
        "start_us": (local_start_us + (start_s * US).astype(np.int64))[keep],
        "duration": duration[keep],
        "kind": kind[keep],
        "cruise_kmh": cruise_kmh[keep],
        "phase": rng.uniform(0, 2 * np.pi, (t, 3))[keep],
        "heading": rng.uniform(0, 2 * np.pi, t)[keep],
        "offset_km": rng.normal(0, 6, (t, 2))[keep],
    }


def simulate_day(
    rng: np.random.Generator,
    block: FleetBlock,
    state: FleetState,
    day_start_us: int,
    period_s: int,
) -> DayOutput:
    """Simulate one day (local midnight to midnight) of every vehicle in ``block``."""
    trips = _plan_trips(rng, block, day_start_us)
    tv = trips["vehicle"]
    n_trips = len(tv)
    dur = trips["duration"]
    starts = np.concatenate(([0], np.cumsum(dur)[:-1])).astype(np.int64)
    trip_of = np.repeat(np.arange(n_trips), dur)
    t = np.arange(len(trip_of)) - starts[trip_of]
    veh = tv[trip_of]
    ts_us = trips["start_us"][trip_of] + t * US

    # -- speed profile (km/h) and its consequences, at 1 Hz -------------------------------
    kind = trips["kind"][trip_of]
    phase = trips["phase"][trip_of]
    d_total = dur[trip_of]
    ramp = np.minimum(1.0, np.minimum(t / 25.0, (d_total - 1 - t) / 20.0)).clip(0.0)
    stop_period = np.array([110.0, 260.0, 1e9])[kind]
    stop_go = np.where(
        kind == 2, 1.0, np.clip(1.6 * np.sin(2 * np.pi * t / stop_period + phase[:, 0]) + 0.9, 0, 1)
    )
    wobble = (
        1
        + 0.07 * np.sin(2 * np.pi * t / 47 + phase[:, 1])
        + 0.04 * np.sin(2 * np.pi * t / 13 + phase[:, 2])
    )
    speed = np.clip(trips["cruise_kmh"][trip_of] * ramp * stop_go * wobble, 0.0, 200.0)
    v_ms = speed / 3.6
    accel = np.append(np.diff(v_ms), 0.0)
    accel[starts[1:] - 1] = 0.0
    accel = np.clip(accel, -8.0, 5.0)
    dist_in_trip = _segment_cumsum(v_ms, starts)
    trip_dist = dist_in_trip[np.append(starts[1:], len(t)) - 1] if n_trips else np.zeros(0)

    f_road = (
        block.mass[veh] * accel
        + 0.5 * RHO_AIR * block.cda[veh] * v_ms**2
        + block.mass[veh] * G * block.crr[veh] * (v_ms > 0.1)
    )
    p_wheel_kw = f_road * v_ms / 1000.0
    pt = block.powertrain[veh]
    bev = pt == 3
    phev = pt == 2
    soc_start = state.soc_pct[veh]
    engine_on = ~bev & ~(phev & (soc_start > 25) & (speed < 70) & (p_wheel_kw < 30))
    aux_kw = np.where(bev | phev, 0.8, 1.5)
    battery_kw = np.where(
        bev | (phev & ~engine_on),
        np.where(p_wheel_kw >= 0, p_wheel_kw / 0.9, p_wheel_kw * 0.65) + aux_kw,
        np.where(phev, np.minimum(p_wheel_kw, 0) * 0.65, 0.0),
    )
    engine_kw = np.where(engine_on, np.maximum(p_wheel_kw, 0) / 0.88 + aux_kw, 0.0)
    fuel_l = _segment_cumsum(engine_kw / 3600.0 * GASOLINE_BSFC_L_PER_KWH, starts)
    energy_kwh = _segment_cumsum(battery_kw / 3600.0, starts)

    # -- sample ------------------------------------------------------------------------------
    s = np.flatnonzero(t % period_s == 0)
    sv, st, sts, strip = veh[s], t[s], ts_us[s], trip_of[s]
    sspeed, saccel, spw = speed[s], accel[s], p_wheel_kw[s]
    f = block.faults
    out: dict[str, np.ndarray] = {}
    prior_dist = _exclusive_group_sum(trip_dist, tv)
    prior_fuel = _exclusive_group_sum(_ends(fuel_l, starts), tv)
    prior_energy = _exclusive_group_sum(_ends(energy_kwh, starts), tv)

    out["Vehicle.Speed"] = np.maximum(sspeed + rng.normal(0, 0.1, len(s)) * (sspeed > 0), 0)
    out["Vehicle.TraveledDistance"] = state.odometer_m[sv] + prior_dist[strip] + dist_in_trip[s]
    out["Vehicle.Acceleration.Longitudinal"] = saccel + rng.normal(0, 0.03, len(s))
    load_frac = np.clip(spw / block.max_power_kw[sv], 0.0, 1.0)
    out["Vehicle.Chassis.Accelerator.PedalPosition"] = np.where(
        saccel > -0.3, np.clip(8 + 110 * load_frac, 0, 100) * (sspeed > 1), 0.0
    )
    braking = saccel < -0.25  # below that, drivers lift off and let the car coast
    out["Vehicle.Chassis.Brake.PedalPosition"] = np.clip(12 - saccel * 26.0, 0, 100) * braking

    # engine
    s_on = engine_on[s]
    gear = np.digitize(sspeed, GEAR_UP_KMH)
    rpm = np.maximum(block.idle_rpm[sv], sspeed * RPM_PER_KMH[gear] * block.rpm_per_kmh[sv])
    rpm = rpm + 350 * load_frac + rng.normal(0, 8, len(s))
    misfire = f.active("misfire", sts, sv)
    rough = rng.normal(0, 1, len(s)) * (60 + 120 * (sspeed < 5)) * f.severity[sv]
    rpm = np.where(misfire, rpm + rough, rpm)
    out["Vehicle.Powertrain.CombustionEngine.Speed"] = np.where(s_on, np.maximum(rpm, 0), 0.0)
    omega = rpm * 2 * np.pi / 60
    torque = np.where(spw > 0, engine_kw[s] * 1000 / np.maximum(omega, 1), -25.0)
    out["Vehicle.Powertrain.CombustionEngine.Torque"] = np.where(s_on, torque, 0.0)
    out["Vehicle.OBD.EngineLoad"] = np.where(s_on, np.clip(18 + 82 * load_frac, 0, 100), 0.0)
    fuel_pct = (
        state.fuel_pct[sv] - (prior_fuel[strip] + fuel_l[s]) / np.maximum(block.tank_l[sv], 1) * 100
    )
    out["Vehicle.Powertrain.FuelSystem.RelativeLevel"] = np.clip(fuel_pct, 0, 100)

    # ambient and temperatures
    local_hour = (sts / 3.6e9 + block.utc_offset_h[sv]) % 24
    doy = ((day_start_us / DAY_US) % 365.25) + 1
    amb = ambient_temperature(block.annual_mean_c[sv], block.amplitude_c[sv], doy, local_hour)
    out["Vehicle.Exterior.AirTemperature"] = amb + rng.normal(0, 0.3, len(s))
    coolant, coolant_end = _coolant(state, trips, f, amb, st, sspeed, strip)
    out["Vehicle.Powertrain.CombustionEngine.EngineCoolant.Temperature"] = coolant
    out["Vehicle.Powertrain.CombustionEngine.EngineOil.Temperature"] = (
        coolant - 4 + 10 * (1 - np.exp(-st / 1500.0)) + rng.normal(0, 0.3, len(s))
    )

    # traction battery and motor: the state of charge runs down against the pack's usable
    # capacity today (aged), read with the BMS's estimation noise; the BMS counts the
    # energy out of and into the pack
    capacity = np.maximum(block.capacity_kwh, 1)
    soc = state.soc_pct[sv] - (prior_energy[strip] + energy_kwh[s]) / capacity[sv] * 100
    bms = np.random.default_rng([block.aux_seed, day_start_us // US])
    out["Vehicle.Powertrain.TractionBattery.StateOfCharge.Current"] = np.clip(
        soc + bms.normal(0, SOC_NOISE_PCT, len(s)), 0, 100
    )
    flow_out = _segment_cumsum(np.maximum(battery_kw, 0) / 3600.0, starts)
    flow_in = _segment_cumsum(np.maximum(-battery_kw, 0) / 3600.0, starts)
    trip_out, trip_in = _ends(flow_out, starts), _ends(flow_in, starts)
    for path, counter, flow, trip_flow in (
        ("AccumulatedConsumedEnergy", state.consumed_kwh, flow_out, trip_out),
        ("AccumulatedChargedEnergy", state.charged_kwh, flow_in, trip_in),
    ):
        total = counter[sv] + _exclusive_group_sum(trip_flow, tv)[strip] + flow[s]
        out[f"Vehicle.Powertrain.TractionBattery.{path}"] = (
            np.floor(total / COUNTER_STEP_KWH) * COUNTER_STEP_KWH
        )
    state.consumed_kwh += np.bincount(tv, weights=trip_out, minlength=block.n)
    state.charged_kwh += np.bincount(tv, weights=trip_in, minlength=block.n)
    out["Vehicle.Powertrain.TractionBattery.Temperature.Average"] = (
        amb + 12 * (1 - np.exp(-st / 1800.0)) + 0.04 * np.abs(battery_kw[s])
    )
    ocv = 3.2 + 0.95 * np.clip(soc, 0, 100) / 100
    sag = 0.00045 * battery_kw[s]
    imbalance = np.minimum(0.008 * f.days_active("cell_imbalance", sts, sv) * f.severity[sv], 0.25)
    out["Vehicle.Powertrain.TractionBattery.CellVoltage.Max"] = ocv - 0.9 * sag + 0.006
    out["Vehicle.Powertrain.TractionBattery.CellVoltage.Min"] = (
        ocv - 1.1 * sag - 0.009 - imbalance + rng.normal(0, 0.001, len(s))
    )
    motor_rpm = v_ms[s] / (2 * np.pi * 0.33) * 60 * 9.0  # 0.33 m wheel radius, 9:1 reduction
    out["Vehicle.Powertrain.ElectricMotor.Rear.Power"] = np.where(bev[s], battery_kw[s], 0.0)
    out["Vehicle.Powertrain.ElectricMotor.Rear.Torque"] = np.where(
        bev[s],
        np.clip(battery_kw[s] * 1000 / np.maximum(motor_rpm * 2 * np.pi / 60, 5), -420, 420),
        0.0,
    )

    # 12 V battery: key-on rest voltage, cranking dip, then charging
    rest = (
        12.65
        - np.minimum(0.045 * f.days_active("lv_battery_degradation", sts, sv) * f.severity[sv], 1.5)
        - 0.006 * np.clip(20 - amb, 0, None)
    )
    crank = np.where(bev[sv], 0.0, 1.9 + (12.65 - rest) * 1.5)
    lv = np.where(st == 0, rest, np.where(st < 3, rest - crank, 14.15 - 0.15 * load_frac))
    out["Vehicle.LowVoltageBattery.CurrentVoltage"] = lv + rng.normal(0, 0.02, len(s))

    # tyres and wheels: pressure follows tyre temperature (ideal gas) and any leak
    tyre_temp = amb + 14 * (1 - np.exp(-st / 900.0))
    nominal = block.tyre_kpa[sv][:, None] + block.tyre_offset_kpa[sv]
    pressure = nominal * ((tyre_temp + 273.15) / (20 + 273.15))[:, None]
    leak = 4.0 * f.days_active("slow_tyre_leak", sts, sv) * f.severity[sv]
    pressure[:, 0] = np.maximum(pressure[:, 0] - leak, 60.0)
    wheels = ("Row1.Wheel.Left", "Row1.Wheel.Right", "Row2.Wheel.Left", "Row2.Wheel.Right")
    for i, w in enumerate(wheels):
        out[f"Vehicle.Chassis.Axle.{w}.Tire.Pressure"] = pressure[:, i] + rng.normal(0, 0.5, len(s))
        deflation = np.clip(nominal[:, i] - pressure[:, i], 0, None)
        wheel = sspeed * (1 + 1.2e-4 * deflation) + rng.normal(0, 0.08, len(s)) * (sspeed > 0)
        out[f"Vehicle.Chassis.Axle.{w}.Speed"] = np.maximum(wheel, 0)

    # brake pads: wear with distance, faster on a sticking caliper
    km = (prior_dist[strip] + dist_in_trip[s]) / 1000.0
    rate = 100.0 / 60_000.0 * block.aggressiveness[sv]
    sticky = 1 + (3 + 4 * f.severity[sv]) * f.active("brake_wear", sts, sv)
    out["Vehicle.Chassis.Axle.Row1.Wheel.Left.Brake.PadWear"] = np.clip(
        state.pad_wear_pct[sv, 0] + km * rate * sticky, 0, 100
    )
    out["Vehicle.Chassis.Axle.Row1.Wheel.Right.Brake.PadWear"] = np.clip(
        state.pad_wear_pct[sv, 1] + km * rate, 0, 100
    )

    # position: a wandering heading from a start near home
    heading = trips["heading"][trip_of] + _segment_cumsum(rng.normal(0, 0.015, len(t)), starts)
    north = _segment_cumsum(v_ms * np.cos(heading), starts)[s]
    east = _segment_cumsum(v_ms * np.sin(heading), starts)[s]
    lat0 = block.home_lat[sv] + trips["offset_km"][strip, 0] / 111.32
    lat = lat0 + north / 111_320.0
    lon0 = block.home_lon[sv] + trips["offset_km"][strip, 1] / (111.32 * np.cos(np.radians(lat0)))
    out["Vehicle.CurrentLocation.Latitude"] = lat
    out["Vehicle.CurrentLocation.Longitude"] = lon0 + east / (111_320.0 * np.cos(np.radians(lat)))

    day = DayOutput(sv.astype(np.int32), sts, strip, signals=out, trips={}, dtcs={})
    _finish_day(rng, block, state, day, trips, trip_dist, fuel_l, energy_kwh, starts, coolant_end)
    return day


def _ends(x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Last value of each segment of ``x``."""
    return x[np.append(starts[1:], len(x)) - 1] if len(starts) else np.zeros(0)


def _exclusive_group_sum(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    """For sorted ``group``: sum of ``x`` over the earlier elements of the same group."""
    total = np.cumsum(x) - x
    first = np.searchsorted(group, group)
    return np.asarray(total - total[first]) if len(x) else np.zeros(0)


def _coolant(
    state: FleetState,
    trips: dict[str, np.ndarray],
    f: FaultAssignment,
    amb: np.ndarray,
    st: np.ndarray,
    sspeed: np.ndarray,
    strip: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Coolant temperature per sample: first-order warm-up towards the regulated target.

    A healthy thermostat holds ~90 °C; one stuck open lets the radiator flow all
    the time, so the engine settles far lower and cools further with airflow.
    Each trip starts from the previous trip's end temperature cooled toward ambient.
    """
    tv, dur, start = trips["vehicle"], trips["duration"], trips["start_us"]
    n_trips = len(tv)
    stuck_trip = f.active("thermostat_stuck_open", start, tv)
    tau = np.where(stuck_trip, 950.0, 420.0)
    amb_trip = amb[np.searchsorted(strip, np.arange(n_trips))]  # every trip has a t=0 sample
    target = np.where(stuck_trip, amb_trip + (72 - amb_trip) * 0.8, 90.0)
    t0 = np.zeros(n_trips)
    t_end = np.zeros(n_trips)
    first = np.searchsorted(tv, tv)
    rank = np.arange(n_trips) - first
    for r in range(MAX_TRIPS_PER_DAY):
        idx = np.flatnonzero(rank == r)
        if r == 0:
            prev_end, prev_t = state.last_coolant_c[tv[idx]], state.last_end_us[tv[idx]]
        else:
            prev_end, prev_t = t_end[idx - 1], start[idx - 1] + dur[idx - 1] * US
        gap_s = (start[idx] - prev_t) / US
        t0[idx] = amb_trip[idx] + (prev_end - amb_trip[idx]) * np.exp(-gap_s / 5400.0)
        t_end[idx] = target[idx] + (t0[idx] - target[idx]) * np.exp(-dur[idx] / tau[idx])
    airflow = np.where(stuck_trip[strip], 0.12 * sspeed, 0.0)
    coolant = target[strip] + (t0[strip] - target[strip]) * np.exp(-st / tau[strip]) - airflow
    return np.maximum(coolant, amb - 1), t_end


def _finish_day(
    rng: np.random.Generator,
    block: FleetBlock,
    state: FleetState,
    day: DayOutput,
    trips: dict[str, np.ndarray],
    trip_dist: np.ndarray,
    fuel_l: np.ndarray,
    energy_kwh: np.ndarray,
    starts: np.ndarray,
    coolant_end: np.ndarray,
) -> None:
    """Trip records, DTCs, the end-of-day snapshot, and the state carried to tomorrow."""
    tv, start, dur = trips["vehicle"], trips["start_us"], trips["duration"]
    sig = day.signals
    trip_fuel, trip_energy = _ends(fuel_l, starts), _ends(energy_kwh, starts)
    day.trips = {
        "vehicle": tv,
        "start_us": start,
        "end_us": start + dur * US,
        "distance_m": trip_dist,
        "fuel_used_l": np.where(block.powertrain[tv] == 3, np.nan, trip_fuel),
        "energy_used_kwh": np.where(block.battery_kwh[tv] > 0, trip_energy, np.nan),
    }
    day.trips["max_speed_kmh"] = _trip_max(day, trips, sig["Vehicle.Speed"])
    day.dtcs = trip_dtcs(rng, block, day, trips)

    n = block.n
    dist = np.bincount(tv, weights=trip_dist, minlength=n)
    state.odometer_m += dist
    state.fuel_pct -= (
        np.bincount(tv, weights=trip_fuel, minlength=n) / np.maximum(block.tank_l, 1) * 100
    )
    capacity = np.maximum(block.capacity_kwh, 1)
    state.soc_pct -= np.bincount(tv, weights=trip_energy, minlength=n) / capacity * 100
    rate = 100.0 / 60_000.0 * block.aggressiveness
    day_end = int(start.max()) if len(start) else 0
    sticky = 1 + (3 + 4 * block.faults.severity) * (
        block.faults.has("brake_wear") & (block.faults.onset_us <= day_end)
    )
    state.pad_wear_pct[:, 0] = np.minimum(
        state.pad_wear_pct[:, 0] + dist / 1000 * rate * sticky, 100
    )
    state.pad_wear_pct[:, 1] = np.minimum(state.pad_wear_pct[:, 1] + dist / 1000 * rate, 100)
    if len(tv):
        last = np.flatnonzero(np.append(tv[1:] != tv[:-1], True))
        state.last_end_us[tv[last]] = start[last] + dur[last] * US
        state.last_coolant_c[tv[last]] = coolant_end[last]
    refuel = state.fuel_pct < 15
    state.fuel_pct[refuel] = rng.uniform(85, 100, int(refuel.sum()))
    charge = (state.soc_pct < 55) | (rng.random(n) < 0.3)
    before = np.clip(state.soc_pct, 2, 100)
    state.soc_pct = np.where(
        charge, np.maximum(state.soc_pct, rng.uniform(80, 92, n)), state.soc_pct
    )
    state.soc_pct = np.clip(state.soc_pct, 2, 100)
    state.charged_kwh += (state.soc_pct - before) / 100 * block.capacity_kwh  # overnight charge


def _trip_max(day: DayOutput, trips: dict[str, np.ndarray], speed: np.ndarray) -> np.ndarray:
    idx = day.trip
    out = np.zeros(len(trips["vehicle"]))
    np.maximum.at(out, idx, speed)
    return out
