"""A TUF repository on disk: root, targets, snapshot and timestamp, signed and versioned.

:class:`TufRepository` is the part the Uptane image and director repositories
share (``drivetrain.ota.repository``): the root of trust with its keys and
thresholds, key rotation, expiry per role and the publication of the
targets → snapshot → timestamp chain of one metadata directory. Files use
consistent snapshots — ``N.root.json``, ``N.targets.json``, ``N.snapshot.json``
and an unversioned ``timestamp.json`` — so a client always reads one
consistent repository state while a new one is being written.

Every root change (a key added or retired, a threshold changed) is a new root
version signed by a threshold of the *previous* root's keys and of its own, so
a vehicle that trusts version N can follow to N+1; then the other roles are
re-signed with their current keys.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Self

from tuf.api.exceptions import UnsignedMetadataError
from tuf.api.serialization.json import JSONSerializer

from drivetrain.errors import IntegrityError, NotFound, StorageError
from drivetrain.ota._tuf import (
    TOP_LEVEL_ROLE_NAMES,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    Targets,
    Timestamp,
)
from drivetrain.ota.errors import RepositoryInputError, SigningKeyMissing
from drivetrain.ota.keys import KeyRing, SignerSource

ROLES = ("root", "targets", "snapshot", "timestamp")
_VERSIONED = re.compile(r"^(\d+)\.(root|targets|snapshot)\.json$")
_SERIALIZER = JSONSerializer(compact=False)
log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RoleExpiry:
    """How long each role's metadata stays valid after it is signed."""

    root: timedelta = timedelta(days=365)
    targets: timedelta = timedelta(days=90)
    snapshot: timedelta = timedelta(days=7)
    timestamp: timedelta = timedelta(days=1)

    def of(self, role: str) -> timedelta:
        value: timedelta = getattr(self, role)
        return value


@dataclass(slots=True)
class MetadataChain:
    """The targets, snapshot and timestamp metadata of one metadata directory."""

    metadata_dir: Path
    targets: Metadata[Targets]
    snapshot: Metadata[Snapshot]
    timestamp: Metadata[Timestamp]
    extra: dict[str, str] = field(default_factory=dict)


