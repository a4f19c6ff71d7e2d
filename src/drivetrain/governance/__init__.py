"""Governance by construction: purposes, pseudonyms, access control, audit and provenance."""

from drivetrain.governance.access import AccessContext, AccessDecision, AccessEnforcer
from drivetrain.governance.audit import AuditEntry, AuditLog, SignedTreeHead, VerifyReport
from drivetrain.governance.consent import (
    ConsentState,
    consent_history,
    consent_receipt,
    consent_state,
    give_consent,
    withdraw_consent,
)
from drivetrain.governance.governed_read import governed_query, governed_read
from drivetrain.governance.legal_basis import LegalBasisIndex
from drivetrain.governance.location import coarsen
from drivetrain.governance.policies import REGIONS, RegionPolicy, region_policy
from drivetrain.governance.principals import Principal, PrincipalAttributes, load_principals
from drivetrain.governance.provenance import Explanation, explain, record_output, record_run
from drivetrain.governance.pseudonyms import PseudonymKey
from drivetrain.governance.purposes import PURPOSES, check_purpose
from drivetrain.governance.subjects import (
    DataSubject,
    SubjectLink,
    link_vehicle,
    register_subject,
    subjects_of,
)

__all__ = [
    "PURPOSES",
    "REGIONS",
    "AccessContext",
    "AccessDecision",
    "AccessEnforcer",
    "AuditEntry",
    "AuditLog",
    "ConsentState",
    "DataSubject",
    "Explanation",
    "LegalBasisIndex",
    "Principal",
    "PrincipalAttributes",
    "PseudonymKey",
    "RegionPolicy",
    "SignedTreeHead",
    "SubjectLink",
    "VerifyReport",
    "check_purpose",
    "coarsen",
    "consent_history",
    "consent_receipt",
    "consent_state",
    "explain",
    "give_consent",
    "governed_query",
    "governed_read",
    "link_vehicle",
    "load_principals",
    "record_output",
    "record_run",
    "region_policy",
    "register_subject",
    "subjects_of",
    "withdraw_consent",
]
