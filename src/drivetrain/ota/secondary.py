"""A secondary ECU's partial verification of an Uptane update.

A secondary with little memory does not run the TUF workflow. It was
provisioned with the director's targets key(s) and threshold, and checks what
its primary hands it: the director's targets metadata (signed by a threshold of
those keys, not expired, not older than the last it accepted, naming this ECU
and its hardware) and the image (exactly the signed length and hashes, a
release counter not lower than the one it runs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from securesystemslib.exceptions import UnverifiedSignatureError
from tuf.api.exceptions import LengthOrHashMismatchError

from drivetrain.ota._tuf import Key, Metadata, Root, Targets
from drivetrain.ota.errors import RepositoryInputError
from drivetrain.ota.refusals import refuse
from drivetrain.ota.repository import SoftwareImage


@dataclass(frozen=True, slots=True)
class DirectorTargetsKeys:
    """The director's targets keys and threshold a secondary is provisioned with."""

    keys: tuple[Key, ...]
    threshold: int

    @classmethod
    def from_root(cls, director_root: bytes) -> DirectorTargetsKeys:
        """Take them from the director's root metadata at provisioning time."""
        root = Metadata[Root].from_bytes(director_root).signed
        role = root.roles["targets"]
        return cls(tuple(root.keys[k] for k in sorted(role.keyids)), role.threshold)


class SecondaryEcu:
    """ECU ``serial`` (hardware ``hardware_id``) verifying partially what its primary sends."""

    def __init__(
        self, serial: str, hardware_id: str, state_dir: Path, trusted: DirectorTargetsKeys
    ) -> None:
        if trusted.threshold < 1 or len(trusted.keys) < trusted.threshold:
            raise RepositoryInputError(
                f"secondary {serial} needs at least {trusted.threshold} director targets keys"
            )
        self.serial = serial
        self.hardware_id = hardware_id
        self.state_dir = Path(state_dir)
        self.trusted = trusted

    @property
    def _state_path(self) -> Path:
        return self.state_dir / f"secondary-{self.serial}.json"

    def _state(self) -> dict[str, int]:
        if not self._state_path.exists():
            return {"targets_version": 0, "release_counter": -1}
        data: dict[str, int] = json.loads(self._state_path.read_text())
        return data

    def verify(self, director_targets: bytes, image: bytes) -> SoftwareImage:
        """Check the director's targets metadata and the image; returns the image to install."""
        try:
            md = Metadata[Targets].from_bytes(director_targets)
        except Exception as exc:  # any parse failure is a refusal, never a crash
            raise refuse("invalid-metadata", f"secondary {self.serial}: {exc}") from exc
        if not isinstance(md.signed, Targets):
            raise refuse("invalid-metadata", f"secondary {self.serial}: not targets metadata")
        valid = 0
        payload = md.signed_bytes
        for key in self.trusted.keys:
            signature = md.signatures.get(key.keyid)
            if signature is None:
                continue
            try:
                key.verify_signature(signature, payload)
                valid += 1
            except UnverifiedSignatureError:
                continue
        if valid < self.trusted.threshold:
            raise refuse(
                "unsigned",
                f"secondary {self.serial}: director targets carry {valid} valid signature(s) "
                f"of {self.trusted.threshold} needed",
            )
        targets = md.signed
        if targets.is_expired(datetime.now(UTC)):
            raise refuse("expired", f"secondary {self.serial}: director targets expired")
        state = self._state()
        if targets.version < state["targets_version"]:
            raise refuse(
                "rollback",
                f"secondary {self.serial}: director targets version {targets.version} is older "
                f"than {state['targets_version']}",
            )
        mine = [
            t
            for t in targets.targets.values()
            if isinstance(t.custom, dict) and self.serial in dict(t.custom.get("ecus", {}))
        ]
        if len(mine) != 1:
            raise refuse(
                "mismatch",
                f"secondary {self.serial}: the director targets name {len(mine)} images for it",
            )
        target = mine[0]
        if dict(target.custom["ecus"])[self.serial].get("hardware_id") != self.hardware_id:
            raise refuse("mismatch", f"{target.path} is not for hardware {self.hardware_id}")
        if len(image) > target.length:
            raise refuse(
                "endless-data",
                f"secondary {self.serial}: got {len(image)} bytes, {target.path} has {target.length}",
            )
        try:
            target.verify_length_and_hashes(image)
        except LengthOrHashMismatchError as exc:
            raise refuse("hash-mismatch", f"secondary {self.serial}: {exc}") from exc
        signed = SoftwareImage.from_target_file(target)
        if signed.release_counter < state["release_counter"]:
            raise refuse(
                "rollback",
                f"secondary {self.serial}: release {signed.release_counter} is older than "
                f"the running {state['release_counter']}",
            )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._state_path.write_text(
            json.dumps(
                {"targets_version": targets.version, "release_counter": signed.release_counter}
            )
        )
        return signed
