"""Key rotation the vehicle follows, and thresholds it enforces."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from drivetrain.ota import RepositoryInputError, SigningKeyMissing, UpdateRefused
from tests.ota.attacker import forge_targets
from tests.ota.conftest import BMS, UpdateWorld


def _trusted_root_version(world: UpdateWorld, repo: str) -> int:
    root = world.tmp / "vehicle" / "metadata" / repo / "root.json"
    return int(json.loads(root.read_text())["signed"]["version"])


def test_vehicle_follows_root_and_targets_key_rotation(world: UpdateWorld) -> None:
    world.assign_bms()
    world.primary().check_for_updates()
    world.image.rotate_key("root", "root-1", "root-2")
    world.image.rotate_key("targets", "targets-1", "targets-2")
    world.director.rotate_key("root", "root-1", "root-2")

    installed = world.primary().update()  # still provisioned with root version 1

    assert [i.ecu_serial for i in installed] == [BMS.serial]
    assert _trusted_root_version(world, "image") == 3
    assert _trusted_root_version(world, "director") == 2
    root = json.loads((world.image.metadata_dir / "3.root.json").read_text())
    assert len(root["signatures"]) == 1  # root-1 retired in version 2, root-2 alone signs 3
    v2 = json.loads((world.image.metadata_dir / "2.root.json").read_text())
    assert len(v2["signatures"]) == 2  # old and new root key sign the rotation


def test_a_retired_targets_key_no_longer_signs(world: UpdateWorld) -> None:
    world.assign_bms()
    retired = world.image.keyring.signer("targets-1")
    world.image.rotate_key("targets", "targets-1", "targets-2")
    chain = world.image.load_chain(world.image.metadata_dir)
    forge_targets(world.image, chain, lambda targets: None, [retired])

    with pytest.raises(UpdateRefused) as refused:
        world.primary().check_for_updates()

    assert refused.value.reason == "unsigned"


def test_threshold_of_two_refuses_one_signature(world: UpdateWorld) -> None:
    world.image.add_key("targets", "targets-2")
    world.image.set_threshold("targets", 2)
    world.assign_bms()
    assert [i.ecu_serial for i in world.primary("first").update()] == [BMS.serial]

    chain = world.image.load_chain(world.image.metadata_dir)
    forge_targets(world.image, chain, lambda t: None, [world.image.keyring.signer("targets-1")])
    with pytest.raises(UpdateRefused) as refused:
        world.primary("second").check_for_updates()

    assert refused.value.reason == "unsigned"


def test_threshold_of_two_from_creation(world_factory: Callable[..., UpdateWorld]) -> None:
    world = world_factory(thresholds={"root": 2, "targets": 2})
    world.assign_bms()

    assert [i.ecu_serial for i in world.primary().update()] == [BMS.serial]
    root = json.loads((world.image.metadata_dir / "1.root.json").read_text())
    assert root["signed"]["roles"]["root"]["threshold"] == 2
    assert len(root["signatures"]) == 2


def test_a_threshold_above_the_number_of_keys_is_refused(world: UpdateWorld) -> None:
    with pytest.raises(RepositoryInputError, match="threshold"):
        world.image.set_threshold("snapshot", 2)


def test_a_root_change_needs_the_old_root_keys(world: UpdateWorld) -> None:
    (world.image.keyring.keys_dir / "root-1.ed25519.pem").unlink()  # the offline key is lost

    with pytest.raises(SigningKeyMissing):
        world.image.rotate_key("root", "root-1", "root-2")
