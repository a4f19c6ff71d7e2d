"""Service and warranty intelligence (issue #7): so far, life-data fits with censoring and
the claims-per-thousand table."""

from drivetrain.warranty.claims_table import claims_per_thousand
from drivetrain.warranty.reliability import (
    DISTRIBUTIONS,
    MIN_FAILURES,
    Distribution,
    LifeFit,
    TooFewFailures,
    compare_fits,
    fit_life,
)

__all__ = [
    "DISTRIBUTIONS",
    "MIN_FAILURES",
    "Distribution",
    "LifeFit",
    "TooFewFailures",
    "claims_per_thousand",
    "compare_fits",
    "fit_life",
]
