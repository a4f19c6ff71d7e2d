"""Secret key files of a data directory: created once, private to their owner.

A key file holds random bytes, is created with mode 0600 in a 0700 ``keys``
directory on first use (atomically: two processes starting together agree on
one key), and is refused if anyone but its owner may read it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from drivetrain.errors import IntegrityError, StorageError

KEYS_DIR = Path("keys")


def load_or_create_secret(path: Path, size: int, what: str) -> bytes:
    """The ``size`` secret bytes in ``path``, generated (mode 0600) if the file is absent."""
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise IntegrityError(
                f"{path} is readable by others",
                hint=f"chmod 600 {path}: the {what} must be private to its owner",
            )
        secret = path.read_bytes()
        if len(secret) != size:
            raise IntegrityError(
                f"{path} holds {len(secret)} bytes, a {what} has {size}",
                hint="restore the key file from your backup; a wrong key reads nothing",
            )
        return secret
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        secret = secrets.token_bytes(size)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secret)
    except FileExistsError:  # another process created it first
        return load_or_create_secret(path, size, what)
    except OSError as exc:
        raise StorageError(f"cannot create the {what} {path}: {exc.strerror}") from exc
    return secret
