"""The early-warning evaluation: thresholds at a false-alarm rate, and detector against rule."""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest

from drivetrain.demo.warranty_eval import _threshold, evaluate_warranty, month_ends
from drivetrain.demo.warranty_generator import SupplierDefect
from drivetrain.warranty.early_warning import CELL


def test_month_ends() -> None:
    assert month_ends(date(2024, 1, 15), date(2024, 4, 30)) == [
        date(2024, 1, 31),
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
    ]


def test_the_threshold_lets_exactly_the_allowed_share_of_cells_alarm() -> None:
    peaks = [float(i) for i in range(200)]  # one cell per peak, two dates each
    null = pl.DataFrame(
        {
            **{c: [f"{c}{i}" for i in range(200)] * 2 for c in CELL},
            "glr": peaks + [p / 2 for p in peaks],
        }
    )
    threshold = _threshold(null, "glr", 0.01)  # 2 of 200 may alarm
    alarmed = sum(p >= threshold for p in peaks)
    assert alarmed == 2
    assert _threshold(null.head(0), "glr", 0.01) == math.inf


@pytest.mark.slow
def test_the_detector_alerts_before_the_naive_rule_at_the_same_false_alarm_rate() -> None:
    evaluation = evaluate_warranty(
        (1,),
        defect=SupplierDefect(defective_share=0.03),
        per_model_month=150,
        target_far=0.01,
        months_after=12,
    )
    [result] = evaluation.results
    assert result.alert_mis["glr"] is not None
    naive = result.alert_mis["naive"]
    assert naive is None or naive >= result.alert_mis["glr"]
    assert evaluation.months_earlier()[0] >= 0
    for method, share in result.false_alarm_share.items():
        assert share <= 3 * evaluation.target_far, method  # held out: near the target
    summary = evaluation.summary()
    assert summary["alert_mis"]["glr"] == [result.alert_mis["glr"]]  # type: ignore[index]
