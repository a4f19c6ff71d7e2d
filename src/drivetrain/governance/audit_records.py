"""Records of the audit log: entries, signed tree heads, proofs, and their serialisation.

Split from :mod:`drivetrain.governance.audit`, which keeps the log itself.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from drivetrain.errors import InputError, StorageError
from drivetrain.governance.merkle import (
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

_KIND = re.compile(r"[a-z][a-z0-9_]{0,39}")
_ENTRY_KEYS = {"seq", "time", "kind", "principal", "purpose", "details"}


class _Malformed(Exception):
    """A stored line that is not what the log writes; the message says how."""


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8, no NaN: one byte string per value."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class AuditEntry:
    """One line of the log; ``leaf_hash`` is its RFC 6962 leaf hash."""

    seq: int
    time: datetime
    kind: str
    principal: str
    purpose: str
    details: dict[str, Any]
    leaf_hash: bytes = field(repr=False)

    @property
    def line(self) -> int:
        """The 1-based line of ``log.jsonl`` holding this entry."""
        return self.seq + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": _utc_iso(self.time),
            "kind": self.kind,
            "principal": self.principal,
            "purpose": self.purpose,
            "details": self.details,
            "leaf_hash": self.leaf_hash.hex(),
        }


@dataclass(frozen=True)
class PendingEntry:
    """An entry to append with :meth:`AuditLog.append_many`."""

    kind: str
    principal: str
    purpose: str
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SignedTreeHead:
    """The log's signed statement: "my first ``tree_size`` entries hash to ``root_hash``"."""

    tree_size: int
    root_hash: bytes
    timestamp_ms: int
    key_id: str
    signature: bytes = field(repr=False)

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, tz=UTC)

    def signed_bytes(self) -> bytes:
        """RFC 6962 §3.5 ``TreeHeadSignature``: v1, tree_hash, timestamp, size, root."""
        return (
            b"\x00\x01"
            + self.timestamp_ms.to_bytes(8, "big")
            + self.tree_size.to_bytes(8, "big")
            + self.root_hash
        )

    def verify_signature(self, public_key: Ed25519PublicKey) -> bool:
        try:
            public_key.verify(self.signature, self.signed_bytes())
        except InvalidSignature:
            return False
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp": self.timestamp_ms,
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, raw: Any) -> SignedTreeHead:
        """Parse one ``sth.jsonl`` record; ``_Malformed`` if malformed."""
        if not isinstance(raw, dict):
            raise _Malformed("not a JSON object")
        size, stamp = raw.get("tree_size"), raw.get("timestamp")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise _Malformed("tree_size is not a non-negative integer")
        if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp < 0:
            raise _Malformed("timestamp is not a non-negative integer")
        try:
            root = bytes.fromhex(str(raw["root_hash"]))
            signature = base64.b64decode(str(raw["signature"]), validate=True)
        except (KeyError, ValueError, binascii.Error) as exc:
            raise _Malformed(f"root_hash or signature is missing or malformed ({exc})") from None
        if len(root) != 32:
            raise _Malformed("root_hash is not 32 bytes")
        return cls(size, root, stamp, str(raw.get("key_id", "")), signature)


@dataclass(frozen=True)
class InclusionProof:
    """An audit path showing entry ``seq`` is leaf ``seq`` of the tree of ``tree_size``."""

    seq: int
    tree_size: int
    leaf_hash: bytes
    path: list[bytes]

    def verify(self, root_hash: bytes) -> bool:
        return verify_inclusion(self.leaf_hash, self.seq, self.tree_size, self.path, root_hash)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "tree_size": self.tree_size,
            "leaf_hash": self.leaf_hash.hex(),
            "path": [p.hex() for p in self.path],
        }


@dataclass(frozen=True)
class ConsistencyProof:
    """Shows the tree of ``old_size`` is a prefix of the tree of ``tree_size``."""

    old_size: int
    tree_size: int
    path: list[bytes]

    def verify(self, old_root: bytes, root_hash: bytes) -> bool:
        return verify_consistency(self.old_size, self.tree_size, old_root, root_hash, self.path)


@dataclass(frozen=True)
class VerifyReport:
    """What :meth:`AuditLog.verify` checked; it raises instead of returning a failure."""

    entries: int
    tree_heads: int
    latest: SignedTreeHead | None
    key_id: str
    uncovered: int  # entries after the latest tree head (a crash between the two writes)


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hex digits of SHA-256 of the raw public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sha256(raw).hexdigest()[:16]


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (e.g. a copy kept outside the data directory)."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise StorageError(f"cannot read the public key {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise InputError(f"{path} is not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{path} is not an Ed25519 public key")
    return key


def _parse_entry(raw: bytes, index: int) -> AuditEntry:
    """Parse line ``index + 1``; ``_Malformed`` saying what is wrong with it."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Malformed(f"is not valid JSON ({exc})") from None
    if not isinstance(obj, dict) or set(obj) != _ENTRY_KEYS:
        raise _Malformed("does not have exactly the fields " + ", ".join(sorted(_ENTRY_KEYS)))
    if canonical_json(obj) != raw:
        raise _Malformed("is not in canonical form (bytes were edited)")
    seq = obj["seq"]
    if type(seq) is not int or seq != index:
        raise _Malformed(
            f"holds entry #{seq} where entry #{index} belongs "
            "(an entry was removed, inserted or moved)"
        )
    try:
        moment = datetime.strptime(obj["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        raise _Malformed(f"has a malformed time {obj['time']!r}") from None
    if not all(isinstance(obj[k], str) for k in ("kind", "principal", "purpose")):
        raise _Malformed("has a kind, principal or purpose that is not a string")
    if not isinstance(obj["details"], dict):
        raise _Malformed("has details that are not a JSON object")
    return AuditEntry(
        seq, moment, obj["kind"], obj["principal"], obj["purpose"], obj["details"], leaf_hash(raw)
    )


def _entry_name(seq: int) -> str:
    return f"entry #{seq} (line {seq + 1} of log.jsonl)"
