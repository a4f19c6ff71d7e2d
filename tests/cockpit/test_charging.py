"""Charging stops: energy physics, the planner against brute force and the baseline,
constraints, errors a driver can act on, loaders and provenance."""

from __future__ import annotations

import json
import math
from itertools import pairwise
from pathlib import Path

import pytest

from drivetrain.cockpit.charging import (
    ChargerSite,
    EVParameters,
    InfeasibleTrip,
    Place,
    Road,
    RoadNetwork,
    TripModel,
    TripRequest,
    build_network,
    charging_curve,
    compare_strategies,
    drive_energy_kwh,
    ev_parameters,
    generate_road_network,
    generate_trips,
    load_chargers_csv,
    load_road_network,
    plan_baseline,
    plan_route,
    recommend_charging,
    summarise_comparison,
)
from drivetrain.cockpit.charging.availability import erlang_c, expected_wait_s, wait_probability
from drivetrain.cockpit.charging.compare import EPSILON_S
from drivetrain.cockpit.charging.energy import PLUG_IN_S
from drivetrain.cockpit.charging.loaders import dump_road_network
from drivetrain.errors import InputError, NotFound
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import explain

TEST_EV = EVParameters(
    model_id="test-ev", name="Test EV", usable_kwh=30.0, mass_kg=1500.0, cda_m2=0.6,
    crr=0.01, drivetrain_efficiency=0.9, regen_efficiency=0.6, aux_kw=0.5,
    heating_kw_per_k=0.1, cooling_kw_per_k=0.1, cold_loss_per_k=0.005, dc_max_kw=150.0,
    ac_max_kw=11.0, dc_curve=((0, 100.0), (50, 100.0), (100, 20.0)), cruise_kmh=130.0,
)  # fmt: skip


@pytest.fixture(scope="module")
def europe() -> RoadNetwork:
    return generate_road_network(0)


def _site(site_id: str, node: str, kw: float, stalls: int = 4, busy: float = 0.3) -> ChargerSite:
    return ChargerSite(site_id, node, f"{site_id} ({kw:g} kW)", "test", kw, stalls, 0.5, busy)


def tiny_network(sites: list[ChargerSite] | None = None) -> RoadNetwork:
    """O - X1 - X2 - X3 - D, 80 km apart, and a spur X2 - Y of 15 km with a 350 kW site."""
    names = ["o", "x1", "x2", "x3", "d", "y"]
    places = [Place(n, n.upper(), 48.0, 8.0 + i, 100.0 * i) for i, n in enumerate(names)]
    roads = [Road(a, b, 80.0, 130.0, 150.0, 50.0) for a, b in pairwise(names[:5])]
    roads.append(Road("x2", "y", 15.0, 100.0, 20.0, 20.0, "trunk"))
    default = [_site("x1-50", "x1", 50.0), _site("x2-150", "x2", 150.0, busy=0.6),
               _site("x2-ac", "x2", 22.0), _site("y-350", "y", 350.0, stalls=1, busy=0.5),
               _site("x3-50", "x3", 50.0)]  # fmt: skip
    return build_network(places, roads, default if sites is None else sites, name="tiny")


# -- energy model --------------------------------------------------------------------------


def test_drive_energy_matches_hand_computed_physics() -> None:
    # 100 km at 90 km/h, 20 °C: no heating, cooling or cold losses; aux 0.5 kW for 4000 s
    rho = 101_325 / (287.05 * 293.15)
    v = 25.0
    road_load = 0.5 * rho * 0.6 * v**2 + 0.01 * 1500 * 9.80665
    expected_j = road_load * 100_000 / 0.9 + 500.0 * 4000.0
    flat = drive_energy_kwh(TEST_EV, distance_km=100, speed_kmh=90, temperature_c=20)
    assert flat == pytest.approx(expected_j / 3.6e6, rel=1e-9)
    assert 10 < flat < 16  # kWh/100 km of a compact EV at 90 km/h
    # 300 m up costs m g h / eta; 300 m down returns m g h eta_regen
    climb = drive_energy_kwh(TEST_EV, distance_km=100, speed_kmh=90, temperature_c=20, ascent_m=300)
    down = drive_energy_kwh(TEST_EV, distance_km=100, speed_kmh=90, temperature_c=20, descent_m=300)
    mgh = 1500 * 9.80665 * 300
    assert climb - flat == pytest.approx(mgh / 0.9 / 3.6e6)
    assert flat - down == pytest.approx(mgh * 0.6 / 3.6e6)
    # at 0 °C: denser air, 18 K of heating at 0.1 kW/K, and 10 % more drawn
    rho0 = 101_325 / (287.05 * 273.15)
    cold_j = (
        (0.5 * rho0 * 0.6 * v**2 + 147.09975) * 100_000 / 0.9 + (0.5 + 1.8) * 1000 * 4000
    ) * 1.1
    cold = drive_energy_kwh(TEST_EV, distance_km=100, speed_kmh=90, temperature_c=0)
    assert cold == pytest.approx(cold_j / 3.6e6, rel=1e-9)
    # faster costs more per km (drag), slower costs more heating per km in the cold
    assert drive_energy_kwh(TEST_EV, distance_km=100, speed_kmh=130, temperature_c=20) > flat


