"""Vehicle pseudonyms: the lake knows a vehicle by a keyed hash of its VIN, never the VIN.

``vehicle_id = "veh_" + HMAC-SHA256(key, VIN)[:16 hex]``. The key is generated
once per data directory (``keys/pseudonym.key``, readable by its owner only)
and never leaves it; without the key the id cannot be linked back to a VIN, or
computed from one. The control plane keeps the VIN ↔ id mapping for the roles
allowed to re-identify a vehicle (for a recall, say).
"""

from __future__ import annotations

import hmac
from hashlib import sha256
from pathlib import Path

from drivetrain.errors import IntegrityError
from drivetrain.governance.key_files import KEYS_DIR, load_or_create_secret

KEY_FILE = KEYS_DIR / "pseudonym.key"
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
        return cls(load_or_create_secret(data_dir / KEY_FILE, KEY_BYTES, "pseudonym key"))

    def vehicle_id(self, vin: str) -> str:
        """The pseudonymous id of ``vin`` (upper-cased first; VINs are case-insensitive)."""
        digest = hmac.new(self._key, vin.strip().upper().encode("ascii"), sha256).hexdigest()
        return f"veh_{digest[:16]}"
