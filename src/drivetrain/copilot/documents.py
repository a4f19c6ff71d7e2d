"""From a path to a parsed document with its metadata: format dispatch, limits, sidecars.

Metadata of a document comes from, most specific first: its sidecar file
``<name>.meta.toml`` (keys ``title``, ``version``, ``date``, ``brand``,
``program``, ``labels``), the document itself (Markdown front matter, a PDF's
info dictionary, an HTML ``<title>``), then the arguments given to
``DocumentIndex.add``; the title falls back to the file name. Access labels are
the *union* of all three sources, since each only ever narrows who may read
(labels are trimmed and lower-cased); with none at all a document is labelled
:data:`DEFAULT_LABEL`.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from drivetrain.copilot.errors import (
    CorruptDocument,
    DocumentTooLarge,
    EmptyDocument,
    UnreadableDocument,
    UnsupportedFormat,
)
from drivetrain.copilot.html_reader import read_html
from drivetrain.copilot.models import DocumentMeta, ParsedDocument
from drivetrain.copilot.pdf_reader import read_pdf
from drivetrain.copilot.table_reader import read_csv_table, read_parquet_table
from drivetrain.copilot.text_formats import normalise_meta, read_markdown, read_plain_text
from drivetrain.errors import InputError

DEFAULT_LABEL = "public"
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
SIDECAR_SUFFIX = ".meta.toml"


def _text(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise CorruptDocument(
            "the file holds binary data, not text", hint="check its extension matches its content"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


_READERS: dict[str, Callable[[bytes], ParsedDocument]] = {
    ".md": lambda b: read_markdown(_text(b)),
    ".markdown": lambda b: read_markdown(_text(b)),
    ".html": lambda b: read_html(_text(b)),
    ".htm": lambda b: read_html(_text(b)),
    ".txt": lambda b: read_plain_text(_text(b)),
    ".text": lambda b: read_plain_text(_text(b)),
    ".pdf": read_pdf,
    ".csv": lambda b: read_csv_table(_text(b)),
    ".parquet": read_parquet_table,
}

#: File extensions the copilot can index.
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(_READERS)


def normalise_label(label: str) -> str:
    """Access labels are identifiers: compared trimmed and lower-case."""
    return label.strip().lower()


def doc_id_of(source: str) -> str:
    """The stable id of the document at ``source`` (an absolute path)."""
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def source_of(path: Path) -> str:
    """How a file is named in the index: its absolute, resolved POSIX path."""
    return path.resolve().as_posix()


@dataclass(frozen=True, slots=True)
class DocumentDefaults:
    """Metadata given to ``add`` for every file of the batch."""

    labels: tuple[str, ...] = ()
    brand: str | None = None
    program: str | None = None
    version: str | None = None
    date: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class LoadedDocument:
    meta: DocumentMeta
    parsed: ParsedDocument


def _sidecar(path: Path) -> tuple[dict[str, object], bytes]:
    side = path.with_name(path.name + SIDECAR_SUFFIX)
    if not side.is_file():
        return {}, b""
    raw = side.read_bytes()
    try:
        values = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(
            f"sidecar {side} is not valid TOML ({exc})",
            hint="keys: title, version, date, brand, program, labels = [...]",
        ) from exc
    return normalise_meta(values), raw


def _pick(key: str, *sources: Mapping[str, object]) -> str | None:
    for source in sources:
        value = source.get(key)
        if value:
            return str(value)
    return None


def load_document(
    path: Path, defaults: DocumentDefaults, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> LoadedDocument:
    """Read, parse and describe one file; raises an ``UnreadableDocument`` subclass."""
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        raise UnsupportedFormat(
            f"{path.name}: no reader for '{suffix or '(no extension)'}' files",
            hint=f"supported: {', '.join(sorted(SUPPORTED_EXTENSIONS))}",
        )
    size = path.stat().st_size
    if size > max_bytes:
        raise DocumentTooLarge(
            f"{path.name} is {size / 2**20:.1f} MiB, over the limit of {max_bytes / 2**20:.1f} MiB",
            hint="split the document, or open the index with a larger max_bytes",
        )
    data = path.read_bytes()
    if not data.strip():
        raise EmptyDocument(f"{path.name} is empty", hint="check the file was written completely")
    side, side_raw = _sidecar(path)
    parsed = reader(data)
    if not any(b.text.strip() for b in parsed.blocks):
        raise EmptyDocument(
            f"{path.name} holds no text to index",
            hint="check the file is the document you meant (not only markup or metadata)",
        )
    args = {
        "title": defaults.title,
        "version": defaults.version,
        "date": defaults.date,
        "brand": defaults.brand,
        "program": defaults.program,
    }
    own = dict(parsed.meta)
    if parsed.title:
        own.setdefault("title", parsed.title)
    labels: set[str] = {normalise_label(v) for v in defaults.labels}
    for found_in in (side, own):
        found = found_in.get("labels")
        if isinstance(found, tuple):
            labels.update(normalise_label(str(v)) for v in found)
    labels.discard("")
    source = source_of(path)
    digest = hashlib.sha256(data)
    digest.update(side_raw)
    meta = DocumentMeta(
        doc_id=doc_id_of(source),
        source=source,
        format=parsed.format,
        title=_pick("title", side, own, args) or path.stem,
        version=_pick("version", side, own, args),
        date=_pick("date", side, own, args),
        brand=_pick("brand", side, own, args),
        program=_pick("program", side, own, args),
        labels=tuple(sorted(labels or {DEFAULT_LABEL})),
        content_hash=digest.hexdigest(),
        size_bytes=size,
    )
    return LoadedDocument(meta, parsed)


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> Iterator[tuple[Path, bool]]:
    """Every file named or found under a named folder, with whether it was named itself.

    Hidden files and folders and sidecar files are passed over; files found in a
    folder are yielded whatever their extension, so the caller can report them.
    """
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            yield path, True
            continue
        for found in sorted(path.rglob("*")):
            rel = found.relative_to(path).parts
            if any(p.startswith(".") for p in rel) or found.name.endswith(SIDECAR_SUFFIX):
                continue
            if found.is_file():
                yield found, False


def describe_failure(exc: Exception) -> tuple[str, str, str | None]:
    """(code, reason, hint) of an exception raised while loading a document."""
    if isinstance(exc, UnreadableDocument | InputError):
        return exc.code, exc.message, exc.hint
    if isinstance(exc, OSError):
        return "unreadable-document", f"cannot read the file ({exc.strerror})", None
    return "unreadable-document", f"{type(exc).__name__}: {exc}", None
