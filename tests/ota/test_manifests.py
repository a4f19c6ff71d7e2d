"""Version manifests: signed by each ECU, checked by the director, refused when forged."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest

from drivetrain.fleet import EcuSoftware
from drivetrain.ota import (
    EcuRegistry,
    KeyRing,
    ManifestReceiver,
    ManifestRefused,
    RepositoryServer,
    ecu_key_name,
    repository_routes,
    verify_manifest,
)
from drivetrain.ota.manifests import _canonical
from drivetrain.ota.simulated_vehicle import (
    SimulatedVehicle,
    ecu_serial,
    release_factory_images,
)
from tests.ota.conftest import VEHICLE, UpdateWorld

SOFTWARE = (
    EcuSoftware("BMS", "bms-hw-a", "2.0.0", datetime(2025, 3, 1, tzinfo=UTC)),
    EcuSoftware("TCU", "tcu-hw-c", "7.1.0", datetime(2025, 3, 1, tzinfo=UTC)),
)
BMS_SERIAL = ecu_serial(VEHICLE, "BMS")
TCU_SERIAL = ecu_serial(VEHICLE, "TCU")


@dataclass
class Director:
    """The director's manifest side: ECU keys from provisioning, the receiver, its server."""

    world: UpdateWorld
    registry: EcuRegistry
    receiver: ManifestReceiver
    server: RepositoryServer

    def vehicle(
        self,
        name: str = "car",
        software: tuple[EcuSoftware, ...] = SOFTWARE,
        register: bool = True,
        **kwargs: Any,
    ) -> SimulatedVehicle:
        """A vehicle off the line: factory images released, its ECU keys registered."""
        release_factory_images(self.world.image, software)
        vehicle = SimulatedVehicle(
            VEHICLE,
            software,
            self.world.tmp / name,
            server_url=self.server.url,
            image_root=self.world.image.root_bytes(1),
            director_root=self.world.director.root_bytes(1),
            **kwargs,
        )
        if register:
            vehicle.register_with(self.registry)
        return vehicle

    def post(self, body: bytes, vehicle_id: str = VEHICLE) -> tuple[int, dict[str, Any]]:
        return post(f"{self.server.url}/director/{vehicle_id}/manifest", body)


def post(url: str, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def serve_director(world: UpdateWorld) -> Director:
    registry = EcuRegistry(world.tmp / "director-ecus.json")
    receiver = ManifestReceiver(registry, world.image, world.tmp / "manifests")
    server = RepositoryServer(repository_routes(world.image, world.director), manifests=receiver)
    return Director(world, registry, receiver, server.start())


@pytest.fixture
def director(world: UpdateWorld) -> Iterator[Director]:
    served = serve_director(world)
    yield served
    served.server.stop()


def _body(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest).encode()


def test_a_signed_manifest_is_verified_and_accepted_over_http(director: Director) -> None:
    vehicle = director.vehicle()

    status, answer = vehicle.report_manifest()

    assert (status, answer) == (200, {"accepted": True, "sequence": 1})
    manifest = director.receiver.latest(VEHICLE)
    assert manifest is not None and manifest.primary_ecu_serial == TCU_SERIAL
    reported = {s: (r.installed.version, r.installed.slot) for s, r in manifest.reports.items()
                if r.installed}  # fmt: skip
    assert reported == {BMS_SERIAL: ("2.0.0", "A"), TCU_SERIAL: ("7.1.0", "A")}
    bms = manifest.reports[BMS_SERIAL].installed
    assert bms is not None and bms.hashes == vehicle.installed()[BMS_SERIAL].hashes
    assert set(bms.hashes) == {"sha256", "sha512"}


def test_each_report_is_signed_by_its_own_ecu_key(director: Director) -> None:
    vehicle = director.vehicle()
    manifest = vehicle.version_manifest()

    reports = manifest["signed"]["ecu_version_reports"]
    keyids = {serial: r["signatures"][0]["keyid"] for serial, r in reports.items()}

    assert keyids == {s: k.keyid for s, k in vehicle.public_keys().items()}
    assert manifest["signatures"][0]["keyid"] == vehicle.public_keys()[TCU_SERIAL].keyid


def test_an_unsigned_manifest_is_refused(director: Director) -> None:
    manifest = director.vehicle().version_manifest()
    manifest["signatures"] = []

    status, answer = director.post(_body(manifest))

    assert (status, answer["reason"]) == (400, "unsigned")
    assert director.receiver.latest(VEHICLE) is None
    assert director.receiver.refusals[-1]["reason"] == "unsigned"


def test_a_manifest_signed_by_keys_the_director_does_not_know_is_refused(
    director: Director,
) -> None:
    director.vehicle("genuine")  # registers the genuine ECU keys
    impostor = director.vehicle("impostor", register=False)  # same ids, its own keys

    status, answer = impostor.report_manifest()

    assert (status, answer["reason"]) == (400, "unsigned")


def test_a_report_changed_after_signing_is_refused(director: Director) -> None:
    manifest = director.vehicle().version_manifest()
    report = manifest["signed"]["ecu_version_reports"][BMS_SERIAL]["signed"]
    report["installed"]["version"] = "2.0.1"

    status, answer = director.post(_body(manifest))

    assert (status, answer["reason"]) == (400, "unsigned")


def test_a_primary_re_signing_a_changed_ecu_report_is_refused(director: Director) -> None:
    # the primary holds only its own key: it cannot vouch for another ECU's report
    vehicle = director.vehicle()
    manifest = vehicle.version_manifest()
    tcu = KeyRing(vehicle.ecu.state_dir / "keys").signer(ecu_key_name(TCU_SERIAL))
    bms = manifest["signed"]["ecu_version_reports"][BMS_SERIAL]
    bms["signed"]["installed"]["release_counter"] += 1
    bms["signatures"] = [tcu.sign(_canonical(bms["signed"])).to_dict()]
    manifest["signatures"] = [tcu.sign(_canonical(manifest["signed"])).to_dict()]

    status, answer = director.post(_body(manifest))

    assert (status, answer["reason"]) == (400, "unsigned")


def _tamper_slot(vehicle: SimulatedVehicle, change: dict[str, Any]) -> None:
    """What a compromised BMS claims to run: its slot record rewritten, then signed honestly."""
    record = vehicle.ecu.state_dir / "ecus" / BMS_SERIAL / "A" / "slot.json"
    data = json.loads(record.read_text())
    for key, value in change.items():
        data[key] = data[key] | value if isinstance(value, dict) else value
    record.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "change",
    [
        {"path": "bms/bms-6.6.6.bin", "version": "6.6.6"},
        {"hashes": {"sha256": "0" * 64}},
        {"release_counter": 2_000_001},
        {"length": 1},
    ],
    ids=["unreleased-image", "unknown-hash", "other-release-counter", "other-length"],
)
def test_a_version_the_vehicle_cannot_have_is_refused(
    director: Director, change: dict[str, Any]
) -> None:
    vehicle = director.vehicle()
    _tamper_slot(vehicle, change)

    status, answer = vehicle.report_manifest()

    assert (status, answer["reason"]) == (400, "impossible-version"), answer
    assert BMS_SERIAL in answer["detail"]


