"""Each attack Uptane names, against a real server and real files — and refused."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from datetime import timedelta

import pytest
from tuf.api.metadata import TargetFile, Targets

from drivetrain.ota import EcuAssignment, SoftwareImage, UpdateRefused
from drivetrain.ota.metadata_store import utc_now
from tests.ota.attacker import forge_targets, stranger
from tests.ota.conftest import BMS, VEHICLE, UpdateWorld

EVIL = b"malware pretending to be a BMS image"


def _evil_target(path: str = "bms/bms-9.9.9.bin") -> TargetFile:
    target = TargetFile.from_data(path, EVIL, ["sha256", "sha512"])
    target.unrecognized_fields = {
        "custom": {"hardware_id": BMS.hardware_id, "version": "9.9.9", "release_counter": 99}
    }
    return target


def _list_evil(targets: Targets) -> None:
    targets.targets["bms/bms-9.9.9.bin"] = _evil_target()


def _refused(world: UpdateWorld) -> UpdateRefused:
    with pytest.raises(UpdateRefused) as refused:
        world.primary().update()
    assert world.primary().installed() == {}
    return refused.value


@pytest.mark.parametrize(
    "signers", [[], [stranger()]], ids=["unsigned", "signed-by-an-untrusted-key"]
)
def test_arbitrary_software_in_image_repository_is_refused(
    world: UpdateWorld, signers: list[object]
) -> None:
    chain = world.image.load_chain(world.image.metadata_dir)
    forge_targets(world.image, chain, _list_evil, signers)  # type: ignore[arg-type]
    world.assign_bms()

    assert _refused(world).reason == "unsigned"


def test_arbitrary_software_from_a_forged_director_is_refused(world: UpdateWorld) -> None:
    world.assign_bms()
    chain = world.director.load_chain(world.director.metadata_dir_of(VEHICLE))
    forge_targets(world.director, chain, _list_evil, [stranger()])

    assert _refused(world).reason == "unsigned"


def test_compromised_director_cannot_install_what_the_image_repository_lacks(
    world: UpdateWorld,
) -> None:
    # the attacker holds every director key and the server, not the image repository's keys
    evil = SoftwareImage.from_target_file(_evil_target())
    blob = world.image.blob_path(evil)
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(EVIL)
    world.director.assign(VEHICLE, [EcuAssignment(BMS.serial, BMS.hardware_id, evil)])

    assert _refused(world).reason == "unknown-image"


def test_rollback_to_older_metadata_is_refused(world: UpdateWorld) -> None:
    world.assign_bms()
    old_timestamp = world.image.metadata_dir / "timestamp.json"
    kept = world.tmp / "old-timestamp.json"
    shutil.copyfile(old_timestamp, kept)
    world.image.refresh_timestamp()
    world.primary().check_for_updates()  # the vehicle now trusts the newer timestamp
    shutil.copyfile(kept, old_timestamp)  # the attacker replays the old one

    with pytest.raises(UpdateRefused) as refused:
        world.primary().check_for_updates()

    assert refused.value.reason == "rollback"


def test_rollback_to_an_older_image_is_refused(world: UpdateWorld) -> None:
    older = world.image.add_image(
        "bms/bms-1.9.0.bin",
        b"old BMS with a known hole",
        hardware_id="bms-hw-a",
        version="1.9.0",
        release_counter=19,
    )
    world.assign_bms()
    vehicle = world.primary()
    vehicle.update()
    world.assign_bms(older)  # both repositories sign it, but it is older than what runs

    with pytest.raises(UpdateRefused) as refused:
        world.primary().check_for_updates()

    assert refused.value.reason == "rollback"
    assert world.primary().installed()[BMS.serial].version == "2.1.0"


def test_indefinite_freeze_with_an_expired_timestamp_is_refused(world: UpdateWorld) -> None:
    world.assign_bms()
    # the attacker keeps serving the last timestamp, signed two days ago (valid one day)
    world.image.clock = lambda: utc_now() - timedelta(days=2)
    world.image.refresh_timestamp()

    assert _refused(world).reason == "expired"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda image: dataclasses.replace(image, hashes={**image.hashes, "sha256": "0" * 64}),
        lambda image: dataclasses.replace(image, length=image.length + 1),
        lambda image: dataclasses.replace(image, release_counter=image.release_counter + 1),
    ],
    ids=["hashes", "length", "release-counter"],
)
def test_mix_and_match_director_and_image_repository_disagree(
    world: UpdateWorld, tamper: Callable[[SoftwareImage], SoftwareImage]
) -> None:
    world.assign_bms(tamper(world.bms_image))

    assert _refused(world).reason == "mismatch"


def test_an_image_for_other_hardware_is_refused(world: UpdateWorld) -> None:
    gateway_image = world.image.add_image(
        "gw/gw-5.0.bin", b"gateway 5.0", hardware_id="gw-hw-b", version="5.0", release_counter=50
    )
    world.assign_bms(gateway_image)  # the director says: put the gateway image on the BMS

    assert _refused(world).reason == "mismatch"


def test_endless_data_beyond_the_signed_length_is_refused(world: UpdateWorld) -> None:
    world.assign_bms()
    blob = world.image.blob_path(world.bms_image)
    blob.write_bytes(blob.read_bytes() + b"\0" * 1_000_000)

    assert _refused(world).reason == "endless-data"


def test_endless_metadata_beyond_the_size_bound_is_refused(world: UpdateWorld) -> None:
    world.assign_bms()
    timestamp = world.image.metadata_dir / "timestamp.json"
    timestamp.write_bytes(timestamp.read_bytes() + b" " * 100_000)  # ngclient's bound: 16 KiB

    assert _refused(world).reason == "endless-data"


def test_another_vehicles_signed_assignment_is_refused(world: UpdateWorld) -> None:
    other = "WDD2050001F000002"
    world.assign_bms()
    for _ in range(3):  # the other vehicle's chain is ahead, so the versions look newer
        world.director.assign(other, [EcuAssignment(BMS.serial, BMS.hardware_id, world.bms_image)])
    # the attacker serves vehicle B's genuinely signed metadata to vehicle A
    mine = world.director.metadata_dir_of(VEHICLE)
    shutil.rmtree(mine)
    shutil.copytree(world.director.metadata_dir_of(other), mine)

    assert _refused(world).reason == "mismatch"
