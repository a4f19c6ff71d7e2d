"""The document index: one folder holding the chunk tables, the lexical index and a manifest.

    <folder>/index.json   manifest: embedding model, vector size, chunk size
    <folder>/lance/       LanceDB tables ``chunks`` (text, metadata, vectors) and ``documents``
    <folder>/lexical/     tantivy BM25 index of the chunks

``add`` is incremental: a file whose bytes, sidecar and resolved metadata are
unchanged is skipped; a changed one has its chunks replaced; with
``prune=True`` documents under a named folder whose file is gone are removed.
Identical chunk text is *flagged*, not dropped: every copy keeps its own row
(its document's labels and location decide who may read it and how to cite
it) with ``duplicate_of`` naming the first copy; its vector is reused, and a
search returns each text once. One writer at a time per folder.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa

from drivetrain.copilot.chunking import DEFAULT_MAX_WORDS, chunk_document
from drivetrain.copilot.documents import (
    DEFAULT_MAX_BYTES,
    SUPPORTED_EXTENSIONS,
    DocumentDefaults,
    describe_failure,
    expand_paths,
    load_document,
    source_of,
)
from drivetrain.copilot.embeddings import MiniLMEmbedder, TextEmbedder
from drivetrain.copilot.index_writes import LEXICAL_COLUMNS, PendingDocument, write_documents
from drivetrain.copilot.lexical import LexicalIndex, lexical_rows
from drivetrain.copilot.locking import write_lock as _write_lock
from drivetrain.copilot.locking import writing as _writing
from drivetrain.copilot.models import (
    DocumentMeta,
    FileOutcome,
    IngestReport,
    Passage,
)
from drivetrain.copilot.retrieval import (
    Reranker,
    SearchFilters,
    SearchMode,
    documents_under,
    search_index,
)
from drivetrain.copilot.vector_store import ChunkStore
from drivetrain.errors import ConfigError, StorageError

log = logging.getLogger(__name__)

MANIFEST = "index.json"
FORMAT_VERSION = 1
_WRITE_BATCH_CHUNKS = 2048


class DocumentIndex:
    """Ingestion and hybrid retrieval over one index folder; build it with :meth:`open`."""

    def __init__(
        self,
        folder: Path,
        store: ChunkStore,
        lexical: LexicalIndex,
        embedder: TextEmbedder | None,
        *,
        max_words: int,
        max_bytes: int,
    ) -> None:
        self.folder = folder
        self._store = store
        self._lexical = lexical
        self._embedder = embedder
        self.max_words = max_words
        self.max_bytes = max_bytes

    @property
    def embedder(self) -> TextEmbedder | None:
        """The dense model of this index (``None`` for a BM25-only index)."""
        return self._embedder

    # -- opening ------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        folder: str | os.PathLike[str],
        *,
        embedder: TextEmbedder | None = None,
        dense: bool | None = None,
        max_words: int | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> DocumentIndex:
        """Open (or create) the index in ``folder`` — normally ``<data_dir>/copilot``.

        ``dense=False`` opens or creates an index without embeddings (BM25 only);
        by default an existing index opens as it was built, a new one with
        embeddings from ``embedder`` (all-MiniLM-L6-v2 when not given).
        ``max_words`` (the chunk size cap) is fixed when the index is created.
        """
        path = Path(folder)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the document index folder {path} ({exc.strerror})",
                hint="point the index at a writable folder (the data directory's copilot/)",
            ) from exc
        manifest = _read_manifest(path)
        built_dense = manifest.get("embedder") is not None if manifest else None
        use_dense = (
            dense if dense is not None else (built_dense if built_dense is not None else True)
        )
        if use_dense and embedder is None:
            embedder = MiniLMEmbedder()
        if not use_dense:
            embedder = None
        lance_dir = path / "lance"
        if manifest and manifest.get("chunks", 0):
            if use_dense and not built_dense:
                raise ConfigError(
                    f"the document index in {path} was built without embeddings",
                    hint="open it with dense=False, or build a new index in an empty folder",
                )
            if embedder is not None and manifest.get("embedder") != embedder.name:
                raise ConfigError(
                    f"the document index in {path} holds vectors of {manifest.get('embedder')}, "
                    f"not {embedder.name}",
                    hint="open it with the same embedding model, or rebuild it in a new folder",
                )
            if max_words is not None and max_words != manifest.get("max_words"):
                raise ConfigError(
                    f"the document index in {path} was chunked at {manifest.get('max_words')} "
                    f"words, not {max_words}",
                    hint="leave max_words unset, or rebuild the index in a new folder",
                )
        dim = manifest.get("dim") if manifest and built_dense else None
        if dim is None and embedder is not None:
            dim = embedder.dim
        words = max_words or (manifest or {}).get("max_words") or DEFAULT_MAX_WORDS
        index = cls(
            path,
            ChunkStore(lance_dir, dim if use_dense or built_dense else None),
            LexicalIndex(path / "lexical"),
            embedder,
            max_words=int(words),
            max_bytes=max_bytes,
        )
        # Repair only when no writer is at work: between a writer's two commits (chunk
        # table, then BM25) the counts differ by design, and a reader "repairing" then would
        # break the write (seen with two processes).
        with _write_lock(path, wait=False) as free:
            if free:
                index._repair()
        return index

    def _repair(self) -> None:
        """Rebuild the lexical index from the chunk table if an interrupted write left them apart."""
        stored, lexical = self._store.count(), self._lexical.count()
        if stored != lexical:
            log.warning("lexical index has %d chunks, table %d: rebuilding it", lexical, stored)
            self._lexical.clear()
            rows = self._store.scan(LEXICAL_COLUMNS)
            self._lexical.replace((), lexical_rows(rows.to_pylist()))
        self._write_manifest()

    def _write_manifest(self) -> None:
        manifest = {
            "format": FORMAT_VERSION,
            "embedder": None
            if self._store.dim is None or self._embedder is None
            else self._embedder.name,
            "dim": self._store.dim,
            "max_words": self.max_words,
            "chunks": self._store.count(),
        }
        old = _read_manifest(self.folder)
        if old and old.get("embedder") and manifest["embedder"] is None:
            manifest["embedder"] = old["embedder"]  # opened BM25-only: keep what built it
        tmp = self.folder / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        tmp.replace(self.folder / MANIFEST)

    # -- adding and removing ----------------------------------------------------------------
    @_writing
    def add(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        labels: Collection[str] = (),
        brand: str | None = None,
        program: str | None = None,
        version: str | None = None,
        date: str | None = None,
        title: str | None = None,
        prune: bool = False,
    ) -> IngestReport:
        """Index files and folders (recursively); unchanged files are skipped.

        The keyword arguments are defaults for every file; a sidecar
        ``<file>.meta.toml`` or the document's own front matter wins over them,
        except ``labels``, which add up. A file that cannot be read is reported
        in the result and does not stop the others. ``prune`` removes documents
        under the named folders (or named files) whose file no longer exists.
        """
        if self._store.dim is not None and self._embedder is None:
            raise ConfigError(
                "this index holds embeddings but was opened without an embedder",
                hint="open it without dense=False to add documents",
            )
        if isinstance(labels, str):
            labels = (labels,)
        started = time.perf_counter()
        defaults = DocumentDefaults(tuple(labels), brand, program, version, date, title)
        named_paths = [Path(p) for p in paths]
        existing = self._store.document_metas()
        report = IngestReport()
        pending: list[PendingDocument] = []
        seen: set[str] = set()
        for path, named in expand_paths(named_paths):
            source = source_of(path)
            if source in seen:
                continue
            seen.add(source)
            if not path.exists():
                if not (prune and source in existing):
                    report.files.append(
                        FileOutcome(source, "failed", code="not-found",
                                    reason=f"{path} does not exist", hint="check the path")
                    )  # fmt: skip
                continue
            if not named and path.suffix.lower() not in SUPPORTED_EXTENSIONS:
                reason = f"no reader for '{path.suffix or '(no extension)'}' files"
                report.files.append(FileOutcome(source, "ignored", reason=reason))
                continue
            try:
                loaded = load_document(path, defaults, max_bytes=self.max_bytes)
                old = existing.get(source)
                if old == loaded.meta:
                    report.files.append(FileOutcome(source, "unchanged"))
                    continue
                chunks = chunk_document(
                    loaded.meta.doc_id, loaded.meta.title, loaded.parsed, max_words=self.max_words
                )
            except Exception as exc:  # one bad file must not stop the batch
                code, reason, hint = describe_failure(exc)
                if source in existing:
                    reason += " (the version indexed before stays)"
                log.info(
                    "not indexed: %s: %s", source, reason, exc_info=code == "unreadable-document"
                )
                report.files.append(
                    FileOutcome(source, "failed", code=code, reason=reason, hint=hint)
                )
                continue
            pending.append(PendingDocument(loaded.meta, chunks, "updated" if old else "added"))
            if sum(len(p.chunks) for p in pending) >= _WRITE_BATCH_CHUNKS:
                write_documents(self._store, self._lexical, self._embedder, pending, report)
                pending = []
        write_documents(self._store, self._lexical, self._embedder, pending, report)
        if prune:
            self._prune(named_paths, seen, existing, report)
        self._write_manifest()
        report.seconds = time.perf_counter() - started
        return report

    def _prune(
        self,
        paths: list[Path],
        seen: set[str],
        existing: dict[str, DocumentMeta],
        report: IngestReport,
    ) -> None:
        roots = [source_of(p) for p in paths]
        gone = [
            meta
            for source, meta in existing.items()
            if not Path(source).exists()
            and any(source == r or source.startswith(r.rstrip("/") + "/") for r in roots)
        ]
        if gone:
            ids = [m.doc_id for m in gone]
            self._store.replace(ids, (), pa.table({}))
            self._lexical.replace(ids, ())
            report.files.extend(FileOutcome(m.source, "removed") for m in gone)

    @_writing
    def remove(self, paths: Iterable[str | os.PathLike[str]]) -> list[str]:
        """Remove the documents at these paths (or under these folders); their sources."""
        gone = documents_under(self._store.document_metas(), paths)
        if gone:
            ids = [m.doc_id for m in gone]
            self._store.replace(ids, (), pa.table({}))
            self._lexical.replace(ids, ())
            self._write_manifest()
        return sorted(m.source for m in gone)

    def labels(self) -> frozenset[str]:
        """Every access label some indexed document carries."""
        return self._store.known_labels()

    def __len__(self) -> int:
        return self._store.count()

    def documents(self) -> pa.Table:
        """The indexed documents (one row each, by source path) as an Arrow table."""
        return self._store.documents_table()

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        labels: Collection[str] | None,
        mode: SearchMode = "hybrid",
        filters: SearchFilters | None = None,
        reranker: Reranker | None = None,
        rerank_depth: int = 50,
    ) -> list[Passage]:
        """The ``k`` best passages for ``query`` that the reader may see, best first.

        ``labels`` is the set of access labels the reader holds; a passage is
        returned only if the reader holds all of its labels. ``labels=None``
        means no label check at all, for trusted system callers only.
        """
        return search_index(
            self._store,
            self._lexical,
            self._embedder,
            query,
            k,
            labels=labels,
            mode=mode,
            filters=filters or SearchFilters(),
            reranker=reranker,
            rerank_depth=rerank_depth,
        )

    @_writing
    def optimize(self, *, vector_index_min_rows: int = 20_000) -> bool:
        """Compact the tables; build an ANN vector index once there are enough chunks.

        Returns whether a vector index was built (below the threshold an exact
        search is used: at 100k chunks it takes ~170 ms, hence the index).
        """
        self._store.compact()
        return self._store.create_vector_index(min_rows=vector_index_min_rows)


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise StorageError(
            f"the document index manifest {path} cannot be read ({exc})",
            hint="restore it, or rebuild the index in an empty folder",
        ) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
        raise StorageError(
            f"{path} is not a drivetrain document index manifest (format {FORMAT_VERSION})",
            hint="rebuild the index in an empty folder",
        )
    return data
