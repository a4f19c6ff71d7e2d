"""A/B slots: install beside the running image, commit on a good boot, roll back on a bad one."""

from __future__ import annotations

from pathlib import Path

import pytest
from tuf.api.metadata import TargetFile

from drivetrain.ota import (
    BOOT_FAILURE_MARKER,
    EcuAssignment,
    EcuSlots,
    InstalledImage,
    PrimaryEcu,
    SoftwareImage,
    UpdateRefused,
    UpdateRolledBack,
    VehicleSlots,
    image_boots,
)
from drivetrain.ota.slots import Checkpoint
from tests.ota.conftest import BMS, BMS_IMAGE, GATEWAY, VEHICLE, UpdateWorld

BMS_FACTORY = b"BMS factory 2.0.0\n" + bytes(range(255, -1, -1)) * 20  # 5 KiB: two chunks
GW_FACTORY = b"gateway factory 4.0\n" * 300
GW_NEW = b"gateway 5.0\n" * 400


class PowerLoss(Exception):
    """The simulated power cut."""


def _release(world: UpdateWorld) -> dict[str, tuple[SoftwareImage, bytes]]:
    """Factory images (2.0.0, 4.0) and the new gateway build (5.0) in the image repository."""
    add = world.image.add_image
    return {
        "bms-factory": (
            add("bms/bms-2.0.0.bin", BMS_FACTORY, hardware_id="bms-hw-a", version="2.0.0",
                release_counter=20),
            BMS_FACTORY,
        ),
        "gw-factory": (
            add("gw/gw-4.0.bin", GW_FACTORY, hardware_id="gw-hw-b", version="4.0",
                release_counter=40),
            GW_FACTORY,
        ),
        "gw-new": (
            add("gw/gw-5.0.bin", GW_NEW, hardware_id="gw-hw-b", version="5.0", release_counter=50),
            GW_NEW,
        ),
    }  # fmt: skip


@pytest.fixture
def images(world: UpdateWorld) -> dict[str, tuple[SoftwareImage, bytes]]:
    return _release(world)


def _vehicle(
    world: UpdateWorld,
    images: dict[str, tuple[SoftwareImage, bytes]],
    name: str = "vehicle",
    checkpoint: Checkpoint | None = None,
) -> PrimaryEcu:
    """A vehicle whose BMS runs 2.0.0 and gateway 4.0 from the factory (slot A)."""
    vehicle = PrimaryEcu(
        VEHICLE,
        [BMS, GATEWAY],
        world.tmp / name,
        image_url=f"{world.server.url}/image",
        director_url=f"{world.server.url}/director",
        image_root=world.image.root_bytes(1),
        director_root=world.director.root_bytes(1),
        checkpoint=checkpoint,
    )
    for serial, key in ((BMS.serial, "bms-factory"), (GATEWAY.serial, "gw-factory")):
        if vehicle.slots.ecu(serial).pointer().active is None:
            vehicle.slots.ecu(serial).provision(*images[key])
    return vehicle


def _assign_bundle(world: UpdateWorld, gateway: SoftwareImage) -> None:
    world.director.assign(
        VEHICLE,
        [
            EcuAssignment(BMS.serial, BMS.hardware_id, world.bms_image),
            EcuAssignment(GATEWAY.serial, GATEWAY.hardware_id, gateway),
        ],
    )


def _versions(vehicle: PrimaryEcu) -> dict[str, tuple[str, str]]:
    return {s: (i.version, i.slot) for s, i in vehicle.installed().items()}


def _image(path: str, data: bytes, counter: int) -> SoftwareImage:
    info = TargetFile.from_data(path, data, ["sha256", "sha512"])
    return SoftwareImage(path, info.length, dict(info.hashes), "bms-hw-a", path, counter)


def _slots(tmp_path: Path) -> tuple[EcuSlots, SoftwareImage, Path]:
    """One ECU running a factory image in slot A, and a new image on disk."""
    slots = EcuSlots(BMS.serial, tmp_path / "ecus" / BMS.serial)
    slots.provision(_image("bms/f.bin", BMS_FACTORY, 20), BMS_FACTORY)
    new_file = tmp_path / "new.bin"
    new_file.write_bytes(BMS_IMAGE)
    return slots, _image("bms/n.bin", BMS_IMAGE, 21), new_file


