"""Markets the simulated fleet is sold in: region, a home city and its climate.

Climate is a first-harmonic fit of daily mean air temperature (annual mean,
amplitude, day of year of the warmest day), close enough to the published
normals of each city for plausible seasonal behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Market:
    """A country market: its governance region, home city and climate."""

    code: str
    region: str
    city: str
    lat: float
    lon: float
    annual_mean_c: float
    amplitude_c: float
    utc_offset_h: float


MARKETS: dict[str, Market] = {
    m.code: m
    for m in (
        Market("FR", "eu", "Paris", 48.8566, 2.3522, 12.5, 7.5, 1),
        Market("DE", "eu", "Munich", 48.1351, 11.5820, 9.5, 9.5, 1),
        Market("IT", "eu", "Turin", 45.0703, 7.6869, 13.0, 10.0, 1),
        Market("ES", "eu", "Madrid", 40.4168, -3.7038, 15.0, 10.0, 1),
        Market("US", "us", "Detroit", 42.3314, -83.0458, 10.0, 12.5, -5),
        Market("CA", "ca", "Toronto", 43.6532, -79.3832, 9.0, 13.0, -5),
        Market("CN", "cn", "Shanghai", 31.2304, 121.4737, 17.0, 11.0, 8),
        Market("KR", "kr", "Seoul", 37.5665, 126.9780, 12.5, 14.0, 9),
    )
}

WARMEST_DAY_OF_YEAR = 200


def ambient_temperature(
    annual_mean_c: np.ndarray,
    amplitude_c: np.ndarray,
    day_of_year: float | np.ndarray,
    local_hour: np.ndarray,
) -> np.ndarray:
    """Air temperature (°C) by day of year and local hour: seasonal plus daily cycle."""
    seasonal = annual_mean_c + amplitude_c * np.cos(
        2 * np.pi * (day_of_year - WARMEST_DAY_OF_YEAR) / 365.25
    )
    daily = 4.0 * np.cos(2 * np.pi * (local_hour - 15.0) / 24.0)
    return np.asarray(seasonal + daily)
