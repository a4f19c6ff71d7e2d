"""Signing keys of an update repository, behind securesystemslib's ``Signer`` interface.

A :class:`KeyRing` is one directory (mode 0700) holding ``keys.json`` — for each
key name its public key and a *private key URI* — and, for the embedded
default, the ed25519 private keys themselves as PEM/PKCS#8 files with mode
0600. Repositories only ever ask the ring for a ``Signer``: a key kept in an
HSM or a cloud KMS is registered with :meth:`KeyRing.register` under its own
URI scheme (``hsm:``, ``awskms:``, ``gcpkms:``, ``azurekms:`` …, see
``securesystemslib.signer.SIGNER_FOR_URI_SCHEME``) and signs the same
metadata without the repository code changing.

Private key bytes are never logged, printed or put into an exception message.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from drivetrain.errors import IntegrityError, StorageError
from drivetrain.ota._tuf import CryptoSigner, Key, Signer, SSlibKey
from drivetrain.ota.errors import RepositoryInputError, SigningKeyMissing

KEYS_FILE = "keys.json"
FILE_SCHEME = "file2"  # CryptoSigner's scheme: a PEM/PKCS#8 private key file
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class SignerSource(Protocol):
    """Where a repository gets its signers; :class:`KeyRing` is the embedded one."""

    def names(self) -> list[str]: ...

    def public_key(self, name: str) -> Key: ...

    def signer(self, name: str) -> Signer: ...

    def name_of(self, keyid: str) -> str | None: ...


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """One key of the ring: its name, public key and where the private half lives."""

    name: str
    public_key: Key
    private_key_uri: str

    @property
    def keyid(self) -> str:
        return self.public_key.keyid


class KeyRing:
    """The named signing keys of one repository, stored in ``keys_dir``."""

    def __init__(self, keys_dir: Path) -> None:
        self.keys_dir = Path(keys_dir)
        self._entries: dict[str, KeyEntry] = self._read()

    # -- reading -------------------------------------------------------------
    def _read(self) -> dict[str, KeyEntry]:
        path = self.keys_dir / KEYS_FILE
        if not path.exists():
            return {}
        try:
            raw: dict[str, Any] = json.loads(path.read_text())
            return {
                name: KeyEntry(
                    name,
                    SSlibKey.from_dict(item["keyid"], dict(item["public_key"])),
                    str(item["uri"]),
                )
                for name, item in raw.items()
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityError(
                f"{path} is not a valid key ring ({exc.__class__.__name__})",
                hint="restore keys.json from your backup of the repository's keys directory",
            ) from exc

    def names(self) -> list[str]:
        """The key names, sorted."""
        return sorted(self._entries)

    def entry(self, name: str) -> KeyEntry:
        try:
            return self._entries[name]
        except KeyError:
            raise SigningKeyMissing(
                f"no key named {name!r} in {self.keys_dir}",
                hint=f"known keys: {', '.join(self.names()) or 'none'}; "
                "generate it or register its HSM/KMS URI first",
            ) from None

    def public_key(self, name: str) -> Key:
        return self.entry(name).public_key

    def name_of(self, keyid: str) -> str | None:
        """The name of the key with ``keyid``, or None if the ring does not hold it."""
        for entry in self._entries.values():
            if entry.keyid == keyid:
                return entry.name
        return None

    def signer(self, name: str) -> Signer:
        """A signer for key ``name``: a file key, or whatever its URI scheme names."""
        entry = self.entry(name)
        uri = entry.private_key_uri
        if uri.startswith(f"{FILE_SCHEME}:"):
            path = self.keys_dir / uri.partition(":")[2]
            _check_private(path)
            uri = f"{FILE_SCHEME}:{path}"
        try:
            return Signer.from_priv_key_uri(uri, entry.public_key)
        except (OSError, ValueError) as exc:
            raise SigningKeyMissing(
                f"cannot load the private key of {name!r} ({exc.__class__.__name__})",
                hint="check that the key file or the HSM/KMS behind its URI is reachable",
            ) from None

    # -- writing -------------------------------------------------------------
    def generate(self, name: str) -> Key:
        """Create a new ed25519 key ``name`` with its private half in a 0600 file."""
        _check_name(name)
        if name in self._entries:
            raise RepositoryInputError(
                f"a key named {name!r} already exists in {self.keys_dir}",
                hint="choose a new name for a new key (e.g. targets-2); keys are never reused",
            )
        signer = CryptoSigner.generate_ed25519()
        filename = f"{name}.ed25519.pem"
        self._ensure_dir()
        path = self.keys_dir / filename
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(signer.private_bytes)
        except OSError as exc:
            raise StorageError(f"cannot write the key file {path}: {exc.strerror}") from exc
        self._entries[name] = KeyEntry(name, signer.public_key, f"{FILE_SCHEME}:{filename}")
        self._write()
        return signer.public_key

    def register(self, name: str, public_key: Key, private_key_uri: str) -> None:
        """Add a key whose private half lives elsewhere (HSM, KMS) under its URI."""
        _check_name(name)
        if name in self._entries:
            raise RepositoryInputError(f"a key named {name!r} already exists in {self.keys_dir}")
        if ":" not in private_key_uri:
            raise RepositoryInputError(
                f"{private_key_uri!r} is not a private key URI",
                hint="use a securesystemslib URI such as hsm:, awskms:…, gcpkms:… or file2:PATH",
            )
        self._entries[name] = KeyEntry(name, public_key, private_key_uri)
        self._write()

    def _ensure_dir(self) -> None:
        try:
            self.keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StorageError(f"cannot create {self.keys_dir}: {exc.strerror}") from exc

    def _write(self) -> None:
        self._ensure_dir()
        data = {
            e.name: {
                "keyid": e.keyid,
                "public_key": e.public_key.to_dict(),
                "uri": e.private_key_uri,
            }
            for e in self._entries.values()
        }
        path = self.keys_dir / KEYS_FILE
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise RepositoryInputError(
            f"{name!r} is not a valid key name",
            hint="use lower-case letters, digits, '.', '_' or '-' (at most 64), e.g. root-2",
        )


def _check_private(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise SigningKeyMissing(
            f"the private key file {path} is missing",
            hint="restore it from your offline backup; without it this role cannot sign",
        ) from None
    if mode & 0o077:
        raise IntegrityError(
            f"{path} is readable by others",
            hint=f"chmod 600 {path}: a signing key must be private to its owner",
        )
