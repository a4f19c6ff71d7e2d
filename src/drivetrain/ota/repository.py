"""The two Uptane repositories: what software exists, and what each vehicle should install.

* The **image repository** (:class:`ImageRepository`) lists every released
  software image — its length, SHA-256 and SHA-512, the ECU hardware it is
  built for and its version — and serves the images. Its root and targets keys
  can stay offline: a compromise of the online server alone cannot make a
  vehicle accept an image the release process did not sign.
* The **director repository** (:class:`DirectorRepository`) tells one vehicle
  which image each of its ECUs should install now. It shares one root (and
  keys) across vehicles, and keeps per vehicle its own targets → snapshot →
  timestamp chain in ``vehicles/<vehicle_id>/metadata/``, whose targets carry
  the vehicle id and the ECU serials in their custom fields.

A vehicle installs an image only if both repositories agree on it
(``drivetrain.ota.client``).

Layout of a repository directory::

    image/                          director/
      keys/      (0700, never served)  keys/       (0700, never served)
      metadata/  N.root.json …         root/       N.root.json
                 N.targets.json        vehicles/<vehicle_id>/metadata/
                 N.snapshot.json                   N.root.json N.targets.json
                 timestamp.json                    N.snapshot.json timestamp.json
      targets/   <dir>/<sha256>.<name>
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivetrain.errors import NotFound, StorageError
from drivetrain.ota._tuf import TargetFile
from drivetrain.ota.errors import RepositoryInputError
from drivetrain.ota.metadata_store import TufRepository

HASH_ALGORITHMS = ["sha256", "sha512"]
_TARGET_PATH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


@dataclass(frozen=True, slots=True)
class SoftwareImage:
    """A released image as the image repository signs it."""

    path: str  # the TUF target path, e.g. "bms/bms-2.1.0.bin"
    length: int  # bytes
    hashes: Mapping[str, str]
    hardware_id: str  # the ECU hardware the image is built for
    version: str  # human-readable, e.g. "2.1.0"
    release_counter: int  # monotonic per hardware id: vehicles refuse a lower one

    def to_target_file(self, extra_custom: Mapping[str, Any] | None = None) -> TargetFile:
        custom = {
            "hardware_id": self.hardware_id,
            "version": self.version,
            "release_counter": self.release_counter,
            **(extra_custom or {}),
        }
        return TargetFile(self.length, dict(self.hashes), self.path, {"custom": custom})

    @classmethod
    def from_target_file(cls, target: TargetFile) -> SoftwareImage:
        custom = target.custom if isinstance(target.custom, dict) else {}
        return cls(
            path=target.path,
            length=target.length,
            hashes=dict(target.hashes),
            hardware_id=str(custom.get("hardware_id", "")),
            version=str(custom.get("version", "")),
            release_counter=int(custom.get("release_counter", 0)),
        )


@dataclass(frozen=True, slots=True)
class EcuAssignment:
    """The director's word: ECU ``ecu_serial`` of a vehicle should install ``image``."""

    ecu_serial: str
    hardware_id: str
    image: SoftwareImage


class ImageRepository(TufRepository):
    """What software exists: signed images with length, hashes, hardware id and version."""

    kind = "image"

    @property
    def metadata_dir(self) -> Path:
        return self.repo_dir / "metadata"

    @property
    def targets_dir(self) -> Path:
        return self.repo_dir / "targets"

    def add_image(
        self,
        path: str,
        data: bytes,
        *,
        hardware_id: str,
        version: str,
        release_counter: int,
    ) -> SoftwareImage:
        """Store and sign a new image (a new targets version; snapshot and timestamp follow)."""
        _check_target_path(path)
        _check_identifier("hardware id", hardware_id)
        if release_counter < 0:
            raise RepositoryInputError(f"release counter of {path} is {release_counter}, not >= 0")
        chain = self.load_chain(self.metadata_dir)
        if path in chain.targets.signed.targets:
            raise RepositoryInputError(
                f"the image repository already lists {path}",
                hint="released images are immutable: publish a new version under a new path",
            )
        info = TargetFile.from_data(path, data, HASH_ALGORITHMS)
        image = SoftwareImage(
            path, info.length, dict(info.hashes), hardware_id, version, release_counter
        )
        self._store_blob(path, info.hashes["sha256"], data)
        chain.targets.signed.targets[path] = image.to_target_file()
        self.publish(chain)
        return image

    def remove_image(self, path: str) -> None:
        """Withdraw an image: vehicles stop accepting it from the next refresh on."""
        chain = self.load_chain(self.metadata_dir)
        if chain.targets.signed.targets.pop(path, None) is None:
            raise NotFound(f"the image repository does not list {path}")
        self.publish(chain)

    def images(self) -> list[SoftwareImage]:
        """Every image the current targets metadata lists, sorted by path."""
        targets = self.load_chain(self.metadata_dir).targets.signed.targets
        return [SoftwareImage.from_target_file(targets[p]) for p in sorted(targets)]

    def image(self, path: str) -> SoftwareImage:
        for image in self.images():
            if image.path == path:
                return image
        raise NotFound(
            f"the image repository does not list {path}",
            hint="add it with ImageRepository.add_image, or check the path",
        )

    def blob_path(self, image: SoftwareImage) -> Path:
        """The served file of ``image`` (consistent-snapshot name: hash prefix)."""
        directory, _, name = image.path.rpartition("/")
        return self.targets_dir / directory / f"{image.hashes['sha256']}.{name}"

    def _store_blob(self, path: str, sha256: str, data: bytes) -> None:
        directory, _, name = path.rpartition("/")
        target = self.targets_dir / directory / f"{sha256}.{name}"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)
        except OSError as exc:
            raise StorageError(
                f"cannot store the image {path} in {target}: {exc.strerror}"
            ) from exc


