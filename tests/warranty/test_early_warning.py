"""The early-warning detector: its statistics against independent computations, its baseline,
and what it finds on simulated programs with and without a supplier defect."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from scipy import stats

from drivetrain.demo.warranty_generator import SupplierDefect, WarrantyConfig, generate_warranty
from drivetrain.errors import InputError
from drivetrain.warranty.early_warning import (
    CELL,
    DetectorConfig,
    _cusum,
    _glr,
    cell_months,
    emerging_issues,
    merge_windows,
    naive_alerts,
    relative_alerts,
    score_cells,
)


def _brute_glr(y: np.ndarray, e: np.ndarray) -> np.ndarray:
    """For every end month, the best Poisson log-likelihood ratio over the runs ending there,
    from scipy's log-pmf (the rate's MLE is the run's observed count)."""
    out = np.zeros(len(y))
    for m in range(len(y)):
        best = 0.0
        for k in range(m + 1):
            observed, expected = y[k : m + 1].sum(), e[k : m + 1].sum()
            if observed > expected:
                ratio = stats.poisson.logpmf(observed, observed) - stats.poisson.logpmf(
                    observed, expected
                )
                best = max(best, float(ratio))
        out[m] = best
    return out


def test_glr_equals_the_likelihood_ratio_from_scipy() -> None:
    rng = np.random.default_rng(3)
    e = rng.uniform(0.05, 2.0, (6, 12))
    y = rng.poisson(e * rng.choice([1.0, 3.0], (6, 1))).astype(float)
    got = _glr(y, e)
    for row in range(6):
        assert got[row] == pytest.approx(_brute_glr(y[row], e[row]), abs=1e-9)
    cumulative = _glr(y, e, cumulative=True)
    for row in range(6):
        observed, expected = np.cumsum(y[row]), np.cumsum(e[row])
        ratio = stats.poisson.logpmf(observed, observed) - stats.poisson.logpmf(observed, expected)
        assert cumulative[row] == pytest.approx(np.where(observed > expected, ratio, 0), abs=1e-9)


def test_pooled_build_months_see_a_lot_no_single_month_shows() -> None:
    # three build months with 3 claims each against 0.5 expected: each alone is weak
    cells = _cells([(f"2024-0{b}", 1, 3, 0.5) for b in (2, 3, 4)])
    alone = score_cells(cells, DetectorConfig(h=5.0))
    pooled = score_cells(cells, DetectorConfig(h=5.0, window_months=3))
    single = 3 * np.log(3 / 0.5) - 2.5
    window = 9 * np.log(9 / 1.5) - 7.5
    assert alone["statistic"].to_list() == pytest.approx([single] * 3)
    assert pooled["statistic"].to_list() == pytest.approx([window] * 3)
    assert alone["alarm_mis"].null_count() == 3 and pooled["alarm_mis"].to_list() == [1, 1, 1]


def test_poisson_cusum_worked_by_hand() -> None:
    # rho = 2: step = y ln 2 - e; S = max(0, S + step)
    y = np.array([[0.0, 2.0, 0.0, 3.0]])
    e = np.full((1, 4), 0.5)
    ln2 = np.log(2.0)
    s1 = 0.0
    s2 = 2 * ln2 - 0.5
    s3 = s2 - 0.5
    s4 = s3 + 3 * ln2 - 0.5
    assert _cusum(y, e, 2.0)[0] == pytest.approx([s1, s2, s3, s4])


def _cells(rows: list[tuple[str, int, int, float]]) -> pl.DataFrame:
    """One component of one model and region: (build month, mis, claims, expected)."""
    return pl.DataFrame(
        {
            "causal_part": ["thermostat"] * len(rows),
            "model_id": ["m1"] * len(rows),
            "region": ["eu"] * len(rows),
            "build_month": [r[0] for r in rows],
            "mis": [r[1] for r in rows],
            "at_risk": [1000] * len(rows),
            "claims": [r[2] for r in rows],
            "expected": [r[3] for r in rows],
        }
    )


def test_a_cell_alarms_at_the_month_its_statistic_reaches_h() -> None:
    cells = _cells(
        [("2024-01", 1, 0, 0.2), ("2024-01", 2, 1, 0.2), ("2024-01", 3, 4, 0.2)]
        + [("2024-02", m, 0, 0.2) for m in (1, 2, 3)]
    )
    scored = score_cells(cells, DetectorConfig(h=5.0)).sort("build_month")
    bad, good = scored.row(0, named=True), scored.row(1, named=True)
    # cumulative (the default): months 1-3, 5 claims against 0.6 expected
    assert bad["statistic"] == pytest.approx(5 * np.log(5 / 0.6) - (5 - 0.6))
    assert bad["alarm_mis"] == 3
    assert bad["claims"] == 5
    # any run: month 3 alone (4 against 0.2) or months 2-3 (5 against 0.4), the larger
    month3 = 4 * np.log(4 / 0.2) - (4 - 0.2)
    months23 = 5 * np.log(5 / 0.4) - (5 - 0.4)
    anyrun = (
        score_cells(cells, DetectorConfig(h=5.0, runs="any")).sort("build_month").row(0, named=True)
    )
    assert anyrun["statistic"] == pytest.approx(max(month3, months23))
    assert good["statistic"] == 0.0 and good["alarm_mis"] is None


