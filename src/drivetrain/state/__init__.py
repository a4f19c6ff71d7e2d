"""The transactional control-plane store: SQLite by default, PostgreSQL in deployments."""

from drivetrain.state.db import (
    alembic_config,
    create_engine_for,
    dispose_engines,
    engine_for,
    migrate,
    redact_url,
    session_factory,
    session_scope,
)
from drivetrain.state.models import NAMING_CONVENTION, Base, EcuSoftwareRow, VehicleRow

__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "EcuSoftwareRow",
    "VehicleRow",
    "alembic_config",
    "create_engine_for",
    "dispose_engines",
    "engine_for",
    "migrate",
    "redact_url",
    "session_factory",
    "session_scope",
]
