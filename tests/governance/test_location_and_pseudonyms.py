"""Geohash coarsening (checked against pygeohash) and keyed VIN pseudonyms."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pygeohash
import pytest

from drivetrain.errors import InputError, IntegrityError
from drivetrain.governance.location import cell_size, coarsen
from drivetrain.governance.pseudonyms import KEY_FILE, PseudonymKey


@pytest.mark.parametrize("precision", [1, 3, 5, 7, 9])
def test_coarsening_gives_the_geohash_cell_centre(precision: int) -> None:
    rng = np.random.default_rng(precision)
    lat, lon = rng.uniform(-89.9, 89.9, 300), rng.uniform(-179.9, 179.9, 300)
    clat, clon = coarsen(lat, lon, precision)
    for a, b, ca, cb in zip(lat, lon, clat, clon, strict=True):
        ref = pygeohash.decode_exactly(pygeohash.encode(a, b, precision=precision))
        assert ca == pytest.approx(ref.latitude, abs=1e-9)
        assert cb == pytest.approx(ref.longitude, abs=1e-9)


def test_cell_sizes_and_bad_precision() -> None:
    height, width = cell_size(5)
    assert (height, width) == (180 / 2**12, 360 / 2**13)  # about 4.9 km square
    with pytest.raises(InputError):
        cell_size(0)


def test_pseudonyms_are_keyed_stable_and_private(tmp_path: Path) -> None:
    key = PseudonymKey.load_or_create(tmp_path)
    vid = key.vehicle_id("1M8GDM9AXKP042788")
    assert vid.startswith("veh_") and len(vid) == 20
    assert PseudonymKey.load_or_create(tmp_path).vehicle_id("1m8gdm9axkp042788") == vid
    assert PseudonymKey.load_or_create(tmp_path / "other").vehicle_id("1M8GDM9AXKP042788") != vid
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert "secret" in repr(key) and (tmp_path / KEY_FILE).read_bytes().hex() not in repr(key)


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    PseudonymKey.load_or_create(tmp_path)
    (tmp_path / KEY_FILE).chmod(0o644)
    with pytest.raises(IntegrityError, match="readable by others"):
        PseudonymKey.load_or_create(tmp_path)
