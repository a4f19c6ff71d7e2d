"""Secure over-the-air updates: Uptane-style signed metadata on python-tuf.

Two repositories — the image repository (what software exists) and the
director (what each vehicle should install) — sign root, targets, snapshot and
timestamp metadata with keys from a :class:`KeyRing` (or any HSM/KMS
``Signer``); a vehicle's :class:`PrimaryEcu` verifies both fully and installs
only what they agree on, a :class:`SecondaryEcu` verifies partially. See
``docs/ota.md``.
"""

from drivetrain.ota.client import Ecu, InstalledImage, PrimaryEcu, VerifiedUpdate
from drivetrain.ota.errors import (
    REFUSAL_REASONS,
    RepositoryInputError,
    SigningKeyMissing,
    UpdateRefused,
)
from drivetrain.ota.keys import KeyEntry, KeyRing, SignerSource
from drivetrain.ota.metadata_store import RoleExpiry, TufRepository
from drivetrain.ota.repository import (
    DirectorRepository,
    EcuAssignment,
    ImageRepository,
    SoftwareImage,
)
from drivetrain.ota.secondary import DirectorTargetsKeys, SecondaryEcu
from drivetrain.ota.server import RepositoryServer, repository_routes
from drivetrain.ota.tuf_client import download_artifact, init_client, refresh_metadata

__all__ = [
    "REFUSAL_REASONS",
    "DirectorRepository",
    "DirectorTargetsKeys",
    "Ecu",
    "EcuAssignment",
    "ImageRepository",
    "InstalledImage",
    "KeyEntry",
    "KeyRing",
    "PrimaryEcu",
    "RepositoryInputError",
    "RepositoryServer",
    "RoleExpiry",
    "SecondaryEcu",
    "SignerSource",
    "SigningKeyMissing",
    "SoftwareImage",
    "TufRepository",
    "UpdateRefused",
    "VerifiedUpdate",
    "download_artifact",
    "init_client",
    "refresh_metadata",
    "repository_routes",
]