def test_install_writes_the_inactive_slot_and_leaves_the_active_one(tmp_path: Path) -> None:
    slots, new, new_file = _slots(tmp_path)

    trial = slots.install(new, new_file)

    assert (trial.slot, slots.pointer().active, slots.pointer().trial) == ("B", "A", "B")
    assert slots.active() is not None and slots.active().path == "bms/f.bin"  # type: ignore[union-attr]
    assert slots.read("A") == BMS_FACTORY and slots.read("B") == BMS_IMAGE
    assert slots.intact("A") and slots.intact("B")
    with pytest.raises(Exception, match="on trial"):
        slots.install(new, new_file)  # one trial at a time


def test_a_good_boot_commits_and_the_next_install_goes_to_the_other_slot(tmp_path: Path) -> None:
    slots, new, new_file = _slots(tmp_path)
    vehicle = VehicleSlots(tmp_path, [BMS.serial])
    assert vehicle.ecu(BMS.serial).directory == slots.directory

    vehicle.install(BMS.serial, new, new_file)
    outcome = vehicle.boot(image_boots)

    assert outcome.committed and [b.ok for b in outcome.boots] == [True]
    assert (slots.pointer().active, slots.pointer().trial) == ("B", None)
    assert slots.pointer().last_attempt.outcome == "committed"  # type: ignore[union-attr]
    assert slots.inactive_slot() == "A"  # the previous image is the next install's target


def test_a_failed_boot_rolls_back_to_the_previous_slot(tmp_path: Path) -> None:
    slots, new, new_file = _slots(tmp_path)
    vehicle = VehicleSlots(tmp_path, [BMS.serial])
    vehicle.install(BMS.serial, new, new_file)

    outcome = vehicle.boot(lambda image, data: "no CAN heartbeat after 5 s")

    assert not outcome.committed
    assert (slots.pointer().active, slots.pointer().trial) == ("A", None)
    attempt = slots.pointer().last_attempt
    assert attempt is not None and (attempt.outcome, attempt.reason) == (
        "rolled-back",
        "no CAN heartbeat after 5 s",
    )
    assert outcome.installed[BMS.serial].path == "bms/f.bin"


def test_a_build_carrying_the_crash_marker_fails_to_boot(tmp_path: Path) -> None:
    image = InstalledImage(BMS.serial, "p", "1", 1, {"sha256": "x"}, 1, "hw", "A")
    assert image_boots(image, b"fine") is None
    assert "crashed on boot" in str(image_boots(image, b"x" + BOOT_FAILURE_MARKER))


def test_a_trial_slot_corrupted_after_install_does_not_boot(tmp_path: Path) -> None:
    slots, new, new_file = _slots(tmp_path)
    vehicle = VehicleSlots(tmp_path, [BMS.serial])
    vehicle.install(BMS.serial, new, new_file)
    (slots.directory / "B" / "image.bin").write_bytes(BMS_IMAGE[:-1] + b"!")

    outcome = vehicle.boot(image_boots)

    assert not outcome.committed and "corrupt" in str(outcome.boots[0].reason)
    assert slots.pointer().active == "A" and slots.bootable()


def test_primary_installs_into_the_inactive_slot_and_commits_on_a_good_boot(
    world: UpdateWorld, images: dict[str, tuple[SoftwareImage, bytes]]
) -> None:
    world.assign_bms()
    vehicle = _vehicle(world, images)
    assert _versions(vehicle) == {BMS.serial: ("2.0.0", "A"), GATEWAY.serial: ("4.0", "A")}

    installed = vehicle.update()

    assert [(i.version, i.slot) for i in installed] == [("2.1.0", "B")]
    assert _versions(vehicle) == {BMS.serial: ("2.1.0", "B"), GATEWAY.serial: ("4.0", "A")}
    assert vehicle.slots.ecu(BMS.serial).read("A") == BMS_FACTORY  # the previous image is kept


