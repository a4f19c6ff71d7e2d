"""Fixtures of the state-store tests (see tests/_services.py)."""

from .._services import migrated_url, state_url

__all__ = ["migrated_url", "state_url"]
