"""A/B slots of a vehicle's ECUs: install beside the running image, boot, commit or roll back.

Each ECU keeps two slots, ``A`` and ``B``, as directories under
``<state_dir>/ecus/<serial>/``, and a boot pointer ``boot.json`` naming the
``active`` slot (the one that boots) and, during an update, the ``trial`` slot.
A slot is complete when its ``slot.json`` (what it holds: path, version,
hashes) exists and its ``image.bin`` matches those hashes.

Installing writes only into the inactive slot — ``slot.json`` removed first,
the image and then ``slot.json`` written to temporary files, fsynced and
renamed — and then points ``trial`` at it; ``active`` changes only when the
trial boots healthy. Every file is replaced atomically (temp file, fsync,
``os.replace``, fsync of the directory), so a power loss at any step leaves the
active slot as it was: **a vehicle is never left without a bootable slot**.

A bundle (several ECUs updated together) is journalled in
``<state_dir>/bundle.json``: the ECUs installing, and once every trial has
booted healthy, the decision ``commit`` — the bundle's single commit point.
:meth:`VehicleSlots.recover` (at power-up) finishes a decided commit, or rolls
every trial of an undecided bundle back, so ECUs never end up half updated.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from tuf.api.exceptions import LengthOrHashMismatchError

from drivetrain.errors import DrivetrainError, IntegrityError, StorageError
from drivetrain.ota.errors import RepositoryInputError
from drivetrain.ota.refusals import refuse
from drivetrain.ota.repository import SoftwareImage

SLOTS = ("A", "B")
#: Bytes a simulated image carries to crash when it boots (a bad build).
BOOT_FAILURE_MARKER = b"#drivetrain-simulated:boot-fails"
_CHUNK = 4096

#: Called with a step's name before each durable write; tests raise in it to cut the power.
Checkpoint = Callable[[str], None]
#: ``check(image, data)`` "boots" an image: None when healthy, else what failed.
BootCheck = Callable[["InstalledImage", bytes], "str | None"]


@dataclass(frozen=True, slots=True)
class InstalledImage:
    """An image in a slot of ECU ``ecu_serial`` (the version manifest has one per ECU)."""

    ecu_serial: str
    path: str
    version: str
    release_counter: int
    hashes: Mapping[str, str]
    length: int  # bytes
    hardware_id: str
    slot: str

    @property
    def sha256(self) -> str:
        return self.hashes["sha256"]

    @property
    def image(self) -> SoftwareImage:
        return SoftwareImage(
            self.path, self.length, dict(self.hashes), self.hardware_id, self.version,
            self.release_counter,
        )  # fmt: skip

    @classmethod
    def of(cls, serial: str, image: SoftwareImage, slot: str) -> InstalledImage:
        return cls(
            serial, image.path, image.version, image.release_counter, dict(image.hashes),
            image.length, image.hardware_id, slot,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class InstallAttempt:
    """The last install on an ECU and how it ended (reported in the version manifest)."""

    path: str
    sha256: str
    outcome: str  # "trial", "committed" or "rolled-back"
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class BootPointer:
    """What boots: the ``active`` slot, and the ``trial`` slot while an update is pending."""

    active: str | None = None
    trial: str | None = None
    last_attempt: InstallAttempt | None = None


@dataclass(frozen=True, slots=True)
class BootResult:
    """How the trial image of one ECU booted."""

    ecu_serial: str
    image: InstalledImage
    ok: bool
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class BundleOutcome:
    """The end of a bundle: committed on every ECU, or rolled back on every ECU."""

    committed: bool
    boots: tuple[BootResult, ...]
    installed: Mapping[str, InstalledImage] = field(default_factory=dict)

    @property
    def failures(self) -> tuple[BootResult, ...]:
        return tuple(b for b in self.boots if not b.ok)


class UpdateRolledBack(DrivetrainError):
    """A bundle's boot check failed; every ECU of the bundle runs its previous image again."""

    code = "ota-update-rolled-back"

    def __init__(self, outcome: BundleOutcome) -> None:
        self.outcome = outcome
        failed = "; ".join(f"{b.ecu_serial}: {b.reason}" for b in outcome.failures)
        super().__init__(
            f"the update was rolled back on every ECU of the bundle ({failed})",
            hint="the previous images run again; withdraw or fix the failing build",
        )


def image_boots(image: InstalledImage, data: bytes) -> str | None:
    """The simulated ECU's boot: a build carrying ``BOOT_FAILURE_MARKER`` crashes."""
    if BOOT_FAILURE_MARKER in data:
        return f"{image.path} crashed on boot (the build carries the boot-failure marker)"
    return None


