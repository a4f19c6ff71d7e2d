"""A simulated vehicle for over-the-air updates: its ECUs, A/B slots, state and update loop.

The ECUs come from the fleet registry (``EcuSoftware``: ECU name, hardware
part, software version). Each gets the serial ``<vehicle_id>:<ECU>``, an
ed25519 key in the vehicle's key ring (``<state_dir>/keys``), and at
provisioning a factory image of its current version in slot A — the same
bytes :func:`release_factory_images` publishes in the image repository, so the
director can check the vehicle's version manifest against what exists.

:meth:`SimulatedVehicle.update_once` is one update cycle: recover from a power
loss, check both repositories, download and verify, install into the inactive
slots, boot, commit or roll the bundle back, and report the signed version
manifest to the director. A bad build is injected through the image bytes
(:func:`bad_build`: it crashes on boot, or boots and raises a DTC) or a
``health_check`` that fails; rollout tests read :class:`VehicleState`.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from drivetrain.fleet import EcuSoftware, VehicleRecord
from drivetrain.ota._tuf import Key, TargetFile
from drivetrain.ota.client import Ecu, PrimaryEcu
from drivetrain.ota.errors import UpdateRefused
from drivetrain.ota.keys import KeyRing
from drivetrain.ota.manifests import EcuRegistry, ecu_key_name, sign_version_manifest
from drivetrain.ota.repository import HASH_ALGORITHMS, ImageRepository, SoftwareImage
from drivetrain.ota.slots import (
    BOOT_FAILURE_MARKER,
    BootCheck,
    BootResult,
    Checkpoint,
    InstalledImage,
    image_boots,
)

#: Bytes a simulated image carries to boot fine and then raise a DTC (``…=P0A7F;``).
DTC_MARKER = b"#drivetrain-simulated:dtc="
UpdateStatus = Literal["up-to-date", "updated", "rolled-back", "refused", "deferred"]


@dataclass
class VehicleState:
    """What rollout preconditions and health gates read from the vehicle."""

    parked: bool = True
    state_of_charge: float = 80.0  # percent, as VSS TractionBattery.StateOfCharge.Current
    dtcs: list[str] = field(default_factory=list)  # diagnostic trouble codes raised


@dataclass(frozen=True, slots=True)
class UpdateOutcome:
    """How one update cycle of a vehicle ended, and what the director said to its manifest."""

    vehicle_id: str
    status: UpdateStatus
    installed: Mapping[str, InstalledImage]
    boots: tuple[BootResult, ...] = ()
    reason: str | None = None
    refusal: str | None = None  # the UpdateRefused reason when status is "refused"
    new_dtcs: tuple[str, ...] = ()
    manifest_status: int | None = None  # the director's HTTP status, None if unreachable
    manifest_answer: Mapping[str, Any] = field(default_factory=dict)


def bad_build(data: bytes, behaviour: Literal["boot-fails", "dtc"], dtc: str = "U3000") -> bytes:
    """``data`` turned into a bad build: it crashes on boot, or boots and raises ``dtc``."""
    if behaviour == "boot-fails":
        return data + b"\n" + BOOT_FAILURE_MARKER + b"\n"
    return data + b"\n" + DTC_MARKER + dtc.encode() + b";\n"


def ecu_serial(vehicle_id: str, ecu: str) -> str:
    return f"{vehicle_id}:{ecu}"


def release_counter_of(version: str) -> int:
    """A monotonic counter from a dotted version: ``24.3.5`` → 24003005."""
    parts = [int(p) for p in re.findall(r"\d+", version)[:3]] + [0, 0, 0]
    return parts[0] * 1_000_000 + parts[1] * 1_000 + parts[2]


def factory_image(software: EcuSoftware) -> tuple[SoftwareImage, bytes]:
    """The simulated image of an ECU's current version, and its signed description."""
    data = (
        f"drivetrain simulated firmware\nhardware {software.hardware_part}\n"
        f"version {software.software_version}\n"
    ).encode()
    path = f"factory/{software.hardware_part}-{software.software_version}.bin"
    info = TargetFile.from_data(path, data, HASH_ALGORITHMS)
    image = SoftwareImage(
        path, info.length, dict(info.hashes), software.hardware_part,
        software.software_version, release_counter_of(software.software_version),
    )  # fmt: skip
    return image, data


def release_factory_images(
    images: ImageRepository, software: Iterable[EcuSoftware]
) -> list[SoftwareImage]:
    """Publish the factory image of every (hardware, version) not yet listed."""
    listed = {image.path: image for image in images.images()}
    released = []
    for item in software:
        image, data = factory_image(item)
        if image.path not in listed:
            listed[image.path] = images.add_image(
                image.path, data, hardware_id=image.hardware_id, version=image.version,
                release_counter=image.release_counter,
            )  # fmt: skip
        released.append(listed[image.path])
    return released


def _dtcs_in(data: bytes) -> list[str]:
    return [m.decode() for m in re.findall(re.escape(DTC_MARKER) + rb"([A-Z0-9]{5});", data)]


