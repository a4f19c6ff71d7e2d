"""Data keys: personal signals are sealed under their subjects' key, and erasure destroys it.

Every set of data subjects whose personal data a vehicle produces (usually one
owner; an owner and a named driver share a car) has one **data key**, a random
AES-256 key. The control-plane database keeps it *wrapped*, encrypted with
AES-GCM under the data directory's **key-encryption key** (``keys/data-kek.key``,
mode 0600): a copy of the database alone reads nothing, and the key file alone
has nothing to unwrap.

Erasing a subject deletes every data key the subject is a member of
(:func:`destroy_subject_keys`). From then on the ciphertexts those keys sealed
are noise, wherever a copy of them lies — an old Delta version, a backup, a
file an attacker kept. That is crypto-shredding; deleting the rows as well
(the subject's erasure does both) removes even the noise.

Creating a key commits it before anything is sealed under it (the caller
commits :meth:`Keyring.ensure`'s session): a sealed value whose key was never
stored would be lost data.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError as SqlIntegrityError
from sqlalchemy.orm import Session

from drivetrain.errors import InputError, IntegrityError
from drivetrain.governance.key_files import KEYS_DIR, load_or_create_secret
from drivetrain.state.governance_models import DataKeyMemberRow, DataKeyRow

KEK_FILE = KEYS_DIR / "data-kek.key"
KEY_BYTES = 32
NONCE_BYTES = 12


def members_digest(subjects: Iterable[str]) -> str:
    """The identity of a set of subjects: SHA-256 of their sorted ids."""
    names = sorted(set(subjects))
    if not names:
        raise InputError("a data key needs at least one subject")
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class DataKey:
    """An unwrapped data key, ready to seal and open values (never printed)."""

    key_id: str
    subjects: frozenset[str]
    aead: AESGCM = field(repr=False, compare=False)


class Keyring:
    """Wraps, unwraps, creates and looks up data keys under one key-encryption key."""

    def __init__(self, kek: bytes) -> None:
        if len(kek) != KEY_BYTES:
            raise IntegrityError(f"a key-encryption key has {KEY_BYTES} bytes, this one {len(kek)}")
        self._kek = AESGCM(kek)

    def __repr__(self) -> str:
        return "Keyring(<secret>)"

    @classmethod
    def load_or_create(cls, data_dir: Path) -> Keyring:
        """The keyring of ``data_dir`` (its key-encryption key is created on first use)."""
        return cls(load_or_create_secret(data_dir / KEK_FILE, KEY_BYTES, "key-encryption key"))

    def _wrap(self, key_id: str, key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._kek.encrypt(nonce, key, key_id.encode())

    def _unwrap(self, key_id: str, wrapped: bytes) -> AESGCM:
        try:
            key = self._kek.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], key_id.encode())
        except InvalidTag:
            raise IntegrityError(
                f"data key {key_id} does not open with this data directory's key-encryption key",
                hint=f"the state database and {KEK_FILE} must come from the same installation",
            ) from None
        return AESGCM(key)

    def ensure(self, session: Session, subject_sets: Iterable[frozenset[str]]) -> list[DataKey]:
        """The data key of each set of subjects, created where it does not exist yet.

        The caller commits the session before sealing anything under a new key.
        """
        wanted = {members_digest(s): s for s in subject_sets}
        keys = self._existing(session, wanted)
        for digest, subjects in wanted.items():
            if digest in keys:
                continue
            key_id = f"dk_{uuid.uuid4().hex}"
            row = DataKeyRow(
                key_id=key_id,
                members=digest,
                wrapped=self._wrap(key_id, AESGCM.generate_key(bit_length=256)),
                created_at=datetime.now(UTC),
            )
            try:
                with session.begin_nested():
                    session.add(row)
                    session.flush()  # the key before its members (foreign key)
                    session.add_all(
                        DataKeyMemberRow(key_id=key_id, subject_id=s) for s in sorted(subjects)
                    )
            except SqlIntegrityError:
                raced = self._existing(session, {digest: subjects})
                if not raced:  # not another writer creating the same key: a real fault
                    raise
                keys.update(raced)
                continue
            keys[digest] = DataKey(key_id, subjects, self._unwrap(key_id, row.wrapped))
        return [keys[d] for d in wanted]

    def _existing(self, session: Session, wanted: dict[str, frozenset[str]]) -> dict[str, DataKey]:
        found: dict[str, DataKey] = {}
        digests = list(wanted)
        for i in range(0, len(digests), 500):
            rows = session.scalars(
                select(DataKeyRow).where(DataKeyRow.members.in_(digests[i : i + 500]))
            )
            for row in rows:
                aead = self._unwrap(row.key_id, row.wrapped)
                found[row.members] = DataKey(row.key_id, wanted[row.members], aead)
        return found

    def open_keys(self, session: Session, key_ids: Iterable[str]) -> dict[str, AESGCM]:
        """The live keys among ``key_ids``; destroyed keys are simply absent."""
        ids = sorted(set(key_ids))
        opened: dict[str, AESGCM] = {}
        for i in range(0, len(ids), 500):
            rows = session.execute(
                select(DataKeyRow.key_id, DataKeyRow.wrapped).where(
                    DataKeyRow.key_id.in_(ids[i : i + 500])
                )
            )
            for key_id, wrapped in rows:
                opened[key_id] = self._unwrap(key_id, wrapped)
        return opened


def keys_of_subject(session: Session, subject_id: str) -> list[str]:
    """The ids of every data key ``subject_id`` is a member of."""
    query = select(DataKeyMemberRow.key_id).where(DataKeyMemberRow.subject_id == subject_id)
    return sorted(session.scalars(query))


def destroy_subject_keys(session: Session, subject_id: str) -> list[str]:
    """Delete every data key the subject is a member of; returns their ids.

    Whatever those keys sealed — for this subject, and for anyone who shared a
    vehicle with them while the key was in use — can no longer be opened.
    """
    key_ids = keys_of_subject(session, subject_id)
    if key_ids:
        session.execute(delete(DataKeyRow).where(DataKeyRow.key_id.in_(key_ids)))
        session.flush()
    return key_ids
