"""Fixtures of the end-to-end tests (see tests/_services.py)."""

from .._services import state_url

__all__ = ["state_url"]
