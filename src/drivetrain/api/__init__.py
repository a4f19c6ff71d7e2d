"""The HTTP API (FastAPI): one router per capability under ``/api/v1``; see docs/api.md."""

from drivetrain.api.app import create_api

__all__ = ["create_api"]
