"""Wiring campaigns to the signed repositories: offering an image, and rolling back.

Offering = :meth:`DirectorRepository.assign` of the image to the vehicle's ECU,
keeping what the director already tells the vehicle's *other* ECUs, then
re-signing that vehicle's timestamp.

Rolling back cannot simply re-assign the previous image: Uptane vehicles refuse
an image whose release counter is lower than the one they run (that is the
rollback attack the client defends against), and a compromised director must
not be able to downgrade a fleet. So a campaign rollback *re-releases* the
previous software: the image repository signs the previous image's bytes again
under a new path and a release counter above the bad build's, with the previous
version string. A vehicle refreshing then installs byte-for-byte the software
it ran before. (This needs the image repository's targets key, which the
embedded default keeps in files; with offline keys a release manager signs the
re-release.)
"""

from __future__ import annotations

from drivetrain.errors import NotFound
from drivetrain.ota.repository import (
    DirectorRepository,
    EcuAssignment,
    ImageRepository,
    SoftwareImage,
)


def offer_image(
    director: DirectorRepository,
    vehicle_id: str,
    ecu_serial: str,
    image: SoftwareImage,
) -> int:
    """Tell ``vehicle_id``'s ECU to install ``image``; returns the director targets version."""
    keep: list[EcuAssignment] = []
    if vehicle_id in director.vehicles():
        keep = [a for a in director.assignments(vehicle_id) if a.ecu_serial != ecu_serial]
    version = director.assign(
        vehicle_id, [*keep, EcuAssignment(ecu_serial, image.hardware_id, image)]
    )
    director.refresh_timestamp(vehicle_id)
    return version


def rollback_image(
    image_repo: ImageRepository, hardware_id: str, version: str, above_counter: int
) -> SoftwareImage:
    """An image of ``version`` for ``hardware_id`` with a release counter above ``above_counter``.

    Reuses an earlier re-release if there is one; otherwise signs the original
    image's bytes again (see the module docstring).
    """
    images = [i for i in image_repo.images() if i.hardware_id == hardware_id]
    same = [i for i in images if i.version == version]
    reusable = [i for i in same if i.release_counter > above_counter]
    if reusable:
        return max(reusable, key=lambda i: i.release_counter)
    if not same:
        raise NotFound(
            f"the image repository no longer lists version {version} for {hardware_id}",
            hint="re-publish that version with ImageRepository.add_image to roll back to it",
        )
    original = min(same, key=lambda i: i.release_counter)
    counter = max(i.release_counter for i in images) + 1
    directory, _, name = original.path.rpartition("/")
    path = f"{directory}/rollback-{counter}-{name}" if directory else f"rollback-{counter}-{name}"
    data = image_repo.blob_path(original).read_bytes()
    return image_repo.add_image(
        path, data, hardware_id=hardware_id, version=version, release_counter=counter
    )
