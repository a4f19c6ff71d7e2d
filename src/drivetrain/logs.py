"""The one logging configuration: standard ``logging`` to standard error.

Modules log with ``logging.getLogger(__name__)``; only the CLI (or a server's
start-up) calls :func:`configure_logging`. Nothing secret is ever logged: URLs
go through ``drivetrain.state.redact_url`` first.
"""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str = "WARNING") -> None:
    """Send drivetrain's log records at ``level`` and above to standard error."""
    root = logging.getLogger("drivetrain")
    root.setLevel(level)
    if not any(getattr(h, "_drivetrain", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(FORMAT))
        handler._drivetrain = True  # type: ignore[attr-defined]
        root.addHandler(handler)
