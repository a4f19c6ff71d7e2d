"""The purposes for which vehicle data may be collected and used (GDPR Art. 5(1)(b))."""

from __future__ import annotations

from drivetrain.errors import InputError

PURPOSES: dict[str, str] = {
    "vehicle_health": "diagnosis, predictive maintenance and safety of the vehicle",
    "warranty": "warranty claims, field-issue detection and recalls",
    "product_improvement": "engineering analysis to improve future products",
    "personalisation": "in-car assistant, driver profiles and recommendations",
    "location_services": "navigation, charging and other location-based services",
    "marketing": "offers and communication to the owner",
    "engineering_support": "finding and citing engineering, service and specification documents",
    "parts_planning": "spare-parts demand forecasting, stocking and replenishment",
    "manufacturing_quality": "process control, capability, supplier quality and part traceability",
}


def check_purpose(purpose: str) -> str:
    """Return ``purpose`` if it is a known purpose, else raise InputError listing them."""
    if purpose not in PURPOSES:
        raise InputError(
            f"unknown purpose {purpose!r}",
            hint=f"known purposes: {', '.join(PURPOSES)}",
        )
    return purpose