class TufRepository:
    """Root of trust, keys and publication shared by the image and director repositories."""

    kind: ClassVar[str] = "tuf"

    def __init__(
        self,
        repo_dir: Path,
        *,
        keyring: SignerSource | None = None,
        expiry: RoleExpiry | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.repo_dir = Path(repo_dir)
        self.keyring: SignerSource = keyring or KeyRing(self.repo_dir / "keys")
        self.expiry = expiry or RoleExpiry()
        self.clock = clock
        versions = _versions(self.root_dir, "root")
        if not versions:
            raise NotFound(
                f"no {self.kind} repository in {self.repo_dir} (no N.root.json in {self.root_dir})",
                hint=f"create it first with {type(self).__name__}.create(path)",
            )
        self.root: Metadata[Root] = Metadata[Root].from_file(
            str(self.root_dir / f"{versions[-1]}.root.json")
        )

    # -- layout (subclasses say where roots and chains live) -----------------
    @property
    def root_dir(self) -> Path:
        """Where the canonical root history ``N.root.json`` is kept."""
        return self.repo_dir / "metadata"

    def chain_dirs(self) -> list[Path]:
        """Every metadata directory holding a targets → snapshot → timestamp chain."""
        return [self.repo_dir / "metadata"]

    # -- creation ------------------------------------------------------------
    @classmethod
    def create(
        cls,
        repo_dir: Path,
        *,
        keyring: SignerSource | None = None,
        expiry: RoleExpiry | None = None,
        clock: Clock = utc_now,
        thresholds: dict[str, int] | None = None,
    ) -> Self:
        """A new repository in ``repo_dir`` with fresh ed25519 keys (``<role>-1`` …).

        ``thresholds`` maps a role to how many signatures it needs (default 1);
        that many keys are generated for it.
        """
        repo_dir = Path(repo_dir)
        if _versions(repo_dir / "metadata", "root") or _versions(repo_dir / "root", "root"):
            raise RepositoryInputError(
                f"{repo_dir} already holds a repository",
                hint="open it with the class constructor instead of create()",
            )
        ring = keyring or KeyRing(repo_dir / "keys")
        expiry = expiry or RoleExpiry()
        wanted = {role: 1 for role in ROLES} | dict(thresholds or {})
        if set(wanted) != set(ROLES) or any(n < 1 for n in wanted.values()):
            raise RepositoryInputError(
                f"thresholds must be >= 1 for the roles {', '.join(ROLES)}, got {thresholds}"
            )
        root = Root(expires=clock() + expiry.root, consistent_snapshot=True)
        for role, threshold in wanted.items():
            for n in range(1, threshold + 1):
                name = f"{role}-{n}"
                if name not in ring.names():
                    _generate(ring, name)
                root.add_key(ring.public_key(name), role)
            root.roles[role].threshold = threshold
        md = Metadata(root)
        # no root exists yet for __init__ to load: build the instance around the new one
        repo = cls.__new__(cls)
        repo.repo_dir, repo.keyring, repo.expiry, repo.clock = repo_dir, ring, expiry, clock
        repo.root = md
        repo._sign(md, "root")
        repo._write_root(md)
        repo._after_create()
        return repo

    def _after_create(self) -> None:
        for path in self.chain_dirs():
            self.new_chain(path)

    # -- signing and writing -------------------------------------------------
    def _sign(self, md: Metadata[Any], role: str, root: Root | None = None) -> None:
        """Sign ``md`` with every key of ``role`` the key ring holds; refuse below threshold."""
        role_info = (root or self.root.signed).roles[role]
        md.signatures.clear()
        signed = 0
        for keyid in sorted(role_info.keyids):
            name = self.keyring.name_of(keyid)
            if name is None:
                continue
            md.sign(self.keyring.signer(name), append=True)
            signed += 1
        if signed < role_info.threshold:
            raise SigningKeyMissing(
                f"the {role} role needs {role_info.threshold} signature(s), "
                f"the key ring holds {signed} of its keys",
                hint=f"add the missing {role} keys to the key ring (or their HSM/KMS URIs)",
            )

    def _write(self, md: Metadata[Any], path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(md.to_bytes(_SERIALIZER))
            os.replace(tmp, path)
        except OSError as exc:
            raise StorageError(f"cannot write {path}: {exc.strerror}") from exc

    def _write_root(self, md: Metadata[Root]) -> None:
        for directory in {self.root_dir, *self.chain_dirs()}:
            self._write(md, directory / f"{md.signed.version}.root.json")
            self._write(md, directory / "root.json")

    def copy_roots_into(self, directory: Path) -> None:
        """Give a new metadata directory the whole root history (clients walk it)."""
        for version in _versions(self.root_dir, "root"):
            data = (self.root_dir / f"{version}.root.json").read_bytes()
            directory.mkdir(parents=True, exist_ok=True)
            (directory / f"{version}.root.json").write_bytes(data)
        (directory / "root.json").write_bytes(self.root_bytes())

    def root_bytes(self, version: int | None = None) -> bytes:
        """The signed root metadata (latest, or ``version``): what a vehicle ships with."""
        version = version or self.root.signed.version
        path = self.root_dir / f"{version}.root.json"
        if not path.exists():
            raise NotFound(f"root version {version} does not exist in {self.root_dir}")
        return path.read_bytes()

    # -- the targets → snapshot → timestamp chain ------------------------------
    def new_chain(self, metadata_dir: Path) -> MetadataChain:
        now = self.clock()
        targets = Metadata(Targets(expires=now + self.expiry.targets))
        snapshot = Metadata(
            Snapshot(expires=now + self.expiry.snapshot, meta={"targets.json": MetaFile(1)})
        )
        timestamp = Metadata(
            Timestamp(expires=now + self.expiry.timestamp, snapshot_meta=MetaFile(1))
        )
        chain = MetadataChain(metadata_dir, targets, snapshot, timestamp)
        self.copy_roots_into(metadata_dir)
        for md, role in ((targets, "targets"), (snapshot, "snapshot")):
            self._sign(md, role)
            self._write(md, metadata_dir / f"1.{role}.json")
        self._sign(timestamp, "timestamp")
        self._write(timestamp, metadata_dir / "timestamp.json")
        return chain

    def load_chain(self, metadata_dir: Path) -> MetadataChain:
        try:
            targets_v = _versions(metadata_dir, "targets")[-1]
            snapshot_v = _versions(metadata_dir, "snapshot")[-1]
            return MetadataChain(
                metadata_dir,
                Metadata[Targets].from_file(str(metadata_dir / f"{targets_v}.targets.json")),
                Metadata[Snapshot].from_file(str(metadata_dir / f"{snapshot_v}.snapshot.json")),
                Metadata[Timestamp].from_file(str(metadata_dir / "timestamp.json")),
            )
        except (IndexError, OSError, ValueError) as exc:
            raise IntegrityError(
                f"the metadata in {metadata_dir} is incomplete or unreadable",
                hint="restore the repository directory from its backup",
            ) from exc

    def publish(self, chain: MetadataChain, *, targets_changed: bool = True) -> None:
        """Sign and write the chain: a new targets (if changed), snapshot and timestamp."""
        now = self.clock()
        if targets_changed:
            targets = chain.targets.signed
            targets.version += 1
            targets.expires = now + self.expiry.targets
            self._sign(chain.targets, "targets")
            self._write(chain.targets, chain.metadata_dir / f"{targets.version}.targets.json")
        snapshot = chain.snapshot.signed
        snapshot.meta["targets.json"] = MetaFile(chain.targets.signed.version)
        snapshot.version += 1
        snapshot.expires = now + self.expiry.snapshot
        self._sign(chain.snapshot, "snapshot")
        self._write(chain.snapshot, chain.metadata_dir / f"{snapshot.version}.snapshot.json")
        self._bump_timestamp(chain, now)
        log.info(
            "%s repository %s: published targets v%d, snapshot v%d",
            self.kind,
            chain.metadata_dir,
            chain.targets.signed.version,
            snapshot.version,
        )

    def _bump_timestamp(self, chain: MetadataChain, now: datetime) -> None:
        timestamp = chain.timestamp.signed
        timestamp.snapshot_meta = MetaFile(chain.snapshot.signed.version)
        timestamp.version += 1
        timestamp.expires = now + self.expiry.timestamp
        self._sign(chain.timestamp, "timestamp")
        self._write(chain.timestamp, chain.metadata_dir / "timestamp.json")

    def refresh_timestamp(self) -> None:
        """Re-sign every timestamp with a new expiry (the online role's periodic job)."""
        now = self.clock()
        for directory in self.chain_dirs():
            self._bump_timestamp(self.load_chain(directory), now)

    def chains(self) -> Iterator[MetadataChain]:
        for directory in self.chain_dirs():
            yield self.load_chain(directory)

    # -- keys, thresholds and rotation ----------------------------------------
    def add_key(self, role: str, key_name: str) -> None:
        """Trust key ``key_name`` (generated if the ring lacks it) for ``role``."""
        _check_role(role)
        if key_name not in self.keyring.names():
            _generate(self.keyring, key_name)
        key = self.keyring.public_key(key_name)
        self._change_root(lambda root: root.add_key(key, role))

    def revoke_key(self, role: str, key_name: str) -> None:
        """Stop trusting key ``key_name`` for ``role`` (the key file stays for audit)."""
        _check_role(role)
        keyid = self.keyring.public_key(key_name).keyid
        self._change_root(lambda root: root.revoke_key(keyid, role))

    def rotate_key(self, role: str, old_key: str, new_key: str) -> None:
        """Replace ``old_key`` by ``new_key`` for ``role`` in one root version.

        The new root is signed by the old and the new root keys, so vehicles
        trusting the previous root accept it.
        """
        _check_role(role)
        if new_key not in self.keyring.names():
            _generate(self.keyring, new_key)
        new = self.keyring.public_key(new_key)
        old_id = self.keyring.public_key(old_key).keyid

        def change(root: Root) -> None:
            root.add_key(new, role)
            root.revoke_key(old_id, role)

        self._change_root(change)

    def set_threshold(self, role: str, threshold: int) -> None:
        """How many of ``role``'s keys must sign its metadata."""
        _check_role(role)

        def change(root: Root) -> None:
            root.roles[role].threshold = threshold

        self._change_root(change)

    def _change_root(self, change: Callable[[Root], None]) -> None:
        previous = self.root
        new = Metadata[Root].from_bytes(previous.to_bytes())
        change(new.signed)
        for role in TOP_LEVEL_ROLE_NAMES:
            info = new.signed.roles[role]
            if info.threshold < 1 or len(info.keyids) < info.threshold:
                raise RepositoryInputError(
                    f"the {role} role would have {len(info.keyids)} key(s) for a threshold "
                    f"of {info.threshold}",
                    hint="add keys before raising a threshold, lower it before revoking keys",
                )
        new.signed.version += 1
        new.signed.expires = self.clock() + self.expiry.root
        # signed by the previous root's keys (so clients can follow) and by its own
        new.signatures.clear()
        keyids = set(previous.signed.roles["root"].keyids) | set(new.signed.roles["root"].keyids)
        for keyid in sorted(keyids):
            name = self.keyring.name_of(keyid)
            if name is not None:
                new.sign(self.keyring.signer(name), append=True)
        try:
            previous.signed.verify_delegate("root", new.signed_bytes, new.signatures)
            new.signed.verify_delegate("root", new.signed_bytes, new.signatures)
        except UnsignedMetadataError as exc:
            raise SigningKeyMissing(
                f"root version {new.signed.version} lacks a threshold of old and new root keys",
                hint="both the previous and the new root thresholds must sign a root change",
            ) from exc
        self._write_root(new)
        self.root = new
        log.info("%s repository %s: root v%d", self.kind, self.repo_dir, new.signed.version)
        for chain in list(self.chains()):
            self.publish(chain)


def _versions(directory: Path, role: str) -> list[int]:
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = _VERSIONED.match(path.name)
        if match and match.group(2) == role:
            found.append(int(match.group(1)))
    return sorted(found)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise RepositoryInputError(f"{role!r} is not a role", hint=f"use one of {', '.join(ROLES)}")


def _generate(ring: SignerSource, name: str) -> None:
    if not isinstance(ring, KeyRing):
        raise SigningKeyMissing(
            f"cannot generate key {name!r}: the signer source is not a file key ring",
            hint="create the key in your HSM/KMS and register it with its URI",
        )
    ring.generate(name)
