"""Fixtures of the governance tests (see tests/_services.py)."""

from .._services import migrated_url, state_url

__all__ = ["migrated_url", "state_url"]