class DirectorRepository(TufRepository):
    """What each vehicle should install: per-vehicle targets naming its ECUs' images."""

    kind = "director"

    @property
    def root_dir(self) -> Path:
        return self.repo_dir / "root"

    def chain_dirs(self) -> list[Path]:
        return [self.metadata_dir_of(v) for v in self.vehicles()]

    def _after_create(self) -> None:
        (self.repo_dir / "vehicles").mkdir(parents=True, exist_ok=True)

    def vehicles(self) -> list[str]:
        """The vehicle ids the director has metadata for, sorted."""
        base = self.repo_dir / "vehicles"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / "metadata").is_dir())

    def metadata_dir_of(self, vehicle_id: str) -> Path:
        _check_identifier("vehicle id", vehicle_id)
        return self.repo_dir / "vehicles" / vehicle_id / "metadata"

    def assign(self, vehicle_id: str, assignments: Iterable[EcuAssignment]) -> int:
        """Replace what ``vehicle_id`` should install; returns its new targets version.

        An empty ``assignments`` tells the vehicle there is nothing to install.
        """
        directory = self.metadata_dir_of(vehicle_id)
        # one stat, not a listing of every vehicle's folder: assigning a fleet stays linear
        chain = self.load_chain(directory) if directory.is_dir() else self.new_chain(directory)
        targets: dict[str, TargetFile] = {}
        ecus: dict[str, dict[str, dict[str, str]]] = {}
        seen: set[str] = set()
        for item in assignments:
            _check_identifier("ECU serial", item.ecu_serial)
            _check_identifier("hardware id", item.hardware_id)
            if item.ecu_serial in seen:
                raise RepositoryInputError(
                    f"ECU {item.ecu_serial} of {vehicle_id} is assigned twice",
                    hint="an ECU installs one image at a time: keep one assignment per ECU",
                )
            seen.add(item.ecu_serial)
            previous = targets.get(item.image.path)
            if previous is not None and SoftwareImage.from_target_file(previous) != item.image:
                raise RepositoryInputError(
                    f"{item.image.path} is assigned with two different lengths/hashes",
                    hint="take both assignments from the same image repository listing",
                )
            group = ecus.setdefault(item.image.path, {})
            group[item.ecu_serial] = {"hardware_id": item.hardware_id}
            targets[item.image.path] = item.image.to_target_file(
                {"vehicle_id": vehicle_id, "ecus": group}
            )
        chain.targets.signed.targets = targets
        self.publish(chain)
        return chain.targets.signed.version

    def assignments(self, vehicle_id: str) -> list[EcuAssignment]:
        """What ``vehicle_id`` is currently told to install, sorted by ECU serial."""
        if not self.metadata_dir_of(vehicle_id).is_dir():
            raise NotFound(
                f"the director has no metadata for vehicle {vehicle_id}",
                hint="assign it an update first with DirectorRepository.assign",
            )
        found = []
        chain = self.load_chain(self.metadata_dir_of(vehicle_id))
        for target in chain.targets.signed.targets.values():
            image = SoftwareImage.from_target_file(target)
            for serial, ecu in dict(target.custom.get("ecus", {})).items():
                found.append(EcuAssignment(serial, str(ecu["hardware_id"]), image))
        return sorted(found, key=lambda a: a.ecu_serial)

    def refresh_timestamp(self, vehicle_id: str | None = None) -> None:
        """Re-sign the timestamp of one vehicle's chain, or of every vehicle's."""
        if vehicle_id is None:
            super().refresh_timestamp()
            return
        self._bump_timestamp(self.load_chain(self.metadata_dir_of(vehicle_id)), self.clock())


def _check_target_path(path: str) -> None:
    if not _TARGET_PATH.match(path) or ".." in path.split("/"):
        raise RepositoryInputError(
            f"{path!r} is not a valid image path",
            hint="use relative segments of letters, digits, '.', '_', '-', e.g. bms/bms-2.1.0.bin",
        )


def _check_identifier(what: str, value: str) -> None:
    if not _IDENTIFIER.match(value):
        raise RepositoryInputError(
            f"{value!r} is not a valid {what}",
            hint="use letters, digits, '.', '_', ':' or '-' (at most 128 characters)",
        )
