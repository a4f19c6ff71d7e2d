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
   and checks length and hashes against both repositories' metadata;
5. installs every image of the bundle into its ECU's inactive slot, boots the
   trials and commits them all, or rolls them all back (``drivetrain.ota.slots``).

Any verification failure raises :class:`~drivetrain.ota.errors.UpdateRefused`
naming the check; nothing is installed then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from tuf.api import exceptions as tuf_errors
from tuf.api.exceptions import LengthOrHashMismatchError

from drivetrain.errors import StorageError
from drivetrain.ota._tuf import Metadata, TargetFile, Targets, Updater
from drivetrain.ota.errors import RepositoryInputError, UpdateRefused
from drivetrain.ota.refusals import refusal_from, refuse
from drivetrain.ota.repository import SoftwareImage
from drivetrain.ota.slots import (
    BootCheck,
    BundleOutcome,
    Checkpoint,
    InstalledImage,
    UpdateRolledBack,
    VehicleSlots,
    image_boots,
)


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


class PrimaryEcu:
    """The primary ECU of vehicle ``vehicle_id``: full verification for all its ECUs.

    ``image_url`` is the image repository's base (``…/image``, with ``metadata/``
    and ``targets/`` below it); ``director_url`` the director's base
    (``…/director``, with ``<vehicle_id>/metadata/`` below it). ``image_root`` and
    ``director_root`` are the root metadata the vehicle was provisioned with.
    ``boot_check`` is how an ECU boots a trial image (see ``ota.slots``);
    ``checkpoint`` is called before every durable write (tests cut the power there).
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
        boot_check: BootCheck = image_boots,
        checkpoint: Checkpoint | None = None,
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
        self.boot_check = boot_check
        self.slots = VehicleSlots(self.state_dir, self.ecus, checkpoint)

    # -- state ------------------------------------------------------------------
    def _metadata_dir(self, repo: str) -> Path:
        path = self.state_dir / "metadata" / repo
        path.mkdir(parents=True, exist_ok=True)
        return path

    def installed(self) -> dict[str, InstalledImage]:
        """What each ECU boots now (its active slot), by ECU serial."""
        return self.slots.installed()

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
        """Put the verified image on trial in the ECU's inactive slot (see :meth:`boot`).

        The file is checked against the signed length and hashes once more, so
        bytes changed on disk after :meth:`download` never reach a slot.
        """
        try:
            with image_file.open("rb") as handle:
                update.image.to_target_file().verify_length_and_hashes(handle)
        except LengthOrHashMismatchError as exc:
            raise refuse(
                "hash-mismatch", f"{image_file} for ECU {update.ecu_serial}: {exc}"
            ) from exc
        except OSError as exc:
            raise StorageError(f"cannot read the downloaded image {image_file}: {exc}") from exc
        return self.slots.install(update.ecu_serial, update.image, image_file)

    def boot(self) -> BundleOutcome:
        """Boot every trial image; commit all if every ECU is healthy, else roll all back."""
        return self.slots.boot(self.boot_check)

    def recover(self) -> None:
        """At power-up: finish or undo a bundle a power loss interrupted."""
        self.slots.recover()

    def update(self) -> list[InstalledImage]:
        """Check, download, install and boot everything both repositories agree on.

        Every image is downloaded and verified before any is installed, so a
        refused image leaves the whole bundle uninstalled; a failed boot of one
        ECU rolls every ECU of the bundle back (:class:`UpdateRolledBack`).
        """
        self.recover()
        updates = self.check_for_updates()
        files = [(update, self.download(update)) for update in updates]
        try:
            for update, path in files:
                self.install(update, path)
        except UpdateRefused:
            self.recover()  # the images already on trial go back with the refused one
            raise
        outcome = self.boot()
        if not outcome.committed:
            raise UpdateRolledBack(outcome)
        return [outcome.installed[update.ecu_serial] for update in updates]
