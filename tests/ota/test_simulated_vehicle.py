"""A simulated vehicle updates end to end over the real HTTP server, and survives bad builds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote

import pytest

from drivetrain.fleet import EcuSoftware, VehicleRecord
from drivetrain.ota import EcuAssignment, InstalledImage, SoftwareImage
from drivetrain.ota.simulated_vehicle import (
    SimulatedVehicle,
    VehicleState,
    bad_build,
    ecu_serial,
    factory_image,
    release_counter_of,
)
from tests.ota.conftest import VEHICLE, UpdateWorld
from tests.ota.test_manifests import BMS_SERIAL, SOFTWARE, TCU_SERIAL, Director, serve_director

BMS_210 = b"BMS firmware 2.1.0 for the simulated fleet\n" * 64
TCU_720 = b"TCU firmware 7.2.0\n" * 64


class PowerLoss(Exception):
    """The simulated power cut."""


@pytest.fixture
def director(world: UpdateWorld) -> Iterator[Director]:
    served = serve_director(world)
    yield served
    served.server.stop()


def _release(director: Director, ecu: str, version: str, data: bytes) -> SoftwareImage:
    hardware = {"BMS": "bms-hw-a", "TCU": "tcu-hw-c"}[ecu]
    return director.world.image.add_image(
        f"{ecu.lower()}/sim-{ecu.lower()}-{version}.bin",
        data,
        hardware_id=hardware,
        version=version,
        release_counter=release_counter_of(version),
    )


def _assign(director: Director, **images: SoftwareImage) -> None:
    director.world.director.assign(
        VEHICLE,
        [
            EcuAssignment(ecu_serial(VEHICLE, ecu), image.hardware_id, image)
            for ecu, image in images.items()
        ],
    )


def _versions(installed: dict[str, InstalledImage]) -> dict[str, tuple[str, str]]:
    return {serial: (image.version, image.slot) for serial, image in installed.items()}


FACTORY = {BMS_SERIAL: ("2.0.0", "A"), TCU_SERIAL: ("7.1.0", "A")}


def test_a_vehicle_updates_commits_and_reports_end_to_end(director: Director) -> None:
    vehicle = director.vehicle()
    assert _versions(vehicle.installed()) == FACTORY
    _assign(director, BMS=_release(director, "BMS", "2.1.0", BMS_210))

    outcome = vehicle.update_once()

    assert (outcome.status, outcome.reason) == ("updated", None)
    assert [(b.ecu_serial, b.ok) for b in outcome.boots] == [(BMS_SERIAL, True)]
    assert _versions(dict(outcome.installed)) == {**FACTORY, BMS_SERIAL: ("2.1.0", "B")}
    assert outcome.manifest_status == 200
    reported = director.receiver.latest(VEHICLE)
    assert reported is not None
    bms = reported.reports[BMS_SERIAL]
    assert bms.installed is not None and (bms.installed.version, bms.installed.slot) == (
        "2.1.0",
        "B",
    )
    assert bms.last_attempt is not None and bms.last_attempt.outcome == "committed"
    # the next cycle has nothing to do, and still reports
    again = vehicle.update_once()
    assert (again.status, again.manifest_status) == ("up-to-date", 200)
    assert director.receiver.latest(VEHICLE).sequence == 2  # type: ignore[union-attr]


def test_a_build_that_crashes_on_boot_is_rolled_back_and_reported(director: Director) -> None:
    vehicle = director.vehicle()
    _assign(director, BMS=_release(director, "BMS", "2.1.0", bad_build(BMS_210, "boot-fails")))

    outcome = vehicle.update_once()

    assert outcome.status == "rolled-back"
    assert "crashed on boot" in str(outcome.reason)
    assert _versions(vehicle.installed()) == FACTORY
    assert vehicle.ecu.slots.bootable()
    reported = director.receiver.latest(VEHICLE)
    assert reported is not None and outcome.manifest_status == 200
    attempt = reported.reports[BMS_SERIAL].last_attempt
    assert attempt is not None and (attempt.outcome, attempt.path) == (
        "rolled-back",
        "bms/sim-bms-2.1.0.bin",
    )


def test_one_bad_ecu_rolls_the_whole_bundle_back(director: Director) -> None:
    vehicle = director.vehicle()
    _assign(
        director,
        BMS=_release(director, "BMS", "2.1.0", BMS_210),
        TCU=_release(director, "TCU", "7.2.0", bad_build(TCU_720, "boot-fails")),
    )

    outcome = vehicle.update_once()

    assert outcome.status == "rolled-back"
    assert {b.ecu_serial: b.ok for b in outcome.boots} == {BMS_SERIAL: True, TCU_SERIAL: False}
    assert _versions(vehicle.installed()) == FACTORY  # the good BMS image went back as well


def test_a_failing_health_check_rolls_back(director: Director) -> None:
    def no_heartbeat(image: InstalledImage, data: bytes) -> str | None:
        return "no CAN heartbeat within 5 s" if image.version == "2.1.0" else None

    vehicle = director.vehicle(health_check=no_heartbeat)
    _assign(director, BMS=_release(director, "BMS", "2.1.0", BMS_210))

    outcome = vehicle.update_once()

    assert (outcome.status, outcome.reason) == (
        "rolled-back",
        f"{BMS_SERIAL}: no CAN heartbeat within 5 s",
    )
    assert _versions(vehicle.installed()) == FACTORY


def test_a_build_raising_a_dtc_installs_and_flags_the_vehicle(director: Director) -> None:
    vehicle = director.vehicle()
    _assign(director, BMS=_release(director, "BMS", "2.1.0", bad_build(BMS_210, "dtc", "P0A7F")))

    outcome = vehicle.update_once()

    assert (outcome.status, outcome.new_dtcs) == ("updated", ("P0A7F",))
    assert vehicle.state.dtcs == ["P0A7F"]  # what a health gate reads
    assert _versions(vehicle.installed())[BMS_SERIAL] == ("2.1.0", "B")


def test_a_vehicle_that_is_not_parked_defers_the_update(director: Director) -> None:
    vehicle = director.vehicle(state=VehicleState(parked=False, state_of_charge=42.0))
    _assign(director, BMS=_release(director, "BMS", "2.1.0", BMS_210))

    outcome = vehicle.update_once()

    assert outcome.status == "deferred" and "not parked" in str(outcome.reason)
    assert _versions(vehicle.installed()) == FACTORY
    assert vehicle.state.state_of_charge == 42.0
    vehicle.state.parked = True
    assert vehicle.update_once().status == "updated"


def test_refused_metadata_is_an_outcome_and_the_manifest_is_still_reported(
    director: Director,
) -> None:
    vehicle = director.vehicle()
    director.world.assign_bms()  # an image for an ECU serial this vehicle does not have

    outcome = vehicle.update_once()

    assert (outcome.status, outcome.refusal) == ("refused", "mismatch")
    assert outcome.manifest_status == 200
    assert _versions(vehicle.installed()) == FACTORY


def test_a_power_loss_during_an_update_is_recovered_at_the_next_cycle(director: Director) -> None:
    _assign(director, BMS=_release(director, "BMS", "2.1.0", BMS_210))
    steps: list[str] = []

    def cut_after_the_image(step: str) -> None:
        steps.append(step)
        if step.startswith("write") and "boot.json" in step:
            raise PowerLoss(step)  # the image and its record are written, the pointer not

    director.vehicle()  # off the line, factory images in slot A
    vehicle = director.vehicle(checkpoint=cut_after_the_image)
    with pytest.raises(PowerLoss):
        vehicle.update_once()
    assert any("image.bin" in step for step in steps)

    powered_up = director.vehicle()  # same state directory, power back
    assert powered_up.ecu.slots.bootable()
    assert _versions(powered_up.installed()) == FACTORY
    assert powered_up.update_once().status == "updated"
    assert _versions(powered_up.installed())[BMS_SERIAL] == ("2.1.0", "B")


def test_the_ecus_and_versions_come_from_the_fleet_registry_record(director: Director) -> None:
    record = VehicleRecord(
        vehicle_id="veh_3fa9c01b2e7d",
        vin="WDD2050001F000001",
        brand="Mercedes-Benz",
        model_id="c-class",
        model_name="C-Class",
        model_year=2025,
        platform="MRA2",
        market="DE",
        region="eu",
        powertrain="bev",
        software=(EcuSoftware("VCU", "WDD-VCU-1234", "25.3.1", datetime(2025, 1, 1, tzinfo=UTC)),),
    )

    vehicle = SimulatedVehicle.of_record(
        record,
        director.world.tmp / "record",
        server_url=director.server.url,
        image_root=director.world.image.root_bytes(1),
        director_root=director.world.director.root_bytes(1),
    )

    (image,) = vehicle.installed().values()
    assert image.ecu_serial == "veh_3fa9c01b2e7d:VCU"
    assert (image.hardware_id, image.version, image.release_counter) == (
        "WDD-VCU-1234",
        "25.3.1",
        25_003_001,
    )
    assert vehicle.primary_serial == "veh_3fa9c01b2e7d:VCU"
    assert image.hashes == factory_image(record.software[0])[0].hashes
    assert set(vehicle.public_keys()) == {"veh_3fa9c01b2e7d:VCU"}


def test_software_list_is_the_one_the_director_registers(director: Director) -> None:
    vehicle = director.vehicle()
    registered = director.registry.ecus_of(VEHICLE)

    assert {s: e.hardware_id for s, e in registered.items()} == {
        ecu_serial(VEHICLE, s.ecu): s.hardware_part for s in SOFTWARE
    }
    assert {s: e.public_key.keyid for s, e in registered.items()} == {
        s: k.keyid for s, k in vehicle.public_keys().items()
    }


def test_an_image_changed_on_disk_mid_bundle_sends_the_bundle_back(director: Director) -> None:
    tcu = _release(director, "TCU", "7.2.0", TCU_720)
    _assign(director, BMS=_release(director, "BMS", "2.1.0", BMS_210), TCU=tcu)
    director.vehicle()  # off the line
    journal_writes: list[str] = []

    def corrupt_the_tcu_download(step: str) -> None:
        if step.startswith("write") and step.endswith("/bundle.json chunk 0"):
            journal_writes.append(step)
            if len(journal_writes) == 2:  # BMS on trial; TCU checked, not yet copied
                download = director.world.tmp / "car" / "downloads" / quote(tcu.path, safe="")
                download.write_bytes(TCU_720[:-1] + b"!")

    outcome = director.vehicle(checkpoint=corrupt_the_tcu_download).update_once()

    assert (outcome.status, outcome.refusal) == ("refused", "hash-mismatch")
    assert _versions(dict(outcome.installed)) == FACTORY
    bms = director.vehicle().ecu.slots.ecu(BMS_SERIAL)
    assert bms.pointer().trial is None and bms.pointer().last_attempt.outcome == "rolled-back"  # type: ignore[union-attr]
