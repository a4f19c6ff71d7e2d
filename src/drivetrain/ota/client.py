"""The vehicle side: a primary ECU's full verification of an Uptane update.

A :class:`PrimaryEcu` keeps, per repository, the metadata it trusts in its
state directory and the root it was manufactured with. To update it

1. refreshes the director's metadata for its vehicle and the image
   repository's metadata with python-tuf's ``Updater`` (root rotation,
   timestamp → snapshot → targets, signatures and thresholds, versions,
   expiry — the TUF client workflow);
2. checks every director target: it is for this vehicle, names only ECUs of
   this vehicle with their hardware id, and the image repository lists the same
   image with the same length, hashes, hardware id and release counter
   ("director and image repository agree");
3. refuses an image whose release counter is lower than the one the ECU runs;
4. downloads the image from the image repository, bounded by the signed length,
   and checks length and hashes against both repositories' metadata.

Any failure raises :class:`~drivetrain.ota.errors.UpdateRefused` naming the
check; nothing is installed then.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

from tuf.api import exceptions as tuf_errors

from drivetrain.errors import StorageError
from drivetrain.ota._tuf import Metadata, TargetFile, Targets, Updater
from drivetrain.ota.errors import RepositoryInputError
from drivetrain.ota.refusals import refusal_from, refuse
from drivetrain.ota.repository import SoftwareImage


@dataclass(frozen=True, slots=True)
class Ecu:
    """One ECU of a vehicle as the vehicle knows it."""

    serial: str
    hardware_id: str


@dataclass(frozen=True, slots=True)
class VerifiedUpdate:
    """An image both repositories agree ECU ``ecu_serial`` should install."""

    ecu_serial: str
    image: SoftwareImage


@dataclass(frozen=True, slots=True)
class InstalledImage:
    """What an ECU runs (the vehicle's version manifest is one of these per ECU)."""

    ecu_serial: str
    path: str
    version: str
    release_counter: int
    sha256: str


class PrimaryEcu:
    """The primary ECU of vehicle ``vehicle_id``: full verification for all its ECUs.

    ``image_url`` is the image repository's base (``…/image``, with ``metadata/``
    and ``targets/`` below it); ``director_url`` the director's base
    (``…/director``, with ``<vehicle_id>/metadata/`` below it). ``image_root`` and
    ``director_root`` are the root metadata the vehicle was provisioned with.
    """

    def __init__(
        self,
        vehicle_id: str,
        ecus: Sequence[Ecu],
        state_dir: Path,
        *,
        image_url: str,
        director_url: str,
        image_root: bytes,
        director_root: bytes,
    ) -> None:
        if not ecus:
            raise RepositoryInputError(f"vehicle {vehicle_id} has no ECUs to update")
        self.vehicle_id = vehicle_id
        self.ecus = {ecu.serial: ecu for ecu in ecus}
        self.state_dir = Path(state_dir)
        self._image_url = image_url.rstrip("/")
        self._director_url = director_url.rstrip("/")
        self._roots = {"image": image_root, "director": director_root}
        self._image_updater: Updater | None = None

    # -- state ------------------------------------------------------------------
    def _metadata_dir(self, repo: str) -> Path:
        path = self.state_dir / "metadata" / repo
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def _manifest_path(self) -> Path:
        return self.state_dir / "installed.json"

    def installed(self) -> dict[str, InstalledImage]:
        """The version manifest: what each ECU runs, by ECU serial."""
        if not self._manifest_path.exists():
            return {}
        raw = json.loads(self._manifest_path.read_text())
        return {serial: InstalledImage(**item) for serial, item in raw.items()}

    def director_targets_bytes(self) -> bytes:
        """The director targets metadata last verified (what secondaries verify partially)."""
        return (self._metadata_dir("director") / "targets.json").read_bytes()

    # -- the update workflow ----------------------------------------------------
    def _refreshed(self, repo: str, metadata_url: str, target_url: str | None = None) -> Updater:
        try:
            updater = Updater(
                str(self._metadata_dir(repo)),
                metadata_url,
                target_base_url=target_url,
                bootstrap=self._roots[repo],
            )
            updater.refresh()
        except (tuf_errors.RepositoryError, tuf_errors.DownloadError) as exc:
            raise refusal_from(exc, f"{repo} repository") from exc
        except OSError as exc:
            raise StorageError(f"cannot keep {repo} metadata in {self.state_dir}: {exc}") from exc
        return updater

    def check_for_updates(self) -> list[VerifiedUpdate]:
        """Refresh both repositories and return the updates they agree on (may be empty)."""
        director_url = f"{self._director_url}/{quote(self.vehicle_id, safe='')}/metadata/"
        self._refreshed("director", director_url)
        image = self._refreshed(
            "image", f"{self._image_url}/metadata/", f"{self._image_url}/targets/"
        )
        self._image_updater = image
        # the updater has just verified and stored this file: it is the trusted targets
        director_targets = (
            Metadata[Targets].from_file(str(self._metadata_dir("director") / "targets.json")).signed
        )
        installed = self.installed()
        updates: list[VerifiedUpdate] = []
        for path in sorted(director_targets.targets):
            director_target = director_targets.targets[path]
            for serial in self._ecus_of(director_target):
                try:
                    image_target = image.get_targetinfo(path)
                except (tuf_errors.RepositoryError, tuf_errors.DownloadError) as exc:
                    raise refusal_from(exc, "image repository") from exc
                if image_target is None:
                    raise refuse(
                        "unknown-image",
                        f"the director tells ECU {serial} of {self.vehicle_id} to install "
                        f"{path}, which the image repository does not list",
                    )
                verified = self._agree(serial, director_target, image_target)
                current = installed.get(serial)
                if current is not None:
                    if verified.release_counter < current.release_counter:
                        raise refuse(
                            "rollback",
                            f"ECU {serial} runs {current.path} (release {current.release_counter}); "
                            f"{path} has release {verified.release_counter}",
                        )
                    if current.sha256 == verified.hashes["sha256"]:
                        continue  # already installed
                updates.append(VerifiedUpdate(serial, verified))
        return updates

    def _ecus_of(self, target: TargetFile) -> list[str]:
        custom = target.custom if isinstance(target.custom, dict) else {}
        if custom.get("vehicle_id") != self.vehicle_id:
            raise refuse(
                "mismatch",
                f"director target {target.path} is for vehicle {custom.get('vehicle_id')!r}, "
                f"this is {self.vehicle_id}",
            )
        ecus = custom.get("ecus")
        if not isinstance(ecus, dict) or not ecus:
            raise refuse("invalid-metadata", f"director target {target.path} names no ECU")
        for serial, ecu in ecus.items():
            mine = self.ecus.get(serial)
            if mine is None:
                raise refuse(
                    "mismatch",
                    f"director target {target.path} names ECU {serial}, "
                    f"which vehicle {self.vehicle_id} does not have",
                )
            if not isinstance(ecu, dict) or ecu.get("hardware_id") != mine.hardware_id:
                raise refuse(
                    "mismatch",
                    f"director target {target.path} is for hardware "
                    f"{ecu.get('hardware_id') if isinstance(ecu, dict) else ecu!r}, "
                    f"ECU {serial} is {mine.hardware_id}",
                )
        return sorted(ecus)

    def _agree(self, serial: str, director: TargetFile, image: TargetFile) -> SoftwareImage:
        """The image, if the director and the image repository describe the same one."""
        common = set(director.hashes) & set(image.hashes)
        if not common:
            raise refuse("mismatch", f"{director.path}: the repositories share no hash algorithm")
        if director.length != image.length or any(
            director.hashes[a] != image.hashes[a] for a in common
        ):
            raise refuse(
                "mismatch",
                f"{director.path}: the director says {director.length} bytes "
                f"sha256 {director.hashes.get('sha256', '?')[:12]}…, the image repository "
                f"{image.length} bytes sha256 {image.hashes.get('sha256', '?')[:12]}…",
            )
        signed = SoftwareImage.from_target_file(image)
        told = SoftwareImage.from_target_file(director)
        if signed.hardware_id != self.ecus[serial].hardware_id:
            raise refuse(
                "mismatch",
                f"{director.path} is built for {signed.hardware_id}, "
                f"ECU {serial} is {self.ecus[serial].hardware_id}",
            )
        if told.release_counter != signed.release_counter:
            raise refuse(
                "mismatch",
                f"{director.path}: the director says release {told.release_counter}, "
                f"the image repository {signed.release_counter}",
            )
        return signed

    def download(self, update: VerifiedUpdate) -> Path:
        """Fetch the image (at most its signed length) and verify it; returns the file."""
        if self._image_updater is None:
            raise RepositoryInputError(
                "no verified metadata yet", hint="call check_for_updates() before download()"
            )
        updater = self._image_updater
        target = update.image.to_target_file()
        downloads = self.state_dir / "downloads"
        downloads.mkdir(parents=True, exist_ok=True)
        destination = downloads / quote(update.image.path, safe="")
        try:
            info = updater.get_targetinfo(update.image.path)
            if info is None:
                raise refuse("unknown-image", f"{update.image.path} is no longer listed")
            updater.download_target(info, str(destination))
            with destination.open("rb") as handle:
                target.verify_length_and_hashes(handle)
        except (tuf_errors.RepositoryError, tuf_errors.DownloadError) as exc:
            destination.unlink(missing_ok=True)
            raise refusal_from(exc, f"image {update.image.path}") from exc
        return destination

    def install(self, update: VerifiedUpdate, image_file: Path) -> InstalledImage:
        """Put the verified image in the ECU's slot and record it in the version manifest.

        (The A/B slots, boot check and rollback of a simulated vehicle are a later
        part of issue #12; here the ECU's slot is one directory.)
        """
        slot = self.state_dir / "ecus" / update.ecu_serial
        slot.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(image_file, slot / "image.bin")
        record = InstalledImage(
            update.ecu_serial,
            update.image.path,
            update.image.version,
            update.image.release_counter,
            update.image.hashes["sha256"],
        )
        manifest = self.installed() | {update.ecu_serial: record}
        tmp = self._manifest_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({k: asdict(v) for k, v in manifest.items()}, indent=2))
        os.replace(tmp, self._manifest_path)
        return record

    def update(self) -> list[InstalledImage]:
        """Check, download and install everything both repositories agree on.

        Every image is downloaded and verified before any is installed, so a
        refused image leaves the whole bundle uninstalled.
        """
        updates = self.check_for_updates()
        files = [(update, self.download(update)) for update in updates]
        return [self.install(update, path) for update, path in files]
