"""The web console: server-rendered pages over the API's services (docs/console.md)."""

from drivetrain.web.app import create_app

__all__ = ["create_app"]
