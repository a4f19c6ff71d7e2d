"""Version manifests: what each ECU of a vehicle runs, signed, and the director's check of it.

Uptane's vehicle version manifest, as drivetrain builds it::

    {"signed": {"type": "vehicle-version-manifest", "vehicle_id": …,
                "primary_ecu_serial": …, "sequence": N,
                "ecu_version_reports": {serial: <ECU version report>, …}},
     "signatures": [{"keyid": …, "sig": …}]}        # the primary ECU's key

    ECU version report:
    {"signed": {"type": "ecu-version-report", "vehicle_id": …, "ecu_serial": …,
                "hardware_id": …, "installed": {path, version, release_counter,
                hashes, length, hardware_id, slot, …} | null,
                "last_attempt": {path, sha256, outcome, reason} | null},
     "signatures": [{"keyid": …, "sig": …}]}        # that ECU's own key

Signatures are over the canonical JSON of ``signed``. Each ECU's key lives in
the vehicle's :class:`~drivetrain.ota.keys.KeyRing` (or an HSM behind the same
``Signer`` interface) under :func:`ecu_key_name`; the director knows the
public keys from provisioning (:class:`EcuRegistry`).

:func:`verify_manifest` is the director's check, usable by the HTTP handler
(:class:`ManifestReceiver`) and the API alike: every signature against the
registered key, every registered ECU reported, the sequence higher than the
last accepted (no replay), and every reported image one the image repository
signs, for that ECU's hardware — a vehicle cannot claim a version it cannot have.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from securesystemslib.exceptions import UnverifiedSignatureError
from securesystemslib.formats import encode_canonical
from securesystemslib.signer import Signature  # type: ignore[attr-defined]

from drivetrain.errors import IntegrityError
from drivetrain.ota._tuf import Key, Signer, SSlibKey
from drivetrain.ota.client import PrimaryEcu
from drivetrain.ota.errors import RepositoryInputError
from drivetrain.ota.keys import SignerSource
from drivetrain.ota.repository import ImageRepository, SoftwareImage
from drivetrain.ota.slots import SLOTS, InstallAttempt, InstalledImage

#: Why the director refused a manifest.
MANIFEST_REFUSAL_REASONS = (
    "malformed",  # not JSON, or fields missing / of the wrong type
    "unsigned",  # a signature missing or not made by the registered key
    "unknown-vehicle",  # the director has no ECU keys registered for the vehicle
    "unknown-ecu",  # a report from an ECU the vehicle was not provisioned with
    "incomplete",  # a registered ECU is missing from the manifest
    "impossible-version",  # an image the image repository does not sign for that hardware
    "replay",  # a sequence number not higher than the last accepted
)


class ManifestRefused(IntegrityError):
    """The director refused a vehicle's version manifest; ``reason`` names the check."""

    code = "ota-manifest-refused"

    def __init__(self, reason: str, message: str) -> None:
        if reason not in MANIFEST_REFUSAL_REASONS:
            raise ValueError(f"unknown manifest refusal reason {reason!r}")
        self.reason = reason
        super().__init__(
            f"version manifest refused ({reason}): {message}",
            hint="the vehicle's report is not trusted; inspect the vehicle before assigning updates",
        )


def ecu_key_name(serial: str) -> str:
    """The key-ring name of ECU ``serial``'s signing key."""
    return "ecu-" + re.sub(r"[^a-z0-9._-]", ".", serial.lower())[:60]


def _canonical(signed: Mapping[str, Any]) -> bytes:
    text = encode_canonical(dict(signed))
    assert isinstance(text, str)  # without an output function it returns the text
    return text.encode()


def _envelope(signed: dict[str, Any], signer: Signer) -> dict[str, Any]:
    return {"signed": signed, "signatures": [signer.sign(_canonical(signed)).to_dict()]}


# -- the vehicle side -----------------------------------------------------------------
def sign_version_manifest(
    primary: PrimaryEcu, keys: SignerSource, primary_serial: str, sequence: int
) -> dict[str, Any]:
    """The vehicle version manifest of ``primary``'s ECUs, each report signed by its ECU."""
    if primary_serial not in primary.ecus:
        raise RepositoryInputError(f"{primary_serial} is not an ECU of {primary.vehicle_id}")
    reports = {}
    for serial, ecu in sorted(primary.ecus.items()):
        slots = primary.slots.ecu(serial)
        installed, attempt = slots.active(), slots.pointer().last_attempt
        signed = {
            "type": "ecu-version-report",
            "vehicle_id": primary.vehicle_id,
            "ecu_serial": serial,
            "hardware_id": ecu.hardware_id,
            "installed": None if installed is None else asdict(installed),
            "last_attempt": None if attempt is None else asdict(attempt),
        }
        reports[serial] = _envelope(signed, keys.signer(ecu_key_name(serial)))
    manifest = {
        "type": "vehicle-version-manifest",
        "vehicle_id": primary.vehicle_id,
        "primary_ecu_serial": primary_serial,
        "sequence": sequence,
        "ecu_version_reports": reports,
    }
    return _envelope(manifest, keys.signer(ecu_key_name(primary_serial)))