def _no_power_loss(step: str) -> None:
    return


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _durable_write(path: Path, chunks: Iterable[bytes], checkpoint: Checkpoint) -> None:
    """Write ``path`` atomically: temp file, fsync, rename, fsync of the directory."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("wb") as handle:
            for i, chunk in enumerate(chunks):
                checkpoint(f"write {path.parent.name}/{path.name} chunk {i}")
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        checkpoint(f"rename {path.parent.name}/{path.name}")
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror}") from exc


def _durable_unlink(path: Path, checkpoint: Checkpoint) -> None:
    if path.exists():
        checkpoint(f"remove {path.parent.name}/{path.name}")
        path.unlink()
        _fsync_dir(path.parent)


def _read_chunks(handle: BinaryIO) -> Iterator[bytes]:
    while chunk := handle.read(_CHUNK):
        yield chunk


def _json(data: Any) -> list[bytes]:
    return [json.dumps(data, indent=2, sort_keys=True).encode() + b"\n"]


class EcuSlots:
    """The A/B slots and boot pointer of ECU ``serial`` in ``directory``."""

    def __init__(self, serial: str, directory: Path, checkpoint: Checkpoint | None = None) -> None:
        self.serial = serial
        self.directory = Path(directory)
        self._checkpoint = checkpoint or _no_power_loss

    @property
    def _pointer_path(self) -> Path:
        return self.directory / "boot.json"

    def pointer(self) -> BootPointer:
        if not self._pointer_path.exists():
            return BootPointer()
        try:
            raw = json.loads(self._pointer_path.read_text())
            attempt = raw.get("last_attempt")
            return BootPointer(
                raw["active"], raw["trial"], InstallAttempt(**attempt) if attempt else None
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise IntegrityError(f"the boot pointer {self._pointer_path} is unreadable") from exc

    def _set_pointer(self, pointer: BootPointer) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        _durable_write(self._pointer_path, _json(asdict(pointer)), self._checkpoint)

    def image(self, slot: str) -> InstalledImage | None:
        """What ``slot`` holds, or None while it is empty or half written."""
        record = self.directory / slot / "slot.json"
        if not record.exists():
            return None
        return InstalledImage(**json.loads(record.read_text()))

    def read(self, slot: str) -> bytes:
        return (self.directory / slot / "image.bin").read_bytes()

    def active(self) -> InstalledImage | None:
        """The image that boots now."""
        slot = self.pointer().active
        return None if slot is None else self.image(slot)

    def trial(self) -> InstalledImage | None:
        slot = self.pointer().trial
        return None if slot is None else self.image(slot)

    def intact(self, slot: str) -> bool:
        """Whether ``slot`` is complete and its bytes match what it records."""
        image = self.image(slot)
        blob = self.directory / slot / "image.bin"
        if image is None or not blob.exists():
            return False
        with blob.open("rb") as handle:
            try:
                image.image.to_target_file().verify_length_and_hashes(handle)
            except LengthOrHashMismatchError:
                return False
        return True

    def bootable(self) -> bool:
        """Whether the active slot can boot (the invariant every step keeps)."""
        slot = self.pointer().active
        return slot is not None and self.intact(slot)

    def inactive_slot(self) -> str:
        active = self.pointer().active
        return "B" if active == "A" else "A"

    def provision(self, image: SoftwareImage, data: bytes) -> InstalledImage:
        """Write the factory image into slot A and make it active (a new ECU only)."""
        if self.pointer().active is not None:
            raise RepositoryInputError(f"ECU {self.serial} is already provisioned")
        return self._commit(self._write_slot("A", image, [data]))

    def install(self, image: SoftwareImage, source: Path) -> InstalledImage:
        """Write a verified image into the inactive slot and mark it the trial slot."""
        pointer = self.pointer()
        if pointer.trial is not None:
            raise RepositoryInputError(
                f"ECU {self.serial} has an update on trial in slot {pointer.trial}",
                hint="boot or recover the vehicle before installing again",
            )
        slot = self.inactive_slot()
        with source.open("rb") as handle:
            installed = self._write_slot(slot, image, _read_chunks(handle))
        attempt = InstallAttempt(image.path, image.hashes["sha256"], "trial")
        self._set_pointer(BootPointer(pointer.active, slot, attempt))
        return installed

    def _write_slot(
        self, slot: str, image: SoftwareImage, chunks: Iterable[bytes]
    ) -> InstalledImage:
        directory = self.directory / slot
        directory.mkdir(parents=True, exist_ok=True)
        _durable_unlink(directory / "slot.json", self._checkpoint)  # the slot is incomplete now
        _durable_write(directory / "image.bin", chunks, self._checkpoint)
        installed = InstalledImage.of(self.serial, image, slot)
        _durable_write(directory / "slot.json", _json(asdict(installed)), self._checkpoint)
        if not self.intact(slot):  # the bytes changed between the check and the copy
            raise refuse(
                "hash-mismatch",
                f"slot {slot} of ECU {self.serial} does not read back as {image.path}; "
                "the active slot was not touched",
            )
        return installed

    def boot(self, check: BootCheck) -> BootResult | None:
        """Boot the trial image (None if there is none); does not decide anything."""
        slot = self.pointer().trial
        image = None if slot is None else self.image(slot)
        if slot is None or image is None:
            return None
        if not self.intact(slot):
            return BootResult(self.serial, image, False, f"slot {slot} is corrupt")
        reason = check(image, self.read(slot))
        return BootResult(self.serial, image, reason is None, reason)

    def commit(self) -> InstalledImage | None:
        """Make the trial slot active; returns the image now running."""
        slot = self.pointer().trial
        image = None if slot is None else self.image(slot)
        return self.active() if image is None else self._commit(image)

    def _commit(self, image: InstalledImage) -> InstalledImage:
        attempt = InstallAttempt(image.path, image.sha256, "committed")
        self._set_pointer(BootPointer(image.slot, None, attempt))
        return image

    def rollback(self, reason: str) -> None:
        """Forget the trial slot: the previous active slot keeps booting."""
        pointer = self.pointer()
        if pointer.trial is None:
            return
        previous = pointer.last_attempt
        attempt = InstallAttempt(
            previous.path if previous else "", previous.sha256 if previous else "",
            "rolled-back", reason,
        )  # fmt: skip
        self._set_pointer(BootPointer(pointer.active, None, attempt))


class VehicleSlots:
    """The slots of every ECU of a vehicle, and the journal that keeps bundles whole."""

    def __init__(
        self, state_dir: Path, serials: Iterable[str], checkpoint: Checkpoint | None = None
    ) -> None:
        self.state_dir = Path(state_dir)
        self._checkpoint = checkpoint or _no_power_loss
        self.ecus = {
            s: EcuSlots(s, self.state_dir / "ecus" / s, self._checkpoint) for s in sorted(serials)
        }

    @property
    def _journal_path(self) -> Path:
        return self.state_dir / "bundle.json"

    def ecu(self, serial: str) -> EcuSlots:
        try:
            return self.ecus[serial]
        except KeyError:
            raise RepositoryInputError(f"this vehicle has no ECU {serial}") from None

    def installed(self) -> dict[str, InstalledImage]:
        """What every ECU boots now, by serial (ECUs without an image left out)."""
        found = {serial: slots.active() for serial, slots in self.ecus.items()}
        return {serial: image for serial, image in found.items() if image is not None}

    def bootable(self) -> bool:
        return all(slots.bootable() for slots in self.ecus.values())

    def _journal(self) -> dict[str, Any] | None:
        if not self._journal_path.exists():
            return None
        data: dict[str, Any] = json.loads(self._journal_path.read_text())
        return data

    def install(self, serial: str, image: SoftwareImage, source: Path) -> InstalledImage:
        """Install ``image`` on trial in ECU ``serial``'s inactive slot, as part of the bundle."""
        slots = self.ecu(serial)
        journal = self._journal() or {"ecus": [], "decision": None}
        if journal["decision"] is not None:
            raise RepositoryInputError("a committed bundle is still being applied: recover first")
        if serial not in journal["ecus"]:
            journal["ecus"] = sorted([*journal["ecus"], serial])
            self.state_dir.mkdir(parents=True, exist_ok=True)
            _durable_write(self._journal_path, _json(journal), self._checkpoint)
        return slots.install(image, source)

    def boot(self, check: BootCheck) -> BundleOutcome:
        """Boot every trial of the bundle; commit all if all are healthy, else roll all back."""
        journal = self._journal()
        if journal is None:
            return BundleOutcome(True, (), self.installed())  # nothing on trial
        serials: Sequence[str] = journal["ecus"]
        boots = tuple(result for s in serials if (result := self.ecu(s).boot(check)) is not None)
        failed = [b for b in boots if not b.ok]
        if failed:
            why = "; ".join(f"{b.ecu_serial}: {b.reason}" for b in failed)
            for serial in serials:
                own = next((b for b in failed if b.ecu_serial == serial), None)
                self.ecu(serial).rollback(
                    (own.reason or "boot failed") if own else f"bundle rolled back ({why})"
                )
            _durable_unlink(self._journal_path, self._checkpoint)
            return BundleOutcome(False, boots, self.installed())
        decided = journal | {"decision": "commit"}  # the bundle's commit point
        _durable_write(self._journal_path, _json(decided), self._checkpoint)
        self._finish(decided)
        return BundleOutcome(True, boots, self.installed())

    def _finish(self, journal: Mapping[str, Any]) -> None:
        for serial in journal["ecus"]:
            if journal["decision"] == "commit":
                self.ecu(serial).commit()
            else:
                self.ecu(serial).rollback("power was lost before the bundle committed")
        _durable_unlink(self._journal_path, self._checkpoint)

    def recover(self) -> None:
        """At power-up: finish a committed bundle, roll back an undecided one."""
        journal = self._journal()
        if journal is not None:
            self._finish(journal)
        for slots in self.ecus.values():  # a trial outside any bundle never commits
            slots.rollback("power was lost before the bundle committed")
