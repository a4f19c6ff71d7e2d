"""Charts with memory: EWMA and tabular CUSUM, for shifts too small for a Shewhart chart.

Both run over characteristics × subgroups matrices on subgroup means (or
individual values), with the process centre μ₀ and sigma σ from Phase I, and
take a ``state`` so that a stream continues exactly where the last call ended.

EWMA (Roberts 1959; Montgomery §9.2): zᵢ = λx̄ᵢ + (1 − λ)zᵢ₋₁, z₀ = μ₀, with
the exact time-varying limits μ₀ ± L·√vᵢ, vᵢ = (1 − λ)²vᵢ₋₁ + λ²σ²/nᵢ — which
for equal nᵢ is Montgomery's σ/√n·√(λ/(2 − λ)·[1 − (1 − λ)²ⁱ]). λ = 0.2 and
L = 3 by default; λ = 0.1, L = 2.7 give an in-control ARL near 500.

Tabular CUSUM (Page 1954; Montgomery §9.1) on standardised means
yᵢ = (x̄ᵢ − μ₀)/(σ/√nᵢ): Cᵢ⁺ = max(0, yᵢ − k + Cᵢ₋₁⁺), Cᵢ⁻ = max(0, −yᵢ − k +
Cᵢ₋₁⁻), signalling when either exceeds h (k = 0.5 and h = 5 detect a 1σ shift;
a head start of h/2 is the fast initial response of Lucas and Crosier 1982).
The upper sum is plotted as is and the lower one negated, both in standard
errors, with the decision interval ±h.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import signal

Matrix = npt.NDArray[np.float64]
Vector = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class EwmaResult:
    z: Matrix
    se: Matrix
    last_z: Vector
    last_v: Vector


def ewma(
    means: Matrix,
    sizes: Matrix,
    center: Vector,
    sigma: Vector,
    lam: float,
    *,
    last_z: Vector | None = None,
    last_v: Vector | None = None,
) -> EwmaResult:
    """The EWMA statistic and its standard error for every point (NaN padding kept)."""
    rows, cols = means.shape
    start_z = center if last_z is None else np.where(np.isnan(last_z), center, last_z)
    start_v = np.zeros(rows) if last_v is None else np.nan_to_num(last_v)
    keep = 1.0 - lam
    if cols == 0:
        return EwmaResult(means.copy(), means.copy(), start_z.copy(), start_v.copy())
    z = signal.lfilter([lam], [1.0, -keep], means, axis=1, zi=(keep * start_z)[:, None])[0]
    step = lam**2 * (sigma[:, None] ** 2) / sizes
    v = signal.lfilter([1.0], [1.0, -(keep**2)], step, axis=1, zi=(keep**2 * start_v)[:, None])[0]
    present = ~np.isnan(means)
    counts = present.sum(axis=1)
    last = np.maximum(counts - 1, 0)
    index = np.arange(rows)
    end_z = np.where(counts > 0, z[index, last], start_z)
    end_v = np.where(counts > 0, v[index, last], start_v)
    return EwmaResult(z, np.sqrt(v), end_z, end_v)


@dataclass(frozen=True, slots=True)
class CusumResult:
    upper: Matrix
    lower: Matrix  # negated: −C⁻
    last_upper: Vector
    last_lower: Vector  # C⁻ itself, ≥ 0


def cusum(
    means: Matrix,
    sizes: Matrix,
    center: Vector,
    sigma: Vector,
    k: float,
    *,
    headstart: float = 0.0,
    last_upper: Vector | None = None,
    last_lower: Vector | None = None,
) -> CusumResult:
    """The tabular CUSUM of standardised means, one step per subgroup across all rows."""
    rows, cols = means.shape
    y = (means - center[:, None]) / (sigma[:, None] / np.sqrt(sizes))
    hi = np.full(rows, headstart) if last_upper is None else last_upper.copy()
    lo = np.full(rows, headstart) if last_lower is None else last_lower.copy()
    upper = np.full((rows, cols), np.nan)
    lower = np.full((rows, cols), np.nan)
    for col in range(cols):
        step = y[:, col]
        present = ~np.isnan(step)
        hi = np.where(present, np.maximum(0.0, step - k + hi), hi)
        lo = np.where(present, np.maximum(0.0, -step - k + lo), lo)
        upper[present, col] = hi[present]
        lower[present, col] = -lo[present]
    return CusumResult(upper, lower, hi, lo)
