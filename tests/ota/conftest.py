"""Fixtures of the OTA tests: real repositories on disk served by a real HTTP server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from drivetrain.ota import (
    DirectorRepository,
    Ecu,
    EcuAssignment,
    ImageRepository,
    PrimaryEcu,
    RepositoryServer,
    SoftwareImage,
    repository_routes,
)

VEHICLE = "WDD2050001F000001"
BMS = Ecu("BMS-0001", "bms-hw-a")
GATEWAY = Ecu("GW-0001", "gw-hw-b")
BMS_IMAGE = b"BMS firmware 2.1.0\n" + bytes(range(256)) * 16


@dataclass
class UpdateWorld:
    """An image repository, a director, and the server that publishes both."""

    image: ImageRepository
    director: DirectorRepository
    server: RepositoryServer
    tmp: Path
    bms_image: SoftwareImage

    def primary(self, name: str = "vehicle", ecus: tuple[Ecu, ...] = (BMS, GATEWAY)) -> PrimaryEcu:
        """A vehicle provisioned (at the factory) with both repositories' first root."""
        return PrimaryEcu(
            VEHICLE,
            list(ecus),
            self.tmp / name,
            image_url=f"{self.server.url}/image",
            director_url=f"{self.server.url}/director",
            image_root=self.image.root_bytes(1),
            director_root=self.director.root_bytes(1),
        )

    def assign_bms(self, image: SoftwareImage | None = None) -> None:
        self.director.assign(
            VEHICLE, [EcuAssignment(BMS.serial, BMS.hardware_id, image or self.bms_image)]
        )


@pytest.fixture
def world_factory(tmp_path: Path) -> Iterator[Callable[..., UpdateWorld]]:
    servers: list[RepositoryServer] = []

    def make(**create: object) -> UpdateWorld:
        image = ImageRepository.create(tmp_path / "image", **create)  # type: ignore[arg-type]
        director = DirectorRepository.create(tmp_path / "director", **create)  # type: ignore[arg-type]
        bms = image.add_image(
            "bms/bms-2.1.0.bin",
            BMS_IMAGE,
            hardware_id="bms-hw-a",
            version="2.1.0",
            release_counter=21,
        )
        server = RepositoryServer(repository_routes(image, director)).start()
        servers.append(server)
        return UpdateWorld(image, director, server, tmp_path, bms)

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def world(world_factory: Callable[..., UpdateWorld]) -> UpdateWorld:
    return world_factory()
