"""The planner's charts: a forecast fan whose bands hold the forecast, a trade-off curve."""

from __future__ import annotations

import io

import numpy as np
import polars as pl

from drivetrain.parts.inventory import StockingTerms, tradeoff_curve
from drivetrain.parts.plots import forecast_fan, tradeoff_plot


def test_the_fan_brackets_the_forecast_and_the_curve_has_a_point_per_target() -> None:
    rng = np.random.default_rng(0)
    y = np.where(rng.random(36) < 0.4, 1 + rng.poisson(2, 36), 0).astype(float)
    history = pl.DataFrame({"ds": list(range(36)), "y": y})
    forecast = pl.DataFrame({"ds": [36, 37, 38], "forecast": [1.2, 1.2, 4.0],
                             "model": ["IMAPA"] * 3})  # fmt: skip
    fig = forecast_fan(history, forecast, title="P1@D1")
    ax = fig.axes[0]
    bands = ax.collections  # the 90 % and the 50 % band
    assert len(bands) == 2
    outer = bands[0].get_paths()[0].vertices[:, 1]
    assert outer.max() >= 4.0 and outer.min() == 0.0  # the big month's mean sits inside
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["issued", "90 %", "50 %", "IMAPA"]
    curve = tradeoff_curve(y, 1.2, StockingTerms(lead_time=1))
    fig = tradeoff_plot(curve, title="P1@D1")
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2 and len(lines[0].get_xdata()) == curve.height
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:4] == b"\x89PNG"
