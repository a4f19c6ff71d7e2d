"""The drivetrain exception tree.

Every error a user can cause or fix is a ``DrivetrainError``. Its message says
what was wrong, where (file, field, vehicle, table) and what to do about it.
The CLI prints it without a traceback and exits with ``exit_code``; the HTTP
API maps ``code`` to an RFC 9457 problem type.

    DrivetrainError
    ├── ConfigError        settings file or environment is missing or invalid
    ├── InputError         a value, row, file or argument supplied by the user is bad
    │   └── SchemaMismatch a table write whose columns/types differ from the registry
    ├── NotFound           a named thing (vehicle, model, table, version) does not exist
    ├── PolicyDenied       governance refused an access or a write
    ├── IntegrityError     stored data or an artefact failed verification
    └── StorageError       the data directory or a server cannot be used
"""

from __future__ import annotations


class DrivetrainError(Exception):
    """Base of all errors drivetrain raises on purpose."""

    code = "drivetrain-error"
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message} — {hint}")


class ConfigError(DrivetrainError):
    """The configuration file or a ``DRIVETRAIN_*`` variable is missing or invalid."""

    code = "config-error"
    exit_code = 78  # EX_CONFIG


class InputError(DrivetrainError):
    """A value, row, file or argument supplied by the caller is not acceptable."""

    code = "input-error"
    exit_code = 65  # EX_DATAERR


class SchemaMismatch(InputError):
    """Data written to a lake table does not match the table's registered schema."""

    code = "schema-mismatch"


class NotFound(DrivetrainError):
    """A named object (vehicle, model, table, version, output) does not exist."""

    code = "not-found"
    exit_code = 66  # EX_NOINPUT


class PolicyDenied(DrivetrainError):
    """Governance refused the operation; the message names the rule."""

    code = "policy-denied"
    exit_code = 77  # EX_NOPERM


class IntegrityError(DrivetrainError):
    """Stored data or an artefact failed verification."""

    code = "integrity-error"
    exit_code = 70


class StorageError(DrivetrainError):
    """The data directory, a table or a server cannot be read or written."""

    code = "storage-error"
    exit_code = 74  # EX_IOERR