def test_primary_rolls_back_every_ecu_of_a_bundle_when_one_fails_to_boot(
    world: UpdateWorld, images: dict[str, tuple[SoftwareImage, bytes]]
) -> None:
    bad = world.image.add_image(
        "gw/gw-5.1.bin", GW_NEW + BOOT_FAILURE_MARKER, hardware_id="gw-hw-b", version="5.1",
        release_counter=51,
    )  # fmt: skip
    _assign_bundle(world, bad)
    vehicle = _vehicle(world, images)

    with pytest.raises(UpdateRolledBack) as rolled_back:
        vehicle.update()

    failures = rolled_back.value.outcome.failures
    assert [b.ecu_serial for b in failures] == [GATEWAY.serial]
    # the BMS booted its new image fine, and went back all the same
    assert _versions(vehicle) == {BMS.serial: ("2.0.0", "A"), GATEWAY.serial: ("4.0", "A")}
    bms_attempt = vehicle.slots.ecu(BMS.serial).pointer().last_attempt
    assert bms_attempt is not None and bms_attempt.outcome == "rolled-back"
    assert GATEWAY.serial in str(bms_attempt.reason)
    assert vehicle.slots.bootable()


def test_primary_refuses_a_download_changed_before_install(
    world: UpdateWorld, images: dict[str, tuple[SoftwareImage, bytes]]
) -> None:
    world.assign_bms()
    vehicle = _vehicle(world, images)
    (update,) = vehicle.check_for_updates()
    path = vehicle.download(update)
    path.write_bytes(BMS_IMAGE[:-1] + b"!")

    with pytest.raises(UpdateRefused) as refused:
        vehicle.install(update, path)

    assert refused.value.reason == "hash-mismatch"
    assert vehicle.slots.ecu(BMS.serial).pointer().trial is None
    assert vehicle.slots.ecu(BMS.serial).image("B") is None


def test_a_power_loss_at_any_step_of_a_bundle_leaves_a_bootable_vehicle(
    world: UpdateWorld, images: dict[str, tuple[SoftwareImage, bytes]]
) -> None:
    _assign_bundle(world, images["gw-new"][0])
    old = {BMS.serial: "2.0.0", GATEWAY.serial: "4.0"}
    new = {BMS.serial: "2.1.0", GATEWAY.serial: "5.0"}
    after_recovery: list[dict[str, str]] = []
    steps: list[str] = []
    for cut in range(500):
        steps.clear()

        def checkpoint(step: str, cut: int = cut) -> None:
            if len(steps) == cut:
                raise PowerLoss(step)
            steps.append(step)

        name = f"vehicle-{cut}"
        _vehicle(world, images, name)  # provisioned without power cuts
        try:
            _vehicle(world, images, name, checkpoint).update()
        except PowerLoss:
            pass
        else:
            break  # the cut came after the last step: the update completed
        powered_up = _vehicle(world, images, name)
        # before anything else: the active slots are those of the factory, intact
        assert powered_up.slots.bootable(), f"no bootable slot after a cut at step {cut}"
        powered_up.recover()
        assert powered_up.slots.bootable()
        assert all(s.pointer().trial is None for s in powered_up.slots.ecus.values())
        versions = {serial: image.version for serial, image in powered_up.installed().items()}
        assert versions in (old, new), f"a half-updated bundle after a cut at step {cut}"
        after_recovery.append(versions)
        # and the vehicle can still update
        powered_up.update()
        assert {s: i.version for s, i in powered_up.installed().items()} == new

    total = len(steps)
    assert total > 20, steps  # every write of both slots, pointers and the journal
    assert len(after_recovery) == total
    assert any("chunk 1" in step for step in steps)  # cuts in the middle of an image write
    decision = max(i for i, step in enumerate(steps) if step.endswith("/bundle.json") and
                   step.startswith("rename"))  # fmt: skip
    assert after_recovery == [old] * (decision + 1) + [new] * (total - decision - 1)


def test_a_slot_cut_mid_install_never_claims_what_it_holds(tmp_path: Path) -> None:
    slots, new, new_file = _slots(tmp_path)
    vehicle = VehicleSlots(tmp_path, [BMS.serial])
    vehicle.install(BMS.serial, new, new_file)
    assert vehicle.boot(image_boots).committed  # B active, A keeps the factory image

    def cut(step: str) -> None:
        if step == "write A/slot.json chunk 0":  # the new bytes are in A, its record not yet
            raise PowerLoss(step)

    newer = _image("bms/newer.bin", BMS_FACTORY + b"newer", 22)
    newer_file = tmp_path / "newer.bin"
    newer_file.write_bytes(BMS_FACTORY + b"newer")
    with pytest.raises(PowerLoss):
        EcuSlots(BMS.serial, slots.directory, cut).install(newer, newer_file)

    assert slots.image("A") is None  # not the factory record over the newer bytes
    assert (slots.pointer().active, slots.pointer().trial) == ("B", None)
    assert slots.bootable()
