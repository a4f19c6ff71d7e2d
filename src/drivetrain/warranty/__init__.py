"""Service and warranty intelligence (issue #7): so far, life-data fits with censoring."""

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
    "compare_fits",
    "fit_life",
]
