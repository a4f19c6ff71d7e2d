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


def _classes(series: dict[str, list[float]], **cuts: float) -> dict[str, dict[str, object]]:
    rows = [(k, t, v) for k, ys in series.items() for t, v in enumerate(ys)]
    out = classify(pl.DataFrame(rows, schema=["unique_id", "ds", "y"], orient="row"), **cuts)
    return {r["unique_id"]: r for r in out.iter_rows(named=True)}


def test_values_close_to_the_cut_offs_land_on_their_side() -> None:
    got = _classes(
        {
            "adi_1.25": [3.0, 3.0, 3.0, 0.0, 3.0, 0.0, 0.0, 0.0],  # demands in 1,2,3,5: 5/4
            "adi_1.40": [3.0, 3.0, 0.0, 3.0, 3.0, 0.0, 3.0, 0.0],  # 1,2,4,5,7: 7/5
            "cv2_0.47": [1.0, 2.9],  # sd 1.9/sqrt(2), mean 1.95: 2 * 1.9**2 / 3.9**2
            "cv2_0.50": [1.0, 3.0],  # sd sqrt(2), mean 2: 2/4
            "lumpy": [0.0, 1.0, 0.0, 3.0],  # ADI 2, CV2 0.5
            "sparse_steady": [0.0, 1.0, 0.0, 2.9],  # ADI 2, CV2 0.47
        }
    )
    expected = {
        "adi_1.25": (1.25, 0.0, "smooth"),
        "adi_1.40": (1.4, 0.0, "intermittent"),
        "cv2_0.47": (1.0, 2 * 1.9**2 / 3.9**2, "smooth"),
        "cv2_0.50": (1.0, 0.5, "erratic"),
        "lumpy": (2.0, 0.5, "lumpy"),
        "sparse_steady": (2.0, 2 * 1.9**2 / 3.9**2, "intermittent"),
    }
    for uid, (adi, cv2, cls) in expected.items():
        assert got[uid]["adi"] == pytest.approx(adi), uid
        assert got[uid]["cv2"] == pytest.approx(cv2), uid
        assert got[uid]["class"] == cls, uid


def test_the_interval_counts_from_the_series_start_and_ends_at_the_last_demand() -> None:
    # tsintermittent's convention: leading zeros lengthen the first interval,
    # trailing zeros (no demand yet since the last one) do not count
    got = _classes({"late": [0.0, 0.0, 5.0, 5.0], "trailing": [0.0, 0.0, 5.0] + [0.0] * 9})
    assert got["late"]["adi"] == 2.0 and got["late"]["class"] == "intermittent"
    assert got["trailing"]["adi"] == 3.0 and got["trailing"]["demands"] == 1
    assert got["trailing"]["periods"] == 12
    assert got["trailing"]["mean_demand"] == pytest.approx(5.0 / 12)


def test_a_series_without_demand_has_no_adi_or_cv2() -> None:
    got = _classes({"never": [0.0] * 10, "once": [0.0] * 9 + [4.0]})
    assert got["never"]["class"] == "no_demand" and got["never"]["demands"] == 0
    assert got["never"]["adi"] is None and got["never"]["cv2"] is None
    assert got["never"]["mean_demand"] == 0.0
    assert got["once"]["adi"] == 10.0 and got["once"]["cv2"] == 0.0
    assert got["once"]["class"] == "intermittent"


def test_the_cut_offs_can_be_moved() -> None:
    series = {
        "every_other": [0.0, 1.0] * 6,
        "varied": [1.0, 9.0] * 6,
    }  # CV2 (12 * 16 / 11) / 25 = 0.70
    default = _classes(series)
    assert (default["every_other"]["class"], default["varied"]["class"]) == (
        "intermittent",
        "erratic",
    )
    moved = _classes(series, adi_cut=2.5, cv2_cut=0.8)
    assert (moved["every_other"]["class"], moved["varied"]["class"]) == ("smooth", "smooth")


def test_row_order_does_not_matter() -> None:
    rng = np.random.default_rng(2)
    rows = [
        (f"S{i}", t, float(rng.poisson(1.0)) * (rng.random() < 0.5))
        for i in range(30)
        for t in range(24)
    ]
    frame = pl.DataFrame(rows, schema=["unique_id", "ds", "y"], orient="row")
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=9)
    assert classify(shuffled).equals(classify(frame))
    for row in classify(frame).iter_rows(named=True):
        y = frame.filter(pl.col("unique_id") == row["unique_id"])["y"].to_numpy()
        _, _, cls = _reference(y)
        assert row["class"] == cls
        assert row["periods"] == y.size and row["demands"] == int((y > 0).sum())
        assert row["mean_demand"] == pytest.approx(y.mean())


def test_carparts_is_overwhelmingly_intermittent(carparts: pl.DataFrame) -> None:
    # the published descriptions of this set (Hyndman et al. 2008; Syntetos & Boylan's
    # taxonomy applied in the intermittent-demand literature) call it sparse demand
    classes = classify(prepare_demand(carparts, freq=1).series)
    sparse = classes.filter(pl.col("class").is_in(["intermittent", "lumpy"])).height
    assert sparse / classes.height > 0.9
