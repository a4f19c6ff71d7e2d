"""Secure over-the-air updates: Uptane-style signed metadata on python-tuf.

Two repositories — the image repository (what software exists) and the
director (what each vehicle should install) — sign root, targets, snapshot and
timestamp metadata with keys from a :class:`KeyRing` (or any HSM/KMS
``Signer``); a vehicle's :class:`PrimaryEcu` verifies both fully and installs
only what they agree on, a :class:`SecondaryEcu` verifies partially. See
``docs/ota.md``.
"""

from drivetrain.ota.client import Ecu, PrimaryEcu, VerifiedUpdate
from drivetrain.ota.errors import (
    REFUSAL_REASONS,
    RepositoryInputError,
    SigningKeyMissing,
    UpdateRefused,
)
from drivetrain.ota.keys import KeyEntry, KeyRing, SignerSource
from drivetrain.ota.manifests import (
    MANIFEST_REFUSAL_REASONS,
    EcuRegistry,
    EcuVersionReport,
    ManifestReceiver,
    ManifestRefused,
    RegisteredEcu,
    VehicleManifest,
    ecu_key_name,
    sign_version_manifest,
    verify_manifest,
)
from drivetrain.ota.metadata_store import RoleExpiry, TufRepository
from drivetrain.ota.repository import (
    DirectorRepository,
    EcuAssignment,
    ImageRepository,
    SoftwareImage,
)
from drivetrain.ota.secondary import DirectorTargetsKeys, SecondaryEcu
from drivetrain.ota.server import ManifestSink, RepositoryServer, repository_routes
from drivetrain.ota.slots import (
    BOOT_FAILURE_MARKER,
    SLOTS,
    BootCheck,
    BootPointer,
    BootResult,
    BundleOutcome,
    EcuSlots,
    InstallAttempt,
    InstalledImage,
    UpdateRolledBack,
    VehicleSlots,
    image_boots,
)
from drivetrain.ota.tuf_client import download_artifact, init_client, refresh_metadata

__all__ = [
    "BOOT_FAILURE_MARKER",
    "MANIFEST_REFUSAL_REASONS",
    "REFUSAL_REASONS",
    "SLOTS",
    "BootCheck",
    "BootPointer",
    "BootResult",
    "BundleOutcome",
    "DirectorRepository",
    "DirectorTargetsKeys",
    "Ecu",
    "EcuAssignment",
    "EcuRegistry",
    "EcuSlots",
    "EcuVersionReport",
    "ImageRepository",
    "InstallAttempt",
    "InstalledImage",
    "KeyEntry",
    "KeyRing",
    "ManifestReceiver",
    "ManifestRefused",
    "ManifestSink",
    "PrimaryEcu",
    "RegisteredEcu",
    "RepositoryInputError",
    "RepositoryServer",
    "RoleExpiry",
    "SecondaryEcu",
    "SignerSource",
    "SigningKeyMissing",
    "SoftwareImage",
    "TufRepository",
    "UpdateRefused",
    "UpdateRolledBack",
    "VehicleManifest",
    "VehicleSlots",
    "VerifiedUpdate",
    "download_artifact",
    "ecu_key_name",
    "image_boots",
    "init_client",
    "refresh_metadata",
    "repository_routes",
    "sign_version_manifest",
    "verify_manifest",
]
