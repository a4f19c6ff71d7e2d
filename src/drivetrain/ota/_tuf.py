"""python-tuf's and securesystemslib's documented API names, imported in one place.

Neither package lists its public names in ``__all__``, so ``mypy --strict``
(no implicit re-export) flags every ``from tuf.api.metadata import Root``; the
names are the documented Metadata API, and the types still check.
"""

from securesystemslib.signer import (  # type: ignore[attr-defined]
    CryptoSigner,
    Key,
    Signer,
    SSlibKey,
)
from tuf.api.metadata import (  # type: ignore[attr-defined]
    TOP_LEVEL_ROLE_NAMES,
    Metadata,
    MetaFile,
    Root,
    Signed,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.ngclient import FetcherInterface, Updater  # type: ignore[attr-defined]

__all__ = [
    "TOP_LEVEL_ROLE_NAMES",
    "CryptoSigner",
    "FetcherInterface",
    "Key",
    "MetaFile",
    "Metadata",
    "Root",
    "SSlibKey",
    "Signed",
    "Signer",
    "Snapshot",
    "TargetFile",
    "Targets",
    "Timestamp",
    "Updater",
]
