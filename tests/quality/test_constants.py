"""Chart constants computed from their definitions against the published tables.

Reference: D. C. Montgomery, *Introduction to Statistical Quality Control*,
7th ed., Wiley 2013, Appendix VI "Factors for constructing variables control
charts" (also ASTM E2587 and the NIST/SEMATECH e-Handbook §6.3.2). The table
prints three decimals (four for c4); we accept the printed rounding.
The second reference is the high-precision table of R's qcc as mistat ports it.
"""

from __future__ import annotations

import math

import pytest
from mistat.qcc import statistics as qcc_statistics

from drivetrain.errors import InputError
from drivetrain.quality import constants

N = range(2, 26)
# fmt: off
D2 = [1.128, 1.693, 2.059, 2.326, 2.534, 2.704, 2.847, 2.970, 3.078, 3.173, 3.258, 3.336, 3.407,
      3.472, 3.532, 3.588, 3.640, 3.689, 3.735, 3.778, 3.819, 3.858, 3.895, 3.931]
D3R = [0.853, 0.888, 0.880, 0.864, 0.848, 0.833, 0.820, 0.808, 0.797, 0.787, 0.778, 0.770, 0.763,
       0.756, 0.750, 0.744, 0.739, 0.734, 0.729, 0.724, 0.720, 0.716, 0.712, 0.708]
C4 = [0.7979, 0.8862, 0.9213, 0.9400, 0.9515, 0.9594, 0.9650, 0.9693, 0.9727, 0.9754, 0.9776,
      0.9794, 0.9810, 0.9823, 0.9835, 0.9845, 0.9854, 0.9862, 0.9869, 0.9876, 0.9882, 0.9887,
      0.9892, 0.9896]
A2 = [1.880, 1.023, 0.729, 0.577, 0.483, 0.419, 0.373, 0.337, 0.308, 0.285, 0.266, 0.249, 0.235,
      0.223, 0.212, 0.203, 0.194, 0.187, 0.180, 0.173, 0.167, 0.162, 0.157, 0.153]
A3 = [2.659, 1.954, 1.628, 1.427, 1.287, 1.182, 1.099, 1.032, 0.975, 0.927, 0.886, 0.850, 0.817,
      0.789, 0.763, 0.739, 0.718, 0.698, 0.680, 0.663, 0.647, 0.633, 0.619, 0.606]
D3F = [0, 0, 0, 0, 0, 0.076, 0.136, 0.184, 0.223, 0.256, 0.283, 0.307, 0.328, 0.347, 0.363, 0.378,
       0.391, 0.403, 0.415, 0.425, 0.434, 0.443, 0.451, 0.459]
D4F = [3.267, 2.574, 2.282, 2.114, 2.004, 1.924, 1.864, 1.816, 1.777, 1.744, 1.717, 1.693, 1.672,
       1.653, 1.637, 1.622, 1.608, 1.597, 1.585, 1.575, 1.566, 1.557, 1.548, 1.541]
B3 = [0, 0, 0, 0, 0.030, 0.118, 0.185, 0.239, 0.284, 0.321, 0.354, 0.382, 0.406, 0.428, 0.448,
      0.466, 0.482, 0.497, 0.510, 0.523, 0.534, 0.545, 0.555, 0.565]
B4 = [3.267, 2.568, 2.266, 2.089, 1.970, 1.882, 1.815, 1.761, 1.716, 1.679, 1.646, 1.618, 1.594,
      1.572, 1.552, 1.534, 1.518, 1.503, 1.490, 1.477, 1.466, 1.455, 1.445, 1.435]
# fmt: on
# Appendix VI derives D3/D4 from d2 and d3 rounded to three places, so its last digit can
# differ by one from the exact value's rounding (D4 for n = 3: 2.574 printed, 2.5746 exact).
PRINTED = 1.1e-3


@pytest.mark.parametrize(
    ("function", "table", "tolerance"),
    [
        (constants.d2, D2, 5.1e-4),
        # the printed d3(19) = 0.734 is 0.0005 above the exact 0.73348 (old quadrature)
        (constants.d3, D3R, 6e-4),
        (constants.c4, C4, 5.1e-5),
        (constants.a2, A2, PRINTED),
        (constants.a3, A3, PRINTED),
        (constants.d3_factor, D3F, PRINTED),
        (constants.d4_factor, D4F, PRINTED),
        (constants.b3, B3, PRINTED),
        (constants.b4, B4, PRINTED),
    ],
    ids=["d2", "d3", "c4", "A2", "A3", "D3", "D4", "B3", "B4"],
)
def test_every_entry_of_montgomery_appendix_vi(function, table, tolerance) -> None:
    for n, printed in zip(N, table, strict=True):
        assert function(n) == pytest.approx(printed, abs=tolerance), n


def test_d3_against_qccs_seven_digit_table_and_d2_in_closed_form() -> None:
    # qcc's table of the standard deviation of the relative range, n = 2..25. It runs up to
    # 1.2e-5 above the exact values: for n = 2 it has 0.8525033 where √(2 − 4/π) = 0.8525025,
    # and a nested adaptive quadrature of Harter's double integral agrees with ours to 1e-11.
    for n in N:
        assert constants.d3(n) == pytest.approx(qcc_statistics._se_R_unscaled[n], abs=2e-5), n
        assert constants.c4(n) == pytest.approx(qcc_statistics.qcc_c4(n), rel=1e-9), n
    # n = 2: the range is |X1 - X2|, a half-normal with scale √2
    assert constants.d2(2) == pytest.approx(2 / math.sqrt(math.pi), rel=1e-12)
    assert constants.d3(2) == pytest.approx(math.sqrt(2 - 4 / math.pi), rel=1e-9)


def test_individuals_factor_and_other_sigma_multiples() -> None:
    # Montgomery §6.4 prints E2 = 2.66, i.e. 3/1.128 with d2 rounded; exactly it is 2.6587
    assert constants.e2() == pytest.approx(2.660, abs=1.5e-3)
    # with k = 2 the factors scale as their definitions say
    assert constants.a2(5, k=2.0) == pytest.approx(constants.a2(5) * 2 / 3)
    assert constants.d4_factor(5, k=2.0) - 1 == pytest.approx((constants.d4_factor(5) - 1) * 2 / 3)


@pytest.mark.parametrize("n", [0, 1, 51])
def test_sizes_without_a_constant_are_refused_with_advice(n: int) -> None:
    with pytest.raises(InputError, match="chart constant"):
        constants.d2(n)
