"""ADI/CV2 classes against an independent numpy implementation of tsintermittent's idclass."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from drivetrain.parts.classify import classify
from drivetrain.parts.demand import prepare_demand


def _reference(y: np.ndarray) -> tuple[float, float, str]:
    """Kourentzes' idclass: ADI = mean interval between demands from the start, CV2 of sizes."""
    where = np.flatnonzero(y > 0) + 1
    if where.size == 0:
        return np.nan, np.nan, "no_demand"
    adi = float(np.mean(np.diff(np.concatenate([[0], where]))))
    sizes = y[y > 0]
    cv2 = float((np.std(sizes, ddof=1) / np.mean(sizes)) ** 2) if sizes.size > 1 else 0.0
    cls = {(False, False): "smooth", (False, True): "erratic", (True, False): "intermittent",
           (True, True): "lumpy"}[(adi >= 1.32, cv2 >= 0.49)]  # fmt: skip
    return adi, cv2, cls


def test_classes_match_the_reference_on_random_series() -> None:
    rng = np.random.default_rng(11)
    rows = []
    truth = {}
    for i in range(300):
        p = rng.uniform(0.05, 1.0)
        size = rng.choice([rng.poisson(3, 36) + 1, rng.geometric(0.15, 36)])
        y = np.where(rng.random(36) < p, size, 0).astype(float)
        if i == 0:
            y[:] = 0.0
        truth[f"S{i:03d}"] = _reference(y)
        rows += [(f"S{i:03d}", t, v) for t, v in enumerate(y)]
    out = classify(pl.DataFrame(rows, schema=["unique_id", "ds", "y"], orient="row"))
    assert out.height == 300
    for row in out.iter_rows(named=True):
        adi, cv2, cls = truth[row["unique_id"]]
        assert row["class"] == cls
        if cls == "no_demand":
            assert row["adi"] is None and row["cv2"] is None
        else:
            assert row["adi"] == pytest.approx(adi) and row["cv2"] == pytest.approx(cv2)
    assert set(out["class"]) == {"smooth", "erratic", "intermittent", "lumpy", "no_demand"}


def test_hand_worked_boundaries() -> None:
    series = {
        "every": [2.0] * 12,  # ADI 1, CV2 0: smooth
        "every_other": [0.0, 2.0] * 6,  # ADI 2 (first demand in period 2): intermittent
        "single": [0.0] * 11 + [5.0],  # ADI 12, one size: CV2 0, intermittent
        "wild": [1.0, 9.0] * 6,  # ADI 1; sizes 1 and 9: sd 4.18, mean 5 -> CV2 0.70: erratic
    }
    rows = [(k, t, v) for k, ys in series.items() for t, v in enumerate(ys)]
    out = classify(pl.DataFrame(rows, schema=["unique_id", "ds", "y"], orient="row"))
    got = dict(out.select("unique_id", "class").iter_rows())
    assert got == {"every": "smooth", "every_other": "intermittent", "single": "intermittent",
                   "wild": "erratic"}  # fmt: skip
    assert out.filter(pl.col("unique_id") == "single")["adi"][0] == 12.0


def test_carparts_is_overwhelmingly_intermittent(carparts: pl.DataFrame) -> None:
    # the published descriptions of this set (Hyndman et al. 2008; Syntetos & Boylan's
    # taxonomy applied in the intermittent-demand literature) call it sparse demand
    classes = classify(prepare_demand(carparts, freq=1).series)
    sparse = classes.filter(pl.col("class").is_in(["intermittent", "lumpy"])).height
    assert sparse / classes.height > 0.9
