"""Governance by construction: purposes, pseudonyms, access control, audit and provenance."""

from drivetrain.governance.access import AccessContext, AccessDecision, AccessEnforcer
from drivetrain.governance.audit import AuditEntry, AuditLog, SignedTreeHead, VerifyReport
from drivetrain.governance.governed_read import governed_query, governed_read
from drivetrain.governance.location import coarsen
from drivetrain.governance.principals import Principal, PrincipalAttributes, load_principals
from drivetrain.governance.provenance import Explanation, explain, record_output, record_run
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.governance.purposes import PURPOSES, check_purpose

__all__ = [
    "PURPOSES",
    "AccessContext",
    "AccessDecision",
    "AccessEnforcer",
    "AuditEntry",
    "AuditLog",
    "Explanation",
    "Principal",
    "PrincipalAttributes",
    "PseudonymKey",
    "SignedTreeHead",
    "VerifyReport",
    "check_purpose",
    "coarsen",
    "explain",
    "governed_query",
    "governed_read",
    "load_principals",
    "record_output",
    "record_run",
]