def test_a_version_never_released_is_refused(director: Director) -> None:
    never = (EcuSoftware("BMS", "bms-hw-a", "9.9.9", datetime(2025, 3, 1, tzinfo=UTC)),)
    vehicle = director.vehicle(software=never)
    director.world.image.remove_image("factory/bms-hw-a-9.9.9.bin")  # withdrawn: never signed

    status, answer = vehicle.report_manifest()

    assert (status, answer["reason"]) == (400, "impossible-version")


def test_an_image_for_other_hardware_is_refused(director: Director) -> None:
    vehicle = director.vehicle()
    tcu_image = vehicle.installed()[TCU_SERIAL]
    _tamper_slot(
        vehicle,
        {"path": tcu_image.path, "version": tcu_image.version, "hashes": dict(tcu_image.hashes),
         "length": tcu_image.length, "release_counter": tcu_image.release_counter,
         "hardware_id": tcu_image.hardware_id},
    )  # fmt: skip

    status, answer = vehicle.report_manifest()

    assert (status, answer["reason"]) == (400, "impossible-version")


def test_a_replayed_manifest_is_refused(director: Director) -> None:
    vehicle = director.vehicle()
    body = _body(vehicle.version_manifest())
    assert director.post(body)[0] == 200

    status, answer = director.post(body)

    assert (status, answer["reason"]) == (400, "replay")
    assert vehicle.report_manifest()[0] == 200  # a fresh one is accepted


def test_unknown_vehicles_and_ecus_and_missing_reports_are_refused(director: Director) -> None:
    vehicle = director.vehicle()
    body = _body(vehicle.version_manifest())
    registered = director.registry.ecus_of(VEHICLE)

    assert director.post(body, "WDD0000000F999999")[1]["reason"] == "unknown-vehicle"
    only_tcu = {TCU_SERIAL: registered[TCU_SERIAL]}
    with pytest.raises(ManifestRefused) as extra:
        verify_manifest(body, vehicle_id=VEHICLE, ecus=only_tcu, images=[])
    assert extra.value.reason == "unknown-ecu"
    # a primary hiding one ECU's report (and signing what is left) is caught too
    hidden = json.loads(body)
    del hidden["signed"]["ecu_version_reports"][BMS_SERIAL]
    primary = KeyRing(vehicle.ecu.state_dir / "keys").signer(ecu_key_name(TCU_SERIAL))
    hidden["signatures"] = [primary.sign(_canonical(hidden["signed"])).to_dict()]
    with pytest.raises(ManifestRefused) as incomplete:
        verify_manifest(
            _body(hidden), vehicle_id=VEHICLE, ecus=registered, images=director.world.image.images()
        )
    assert incomplete.value.reason == "incomplete"


@pytest.mark.parametrize("body", [b"not json", b"{}", b'{"signed": []}', b"[]"])
def test_malformed_manifests_are_refused(director: Director, body: bytes) -> None:
    director.vehicle()

    status, answer = director.post(body)

    assert (status, answer["reason"]) == (400, "malformed")


def test_the_server_takes_manifests_only_where_they_belong(director: Director) -> None:
    url = director.server.url
    assert post(f"{url}/image/metadata/root.json", b"{}")[0] == 404
    assert post(f"{url}/director/{VEHICLE}/metadata/x", b"{}")[0] == 404
    # announced too large: refused before a byte of the body is read
    connection = http.client.HTTPConnection(urlsplit(url).netloc, timeout=5)
    connection.putrequest("POST", f"/director/{VEHICLE}/manifest")
    connection.putheader("Content-Length", str((1 << 20) + 1))
    connection.endheaders(b"{}")
    assert connection.getresponse().status == 413
    connection.close()
