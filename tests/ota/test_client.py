"""The vehicle side installs what both repositories agree on — over real HTTP."""

from __future__ import annotations

import json

import pytest

from drivetrain.ota import (
    DirectorTargetsKeys,
    EcuAssignment,
    SecondaryEcu,
    UpdateRefused,
)
from tests.ota.attacker import forge_targets, stranger
from tests.ota.conftest import BMS, BMS_IMAGE, GATEWAY, VEHICLE, UpdateWorld


def test_primary_installs_the_image_the_director_names_for_its_ecu(world: UpdateWorld) -> None:
    world.assign_bms()
    vehicle = world.primary()

    installed = vehicle.update()

    assert [(i.ecu_serial, i.path, i.version, i.release_counter) for i in installed] == [
        (BMS.serial, "bms/bms-2.1.0.bin", "2.1.0", 21)
    ]
    assert vehicle.slots.ecu(BMS.serial).read(installed[0].slot) == BMS_IMAGE
    assert vehicle.installed()[BMS.serial].sha256 == world.bms_image.hashes["sha256"]
    assert GATEWAY.serial not in vehicle.installed()
    # nothing new: a second check finds the ECU up to date
    assert world.primary().check_for_updates() == []


def test_director_targets_name_the_vehicle_and_its_ecus(world: UpdateWorld) -> None:
    world.assign_bms()
    metadata = world.director.metadata_dir_of(VEHICLE)
    targets = json.loads((metadata / "2.targets.json").read_text())["signed"]["targets"]

    custom = targets["bms/bms-2.1.0.bin"]["custom"]
    assert custom["vehicle_id"] == VEHICLE
    assert custom["ecus"] == {BMS.serial: {"hardware_id": BMS.hardware_id}}
    assert custom["release_counter"] == 21
    assert targets["bms/bms-2.1.0.bin"]["hashes"] == dict(world.bms_image.hashes)


def test_a_new_release_replaces_the_installed_one(world: UpdateWorld) -> None:
    world.assign_bms()
    vehicle = world.primary()
    vehicle.update()
    newer = world.image.add_image(
        "bms/bms-2.2.0.bin",
        b"BMS 2.2.0",
        hardware_id="bms-hw-a",
        version="2.2.0",
        release_counter=22,
    )
    world.assign_bms(newer)

    installed = world.primary().update()

    assert [i.version for i in installed] == ["2.2.0"]
    assert world.primary().installed()[BMS.serial].release_counter == 22


def test_a_bundle_is_installed_whole_or_not_at_all(world: UpdateWorld) -> None:
    gateway = world.image.add_image(
        "gw/gw-5.0.bin", b"gateway 5.0", hardware_id="gw-hw-b", version="5.0", release_counter=50
    )
    world.director.assign(
        VEHICLE,
        [
            EcuAssignment(BMS.serial, BMS.hardware_id, world.bms_image),
            EcuAssignment(GATEWAY.serial, GATEWAY.hardware_id, gateway),
        ],
    )
    world.image.blob_path(gateway).write_bytes(b"gateway 5.X")  # same length, other bytes
    vehicle = world.primary()

    with pytest.raises(UpdateRefused) as refused:
        vehicle.update()

    assert refused.value.reason == "hash-mismatch"
    assert vehicle.installed() == {}  # the good BMS image was not installed either


def test_secondary_verifies_director_targets_and_image_partially(world: UpdateWorld) -> None:
    world.assign_bms()
    vehicle = world.primary()
    vehicle.check_for_updates()
    secondary = SecondaryEcu(
        BMS.serial,
        BMS.hardware_id,
        world.tmp / "secondary",
        DirectorTargetsKeys.from_root(world.director.root_bytes(1)),
    )

    image = secondary.verify(vehicle.director_targets_bytes(), BMS_IMAGE)

    assert image.path == "bms/bms-2.1.0.bin"
    with pytest.raises(UpdateRefused) as wrong_bytes:
        secondary.verify(vehicle.director_targets_bytes(), BMS_IMAGE[:-1] + b"!")
    assert wrong_bytes.value.reason == "hash-mismatch"
    with pytest.raises(UpdateRefused) as endless:
        secondary.verify(vehicle.director_targets_bytes(), BMS_IMAGE + b"more")
    assert endless.value.reason == "endless-data"


def test_secondary_refuses_targets_signed_by_another_key(world: UpdateWorld) -> None:
    world.assign_bms()
    chain = world.director.load_chain(world.director.metadata_dir_of(VEHICLE))
    forge_targets(world.director, chain, lambda targets: None, [stranger()])
    forged = (chain.metadata_dir / f"{chain.targets.signed.version}.targets.json").read_bytes()
    secondary = SecondaryEcu(
        BMS.serial,
        BMS.hardware_id,
        world.tmp / "secondary",
        DirectorTargetsKeys.from_root(world.director.root_bytes(1)),
    )

    with pytest.raises(UpdateRefused) as refused:
        secondary.verify(forged, BMS_IMAGE)

    assert refused.value.reason == "unsigned"


def test_secondary_refuses_older_director_targets(world: UpdateWorld) -> None:
    world.assign_bms()
    old = (world.director.metadata_dir_of(VEHICLE) / "2.targets.json").read_bytes()
    world.assign_bms()  # version 3, same image
    new = (world.director.metadata_dir_of(VEHICLE) / "3.targets.json").read_bytes()
    secondary = SecondaryEcu(
        BMS.serial,
        BMS.hardware_id,
        world.tmp / "secondary",
        DirectorTargetsKeys.from_root(world.director.root_bytes(1)),
    )
    secondary.verify(new, BMS_IMAGE)

    with pytest.raises(UpdateRefused) as refused:
        secondary.verify(old, BMS_IMAGE)

    assert refused.value.reason == "rollback"