def test_charging_time_integrates_the_curve() -> None:
    flat_part = charging_curve(TEST_EV, 350.0, 20.0)
    # 100 kW flat up to 50 %: 10 -> 50 % of 30 kWh is 12 kWh in 0.12 h
    assert flat_part.time_s(10, 50) == pytest.approx(432.0, rel=1e-3)
    # above 50 % the power falls linearly 100 -> 20 kW: t = E/100 / b * ln(P1/P2)
    b = 80.0 / 50.0  # kW per % SoC
    analytic = 0.3 / b * math.log(100.0 / 36.0) * 3600  # 50 -> 90 %: 100 -> 36 kW
    assert flat_part.time_s(50, 90) == pytest.approx(analytic, rel=1e-3)
    # a 50 kW charger caps the power; an AC one the on-board charger (11 kW)
    assert charging_curve(TEST_EV, 50.0, 20.0).time_s(10, 50) == pytest.approx(864.0, rel=1e-3)
    assert charging_curve(TEST_EV, 22.0, 20.0).time_s(10, 50) == pytest.approx(
        12 / 11 * 3600, rel=1e-3
    )
    # a cold battery charges slower
    assert charging_curve(TEST_EV, 350.0, -10.0).time_s(10, 50) > 1.5 * flat_part.time_s(10, 50)


def test_erlang_c_reduces_to_mm1_and_waits_grow_with_busyness() -> None:
    assert erlang_c(1, 0.6) == pytest.approx(0.6)
    # M/M/2 with a = 1: C = 1/3 (textbook value)
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    quiet, busy = _site("q", "x", 150, stalls=1, busy=0.5), _site("b", "x", 150, 1, busy=0.8)
    assert wait_probability(quiet, 12.0) == pytest.approx(0.5)
    assert expected_wait_s(quiet, 12.0) == pytest.approx(0.5 / 0.5 * 30 * 60)
    assert expected_wait_s(busy, 12.0) > expected_wait_s(quiet, 12.0) > expected_wait_s(quiet, 3.0)


# -- the planner -----------------------------------------------------------------------------


def brute_force_s(trip: TripModel, step: float) -> float:
    """Every sequence of distinct sites and every charge level of the planner's choice set."""
    sites = list(trip.network.sites)
    destination = trip.request.destination
    targets = [*[(s.site_id, s.node) for s in sites], ("@d", destination)]

    def needs(node: str, own: str) -> list[float]:
        found = []
        for key, target in targets:
            drive = trip.drive(node, target) if key != own else None
            if drive is not None and trip.need_pct(drive) <= 100:
                found.append(trip.need_pct(drive))
        return found

    def go(node: str, own: str, soc: float, time_s: float, visited: frozenset[str]) -> float:
        best = math.inf
        site = next((s for s in sites if s.site_id == own), None)
        levels = {soc}
        if site is not None:
            grid = [step * k for k in range(1, int(100 / step) + 1)]
            levels |= {x for x in [*grid, *needs(node, own), 100.0] if x > soc + 1e-9}
        for depart in levels:
            leave = time_s + (trip.stop_s(site, time_s, soc, depart) if site else 0.0)
            for key, target in targets:
                if key in visited or key == own:
                    continue
                drive = trip.drive(node, target)
                if drive is None or not trip.can_drive(drive, depart):
                    continue
                arrive_s = leave + drive.drive_s
                if key == "@d":
                    best = min(best, arrive_s)
                else:
                    rest = go(target, key, depart - drive.energy_pct, arrive_s, visited | {key})
                    best = min(best, rest)
        return best

    return go(trip.request.origin, "@o", trip.request.initial_soc_pct, 0.0, frozenset())


