"""Coarsening locations to a geohash cell, vectorised.

A geohash of precision ``p`` splits the globe into cells of ``floor(5p/2)``
latitude bits and ``ceil(5p/2)`` longitude bits. Coarsening a position means
replacing it by the centre of its cell, so what is stored says "somewhere in
this ~5 km square" (precision 5) instead of "this driveway" — enough for
charging or weather analysis, not enough to find a home.

| precision | cell (at the equator) |
|---|---|
| 3 | 156 km × 156 km |
| 4 | 39 km × 19.5 km |
| 5 | 4.9 km × 4.9 km |
| 6 | 1.2 km × 0.61 km |
| 7 | 153 m × 153 m |
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from drivetrain.errors import InputError

FloatArray = npt.NDArray[np.float64]


def cell_size(precision: int) -> tuple[float, float]:
    """(height, width) in degrees of a geohash cell of ``precision`` characters."""
    if not 1 <= precision <= 12:
        raise InputError(f"geohash precision must be 1..12, got {precision}")
    bits = 5 * precision
    lat_bits, lon_bits = bits // 2, bits - bits // 2
    return 180.0 / 2**lat_bits, 360.0 / 2**lon_bits


def coarsen(
    lat: npt.ArrayLike, lon: npt.ArrayLike, precision: int
) -> tuple[FloatArray, FloatArray]:
    """Latitudes and longitudes (degrees, WGS 84) moved to the centre of their geohash cell."""
    height, width = cell_size(precision)
    lat_a = np.clip(np.asarray(lat, dtype=np.float64), -90.0, 90.0)
    lon_a = np.clip(np.asarray(lon, dtype=np.float64), -180.0, 180.0)
    lat_cells = np.minimum(np.floor((lat_a + 90.0) / height), 2 ** (5 * precision // 2) - 1)
    lon_cells = np.minimum(
        np.floor((lon_a + 180.0) / width), 2 ** (5 * precision - 5 * precision // 2) - 1
    )
    return lat_cells * height - 90.0 + height / 2, lon_cells * width - 180.0 + width / 2
