"""Key files: private to their owner, never in keys.json, replaceable by an HSM/KMS URI."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from securesystemslib.signer import CryptoSigner

from drivetrain.errors import IntegrityError
from drivetrain.ota import ImageRepository, KeyRing, RepositoryInputError, SigningKeyMissing


def test_generated_keys_are_private_files_and_sign(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    public = ring.generate("targets-1")

    pem = tmp_path / "keys" / "targets-1.ed25519.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    listing = (tmp_path / "keys" / "keys.json").read_text()
    assert "PRIVATE" not in listing and pem.read_text() not in listing
    signature = KeyRing(tmp_path / "keys").signer("targets-1").sign(b"payload")
    public.verify_signature(signature, b"payload")  # raises if it does not verify


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    ring.generate("root-1")
    (tmp_path / "keys" / "root-1.ed25519.pem").chmod(0o644)

    with pytest.raises(IntegrityError, match="readable by others"):
        ring.signer("root-1")


def test_names_are_checked_and_never_reused(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    ring.generate("root-1")
    with pytest.raises(RepositoryInputError, match="already exists"):
        ring.generate("root-1")
    with pytest.raises(RepositoryInputError, match="not a valid key name"):
        ring.generate("../escape")
    with pytest.raises(SigningKeyMissing, match="known keys: root-1"):
        ring.signer("targets-9")


def test_an_external_signer_uri_replaces_the_key_file(tmp_path: Path) -> None:
    # a key whose private half lives outside the ring: any securesystemslib URI scheme
    # (hsm:, awskms:, gcpkms:…) works the same; file2: with an absolute path stands in here
    outside = CryptoSigner.generate_ed25519()
    vault = tmp_path / "vault" / "timestamp.pem"
    vault.parent.mkdir()
    vault.write_bytes(outside.private_bytes)
    vault.chmod(0o600)
    ring = KeyRing(tmp_path / "repo" / "keys")
    ring.register("timestamp-1", outside.public_key, f"file2:{vault}")

    repo = ImageRepository.create(tmp_path / "repo", keyring=ring)

    timestamp = json.loads((repo.metadata_dir / "timestamp.json").read_text())
    assert timestamp["signatures"][0]["keyid"] == outside.public_key.keyid
    assert not (tmp_path / "repo" / "keys" / "timestamp-1.ed25519.pem").exists()


def test_register_refuses_something_that_is_not_a_uri(tmp_path: Path) -> None:
    with pytest.raises(RepositoryInputError, match="not a private key URI"):
        KeyRing(tmp_path).register("x-1", CryptoSigner.generate_ed25519().public_key, "nope")