@pytest.mark.parametrize(
    ("soc", "temperature", "hour"), [(60, 20, 9), (85, -5, 12), (90, 5, 17), (70, 28, 13)]
)
def test_planner_matches_brute_force_on_a_tiny_graph(
    soc: float, temperature: float, hour: float
) -> None:
    network = tiny_network()
    request = TripRequest("o", "d", "test-ev", soc, temperature, departure_hour=hour)
    plan = plan_route(network, request, TEST_EV, soc_step_pct=10, corridor=None)
    reference = brute_force_s(TripModel(network, request, TEST_EV), 10)
    assert plan.total_s == pytest.approx(reference, abs=1e-6)
    assert plan.stops  # 320 km on 30 kWh needs at least one stop


def test_plans_respect_the_reserve_and_the_arrival_charge(europe: RoadNetwork) -> None:
    for request in generate_trips(europe, 12, seed=7):
        plan = plan_route(europe, request)
        trip = TripModel(europe, request)
        soc = request.initial_soc_pct
        stops = iter(plan.stops)
        for i, leg in enumerate(plan.legs):
            if i:
                stop = next(stops)
                assert stop.arrive_soc_pct == pytest.approx(soc)
                assert stop.charge_s >= PLUG_IN_S
                soc = stop.depart_soc_pct
            assert leg.depart_soc_pct == pytest.approx(soc)
            for u, v in pairwise(leg.nodes):  # edge by edge, independently of the planner's sums
                road = europe.road(u, v)
                kwh = drive_energy_kwh(
                    trip.vehicle, distance_km=road["length_km"],
                    speed_kmh=min(road["speed_kmh"], trip.vehicle.cruise_kmh),
                    temperature_c=request.temperature_c, ascent_m=road["ascent_m"],
                    descent_m=road["descent_m"],
                )  # fmt: skip
                soc -= 100 * kwh / trip.vehicle.usable_kwh
                assert soc >= request.reserve_soc_pct - 1e-6
        assert soc == pytest.approx(plan.arrival_soc_pct)
        assert soc >= request.min_arrival_soc_pct - 1e-6
        assert plan.legs[-1].end == request.destination


def test_planner_beats_or_matches_the_baseline(europe: RoadNetwork) -> None:
    table = compare_strategies(europe, generate_trips(europe, 20, seed=3))
    summary = summarise_comparison(table)
    assert summary["planner_fails"] == 0
    assert summary["both_arrive"] >= 10
    assert summary["mean_gain_min"] > 0
    assert summary["later_than_baseline"] == 0
    both = table.filter(table["baseline_ok"])
    assert (both["gain_s"] >= -EPSILON_S).all()


def test_baseline_charges_below_20_to_80() -> None:
    network = tiny_network()
    plan = plan_baseline(network, TripRequest("o", "d", "test-ev", 60, 20), TEST_EV)
    assert plan.stops
    first = plan.stops[0]
    assert first.depart_soc_pct == pytest.approx(80) or first.depart_soc_pct > 80
    assert plan.min_soc_pct >= 5 - 1e-9


# -- errors a driver can act on ---------------------------------------------------------------


def test_too_little_charge_says_how_much_to_start_with() -> None:
    network = tiny_network([_site("x1-50", "x1", 50.0), _site("x2-150", "x2", 150.0),
                            _site("x3-50", "x3", 50.0)])  # fmt: skip
    with pytest.raises(InfeasibleTrip, match="no charger within range of O") as caught:
        plan_route(network, TripRequest("o", "d", "test-ev", 30, 20), TEST_EV)
    hint = caught.value.hint or ""
    needed = int(hint.removeprefix("start with at least ").removesuffix(" % charge"))
    plan = plan_route(network, TripRequest("o", "d", "test-ev", needed, 20), TEST_EV)
    assert plan.stops[0].site.site_id == "x1-50"
    with pytest.raises(InfeasibleTrip):
        plan_route(network, TripRequest("o", "d", "test-ev", needed - 2, 20), TEST_EV)


def test_a_gap_no_charger_bridges_is_named() -> None:
    network = tiny_network([_site("x1-50", "x1", 50.0)])  # X1 to D is 240 km
    with pytest.raises(
        InfeasibleTrip, match=r"even charging to 100 %.*within range of X1"
    ) as caught:
        plan_route(network, TripRequest("o", "d", "test-ev", 100, 20), TEST_EV)
    assert "add a charger between X1" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"initial_soc_pct": -5}, InputError, "initial_soc_pct must be a percentage"),
        ({"initial_soc_pct": 120}, InputError, "initial_soc_pct must be a percentage"),
        ({"min_arrival_soc_pct": 101}, InputError, "min_arrival_soc_pct"),
        ({"initial_soc_pct": 3}, InputError, "below its reserve"),
        ({"origin": "munchen"}, NotFound, "origin 'munchen' is not a place"),
        ({"destination": "atlantis"}, NotFound, "destination 'atlantis'"),
        ({"destination": "o"}, InputError, "origin and destination are both"),
        ({"vehicle": "tesla-roadster"}, NotFound, "no charging parameters"),
        ({"temperature_c": 80}, InputError, "temperature_c"),
        ({"departure_hour": 25}, InputError, "departure_hour"),
    ],
)
def test_bad_input_is_refused(
    changes: dict[str, object], error: type[Exception], match: str
) -> None:
    fields: dict[str, object] = {"origin": "o", "destination": "d", "vehicle": "tesla-model-3",
                                 "initial_soc_pct": 50}  # fmt: skip
    fields.update(changes)
    with pytest.raises(error, match=match):
        plan_route(tiny_network(), TripRequest(**fields))  # type: ignore[arg-type]