def test_adjacent_build_months_merge_into_one_window() -> None:
    alarms = pl.DataFrame(
        {
            "causal_part": ["thermostat"] * 4,
            "model_id": ["m1"] * 4,
            "region": ["eu"] * 4,
            "build_month": ["2024-02", "2024-03", "2024-04", "2024-08"],
            "statistic": [12.0, 30.0, 9.5, 10.0],
            "alarm_mis": [3, 2, 4, 5],
            "claims": [10, 20, 8, 4],
            "expected": [1.0, 1.0, 1.0, 0.5],
        }
    )
    issues = merge_windows(alarms)
    assert [i.build_months for i in issues] == [("2024-02", "2024-03", "2024-04"), ("2024-08",)]
    assert issues[0].claims == 38 and issues[0].alarm_mis == 2 and issues[0].statistic == 30.0
    assert issues[0].rate_ratio == pytest.approx(38 / 3)


def test_bad_detector_settings_are_refused() -> None:
    with pytest.raises(InputError, match="rho"):
        DetectorConfig(method="cusum", rho=1.0).validate()
    with pytest.raises(InputError, match="h must be positive"):
        DetectorConfig(h=0).validate()
    with pytest.raises(InputError, match="ratio"):
        relative_alerts(_cells([("2024-01", 1, 1, 0.1)]), 0)


def _history(defect: SupplierDefect | None, seed: int = 5):  # type: ignore[no-untyped-def]
    return generate_warranty(
        WarrantyConfig(
            seed=seed,
            per_model_month=150,
            models=("fiat-tipo", "hyundai-i30", "alfa-romeo-giulia"),
            defect=defect,
        )
    )


@pytest.fixture(scope="module")
def with_defect():  # type: ignore[no-untyped-def]
    return _history(SupplierDefect())


def test_exposure_and_claims_add_up_to_the_history(with_defect) -> None:  # type: ignore[no-untyped-def]
    as_of = date(2025, 6, 30)
    cells = cell_months(with_defect.claims, with_defect.production, as_of)
    # month 1 at risk: every vehicle sold at least one mean month before the analysis date
    sold = with_defect.production.filter(pl.col("sale_date") <= as_of - timedelta(days=31)).height
    month1 = cells.filter(pl.col("mis") == 1).group_by(*CELL).agg(pl.col("at_risk").first())
    per_part = month1.group_by("causal_part").agg(pl.col("at_risk").sum())
    assert set(per_part["at_risk"].to_list()) == {sold}  # each part sees the whole fleet
    # claims counted never exceed claims filed by then
    filed = with_defect.claims.filter(pl.col("claim_date") <= as_of).height
    assert 0 < cells["claims"].sum() <= filed


def test_the_bad_lot_does_not_raise_its_own_baseline(with_defect) -> None:  # type: ignore[no-untyped-def]
    cells = cell_months(with_defect.claims, with_defect.production, date(2025, 6, 30))
    thermostat = cells.filter(
        (pl.col("causal_part") == "thermostat") & (pl.col("model_id") == "fiat-tipo")
    )
    lot = thermostat.filter(pl.col("build_month").is_in(["2024-02", "2024-03", "2024-04"]))
    rest = thermostat.filter(~pl.col("build_month").is_in(["2024-02", "2024-03", "2024-04"]))
    lot_rate = lot["expected"].sum() / lot["at_risk"].sum()
    rest_rate = rest["expected"].sum() / rest["at_risk"].sum()
    observed_lot = lot["claims"].sum() / lot["at_risk"].sum()
    assert observed_lot > 10 * lot_rate  # the lot is far out of line ...
    assert lot_rate < 2 * rest_rate  # ... and its expectation is the others' level


def test_the_supplier_defect_is_found_and_nothing_else_of_that_part(with_defect) -> None:  # type: ignore[no-untyped-def]
    issues = emerging_issues(with_defect.claims, with_defect.production, date(2024, 9, 30))
    thermostat = [i for i in issues if i.causal_part == "thermostat"]
    assert thermostat, "the injected thermostat lot was not found"
    top = thermostat[0]
    assert top.model_id == "fiat-tipo"
    assert set(top.build_months) <= {"2024-02", "2024-03", "2024-04"}
    assert top.rate_ratio > 5
    assert all(i.model_id == "fiat-tipo" for i in thermostat)


def test_a_defect_free_history_raises_few_alerts() -> None:
    null = _history(None, seed=6)
    cells = cell_months(null.claims, null.production, date(2026, 10, 31))
    scored = score_cells(cells)
    share = scored["alarm_mis"].is_not_null().mean()
    assert share is not None and share < 0.01  # default h: about 0.2 % of cells in the evaluation


def test_naive_rule_alarms_on_the_cumulative_rate() -> None:
    cells = _cells([("2024-01", 1, 1, 0.1), ("2024-01", 2, 2, 0.1), ("2024-01", 3, 0, 0.1)])
    found = naive_alerts(cells, {"thermostat": 2.5}).row(0, named=True)
    # cumulative per thousand: 1, 3, 3 -> first at or above 2.5 in month 2
    assert found["statistic"] == pytest.approx(3.0)
    assert found["alarm_mis"] == 2
    assert naive_alerts(cells, {"thermostat": 10.0})["alarm_mis"][0] is None
