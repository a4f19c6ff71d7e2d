"""Vehicle pseudonyms: the lake knows a vehicle by a keyed hash of its VIN, never the VIN.

``vehicle_id = "veh_" + HMAC-SHA256(key, VIN)[:16 hex]``. The key is generated
once per data directory (``keys/pseudonym.key``, readable by its owner only)
and never leaves it; without the key the id cannot be linked back to a VIN, or
computed from one. The control plane keeps the VIN ↔ id mapping for the roles
allowed to re-identify a vehicle (for a recall, say).
"""

from __future__ import annotations

import hmac
import os
import secrets
from hashlib import sha256
from pathlib import Path

from drivetrain.errors import IntegrityError, StorageError

KEY_FILE = Path("keys") / "pseudonym.key"
KEY_BYTES = 32


class PseudonymKey:
    """The secret key of one data directory's vehicle pseudonyms."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise IntegrityError(f"a pseudonym key has {KEY_BYTES} bytes, this one {len(key)}")
        self._key = key

    def __repr__(self) -> str:  # never show the key
        return "PseudonymKey(<secret>)"

    @classmethod
    def load_or_create(cls, data_dir: Path) -> PseudonymKey:
        """The data directory's key, created (mode 0600) on first use."""
        path = data_dir / KEY_FILE
        if path.exists():
            if path.stat().st_mode & 0o077:
                raise IntegrityError(
                    f"{path} is readable by others",
                    hint=f"chmod 600 {path}: the key must be private to its owner",
                )
            return cls(path.read_bytes())
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            key = secrets.token_bytes(KEY_BYTES)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(key)
        except FileExistsError:  # another process created it first
            return cls.load_or_create(data_dir)
        except OSError as exc:
            raise StorageError(f"cannot create the pseudonym key {path}: {exc.strerror}") from exc
        return cls(key)

    def vehicle_id(self, vin: str) -> str:
        """The pseudonymous id of ``vin`` (upper-cased first; VINs are case-insensitive)."""
        digest = hmac.new(self._key, vin.strip().upper().encode("ascii"), sha256).hexdigest()
        return f"veh_{digest[:16]}"
