"""The fleet-informed forecast: it wins where the fleet foresees a wave and does no harm elsewhere."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from drivetrain.errors import InputError
from drivetrain.parts.backtest import Backtest, backtest, score
from drivetrain.parts.fleet_demand import combine, fleet_adjustment, with_fleet

MONTHS = 48
WAVE_FROM = 36


def _network(seed: int = 3) -> tuple[pl.DataFrame, pl.DataFrame]:
    """60 dealer series of Poisson(0.6) demand; the first 30 get a wave of +3/month from month 36.

    The fleet signal knows the base rate and the wave (its expectation, not the draws).
    """
    rng = np.random.default_rng(seed)
    ids, ds, y, exp = [], [], [], []
    for i in range(60):
        wave = i < 30
        for t in range(MONTHS):
            rate = 0.6 + (3.0 if wave and t >= WAVE_FROM else 0.0)
            ids.append(f"P{i:02d}@D1")
            ds.append(t)
            y.append(float(rng.poisson(rate)))
            exp.append(rate)
    series = pl.DataFrame({"unique_id": ids, "ds": ds, "y": y})
    signal = pl.DataFrame({"unique_id": ids, "ds": ds, "expected": exp})
    return series, signal


def _rmse(result_scores: pl.DataFrame, model: str) -> float:
    return float(result_scores.filter(pl.col("model") == model)["rmse"][0])


def test_the_fleet_wins_on_a_foreseen_wave_and_does_no_harm_without_one() -> None:
    series, signal = _network()
    result = backtest(series, ["auto"], h=12, n_windows=1, freq=1)
    informed = with_fleet(result, signal, model="auto")
    wave = [f"P{i:02d}@D1" for i in range(30)]

    def part(flag: bool) -> pl.DataFrame:
        sub = informed.predictions.filter(pl.col("unique_id").is_in(wave) == flag)
        return score(Backtest(sub, informed.scales, (), 12, 1, 12))

    on_wave, off_wave = part(True), part(False)
    # the wave: history alone cannot see it, the fleet signal can, down to the
    # Poisson noise floor (the RMSE of the true mean is sqrt(3.6))
    assert _rmse(on_wave, "auto+fleet") < 1.1 * np.sqrt(3.6)
    assert _rmse(on_wave, "auto") > 1.5 * _rmse(on_wave, "auto+fleet")
    # no wave: the signal is flat, the forecast is the statistical one, to the unit
    assert _rmse(off_wave, "auto+fleet") == pytest.approx(_rmse(off_wave, "auto"), abs=1e-9)


def test_an_origin_sees_only_the_signal_issued_by_then() -> None:
    _, signal = _network()
    # vintage 1 (issued at month 20) does not know the wave; vintage 2 (month 40) does
    flat = signal.with_columns(pl.lit(0.6).alias("expected"), pl.lit(20).alias("issued"))
    late = signal.with_columns(pl.lit(40).alias("issued"))
    vintages = pl.concat([flat, late])
    origins = pl.DataFrame({"unique_id": ["P00@D1"], "cutoff": [WAVE_FROM - 1]})
    adj = fleet_adjustment(vintages, origins)
    assert adj.height == MONTHS - WAVE_FROM and adj["adjustment"].abs().max() == 0.0
    later = fleet_adjustment(
        vintages, origins.with_columns(pl.lit(41).alias("cutoff")), window=12
    )
    # at month 41 the wave is in the last 12 months of history only partly (months 36-41)
    assert later["adjustment"][0] == pytest.approx(3.6 - (6 * 0.6 + 6 * 3.6) / 12)
    # the default window (3 periods) holds the wave already: nothing left to add
    recent = fleet_adjustment(vintages, origins.with_columns(pl.lit(41).alias("cutoff")))
    assert recent["adjustment"].abs().max() == pytest.approx(0.0)


def test_combine_names_the_model_and_never_goes_negative() -> None:
    forecast = pl.DataFrame(
        {"unique_id": ["A", "A", "B"], "ds": [10, 11, 10], "model": ["IMAPA"] * 3,
         "forecast": [1.0, 1.0, 2.0]}
    )  # fmt: skip
    # A's fleet expects 5 a month until 9, then 0: the level falls away
    signal = pl.DataFrame(
        {"unique_id": ["A"] * 12, "ds": list(range(12)), "expected": [5.0] * 10 + [0.0, 0.0]}
    )
    ends = pl.DataFrame({"unique_id": ["A", "B"], "cutoff": [9, 9]})
    out = combine(forecast, signal, ends, window=4).sort("unique_id", "ds")
    assert out["model"].unique().to_list() == ["IMAPA+fleet"]
    assert out["forecast"].to_list() == [0.0, 0.0, 2.0]  # A: 1 + (0 - 5) clipped; B: no signal
    assert out["adjustment"].to_list() == [-5.0, -5.0, 0.0]


def test_a_bad_signal_is_refused() -> None:
    ends = pl.DataFrame({"unique_id": ["A"], "cutoff": [3]})
    with pytest.raises(InputError, match="lacks the column"):
        fleet_adjustment(pl.DataFrame({"unique_id": ["A"], "ds": [4]}), ends)
    bad = pl.DataFrame({"unique_id": ["A"], "ds": [4], "expected": [-1.0]})
    with pytest.raises(InputError, match="negative or missing"):
        fleet_adjustment(bad, ends)
    with pytest.raises(InputError, match="window"):
        fleet_adjustment(bad.with_columns(pl.lit(1.0).alias("expected")), ends, window=0)
