"""The errors of signed over-the-air updates, on top of ``drivetrain.errors``.

IntegrityError
└── UpdateRefused       the vehicle side refused metadata or an image; ``reason``
                        names the check (one of ``REFUSAL_REASONS``)
InputError
└── RepositoryInputError a repository operation was asked for something invalid
NotFound
└── SigningKeyMissing   a role needs a key the key ring does not hold
"""

from __future__ import annotations

from drivetrain.errors import InputError, IntegrityError, NotFound

#: Why an update was refused; the attack tests assert on these.
REFUSAL_REASONS = (
    "unsigned",  # signatures missing, wrong key, or fewer than the role's threshold
    "rollback",  # metadata version or image release counter older than trusted
    "expired",  # metadata past its expiry: a freeze attack or a stale server
    "mismatch",  # director and image repository disagree (length, hashes, hardware)
    "unknown-image",  # the director names an image the image repository does not list
    "hash-mismatch",  # downloaded bytes do not match the signed length/hashes
    "endless-data",  # the server sent more bytes than the signed length
    "invalid-metadata",  # metadata malformed or inconsistent
    "download-failed",  # the server could not be reached or answered an error
)


class UpdateRefused(IntegrityError):
    """Signed update metadata or an image failed verification on the vehicle side."""

    code = "update-refused"

    def __init__(self, reason: str, message: str, *, hint: str | None = None) -> None:
        if reason not in REFUSAL_REASONS:
            raise ValueError(f"unknown refusal reason {reason!r}")
        self.reason = reason
        super().__init__(f"update refused ({reason}): {message}", hint=hint)


class RepositoryInputError(InputError):
    """An image or director repository operation was given an invalid value."""

    code = "ota-repository-input"


class SigningKeyMissing(NotFound):
    """A role must be signed with a key that the key ring does not hold."""

    code = "ota-signing-key-missing"