class SimulatedVehicle:
    """Vehicle ``vehicle_id`` with ECUs ``software``, updating from ``server_url``.

    ``image_root`` and ``director_root`` are the roots it is manufactured with;
    ``health_check`` is an extra boot check (None when healthy, else why not);
    ``primary`` names the ECU acting as primary (default: TCU, else the first).
    """

    def __init__(
        self,
        vehicle_id: str,
        software: Sequence[EcuSoftware],
        state_dir: Path,
        *,
        server_url: str,
        image_root: bytes,
        director_root: bytes,
        state: VehicleState | None = None,
        health_check: BootCheck | None = None,
        checkpoint: Checkpoint | None = None,
        primary: str | None = None,
    ) -> None:
        self.vehicle_id = vehicle_id
        self.software = {ecu_serial(vehicle_id, s.ecu): s for s in software}
        self.state = state or VehicleState()
        self.health_check = health_check
        self.server_url = server_url.rstrip("/")
        names = [s.ecu for s in software]
        chosen = primary or ("TCU" if "TCU" in names else names[0] if names else "")
        self.primary_serial = ecu_serial(vehicle_id, chosen)
        self.ecu = PrimaryEcu(
            vehicle_id,
            [Ecu(serial, s.hardware_part) for serial, s in self.software.items()],
            Path(state_dir),
            image_url=f"{self.server_url}/image",
            director_url=f"{self.server_url}/director",
            image_root=image_root,
            director_root=director_root,
            boot_check=self._boot,
            checkpoint=checkpoint,
        )
        self.keys = KeyRing(Path(state_dir) / "keys")
        for serial, item in self.software.items():
            if ecu_key_name(serial) not in self.keys.names():
                self.keys.generate(ecu_key_name(serial))
            slots = self.ecu.slots.ecu(serial)
            if slots.pointer().active is None:  # at the factory: the current version in slot A
                slots.provision(*factory_image(item))

    @classmethod
    def of_record(cls, record: VehicleRecord, state_dir: Path, **kwargs: Any) -> SimulatedVehicle:
        """The simulated vehicle of a fleet registry record (its ECUs and versions)."""
        return cls(record.vehicle_id, record.software, state_dir, **kwargs)

    def public_keys(self) -> dict[str, Key]:
        """Each ECU's public key, by serial (what provisioning registers at the director)."""
        return {serial: self.keys.public_key(ecu_key_name(serial)) for serial in self.software}

    def register_with(self, registry: EcuRegistry) -> None:
        """Provisioning: tell the director this vehicle's ECUs, hardware and keys."""
        for serial, key in self.public_keys().items():
            registry.register(self.vehicle_id, serial, self.software[serial].hardware_part, key)

    def installed(self) -> dict[str, InstalledImage]:
        return self.ecu.installed()

    def _boot(self, image: InstalledImage, data: bytes) -> str | None:
        failure = image_boots(image, data)
        if failure is None and self.health_check is not None:
            failure = self.health_check(image, data)
        return failure

    def update_once(self) -> UpdateOutcome:
        """One cycle: check → download → install → boot → commit or roll back → report."""
        if not self.state.parked:
            return UpdateOutcome(
                self.vehicle_id, "deferred", self.installed(),
                reason="the vehicle is not parked: updates install only while parked",
            )  # fmt: skip
        self.ecu.recover()  # a power loss in the last cycle is finished or undone first
        try:
            updates = self.ecu.check_for_updates()
            files = [(update, self.ecu.download(update)) for update in updates]
            for update, path in files:
                self.ecu.install(update, path)
        except UpdateRefused as refused:
            self.ecu.recover()  # whatever of the bundle is on trial goes back
            return self._reported("refused", reason=refused.message, refusal=refused.reason)
        if not updates:
            return self._reported("up-to-date")
        bundle = self.ecu.boot()
        if not bundle.committed:
            why = "; ".join(f"{b.ecu_serial}: {b.reason}" for b in bundle.failures)
            return self._reported("rolled-back", boots=bundle.boots, reason=why)
        new_dtcs: list[str] = []
        for update in updates:
            slots = self.ecu.slots.ecu(update.ecu_serial)
            new_dtcs += _dtcs_in(slots.read(bundle.installed[update.ecu_serial].slot))
        self.state.dtcs.extend(new_dtcs)
        return self._reported("updated", boots=bundle.boots, new_dtcs=tuple(new_dtcs))

    def _reported(self, status: UpdateStatus, **fields: Any) -> UpdateOutcome:
        code, answer = self.report_manifest()
        return UpdateOutcome(
            self.vehicle_id, status, self.installed(), manifest_status=code,
            manifest_answer=answer, **fields,
        )  # fmt: skip

    def _next_sequence(self) -> int:
        path = self.ecu.state_dir / "manifest-sequence"
        sequence = int(path.read_text()) + 1 if path.exists() else 1
        path.write_text(str(sequence))
        return sequence

    def version_manifest(self) -> dict[str, Any]:
        """The signed vehicle version manifest (a new sequence number each time)."""
        return sign_version_manifest(
            self.ecu, self.keys, self.primary_serial, self._next_sequence()
        )

    def report_manifest(self) -> tuple[int | None, dict[str, Any]]:
        """POST the version manifest to the director; its HTTP status and JSON answer."""
        body = json.dumps(self.version_manifest()).encode()
        url = f"{self.server_url}/director/{quote(self.vehicle_id, safe='')}/manifest"
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status), dict(json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as error:
            try:
                return error.code, dict(json.loads(error.read() or b"{}"))
            except ValueError:
                return error.code, {}
        except (urllib.error.URLError, OSError) as exc:
            return None, {"error": f"the director at {self.server_url} is unreachable: {exc}"}
