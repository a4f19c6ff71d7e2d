"""Re-identification: the VIN behind a vehicle pseudonym, for the roles allowed to ask.

The lake knows vehicles only by pseudonym (:mod:`drivetrain.governance.pseudonyms`);
the control plane keeps the VIN. Turning one back into the other is a read of
the protected object ``vehicle_identity`` and goes through the access policy
like any read: a warranty engineer may, for ``warranty`` (a recall); the
data-protection officer may, for ``legal_obligation``; China-resident vehicles
only from China. Every re-identification and every refusal is audited.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from drivetrain.fleet import get_vehicle
from drivetrain.governance.access import AccessContext, AccessEnforcer, denial
from drivetrain.governance.audit import AuditLog

OBJECT = "vehicle_identity"


def reidentify(
    session: Session,
    vehicle_id: str,
    context: AccessContext,
    *,
    audit: AuditLog,
    enforcer: AccessEnforcer | None = None,
) -> str:
    """The VIN of ``vehicle_id`` if ``context`` may re-identify it; PolicyDenied otherwise."""
    vehicle = get_vehicle(session, vehicle_id)  # NotFound for an unknown pseudonym
    decision = (enforcer or AccessEnforcer()).decide(context, "read", OBJECT, vehicle)
    details = {
        "object": OBJECT,
        "vehicle": vehicle_id,
        "rule": decision.rule.name if decision.rule else None,
    }
    if not decision.allowed:
        error = denial(context, "read", OBJECT, vehicle, decision)
        audit.append(
            "denial",
            principal=context.principal.principal_id,
            purpose=context.purpose,
            details=details | {"reason": error.message},
        )
        raise error
    audit.append(
        "reidentification",
        principal=context.principal.principal_id,
        purpose=context.purpose,
        details=details,
    )
    return vehicle.vin
