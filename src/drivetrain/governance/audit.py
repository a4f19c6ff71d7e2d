"""The append-only, tamper-evident audit log.

Layout under the data directory::

    audit/log.jsonl      one entry per line, canonical JSON (the Merkle leaves, in order)
    audit/sth.jsonl      one signed tree head per append batch
    audit/.lock          flock(2) target: appenders exclusive, readers shared
    keys/audit_ed25519.pem      Ed25519 signing key (PKCS#8, mode 0600)
    keys/audit_ed25519.pub.pem  its public key, for anyone who verifies

An entry is ``{"details":{…},"kind":…,"principal":…,"purpose":…,"seq":N,"time":…}``
serialised with sorted keys, no whitespace and UTF-8; the line's bytes are the
leaf of an RFC 6962 Merkle tree (``seq`` is the leaf index). After every batch
the log signs a tree head: the RFC 6962 ``TreeHeadSignature`` structure
(version 0, type tree_hash, timestamp in ms, tree size, root hash) signed with
Ed25519. :meth:`AuditLog.verify` recomputes every leaf from the stored lines
and checks every tree head, naming the first entry that does not fit.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from drivetrain.errors import InputError, IntegrityError, NotFound, StorageError
from drivetrain.governance.audit_records import (
    AuditEntry,
    ConsistencyProof,
    InclusionProof,
    PendingEntry,
    SignedTreeHead,
    VerifyReport,
    _entry_name,
    _Malformed,
    _parse_entry,
    _utc_iso,
    canonical_json,
    key_id,
    load_public_key,
)
from drivetrain.governance.merkle import (
    MerkleTree,
    verify_consistency,
)

__all__ = [
    "COMMON_KINDS",
    "AuditEntry",
    "AuditLog",
    "ConsistencyProof",
    "InclusionProof",
    "PendingEntry",
    "SignedTreeHead",
    "VerifyReport",
    "canonical_json",
    "key_id",
    "load_public_key",
]

LOG_FILE = Path("audit") / "log.jsonl"
STH_FILE = Path("audit") / "sth.jsonl"
LOCK_FILE = Path("audit") / ".lock"
KEY_FILE = Path("keys") / "audit_ed25519.pem"
PUBLIC_KEY_FILE = Path("keys") / "audit_ed25519.pub.pem"

#: Kinds in use; any lower-case identifier is accepted so capabilities can add their own.
COMMON_KINDS = (
    "access",
    "denial",
    "admin",
    "consent",
    "erasure",
    "retention",
    "export",
    "ai_output",
    "ingest",
    "query",
)
_KIND = re.compile(r"[a-z][a-z0-9_]{0,39}")
_ENTRY_KEYS = {"seq", "time", "kind", "principal", "purpose", "details"}


class AuditLog:
    """The audit log of one data directory; safe to share between processes."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.log_path = self.data_dir / LOG_FILE
        self.sth_path = self.data_dir / STH_FILE
        self.key_path = self.data_dir / KEY_FILE
        self.public_key_path = self.data_dir / PUBLIC_KEY_FILE
        self._tree = MerkleTree()
        self._entries: list[AuditEntry] = []
        self._offset = 0
        self._signing_key: Ed25519PrivateKey | None = None

    def __repr__(self) -> str:
        return f"AuditLog({str(self.data_dir)!r})"

    # -- writing -------------------------------------------------------------------------

    def append(
        self,
        kind: str,
        *,
        principal: str,
        purpose: str,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry and sign the new tree head; returns it with its seq and leaf hash."""
        return self.append_many([PendingEntry(kind, principal, purpose, details or {})])[0]

    def append_many(self, pending: Iterable[PendingEntry]) -> list[AuditEntry]:
        """Append a batch atomically (one write, one fsync, one signed tree head)."""
        items = list(pending)
        if not items:
            return []
        for item in items:
            _check_pending(item)
        key = self._key()
        with self._locked(exclusive=True):
            self._sync(strict=True)
            now = datetime.now(UTC)
            lines: list[bytes] = []
            for offset, item in enumerate(items):
                obj = {
                    "seq": self._tree.size + offset,
                    "time": _utc_iso(now),
                    "kind": item.kind,
                    "principal": item.principal,
                    "purpose": item.purpose,
                    "details": dict(item.details),
                }
                lines.append(canonical_json(obj))
            _append_durably(self.log_path, b"".join(line + b"\n" for line in lines))
            self._sync(strict=True)
            sth = self._sign(key, self._tree.size, self._tree.root())
            _append_durably(self.sth_path, canonical_json(sth.to_dict()) + b"\n")
            return self._entries[-len(items) :]

    # -- reading -------------------------------------------------------------------------

    def entries(self, kind: str | None = None) -> list[AuditEntry]:
        """All entries in order, or only those of ``kind``."""
        self.refresh()
        return [e for e in self._entries if kind is None or e.kind == kind]

    def get(self, seq: int) -> AuditEntry:
        self.refresh()
        if not 0 <= seq < len(self._entries):
            raise NotFound(
                f"the audit log has no entry #{seq}",
                hint=f"entries are numbered 0 to {len(self._entries) - 1}",
            )
        return self._entries[seq]

    def latest_sth(self) -> SignedTreeHead | None:
        """The last signed tree head, or None for a log never written."""
        heads = self._read_sths()
        return heads[-1][1] if heads else None

    def inclusion_proof(self, seq: int, tree_size: int | None = None) -> InclusionProof:
        """Audit path of entry ``seq`` in the tree of ``tree_size`` (default: latest tree head)."""
        entry = self.get(seq)
        size = self._default_size(tree_size)
        if not seq < size <= self._tree.size:
            raise InputError(
                f"entry #{seq} is not in a tree of {size} entries",
                hint="ask for a tree size between seq + 1 and the latest tree head's size",
            )
        return InclusionProof(seq, size, entry.leaf_hash, self._tree.inclusion_proof(seq, size))

    def consistency_proof(self, old_size: int, tree_size: int | None = None) -> ConsistencyProof:
        """Proof that the tree of ``old_size`` is a prefix of ``tree_size`` (default: latest)."""
        self.refresh()
        size = self._default_size(tree_size)
        if size > self._tree.size:
            raise InputError(f"the log has only {self._tree.size} entries, not {size}")
        return ConsistencyProof(old_size, size, self._tree.consistency_proof(old_size, size))

    def root(self, tree_size: int | None = None) -> bytes:
        """Merkle root of the first ``tree_size`` entries as stored now."""
        self.refresh()
        return self._tree.root(tree_size)

    def public_key(self) -> Ed25519PublicKey:
        """The log's verification key (its exported public key, else derived from the key)."""
        if self.public_key_path.exists():
            return load_public_key(self.public_key_path)
        if self.key_path.exists():
            return self._key().public_key()
        raise NotFound(
            f"the audit log has no key yet ({self.key_path})",
            hint="the key is created by the first append",
        )

    def refresh(self) -> None:
        """Read entries other processes appended since the last call."""
        with self._locked(exclusive=False):
            self._sync(strict=False)

    # -- verification --------------------------------------------------------------------

    def verify(self, public_key: Ed25519PublicKey | None = None) -> VerifyReport:
        """Recompute every leaf and check every signed tree head; raise naming what is wrong.

        ``public_key`` defaults to the exported key next to the signing key; pass a
        copy kept elsewhere to also catch a replaced key.
        """
        if not self.log_path.exists() and not self.sth_path.exists():
            return VerifyReport(0, 0, None, "", 0)
        if public_key is None and not (self.public_key_path.exists() or self.key_path.exists()):
            raise IntegrityError(
                f"the audit log exists but its keys are gone ({self.public_key_path})",
                hint="verify with --public-key and a copy of the public key kept elsewhere",
            )
        key = public_key or self.public_key()
        with self._locked(exclusive=False):
            return self._verify(key)

    def _verify(self, key: Ed25519PublicKey) -> VerifyReport:
        try:
            data = self.log_path.read_bytes() if self.log_path.exists() else b""
        except OSError as exc:
            raise StorageError(f"cannot read {self.log_path}: {exc.strerror}") from exc
        lines = data.split(b"\n")
        complete = lines[:-1]  # the file ends with a newline; lines[-1] is what follows it
        tree = MerkleTree()
        problem: str | None = None
        for index, raw in enumerate(complete):
            try:
                tree.append_hash(_parse_entry(raw, index).leaf_hash)
            except _Malformed as exc:
                problem = f"{_entry_name(index)} {exc}"
                break
        if problem is None and lines[-1]:
            index = len(complete)
            problem = f"{_entry_name(index)} is incomplete (the file was truncated mid-line)"
        good = tree.size  # entries before the first malformed line
        heads = self._read_sths()
        expected_id = key_id(key)
        previous: SignedTreeHead | None = None
        for number, sth in heads:
            where = f"tree head #{sth.tree_size} (line {number} of sth.jsonl)"
            if not sth.verify_signature(key):
                raise IntegrityError(
                    f"{where} has an invalid signature: it was forged or altered"
                    + ("" if sth.key_id == expected_id else f" (signed by key {sth.key_id})"),
                    hint=f"the log's key is {expected_id}; restore the audit files from a backup",
                )
            if previous is not None and sth.tree_size < previous.tree_size:
                raise IntegrityError(
                    f"{where} is smaller than the tree head before it "
                    f"(#{previous.tree_size}): the log shrank"
                )
            if sth.tree_size > good:
                if problem is not None:
                    raise IntegrityError(problem, hint=_RESTORE)
                first = good
                raise IntegrityError(
                    f"{_entry_name(first)} is missing: {where}, signed at "
                    f"{_utc_iso(sth.time)}, covers {sth.tree_size} entries but the log holds "
                    f"{good} (entries removed from the end or the file truncated)",
                    hint=_RESTORE,
                )
            if tree.root(sth.tree_size) != sth.root_hash:
                start = 0 if previous is None else previous.tree_size
                raise IntegrityError(_mismatch(start, sth.tree_size, where), hint=_RESTORE)
            if previous is not None and previous.tree_size > 0:
                proof = tree.consistency_proof(previous.tree_size, sth.tree_size)
                if not verify_consistency(
                    previous.tree_size, sth.tree_size, previous.root_hash, sth.root_hash, proof
                ):
                    raise IntegrityError(f"{where} is not consistent with the tree head before it")
            previous = sth
        if problem is not None:
            raise IntegrityError(problem, hint=_RESTORE)
        covered = previous.tree_size if previous else 0
        return VerifyReport(good, len(heads), previous, expected_id, good - covered)

    # -- internals -----------------------------------------------------------------------

    def _default_size(self, tree_size: int | None) -> int:
        self.refresh()
        if tree_size is not None:
            return tree_size
        latest = self.latest_sth()
        if latest is None:
            raise NotFound("the audit log has no signed tree head yet")
        return latest.tree_size

    @contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        lock_path = self.data_dir / LOCK_FILE
        try:
            lock_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StorageError(f"cannot open the audit lock {lock_path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _sync(self, *, strict: bool) -> None:
        """Hash the complete lines appended since ``_offset``; call with the lock held."""
        try:
            if not self.log_path.exists():
                if self._offset:
                    raise IntegrityError(f"{self.log_path} disappeared", hint=_VERIFY)
                return
            with self.log_path.open("rb") as handle:
                handle.seek(0, os.SEEK_END)
                if handle.tell() < self._offset:
                    raise IntegrityError(f"{self.log_path} shrank", hint=_VERIFY)
                handle.seek(self._offset)
                chunk = handle.read()
        except OSError as exc:
            raise StorageError(f"cannot read {self.log_path}: {exc.strerror}") from exc
        end = chunk.rfind(b"\n") + 1
        if strict and end != len(chunk):
            partial = self._tree.size + chunk.count(b"\n")
            raise IntegrityError(f"{_entry_name(partial)} is incomplete", hint=_VERIFY)
        for raw in chunk[:end].split(b"\n")[:-1]:
            try:
                entry = _parse_entry(raw, self._tree.size)
            except _Malformed as exc:
                raise IntegrityError(
                    f"{_entry_name(self._tree.size)} {exc}", hint=_VERIFY
                ) from None
            self._tree.append_hash(entry.leaf_hash)
            self._entries.append(entry)
        self._offset += end

    def _read_sths(self) -> list[tuple[int, SignedTreeHead]]:
        if not self.sth_path.exists():
            return []
        try:
            text = self.sth_path.read_bytes()
        except OSError as exc:
            raise StorageError(f"cannot read {self.sth_path}: {exc.strerror}") from exc
        heads = []
        for number, raw in enumerate(text.split(b"\n"), start=1):
            if not raw.strip():
                continue
            try:
                heads.append((number, SignedTreeHead.from_dict(json.loads(raw))))
            except (_Malformed, ValueError) as exc:
                raise IntegrityError(
                    f"line {number} of sth.jsonl is not a valid signed tree head: {exc}",
                    hint=_RESTORE,
                ) from None
        return heads

    def _sign(self, key: Ed25519PrivateKey, size: int, root: bytes) -> SignedTreeHead:
        stamp = int(datetime.now(UTC).timestamp() * 1000)
        unsigned = SignedTreeHead(size, root, stamp, key_id(key.public_key()), b"")
        return SignedTreeHead(size, root, stamp, unsigned.key_id, key.sign(unsigned.signed_bytes()))

    def _key(self) -> Ed25519PrivateKey:
        if self._signing_key is None:
            self._signing_key = _load_or_create_key(self.key_path, self.public_key_path)
        return self._signing_key


_RESTORE = "restore the audit directory from a backup and investigate who wrote to it"
_VERIFY = "run 'drivetrain audit verify' to locate the damage"


def _mismatch(start: int, end: int, where: str) -> str:
    if end - start == 1:
        culprit = f"{_entry_name(start)} was altered"
    else:
        culprit = f"one of entries #{start}–#{end - 1} (lines {start + 1}–{end}) was altered"
    return f"{culprit}: the stored entries no longer hash to the root signed in {where}"


def _check_pending(item: PendingEntry) -> None:
    if not _KIND.fullmatch(item.kind):
        raise InputError(
            f"audit kind {item.kind!r} is not a lower-case identifier",
            hint="use e.g. " + ", ".join(COMMON_KINDS),
        )
    for name in ("principal", "purpose"):
        value = getattr(item, name)
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"an audit entry needs a {name}, got {value!r}")
    if not isinstance(item.details, Mapping):
        raise InputError("audit details must be a mapping of names to JSON values")
    try:
        canonical_json(dict(item.details))
    except (TypeError, ValueError) as exc:
        raise InputError(f"audit details are not plain JSON: {exc}") from None


def _append_durably(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StorageError(f"cannot append to {path}: {exc.strerror}") from exc


def _load_or_create_key(path: Path, public_path: Path) -> Ed25519PrivateKey:
    """The log's Ed25519 signing key, created (mode 0600) with its public key on first use."""
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise IntegrityError(
                f"{path} is readable by others",
                hint=f"chmod 600 {path}: the audit signing key must be private to its owner",
            )
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise IntegrityError(f"cannot load the audit signing key {path}: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise IntegrityError(f"{path} is not an Ed25519 key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Written in full under a temporary name, then linked into place: a concurrent
    # process sees either no key or the whole key, and exactly one key wins.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    except FileExistsError:  # another process created it first
        return _load_or_create_key(path, public_path)
    except OSError as exc:
        raise StorageError(f"cannot create the audit signing key {path}: {exc.strerror}") from exc
    finally:
        temporary.unlink(missing_ok=True)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        public_path.write_bytes(public_pem)
    except OSError as exc:
        raise StorageError(f"cannot write the audit public key {public_path}: {exc}") from exc
    return key
