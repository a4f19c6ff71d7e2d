"""Repository files: consistent snapshots, versioned names, expiry per role."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivetrain.errors import NotFound
from drivetrain.ota import (
    DirectorRepository,
    EcuAssignment,
    ImageRepository,
    RepositoryInputError,
    RoleExpiry,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _signed(path: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads(path.read_text())["signed"]
    return data


def _expires(path: Path) -> datetime:
    return datetime.fromisoformat(str(_signed(path)["expires"]))


def test_image_repository_layout_and_expiry(tmp_path: Path) -> None:
    repo = ImageRepository.create(tmp_path / "image", clock=lambda: NOW)
    image = repo.add_image(
        "bms/bms-2.1.0.bin", b"firmware", hardware_id="bms-hw-a", version="2.1.0", release_counter=3
    )

    md = repo.metadata_dir
    assert sorted(p.name for p in md.iterdir()) == [
        "1.root.json", "1.snapshot.json", "1.targets.json",
        "2.snapshot.json", "2.targets.json", "root.json", "timestamp.json",
    ]  # fmt: skip
    assert _signed(md / "1.root.json")["consistent_snapshot"] is True
    assert _expires(md / "1.root.json") == NOW + timedelta(days=365)
    assert _expires(md / "2.targets.json") == NOW + timedelta(days=90)
    assert _expires(md / "2.snapshot.json") == NOW + timedelta(days=7)
    assert _expires(md / "timestamp.json") == NOW + timedelta(days=1)
    assert _signed(md / "timestamp.json")["meta"] == {"snapshot.json": {"version": 2}}
    target = _signed(md / "2.targets.json")["targets"]["bms/bms-2.1.0.bin"]  # type: ignore[index]
    assert target["length"] == 8 and set(target["hashes"]) == {"sha256", "sha512"}
    assert target["custom"] == {"hardware_id": "bms-hw-a", "version": "2.1.0", "release_counter": 3}
    assert repo.blob_path(image).read_bytes() == b"firmware"
    assert repo.blob_path(image).name == f"{image.hashes['sha256']}.bms-2.1.0.bin"
    assert ImageRepository(tmp_path / "image").image("bms/bms-2.1.0.bin") == image


def test_refresh_timestamp_resigns_only_the_online_role(tmp_path: Path) -> None:
    clock = [NOW]
    repo = ImageRepository.create(
        tmp_path / "image", clock=lambda: clock[0], expiry=RoleExpiry(timestamp=timedelta(hours=6))
    )
    clock[0] = NOW + timedelta(hours=5)

    repo.refresh_timestamp()

    timestamp = repo.metadata_dir / "timestamp.json"
    assert _signed(timestamp)["version"] == 2
    assert _expires(timestamp) == NOW + timedelta(hours=11)
    assert not (repo.metadata_dir / "2.snapshot.json").exists()


def test_director_keeps_a_chain_per_vehicle_with_the_shared_root(tmp_path: Path) -> None:
    image = ImageRepository.create(tmp_path / "image")
    bms = image.add_image("bms.bin", b"x", hardware_id="bms-hw-a", version="1", release_counter=1)
    director = DirectorRepository.create(tmp_path / "director")

    director.assign("VIN-A", [EcuAssignment("E1", "bms-hw-a", bms)])
    director.assign("VIN-B", [EcuAssignment("E9", "bms-hw-a", bms)])
    director.assign("VIN-A", [])  # nothing to install any more

    assert director.vehicles() == ["VIN-A", "VIN-B"]
    assert director.assignments("VIN-A") == []
    assert [a.ecu_serial for a in director.assignments("VIN-B")] == ["E9"]
    a_dir = director.metadata_dir_of("VIN-A")
    assert (a_dir / "1.root.json").read_bytes() == director.root_bytes(1)
    assert _signed(a_dir / "3.targets.json")["targets"] == {}
    director.rotate_key("targets", "targets-1", "targets-2")
    for vehicle in ("VIN-A", "VIN-B"):
        assert (director.metadata_dir_of(vehicle) / "2.root.json").exists()


def test_bad_repository_input_is_refused_with_a_reason(tmp_path: Path) -> None:
    image = ImageRepository.create(tmp_path / "image")
    bms = image.add_image("bms.bin", b"x", hardware_id="bms-hw-a", version="1", release_counter=1)
    with pytest.raises(RepositoryInputError, match="immutable"):
        image.add_image("bms.bin", b"y", hardware_id="bms-hw-a", version="1", release_counter=1)
    with pytest.raises(RepositoryInputError, match="not a valid image path"):
        image.add_image("../x.bin", b"y", hardware_id="bms-hw-a", version="1", release_counter=1)
    with pytest.raises(RepositoryInputError, match="already holds"):
        ImageRepository.create(tmp_path / "image")
    with pytest.raises(NotFound, match="no image repository"):
        ImageRepository(tmp_path / "nothing")
    director = DirectorRepository.create(tmp_path / "director")
    with pytest.raises(RepositoryInputError, match="assigned twice"):
        director.assign("VIN-A", [EcuAssignment("E1", "h", bms), EcuAssignment("E1", "h", bms)])
    with pytest.raises(RepositoryInputError, match="not a valid vehicle id"):
        director.assign("../VIN", [])
