"""The vehicle client's TUF layer as the tuf-conformance suite's client under test.

The public TUF conformance suite (theupdateframework/tuf-conformance) drives a
client through three commands (its ``CLIENT-CLI.md``), answered by
``drivetrain ota tuf-client``:

* ``--metadata-dir DIR init TRUSTED_ROOT`` — trust ``TRUSTED_ROOT`` (copied to
  ``DIR/root.json``, no request made);
* ``--metadata-dir DIR --metadata-url URL refresh`` — update the top-level
  metadata by the TUF client workflow, stored under unversioned names;
* ``… --target-name NAME --target-base-url URL --target-dir DIR download`` —
  refresh, then fetch and verify the artifact into ``DIR`` (not again if the
  cached copy still matches).

Success is exit code 0, any failure 1. These functions raise on failure; the
CLI turns that into the exit code.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tuf.api import exceptions as tuf_errors

from drivetrain.errors import NotFound, StorageError
from drivetrain.ota._tuf import Updater
from drivetrain.ota.errors import RepositoryInputError
from drivetrain.ota.refusals import refusal_from


def init_client(metadata_dir: Path, trusted_root: Path) -> Path:
    """Trust ``trusted_root``: copy it to ``metadata_dir/root.json``; returns that path."""
    if not trusted_root.is_file():
        raise NotFound(
            f"trusted root {trusted_root} does not exist",
            hint="pass the root.json the client should trust first",
        )
    try:
        metadata_dir.mkdir(parents=True, exist_ok=True)
        destination = metadata_dir / "root.json"
        destination.unlink(missing_ok=True)  # may be a symlink into root_history/
        shutil.copyfile(trusted_root, destination)
    except OSError as exc:
        raise StorageError(f"cannot initialise {metadata_dir}: {exc.strerror}") from exc
    return destination


def _updater(
    metadata_dir: Path,
    metadata_url: str,
    target_dir: Path | None = None,
    target_base_url: str | None = None,
) -> Updater:
    if not (metadata_dir / "root.json").exists():
        raise NotFound(
            f"{metadata_dir} holds no trusted root.json",
            hint="run the init command with the trusted root first",
        )
    try:
        # the trust anchor is the root that init stored (and later refreshes replaced)
        return Updater(
            str(metadata_dir),
            metadata_url,
            str(target_dir) if target_dir else None,
            target_base_url,
            bootstrap=None,
        )
    except (tuf_errors.RepositoryError, ValueError) as exc:
        raise refusal_from(exc, f"trusted root in {metadata_dir}") from exc


def refresh_metadata(metadata_dir: Path, metadata_url: str) -> None:
    """Update the top-level metadata in ``metadata_dir`` from ``metadata_url``."""
    updater = _updater(metadata_dir, metadata_url)
    try:
        updater.refresh()
    except (tuf_errors.RepositoryError, tuf_errors.DownloadError) as exc:
        raise refusal_from(exc, metadata_url) from exc


def download_artifact(
    metadata_dir: Path,
    metadata_url: str,
    target_name: str,
    target_base_url: str,
    target_dir: Path,
) -> Path:
    """Refresh, then download and verify ``target_name`` into ``target_dir``; returns the file."""
    if not target_name:
        raise RepositoryInputError("no target name given", hint="pass --target-name PATH")
    target_dir.mkdir(parents=True, exist_ok=True)
    updater = _updater(metadata_dir, metadata_url, target_dir, target_base_url)
    try:
        info = updater.get_targetinfo(target_name)
        if info is None:
            raise NotFound(
                f"{target_name} is not a target of {metadata_url}",
                hint="check the target name against the repository's targets metadata",
            )
        cached = updater.find_cached_target(info)
        if cached is not None:
            return Path(cached)
        return Path(updater.download_target(info))
    except (tuf_errors.RepositoryError, tuf_errors.DownloadError) as exc:
        raise refusal_from(exc, target_name) from exc
