"""Turn python-tuf's verification failures into :class:`UpdateRefused` with a reason."""

from __future__ import annotations

from tuf.api import exceptions as tuf_errors

from drivetrain.ota.errors import UpdateRefused

_HINTS = {
    "unsigned": "the metadata is not signed by a threshold of trusted keys: do not install; "
    "check the repository's keys or suspect tampering",
    "rollback": "the server offered older metadata or an older image than the vehicle trusts: "
    "suspect a replay; publish a newer version instead",
    "expired": "the metadata has expired: the server is stale or frozen by an attacker; "
    "the repository must re-sign (refresh_timestamp) before vehicles update",
    "hash-mismatch": "the downloaded bytes differ from the signed image: do not install",
    "endless-data": "the server sent more bytes than the signed length: do not install",
    "mismatch": "the director and the image repository disagree on this image (length, "
    "hashes or hardware): the director may be compromised; do not install",
    "unknown-image": "the director names an image the image repository does not sign: "
    "a compromised director alone cannot install software",
    "invalid-metadata": "the metadata is malformed or inconsistent: fix the repository",
    "download-failed": "check that the update server is reachable and serves the repository",
}


def refusal_from(exc: Exception, where: str) -> UpdateRefused:
    """The refusal for a python-tuf error raised while updating ``where``."""
    if isinstance(exc, tuf_errors.UnsignedMetadataError):
        reason = "unsigned"
    elif isinstance(exc, tuf_errors.BadVersionNumberError):
        reason = "rollback"
    elif isinstance(exc, tuf_errors.ExpiredMetadataError):
        reason = "expired"
    elif isinstance(exc, tuf_errors.LengthOrHashMismatchError):
        reason = "hash-mismatch"
    elif isinstance(exc, tuf_errors.DownloadLengthMismatchError):
        reason = "endless-data"
    elif isinstance(exc, tuf_errors.DownloadError):
        reason = "download-failed"
    else:
        reason = "invalid-metadata"
    return UpdateRefused(reason, f"{where}: {exc}", hint=_HINTS[reason])


def refuse(reason: str, message: str, hint: str | None = None) -> UpdateRefused:
    return UpdateRefused(reason, message, hint=hint or _HINTS.get(reason))
