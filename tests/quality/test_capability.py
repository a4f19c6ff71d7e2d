"""Process capability against published worked examples and independent computations.

Published: Montgomery, *Introduction to Statistical Quality Control* (7th ed., Wiley 2013) —
the piston-ring data of Table 6.3 and its capability estimate, the chi-square interval on
Cp and Bissell's interval on Cpk of chapter 8; the NIST/SEMATECH e-Handbook of Statistical
Methods, §6.1.6 "What is Process Capability?". Independent: mistat's port of R's qcc
(``mistat.qcc.ProcessCapability``), statsmodels' ``normal_ad``, and scipy fits and
quantiles computed here directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl
import pytest
from scipy import special, stats

from drivetrain.errors import InputError
from drivetrain.quality.capability import Capability, capability_table, process_capability
from drivetrain.quality.capability_nonnormal import (
    P_HIGH,
    P_LOW,
    PERCENTILE_MIN_N,
    percentile_indices,
)
from drivetrain.quality.constants import c4, d2

# Montgomery (7th ed.) Table 6.3, inside diameters (mm) of forged piston rings: the 25
# preliminary subgroups of 5 (the rows of ``pyspc.sampledata.pistonrings[:25]``).
PISTON_RINGS = np.array([
    [74.030, 74.002, 74.019, 73.992, 74.008], [73.995, 73.992, 74.001, 74.011, 74.004],
    [73.988, 74.024, 74.021, 74.005, 74.002], [74.002, 73.996, 73.993, 74.015, 74.009],
    [73.992, 74.007, 74.015, 73.989, 74.014], [74.009, 73.994, 73.997, 73.985, 73.993],
    [73.995, 74.006, 73.994, 74.000, 74.005], [73.985, 74.003, 73.993, 74.015, 73.988],
    [74.008, 73.995, 74.009, 74.005, 74.004], [73.998, 74.000, 73.990, 74.007, 73.995],
    [73.994, 73.998, 73.994, 73.995, 73.990], [74.004, 74.000, 74.007, 74.000, 73.996],
    [73.983, 74.002, 73.998, 73.997, 74.012], [74.006, 73.967, 73.994, 74.000, 73.984],
    [74.012, 74.014, 73.998, 73.999, 74.007], [74.000, 73.984, 74.005, 73.998, 73.996],
    [73.994, 74.012, 73.986, 74.005, 74.007], [74.006, 74.010, 74.018, 74.003, 74.000],
    [73.984, 74.002, 74.003, 74.005, 73.997], [74.000, 74.010, 74.013, 74.020, 74.003],
    [73.988, 74.001, 74.009, 74.005, 73.996], [74.004, 73.999, 73.990, 74.006, 74.009],
    [74.010, 73.989, 73.990, 74.009, 74.014], [74.015, 74.008, 73.993, 74.000, 74.010],
    [73.982, 73.984, 73.995, 74.017, 74.013],
])  # fmt: skip
LSL, USL = 73.95, 74.05  # 74.000 ± 0.05 mm


def _exact_sample(n: int, mean: float, sd: float, seed: int = 1) -> np.ndarray:
    """n normal-looking values whose sample mean and standard deviation are exactly these."""
    z = np.random.default_rng(seed).standard_normal(n)
    return mean + sd * (z - z.mean()) / z.std(ddof=1)


# --- published worked examples ---------------------------------------------------------


def test_piston_rings_reproduce_montgomery_capability() -> None:
    # Montgomery: x̿ = 74.001, R̄ = 0.023, σ̂ = R̄/d2 = 0.023/2.326 = 0.0099, Ĉp = 0.10/(6·0.0099)
    # = 1.68. The book rounds at each step (R̄ to 0.023, σ̂ to 0.0099); from the unrounded
    # R̄ = 0.02276 the same formula gives σ̂ = 0.00979 and Ĉp = 1.70 (mistat's qcc port: 1.703).
    rings = process_capability(PISTON_RINGS, lsl=LSL, usl=USL, within="rbar")
    r_bar = rings.sigma_within * d2(5)
    assert round(rings.mean, 3) == 74.001
    assert round(r_bar, 3) == 0.023
    assert round(rings.cp, 2) == 1.70
    assert round(0.023 / d2(5), 4) == 0.0099
    book = process_capability(PISTON_RINGS, lsl=LSL, usl=USL, sigma_within=0.0099)
    assert round(book.cp, 2) == 1.68
    assert rings.method == "normal" and rings.normality.normal
    assert rings.n == 125 and rings.observed_ppm == 0.0


def test_montgomery_chi_square_interval_on_cp() -> None:
    # Montgomery ch. 8 (CIs on process capability ratios): USL = 62, LSL = 38, n = 20,
    # s = 1.75 → Ĉp = 2.29 and 2.29·√(8.91/19) ≤ Cp ≤ 2.29·√(32.85/19), 1.57 ≤ Cp ≤ 3.01.
    # The book carries Ĉp = 2.29 (24/10.5 = 2.2857) into the interval; so do we, with the
    # sample whose s makes Ĉp exactly 2.29 (unrounded, the lower end is 1.565).
    assert round(24.0 / (6 * 1.75), 2) == 2.29
    cap = process_capability(_exact_sample(20, 50.0, 4.0 / 2.29), lsl=38.0, usl=62.0)
    assert cap.pp == pytest.approx(2.29, abs=1e-12)
    assert cap.pp_ci is not None
    assert (round(cap.pp_ci.low, 2), round(cap.pp_ci.high, 2)) == (1.57, 3.01)
    assert cap.pp_ci.level == 0.95


def test_bissell_interval_on_cpk_as_in_montgomery() -> None:
    # Montgomery ch. 8: n = 20, Ĉpk = 1.33, 95 % → 1.33[1 ± 1.96√(1/(9·20·1.33²) + 1/(2·19))],
    # 0.88 ≤ Cpk ≤ 1.78.
    cap = process_capability(_exact_sample(20, 10.0, 1.0), lsl=4.0, usl=10.0 + 3 * 1.33)
    assert cap.ppk == pytest.approx(1.33, abs=1e-12)
    assert cap.ppk_ci is not None
    assert (round(cap.ppk_ci.low, 2), round(cap.ppk_ci.high, 2)) == (0.88, 1.78)


def test_nist_handbook_cp_and_cpk() -> None:
    # NIST/SEMATECH e-Handbook §6.1.6: USL = 20, LSL = 8, x̄ = 16, s = 2 → Ĉp = 12/(6·2) = 1.0;
    # k̂ = |14 − 16|/6 = 0.3333 and Ĉpk = Ĉp(1 − k̂) = 0.6667.
    cap = process_capability(_exact_sample(50, 16.0, 2.0), lsl=8.0, usl=20.0)
    assert cap.pp == pytest.approx(1.0, abs=1e-12)
    assert round(cap.ppk, 4) == 0.6667
    assert cap.ppu == cap.ppk < cap.ppl


# --- independent computations ----------------------------------------------------------


@pytest.fixture(scope="module")
def mistat_qcc() -> tuple[Any, Any]:
    pytest.importorskip("mistat")
    from mistat.qcc import ProcessCapability, QualityControlChart  # type: ignore[import-untyped]

    return ProcessCapability, QualityControlChart


def test_within_indices_match_qcc_on_piston_rings(mistat_qcc: tuple[Any, Any]) -> None:
    # like for like: qcc's default xbar sigma is R̄/d2 (UWAVE-R) — our within="rbar" — but
    # with d2(5) = 2.326 from a rounded table where ours is computed (2.325929), hence 1e-4
    process, chart = mistat_qcc
    theirs = process(chart(PISTON_RINGS, qcc_type="xbar", nsigmas=3), spec_limits=[LSL, USL])
    ours = process_capability(PISTON_RINGS, lsl=LSL, usl=USL, within="rbar")
    assert ours.sigma_within == pytest.approx(theirs.std_dev, rel=1e-4)
    for name, theirs_name in (("cp", "Cp"), ("cpl", "Cp_l"), ("cpu", "Cp_u"), ("cpk", "Cp_k")):
        assert getattr(ours, name) == pytest.approx(getattr(theirs, theirs_name), rel=1e-4)


def test_overall_indices_intervals_and_ppm_match_qcc(mistat_qcc: tuple[Any, Any]) -> None:
    # qcc computes its "Cp" family from whatever sigma it is given: given the overall sample
    # SD, its Cp, Cpk and their intervals are our Pp, Ppk and theirs (df = n − 1 in both), its
    # Cpm is ours (overall sigma), and its expected fractions use the same normal model.
    process, chart = mistat_qcc
    ours = process_capability(PISTON_RINGS, lsl=LSL, usl=USL)
    theirs = process(
        chart(PISTON_RINGS, qcc_type="xbar", nsigmas=3),
        spec_limits=[LSL, USL],
        std_dev=ours.sigma_overall,
    )
    assert ours.pp == pytest.approx(theirs.Cp, rel=1e-12)
    assert ours.ppk == pytest.approx(theirs.Cp_k, rel=1e-12)
    assert ours.cpm == pytest.approx(theirs.Cpm, rel=1e-12)
    assert ours.pp_ci is not None and ours.ppk_ci is not None
    assert (ours.pp_ci.low, ours.pp_ci.high) == pytest.approx(theirs.Cp_limits, rel=1e-12)
    assert (ours.ppk_ci.low, ours.ppk_ci.high) == pytest.approx(theirs.Cp_k_limits, rel=1e-12)
    assert ours.ppm_below == pytest.approx(theirs.exp_LSL * 1e4, rel=1e-9)
    assert ours.ppm_above == pytest.approx(theirs.exp_USL * 1e4, rel=1e-9)
    # qcc's Cpm interval uses df = n(1 + ξ²)/(1 + 2ξ²); Boyles' (and Montgomery's) squares
    # the numerator's (1 + ξ²). The two differ slightly here (ξ = 0.12) — ours is Boyles'.
    assert ours.cpm_ci is not None and ours.cpm_ci.low != pytest.approx(theirs.Cpm_limits[0])


def test_unequal_subgroups_match_qcc_pooled_and_sbar(mistat_qcc: tuple[Any, Any]) -> None:
    # qcc takes unequal subgroups as NaN-padded rows; RMSDF is the pooled SD with
    # c4(Σ(nᵢ − 1) + 1), UWAVE-SD the mean of sᵢ/c4(nᵢ)
    from mistat.qcc.statistics import SD_estimator  # type: ignore[import-untyped]

    _, chart = mistat_qcc
    padded = PISTON_RINGS.copy()
    padded[0, 4] = padded[3, 3:] = padded[7, 2:] = np.nan
    values, labels = padded.ravel(), np.repeat(np.arange(25), 5)
    keep = ~np.isnan(values)
    for within, estimator in (("pooled", SD_estimator.rmsdf), ("sbar", SD_estimator.uwave_sd)):
        ours = process_capability(
            values[keep], subgroups=labels[keep], lsl=LSL, usl=USL, within=within
        )
        theirs = chart(padded, qcc_type="xbar", std_dev=estimator).std_dev
        assert ours.sigma_within == pytest.approx(theirs, rel=1e-12)


def test_typed_piston_rings_are_pyspc_sample_data() -> None:
    sampledata = pytest.importorskip("pyspc.sampledata")
    assert np.array_equal(np.asarray(sampledata.pistonrings)[:25], PISTON_RINGS)


def test_cp_interval_uses_the_degrees_of_freedom_of_the_within_estimate() -> None:
    # Minitab: df = Σ(nᵢ − 1) for the pooled SD, 0.9·k(n − 1) for R̄, N − 1 overall
    for within, df in (("pooled", 100.0), ("rbar", 0.9 * 25 * 4)):
        cap = process_capability(PISTON_RINGS, lsl=LSL, usl=USL, within=within)
        q = stats.chi2.ppf([0.025, 0.975], df)
        assert cap.cp_ci is not None
        assert (cap.cp_ci.low, cap.cp_ci.high) == pytest.approx(cap.cp * np.sqrt(q / df))
        z = stats.norm.ppf(0.975) * math.sqrt(1 / (9 * 125) + cap.cpk**2 / (2 * df))
        assert cap.cpk_ci is not None
        assert (cap.cpk_ci.low, cap.cpk_ci.high) == pytest.approx((cap.cpk - z, cap.cpk + z))


def test_cpm_and_its_boyles_interval_off_target() -> None:
    x = _exact_sample(40, 10.4, 0.5)
    cap = process_capability(x, lsl=8.0, usl=12.0, target=10.0, level=0.90)
    tau = math.sqrt(0.5**2 + 0.4**2)
    assert cap.cpm == pytest.approx(2.0 / (3 * tau))
    xi2 = (0.4 / 0.5) ** 2
    df = 40 * (1 + xi2) ** 2 / (1 + 2 * xi2)
    q = stats.chi2.ppf([0.05, 0.95], df)
    assert cap.cpm_ci is not None and cap.cpm_ci.level == 0.90
    assert (cap.cpm_ci.low, cap.cpm_ci.high) == pytest.approx(cap.cpm * np.sqrt(q / df))
    # an asymmetric target: the nearer limit decides, min(USL − T, T − LSL)/3τ
    off = process_capability(x, lsl=8.0, usl=12.0, target=11.0)
    assert off.cpm == pytest.approx(1.0 / (3 * math.sqrt(0.25 + 0.36)))


@pytest.mark.parametrize(
    ("name", "draw", "lsl", "usl"),
    [
        ("lognormal", lambda g: g.lognormal(0.7, 0.4, 3000), 0.8, 8.0),
        ("weibull", lambda g: 5.0 * g.weibull(2.5, 3000), 0.5, 11.0),
        ("gamma", lambda g: g.gamma(4.0, 0.5, 3000), 0.2, 7.0),
    ],
)
def test_fitted_percentile_indices_match_a_direct_scipy_computation(
    name: str, draw: Callable[[np.random.Generator], np.ndarray], lsl: float, usl: float
) -> None:
    x = draw(np.random.default_rng(11))
    cap = process_capability(x, lsl=lsl, usl=usl, method="fit", distribution=name)
    rv = {"lognormal": stats.lognorm, "weibull": stats.weibull_min, "gamma": stats.gamma}[name]
    model = rv(*rv.fit(x, floc=0))
    low, mid, high = model.ppf([0.00134990, 0.5, 0.99865010])
    assert cap.method == name
    assert cap.pp == pytest.approx((usl - lsl) / (high - low), rel=1e-6)
    assert cap.ppl == pytest.approx((mid - lsl) / (mid - low), rel=1e-6)
    assert cap.ppu == pytest.approx((usl - mid) / (high - mid), rel=1e-6)
    assert cap.ppk == min(cap.ppl, cap.ppu)
    assert cap.ppm_below == pytest.approx(model.cdf(lsl) * 1e6, rel=1e-6)
    assert cap.ppm_above == pytest.approx(model.sf(usl) * 1e6, rel=1e-6)
    assert cap.cp is cap.cpk is cap.cpm is cap.pp_ci is None
    assert any("Cp, Cpk, Cpm and the intervals are not defined" in n for n in cap.notes)


def test_lognormal_indices_approach_the_population_values() -> None:
    # the truth for lognormal(μ = 0.7, σ = 0.4): Xₚ = exp(μ + σ·Φ⁻¹(p)); with n = 3000 the
    # fitted quantiles are within ~3 %, the empirical 0.135 % points within ~15 %
    mu, sd, lsl, usl = 0.7, 0.4, 0.8, 8.0
    low, mid, high = np.exp(mu + sd * special.ndtri([P_LOW, 0.5, P_HIGH]))
    truth = {"pp": (usl - lsl) / (high - low), "ppl": (mid - lsl) / (mid - low)}
    truth["ppu"] = (usl - mid) / (high - mid)
    x = np.random.default_rng(0).lognormal(mu, sd, 3000)
    fitted = process_capability(x, lsl=lsl, usl=usl)
    assert fitted.method == "lognormal"  # auto: normality rejected, lognormal the best A²
    empirical = process_capability(x, lsl=lsl, usl=usl, method="percentile")
    assert empirical.method == "percentile" and empirical.ppm_total is None
    q = np.quantile(x, [P_LOW, 0.5, P_HIGH])
    assert empirical.pp == pytest.approx((usl - lsl) / (q[2] - q[0]), rel=1e-12)
    for name, value in truth.items():
        assert getattr(fitted, name) == pytest.approx(value, rel=0.05)
        assert getattr(empirical, name) == pytest.approx(value, rel=0.2)


def test_percentile_indices_of_a_normal_model_equal_the_normal_indices() -> None:
    # the tail points are Φ(±3) exactly, so a normal's X_high − X_low is 6σ and the
    # percentile Pp, Ppl, Ppu equal the normal ones
    quantiles = stats.norm(5.0, 1.0).ppf([P_LOW, 0.5, P_HIGH])
    pp, ppl, ppu, ppk = percentile_indices(quantiles, 1.0, 9.5)
    assert (pp, ppl, ppu, ppk) == pytest.approx((8.5 / 6.0, 4.0 / 3.0, 4.5 / 3.0, 4.0 / 3.0))


# --- normality -------------------------------------------------------------------------


def test_anderson_darling_matches_statsmodels_in_every_branch() -> None:
    from statsmodels.stats.diagnostic import normal_ad

    def normal(seed: int, n: int = 40) -> np.ndarray:
        return np.random.default_rng(seed).normal(0.0, 1.0, n)

    samples = [
        stats.norm.ppf((np.arange(1, 21) - 0.375) / 20.25),  # normal scores: A*² < 0.2
        normal(2),  # A*² = 0.28
        normal(8),  # 0.37
        normal(1),  # 0.54
        normal(3),  # 0.70
        np.random.default_rng(7).standard_t(4, 100),  # 1.04, p = 0.01
        np.random.default_rng(7).exponential(1.0, 60),  # p < 1e-6
        normal(9, 8),  # the smallest n the p-value formula is meant for
    ]
    branches = set()
    for x in samples:
        statistic, p = normal_ad(x)
        cap = process_capability(x, lsl=float(x.min()) - 1.0, method="normal")
        assert cap.normality.test == "anderson-darling" and cap.normality.n == x.size
        assert cap.normality.statistic == pytest.approx(statistic, rel=1e-10)
        assert cap.normality.p_value == pytest.approx(p, rel=1e-9)
        assert cap.normality.normal == (p >= 0.05)
        adjusted = statistic * (1 + 0.75 / x.size + 2.25 / x.size**2)
        branches.add(int(np.searchsorted([0.2, 0.34, 0.6], adjusted, side="right")))
    assert branches == {0, 1, 2, 3}


def test_auto_keeps_normal_data_normal_and_fits_skewed_data() -> None:
    normal = process_capability(np.random.default_rng(3).normal(10, 1, 500), lsl=6, usl=14)
    assert normal.method == "normal" and normal.normality.normal
    # skewed: lognormal(0, 0.5) with limits at its 0.5 % and 99 % points
    x = np.random.default_rng(4).lognormal(0.0, 0.5, 5000)
    lsl, usl = math.exp(0.5 * -2.5758), math.exp(0.5 * 2.3263)
    fitted = process_capability(x, lsl=lsl, usl=usl)
    assert fitted.method in ("lognormal", "weibull", "gamma")
    assert not fitted.normality.normal
    forced = process_capability(x, lsl=lsl, usl=usl, method="normal")
    assert any("normality is rejected" in n for n in forced.notes)
    assert fitted.ppm_total is not None and forced.ppm_total is not None
    observed = fitted.observed_ppm
    assert 10_000 < observed < 20_000
    assert abs(fitted.ppm_total - observed) < 0.2 * observed < abs(forced.ppm_total - observed)


# --- subgroups, one-sided specifications, notes -----------------------------------------


def test_pooled_sigma_counts_each_subgroup_by_its_degrees_of_freedom() -> None:
    values = np.array([10.1, 9.8, 10.3, 10.0, 9.7, 10.2, 10.4, 9.9, 10.6, 10.05])
    labels = ["a", "a", "a", "b", "b", "c", "c", "c", "c", "d"]  # sizes 3, 2, 4, 1
    cap = process_capability(values, subgroups=labels, lsl=9.0, usl=11.0)
    groups = [values[:3], values[3:5], values[5:9]]
    df = sum(g.size - 1 for g in groups)
    pooled = math.sqrt(sum((g.size - 1) * g.var(ddof=1) for g in groups) / df) / c4(df + 1)
    assert cap.sigma_within == pytest.approx(pooled, rel=1e-12)
    assert any("1 subgroup(s) of one value" in n for n in cap.notes)
    assert cap.cp_ci is not None


def test_individuals_use_the_average_moving_range() -> None:
    x = np.array([5.0, 5.4, 4.9, 5.2, 5.6, 5.1, 4.8, 5.3])
    mr = np.abs(np.diff(x)).mean() / d2(2)
    alone = process_capability(x, lsl=4.0, usl=6.5)
    all_ones = process_capability(x, lsl=4.0, usl=6.5, subgroups=list(range(8)))
    assert alone.sigma_within == all_ones.sigma_within == pytest.approx(mr)
    assert any("MR̄/d2(2)" in n for n in alone.notes)


def test_one_sided_specification() -> None:
    cap = process_capability(_exact_sample(30, 2.0, 0.5), usl=4.0)
    assert cap.cp is cap.pp is cap.cpl is cap.cpm is cap.ppm_below is None
    assert cap.cpk == cap.cpu and cap.ppk == cap.ppu == pytest.approx(4.0 / 3.0)
    assert cap.ppm_total == cap.ppm_above == pytest.approx(special.ndtr(-4.0) * 1e6)
    assert "one-sided specification: Cp and Pp undefined" in cap.notes
    with_target = process_capability(_exact_sample(30, 2.0, 0.5), usl=4.0, target=2.0)
    assert with_target.cpm == pytest.approx(2.0 / 1.5)


def test_given_sigma_within_overrides_and_has_no_interval() -> None:
    cap = process_capability(PISTON_RINGS, lsl=LSL, usl=USL, sigma_within=0.01)
    assert cap.cp == pytest.approx(0.1 / 0.06) and cap.cp_ci is None and cap.cpk_ci is None
    assert cap.pp_ci is not None


# --- bad input: an InputError that says what to do ---------------------------------------


@pytest.mark.parametrize(
    ("values", "options", "phrase"),
    [
        ([1.0], {"usl": 2.0}, "at least 2"),
        ([1.0, 2.0, float("nan"), 4.0], {"usl": 5.0}, "1 of 4 values are not finite numbers"),
        ([1.0, math.inf, 3.0], {"usl": 5.0}, "position 1"),
        ([1.0, "2.0", None, 3.0], {"usl": 5.0}, "2 of 4 values"),
        (pl.Series([1.0, None, 3.0]), {"usl": 5.0}, "position 1"),
        ([1.0, True, 3.0], {"usl": 5.0}, "not finite numbers"),
        ([1.0, 2.0, 3.0], {}, "pass lsl=, usl= or both"),
        ([1.0, 2.0, 3.0], {"lsl": 5.0, "usl": 4.0}, "is not below usl"),
        ([1.0, 2.0, 3.0], {"lsl": 0.0, "usl": 4.0, "target": 4.5}, "outside the specification"),
        ([1.0, 2.0, 3.0], {"lsl": float("nan"), "usl": 4.0}, "not a finite number"),
        ([2.5] * 12, {"lsl": 0.0, "usl": 4.0}, "measure finer"),
        ([1.0, 2.0, 3.0], {"usl": 4.0, "subgroups": [1, 1]}, "one label per value"),
        ([1.0, 2.0, 3.0], {"usl": 4.0, "subgroups": [1, None, 2]}, "subgroups=None"),
        ([1.0, 2.0, 3.0, 4.0], {"usl": 5.0, "subgroups": 0}, "subgroup size of 1 or more"),
        ([1.0, 1.0, 2.0, 2.0], {"usl": 5.0, "subgroups": 2}, "within-subgroup spread is zero"),
        ([1.0, 2.0, 3.0], {"usl": 5.0, "within": "sbar"}, "pass subgroups="),
        ([1.0, 2.0, 3.0, 4.0], {"usl": 5.0, "within": "mrbar", "subgroups": 2}, "drop subgroups"),
        ([1.0, 2.0, 3.0], {"usl": 5.0, "within": "median"}, "use one of"),
        ([1.0, 2.0, 3.0], {"usl": 5.0, "method": "johnson"}, "use one of"),
        ([1.0, 2.0, 3.0], {"usl": 5.0, "distribution": "gamma"}, "needs method='fit'"),
        ([1.0, 2.0, 3.0], {"usl": 5.0, "level": 95}, "not a probability"),
        ([1.0, 2.0, 3.0], {"usl": 5.0, "sigma_within": 0.0}, "not a positive number"),
        ([1.0, 2.0, 3.0], {"usl": 5.0, "method": "percentile"}, f"at least {PERCENTILE_MIN_N}"),
        ([-1.0, 2.0, 3.0], {"usl": 5.0, "method": "fit"}, "shift the data to a natural zero"),
    ],
)
def test_bad_input_is_refused_with_what_to_do(
    values: Any, options: dict[str, Any], phrase: str
) -> None:
    with pytest.raises(InputError) as caught:
        process_capability(values, **options)
    assert phrase in str(caught.value)  # the message and its hint
    assert caught.value.hint


def test_rbar_names_the_unequal_sizes_and_suggests_pooled() -> None:
    values = PISTON_RINGS.ravel()[:23]
    labels = np.repeat(np.arange(5), 5)[:23]  # four of 5 and one of 3
    with pytest.raises(InputError, match=r"4 of 5, 1 of 3.*within='pooled'"):
        process_capability(values, subgroups=labels, lsl=LSL, usl=USL, within="rbar")
    with pytest.raises(InputError, match="1 of 2 hold one"):
        process_capability([1.0, 2.0, 3.0], subgroups=[1, 1, 2], usl=5.0, within="sbar")


def test_skewed_data_with_negative_values_and_few_points_are_refused() -> None:
    x = np.random.default_rng(5).lognormal(0, 0.8, 200) - 1.0
    with pytest.raises(InputError, match="too few for the percentile method"):
        process_capability(x, usl=10.0)
    assert process_capability(x, usl=10.0, method="normal").method == "normal"


# --- the fleet-wide table --------------------------------------------------------------


def _long_table() -> pl.DataFrame:
    rings = PISTON_RINGS.ravel()
    g = np.random.default_rng(8)
    length = g.normal(120.0, 0.2, 60)
    coating = g.lognormal(np.log(30.0), 0.3, 400)
    parts = [
        pl.DataFrame({
            "characteristic": "bore", "value": rings[:-2],  # the last subgroup has 3: unequal
            "subgroup": np.repeat(np.arange(25), 5)[:-2], "lsl": LSL, "usl": USL,
            "target": None,
        }),
        pl.DataFrame({
            "characteristic": "length", "value": length, "subgroup": None, "lsl": None,
            "usl": 121.0, "target": None,
        }),
        pl.DataFrame({
            "characteristic": "coating", "value": coating, "subgroup": None, "lsl": 10.0,
            "usl": 90.0, "target": 30.0,
        }),
        pl.DataFrame({
            "characteristic": "flat", "value": [3.0] * 10, "subgroup": None, "lsl": 0.0,
            "usl": 5.0, "target": None,
        }),
    ]  # fmt: skip
    schema = {"characteristic": pl.String, "value": pl.Float64, "subgroup": pl.Int64,
              "lsl": pl.Float64, "usl": pl.Float64, "target": pl.Float64}  # fmt: skip
    return pl.concat([p.cast(schema) for p in parts])  # type: ignore[arg-type]


def _same(got: Any, want: float | None) -> bool:
    return got is None if want is None else got == pytest.approx(want, rel=1e-12)


def _expect_row(row: dict[str, Any], cap: Capability) -> None:
    assert (row["n"], row["method"]) == (cap.n, cap.method)
    for name in ("mean", "median", "sigma_within", "sigma_overall", "lsl", "usl", "target",
                 "cp", "cpl", "cpu", "cpk", "pp", "ppl", "ppu", "ppk", "cpm",
                 "ppm_below", "ppm_above", "ppm_total", "observed_ppm"):  # fmt: skip
        assert _same(row[name], getattr(cap, name)), name
    for name in ("cp", "cpk", "pp", "ppk", "cpm"):
        ci = getattr(cap, f"{name}_ci")
        assert _same(row[f"{name}_low"], ci and ci.low), name
        assert _same(row[f"{name}_high"], ci and ci.high), name
    assert _same(row["normality_p"], cap.normality.p_value)
    assert row["notes"] == list(cap.notes) and row["error"] is None


def test_table_equals_one_call_per_characteristic() -> None:
    frame = _long_table()
    table = capability_table(frame)
    assert table.get_column("characteristic").to_list() == ["bore", "length", "coating", "flat"]
    rows = {r["characteristic"]: r for r in table.iter_rows(named=True)}
    bore = frame.filter(pl.col("characteristic") == "bore")
    _expect_row(
        rows["bore"],
        process_capability(bore["value"], subgroups=bore["subgroup"], lsl=LSL, usl=USL),
    )
    length = frame.filter(pl.col("characteristic") == "length")["value"]
    _expect_row(rows["length"], process_capability(length, usl=121.0))
    coating = frame.filter(pl.col("characteristic") == "coating")["value"]
    _expect_row(rows["coating"], process_capability(coating, lsl=10.0, usl=90.0, target=30.0))
    assert rows["coating"]["method"] == "lognormal" and rows["length"]["cp"] is None
    flat = rows["flat"]
    assert flat["n"] == 10 and flat["cpk"] is None and flat["lsl"] == 0.0
    assert flat["error"].startswith("characteristic='flat': all 10 values equal 3")
    assert table.schema["cp_low"] == pl.Float64 and table.schema["notes"] == pl.List(pl.String)


def test_table_refuses_an_inconsistent_specification_and_missing_columns() -> None:
    frame = _long_table().with_columns(
        usl=pl.when(pl.int_range(pl.len()) == 3).then(74.06).otherwise(pl.col("usl"))
    )
    with pytest.raises(InputError, match=r"usl differs within characteristic='bore'"):
        capability_table(frame)
    with pytest.raises(InputError, match=r"lacks column\(s\) station.*None"):
        capability_table(_long_table(), by=["characteristic", "station"])
    text = _long_table().with_columns(pl.col("value").cast(pl.String))
    with pytest.raises(InputError, match="not numbers"):
        capability_table(text)
    none = capability_table(_long_table().head(0))
    assert none.height == 0 and "ppm_total" in none.columns
