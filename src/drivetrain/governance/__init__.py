"""Governance by construction: purposes now; consent, pseudonyms, erasure, audit next."""

from drivetrain.governance.purposes import PURPOSES, check_purpose

__all__ = ["PURPOSES", "check_purpose"]
