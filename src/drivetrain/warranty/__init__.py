"""Service and warranty intelligence (issue #7): claims analytics, life-data fits with
censoring, early warning of emerging field issues, and field support.

Reads go through an access context with purpose ``warranty``; alerts and fits are
recorded with the provenance API. See docs/warranty.md.
"""

from drivetrain.warranty.alerts import LinkedCode, WarrantyAlert, build_alerts
from drivetrain.warranty.analysis import (
    LifeSample,
    WarrantyData,
    fit_component,
    latest_claim_date,
    life_sample,
    load_warranty_data,
    warranty_alerts,
)
from drivetrain.warranty.claims_table import (
    claim_months,
    claims_per_thousand,
    exposure,
    life_ages,
    with_build_month,
)
from drivetrain.warranty.early_warning import (
    DetectorConfig,
    EmergingIssue,
    cell_months,
    emerging_issues,
    naive_alerts,
    relative_alerts,
    score_cells,
)
from drivetrain.warranty.field_support import (
    FailureTheme,
    ServiceCase,
    failure_themes,
    repair_outcomes,
    similar_claims,
    suggest_repairs,
)
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
    "DetectorConfig",
    "Distribution",
    "EmergingIssue",
    "FailureTheme",
    "LifeFit",
    "LifeSample",
    "LinkedCode",
    "ServiceCase",
    "TooFewFailures",
    "WarrantyAlert",
    "WarrantyData",
    "build_alerts",
    "cell_months",
    "claim_months",
    "claims_per_thousand",
    "compare_fits",
    "emerging_issues",
    "exposure",
    "failure_themes",
    "fit_component",
    "fit_life",
    "latest_claim_date",
    "life_ages",
    "life_sample",
    "load_warranty_data",
    "naive_alerts",
    "relative_alerts",
    "repair_outcomes",
    "score_cells",
    "similar_claims",
    "suggest_repairs",
    "warranty_alerts",
    "with_build_month",
]
