"""What fails under warranty in the simulated programs: components, their codes and costs.

Each component fails with a Weibull life in days since the sale. The shape is
the one fitted to the automotive field data ``reliability`` ships
(``Datasets.automotive``, Krivtsov & Case, SAE 1999-01-3220: beta 1.154); the
scale is set from the share of vehicles whose component fails within the
36-month warranty (``p_warranty``), the figure a warranty engineer knows of a
part. A supplier defect's life is calibrated on ``Datasets.defective_sample``
(a vehicle manufacturer's field data with a defective subpopulation): the
Weibull-DS fit of it gives the defective share and the life of a defective
part (tests refit it and compare).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Fit_Weibull_2P of Datasets.automotive (10 failures, 21 suspensions): beta
AUTOMOTIVE_BETA = 1.1544
# Fit_Weibull_DS of Datasets.defective_sample (1,350 failures, 12,295 suspensions, days)
DEFECTIVE_SAMPLE_DS = 0.1248
DEFECTIVE_SAMPLE_ALPHA = 171.0
DEFECTIVE_SAMPLE_BETA = 1.301
WARRANTY_MONTHS = 36
WARRANTY_KM = 100_000.0
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True, slots=True)
class Component:
    """A warranty part: its codes, how often it fails in warranty, what a repair costs."""

    name: str
    part_number: str
    labour_code: str
    failure_codes: tuple[str, ...]  # a DTC where the failure sets one, else a W- code
    p_warranty: float  # share of vehicles that claim it within the warranty period
    cost_eur: float  # median parts + labour
    powertrains: tuple[str, ...]
    symptoms: tuple[str, ...]
    findings: tuple[str, ...]
    actions: tuple[str, ...]
    misrepair: str | None = None  # a component replaced first, in error, now and then

    @property
    def alpha_days(self) -> float:
        """Weibull scale so that P(fail by the end of warranty) is ``p_warranty``."""
        horizon = WARRANTY_MONTHS * DAYS_PER_MONTH
        return float(horizon / (-math.log(1.0 - self.p_warranty)) ** (1.0 / AUTOMOTIVE_BETA))


ICE = ("ice", "hev", "phev")
ALL = ("ice", "hev", "phev", "bev")
COMPONENTS: tuple[Component, ...] = (
    Component(
        "thermostat",
        "TH-1004",
        "L-COOL-03",
        ("P0128",),
        0.006,
        320.0,
        ICE,
        (
            "engine slow to warm up, heater blows cold",
            "temperature gauge stays low on the motorway",
            "poor fuel economy and no cabin heat in the morning",
            "check engine light on, heater lukewarm",
        ),
        (
            "found P0128 stored, coolant below regulating temperature",
            "thermostat stuck open, coolant temperature 65 C after 20 min",
            "P0128 coolant thermostat, engine never reaches 90 C",
        ),
        (
            "replaced thermostat and gasket, bled cooling system",
            "replaced thermostat housing assembly, refilled coolant",
        ),
        misrepair="coolant_sensor",
    ),
    Component(
        "coolant_sensor",
        "CTS-2201",
        "L-COOL-01",
        ("P0117", "P0118"),
        0.003,
        140.0,
        ICE,
        (
            "temperature gauge erratic",
            "check engine light on, fan runs constantly",
        ),
        (
            "coolant temperature sensor reading implausible",
            "P0118 stored, sensor circuit high",
        ),
        ("replaced coolant temperature sensor", "replaced ECT sensor and cleared codes"),
    ),
    Component(
        "lv_battery",
        "BAT-12V-70",
        "L-ELEC-02",
        ("P0562",),
        0.02,
        210.0,
        ALL,
        (
            "car would not start after the weekend",
            "slow cranking in cold mornings",
            "battery warning on the cluster, start-stop disabled",
        ),
        (
            "12 V battery failed load test, resting voltage 11.9 V",
            "P0562 system voltage low, battery capacity 55 %",
        ),
        ("replaced 12 V AGM battery, registered new battery to BMS",),
    ),
    Component(
        "ignition_coil",
        "IGN-C-330",
        "L-ENG-07",
        ("P0300", "P0301", "P0302", "P0303", "P0304"),
        0.008,
        260.0,
        ICE,
        (
            "engine shakes at idle, flashing check engine light",
            "rough running and loss of power under load",
        ),
        (
            "misfire counted on one cylinder, swapped coil and misfire followed the coil",
            "P0300 random misfire, coil resistance out of spec",
        ),
        ("replaced ignition coil", "replaced ignition coil and spark plug"),
    ),
    Component(
        "hv_module",
        "HVM-96S",
        "L-HV-11",
        ("P0A7F",),
        0.004,
        3800.0,
        ("bev", "phev"),
        (
            "range dropped noticeably, charging stops at 80 %",
            "high-voltage battery warning on the cluster",
        ),
        (
            "P0A7F battery pack deterioration, cell spread 120 mV on module 7",
            "cell voltage imbalance in one module",
        ),
        ("replaced traction battery module and balanced pack",),
    ),
    Component(
        "brake_caliper",
        "BRK-CAL-FL",
        "L-BRK-04",
        ("W-BRK-DRAG",),
        0.006,
        410.0,
        ALL,
        (
            "car pulls to the left when braking, burning smell",
            "grinding noise from the front left wheel",
        ),
        (
            "front left caliper piston seized, pad worn to backing plate",
            "caliper slide pins corroded, uneven pad wear",
        ),
        ("replaced front left caliper and pads", "replaced caliper, pads and disc"),
    ),
    Component(
        "window_regulator",
        "WR-FL-118",
        "L-BODY-12",
        ("W-WIN-INOP",),
        0.01,
        280.0,
        ALL,
        (
            "driver window will not go up",
            "window drops into the door when closing",
        ),
        ("regulator cable snapped", "window regulator motor runs, glass does not move"),
        ("replaced front left window regulator",),
    ),
    Component(
        "head_unit",
        "HU-8.4-NAV",
        "L-ELEC-20",
        ("W-HU-RESET",),
        0.012,
        950.0,
        ALL,
        (
            "screen goes black and reboots while driving",
            "no sound and navigation freezes",
        ),
        (
            "head unit resets, software up to date, fault persists",
            "internal fault stored in the infotainment unit",
        ),
        ("replaced head unit and coded to vehicle", "replaced infotainment unit"),
    ),
)
COMPONENTS_BY_NAME = {c.name: c for c in COMPONENTS}

# The simulator's injected faults (drivetrain.demo.faults) and the part a workshop replaces.
FAULT_COMPONENTS: dict[str, str] = {
    "thermostat_stuck_open": "thermostat",
    "lv_battery_degradation": "lv_battery",
    "misfire": "ignition_coil",
    "cell_imbalance": "hv_module",
    "brake_wear": "brake_caliper",
}

# Where each model is built (the plant names of the real programs).
PLANTS: dict[str, tuple[str, ...]] = {
    "alfa-romeo-giulia": ("Cassino",),
    "chrysler-pacifica-hybrid": ("Windsor",),
    "fiat-tipo": ("Bursa",),
    "hyundai-i30": ("Nosovice", "Ulsan"),
    "peugeot-308": ("Mulhouse",),
    "ram-1500": ("Sterling Heights", "Warren"),
    "tesla-model-3": ("Fremont", "Shanghai"),
}
DEALERS: dict[str, tuple[str, ...]] = {
    "FR": ("Garage Martin Lyon", "Auto Paris Est"),
    "DE": ("Autohaus Weber Munich", "Autohaus Nord Hamburg"),
    "IT": ("Officina Rossi Torino", "Autocentro Roma"),
    "ES": ("Talleres Garcia Madrid",),
    "US": ("Motor City Service Detroit", "Lakeside Auto Chicago"),
    "CA": ("Maple Auto Toronto",),
    "CN": ("Pudong Service Shanghai",),
    "KR": ("Gangnam Motors Seoul",),
}