def test_an_unknown_place_suggests_the_closest_names(europe: RoadNetwork) -> None:
    with pytest.raises(NotFound) as caught:
        plan_route(europe, TripRequest("munchen", "berlin", "tesla-model-3", 80))
    assert "munich" in (caught.value.hint or "")


def test_an_unreachable_destination_is_refused() -> None:
    places = [Place("a", "A", 48, 8), Place("b", "B", 48, 9), Place("island", "Island", 40, 3)]
    network = build_network(places, [Road("a", "b", 50, 100)], [], name="split")
    with pytest.raises(InputError, match="no road from A to Island"):
        plan_route(network, TripRequest("a", "island", "tesla-model-3", 80))


# -- data, generator and provenance -----------------------------------------------------------


def test_generator_is_seeded_and_european(europe: RoadNetwork) -> None:
    assert generate_road_network(0).version == europe.version
    assert generate_road_network(1).version != europe.version
    powers = {site.power_kw for site in europe.sites}
    assert powers == {22.0, 50.0, 150.0, 350.0}
    assert len(europe.cities) == 40 and len(europe.sites) > 150


def test_a_network_round_trips_through_json_and_csv(europe: RoadNetwork, tmp_path: Path) -> None:
    path = tmp_path / "network.json"
    path.write_text(json.dumps(dump_road_network(europe)), encoding="utf-8")
    assert load_road_network(path).version == europe.version
    chargers = tmp_path / "chargers.csv"
    chargers.write_text(
        "site_id,node,name,operator,power_kw,stalls,price_eur_per_kwh\n"
        "m1,munich,Munich HPC,Ionity,350,8,0.69\nm2,salzburg,Salzburg,EnBW,150,4,0.61\n",
        encoding="utf-8",
    )
    own = load_chargers_csv(europe, chargers)
    assert [s.site_id for s in own.sites] == ["m1", "m2"]
    chargers.write_text(
        "site_id,node,name,operator,power_kw,stalls,price_eur_per_kwh\nm1,munich,M,I,fast,8,1\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match=r"line 2: power_kw 'fast' is not a number"):
        load_chargers_csv(europe, chargers)


def test_vehicle_parameters_use_the_catalog_capacity() -> None:
    assert ev_parameters("tesla-model-3").usable_kwh == 57.5  # the catalog's battery_net_kwh
    assert ev_parameters("tesla-model-3").name == "Tesla Model 3"


def test_a_recommendation_is_explained_and_recorded(europe: RoadNetwork, tmp_path: Path) -> None:
    audit = AuditLog(tmp_path)
    request = TripRequest("hamburg", "munich", "volkswagen-id3", 80, 5, departure_hour=8)
    result = recommend_charging(europe, request, audit=audit, principal="driver:anna")
    plan = result.plan
    assert plan.stops and len(plan.explanation) == 2 + len(plan.stops)
    for stop, line in zip(plan.stops, plan.explanation[1:], strict=False):
        assert stop.site.name in line and f"charge to {stop.depart_soc_pct:.0f} %" in line
    assert "this plan saves" in plan.explanation[-1]
    assert result.gain_s is not None and result.gain_s > 0
    recorded = explain(audit, result.output_id)
    assert (recorded.output_kind, recorded.purpose) == ("charging_plan", "personalisation")
    assert recorded.principal == "driver:anna"
    assert recorded.params["network"] == {"name": "europe-0", "seed": 0, "version": europe.version}
    assert recorded.params["trip"]["initial_soc_pct"] == 80
    assert recorded.params["vehicle"]["model_id"] == "volkswagen-id3"
    assert recorded.params["plan"]["total_s"] == pytest.approx(plan.total_s, abs=0.1)
    assert [s["site_id"] for s in recorded.params["stops"]] == [s.site.site_id for s in plan.stops]
    assert f"charger:{plan.stops[0].site.site_id}" in recorded.sources