# -- the director side ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RegisteredEcu:
    """An ECU as the director knows it from provisioning."""

    ecu_serial: str
    hardware_id: str
    public_key: Key


@dataclass(frozen=True, slots=True)
class EcuVersionReport:
    """One ECU's verified report: what it boots and how its last install ended."""

    ecu_serial: str
    hardware_id: str
    installed: InstalledImage | None
    last_attempt: InstallAttempt | None


@dataclass(frozen=True, slots=True)
class VehicleManifest:
    """A verified vehicle version manifest."""

    vehicle_id: str
    primary_ecu_serial: str
    sequence: int
    reports: Mapping[str, EcuVersionReport]


class EcuRegistry:
    """The director's record of each vehicle's ECUs and their public keys (a JSON file)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _read(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        data: dict[str, dict[str, Any]] = json.loads(self.path.read_text())
        return data

    def register(self, vehicle_id: str, serial: str, hardware_id: str, public_key: Key) -> None:
        """Record (at provisioning) that ``vehicle_id`` has ECU ``serial`` with this key."""
        with self._lock:
            data = self._read()
            data.setdefault(vehicle_id, {})[serial] = {
                "hardware_id": hardware_id,
                "keyid": public_key.keyid,
                "public_key": public_key.to_dict(),
            }
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.tmp")
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
            tmp.replace(self.path)

    def ecus_of(self, vehicle_id: str) -> dict[str, RegisteredEcu]:
        return {
            serial: RegisteredEcu(
                serial, item["hardware_id"], SSlibKey.from_dict(item["keyid"], item["public_key"])
            )
            for serial, item in self._read().get(vehicle_id, {}).items()
        }


def _check_signed(envelope: Any, key: Key, what: str) -> dict[str, Any]:
    if not isinstance(envelope, dict) or not isinstance(envelope.get("signed"), dict):
        raise ManifestRefused("malformed", f"{what} is not a signed envelope")
    signed: dict[str, Any] = envelope["signed"]
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list):
        raise ManifestRefused("malformed", f"{what} has no signature list")
    payload = _canonical(signed)
    for item in signatures:
        if not isinstance(item, dict) or item.get("keyid") != key.keyid:
            continue
        try:
            key.verify_signature(Signature.from_dict(dict(item)), payload)
            return signed
        except (UnverifiedSignatureError, ValueError, KeyError, TypeError):
            break
    raise ManifestRefused("unsigned", f"{what} carries no valid signature of its registered key")


def _reported_image(serial: str, raw: Any) -> InstalledImage | None:
    if raw is None:
        return None
    try:
        image = InstalledImage(**raw)
        if image.slot not in SLOTS or image.ecu_serial != serial or "sha256" not in image.hashes:
            raise ValueError("slot, serial or sha256")
        return image
    except (TypeError, ValueError) as exc:
        raise ManifestRefused(
            "malformed", f"ECU {serial} reports an unreadable image: {exc}"
        ) from exc


def _check_possible(report: EcuVersionReport, images: Mapping[str, SoftwareImage]) -> None:
    installed = report.installed
    if installed is None:
        return
    known = images.get(installed.path)
    same = known is not None and (
        known.length == installed.length
        and all(known.hashes.get(a) == h for a, h in installed.hashes.items())
        and known.hardware_id == report.hardware_id == installed.hardware_id
        and (known.version, known.release_counter) == (installed.version, installed.release_counter)
    )
    if not same:
        raise ManifestRefused(
            "impossible-version",
            f"ECU {report.ecu_serial} ({report.hardware_id}) reports {installed.path} "
            f"{installed.version} sha256 {installed.sha256[:12]}…, which the image repository "
            "does not sign for that hardware",
        )


def verify_manifest(
    body: bytes,
    *,
    vehicle_id: str,
    ecus: Mapping[str, RegisteredEcu],
    images: Iterable[SoftwareImage],
    last_sequence: int = 0,
) -> VehicleManifest:
    """The director's check of a posted manifest; raises :class:`ManifestRefused`."""
    if not ecus:
        raise ManifestRefused("unknown-vehicle", f"no ECU keys are registered for {vehicle_id}")
    try:
        envelope = json.loads(body)
        primary = str(envelope["signed"]["primary_ecu_serial"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ManifestRefused("malformed", f"the manifest of {vehicle_id} is unreadable") from exc
    if primary not in ecus:
        raise ManifestRefused("unknown-ecu", f"{primary} is not a registered ECU of {vehicle_id}")
    signed = _check_signed(envelope, ecus[primary].public_key, f"the manifest of {vehicle_id}")
    sequence, raw_reports = signed.get("sequence"), signed.get("ecu_version_reports")
    if signed.get("vehicle_id") != vehicle_id or signed.get("type") != "vehicle-version-manifest":
        raise ManifestRefused("malformed", f"the manifest is not {vehicle_id}'s version manifest")
    if not isinstance(sequence, int) or not isinstance(raw_reports, dict):
        raise ManifestRefused("malformed", "the manifest lacks its sequence or reports")
    if sequence <= last_sequence:
        raise ManifestRefused(
            "replay", f"sequence {sequence} is not after the last accepted {last_sequence}"
        )
    unknown, missing = set(raw_reports) - set(ecus), set(ecus) - set(raw_reports)
    if unknown:
        raise ManifestRefused(
            "unknown-ecu", f"{vehicle_id} has no ECU {', '.join(sorted(unknown))}"
        )
    if missing:
        raise ManifestRefused("incomplete", f"no report from ECU {', '.join(sorted(missing))}")
    by_path = {image.path: image for image in images}
    reports = {}
    for serial, envelope_of_ecu in sorted(raw_reports.items()):
        registered = ecus[serial]
        report = _check_signed(envelope_of_ecu, registered.public_key, f"ECU {serial}'s report")
        names = (report.get("vehicle_id"), report.get("ecu_serial"), report.get("hardware_id"))
        if names != (vehicle_id, serial, registered.hardware_id):
            raise ManifestRefused(
                "malformed", f"ECU {serial}'s report names another vehicle, ECU or hardware"
            )
        attempt = report.get("last_attempt")
        try:
            last = None if attempt is None else InstallAttempt(**attempt)
        except TypeError as exc:
            raise ManifestRefused("malformed", f"ECU {serial}'s last attempt: {exc}") from exc
        checked = EcuVersionReport(
            serial, registered.hardware_id, _reported_image(serial, report.get("installed")), last
        )
        _check_possible(checked, by_path)
        reports[serial] = checked
    return VehicleManifest(vehicle_id, primary, sequence, reports)


class ManifestReceiver:
    """The director's HTTP sink for manifests: verify, keep the latest, log refusals."""

    def __init__(self, registry: EcuRegistry, images: ImageRepository, store_dir: Path) -> None:
        self.registry = registry
        self.images = images
        self.store_dir = Path(store_dir)
        self._lock = threading.Lock()
        self._accepted: dict[str, VehicleManifest] = {}
        self.refusals: list[dict[str, str]] = []

    @property
    def _sequences_path(self) -> Path:
        return self.store_dir / "sequences.json"

    def _sequences(self) -> dict[str, int]:
        if not self._sequences_path.exists():
            return {}
        data: dict[str, int] = json.loads(self._sequences_path.read_text())
        return data

    def latest(self, vehicle_id: str) -> VehicleManifest | None:
        """The last manifest accepted from ``vehicle_id`` (since this receiver started)."""
        return self._accepted.get(vehicle_id)

    def __call__(self, vehicle_id: str, body: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            sequences = self._sequences()  # kept on disk: a restart does not reopen replays
            try:
                manifest = verify_manifest(
                    body,
                    vehicle_id=vehicle_id,
                    ecus=self.registry.ecus_of(vehicle_id),
                    images=self.images.images(),
                    last_sequence=sequences.get(vehicle_id, 0),
                )
            except ManifestRefused as refused:
                self.refusals.append({"vehicle_id": vehicle_id, "reason": refused.reason,
                                      "detail": refused.message})  # fmt: skip
                self._log(vehicle_id, "refused", refused.reason, refused.message)
                return 400, {
                    "type": f"urn:drivetrain:problem:{ManifestRefused.code}",
                    "title": "version manifest refused",
                    "reason": refused.reason,
                    "detail": refused.message,
                }
            self._accepted[vehicle_id] = manifest
            self.store_dir.mkdir(parents=True, exist_ok=True)
            tmp = self._sequences_path.with_name(".sequences.json.tmp")
            tmp.write_text(json.dumps(sequences | {vehicle_id: manifest.sequence}))
            tmp.replace(self._sequences_path)
            self._log(vehicle_id, "accepted", "", f"sequence {manifest.sequence}")
            return 200, {"accepted": True, "sequence": manifest.sequence}

    def _log(self, vehicle_id: str, outcome: str, reason: str, detail: str) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        entry = {"vehicle_id": vehicle_id, "outcome": outcome, "reason": reason, "detail": detail}
        with (self.store_dir / "manifests.jsonl").open("a") as log:
            log.write(json.dumps(entry) + "\n")
