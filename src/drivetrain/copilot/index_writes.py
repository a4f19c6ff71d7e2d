"""Writing documents into both stores of an index: rows, duplicates, vectors.

Both stores get the same chunks in one call each. The chunk table is written
first and is the source of truth: if the process dies between the two, the
next open finds the counts apart and rebuilds the lexical index from it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from drivetrain.copilot.embeddings import TextEmbedder
from drivetrain.copilot.lexical import LexicalIndex, lexical_rows
from drivetrain.copilot.models import Chunk, DocumentMeta, FileOutcome, FileStatus, IngestReport
from drivetrain.copilot.vector_store import ChunkStore, span_columns

LEXICAL_COLUMNS = ["chunk_id", "doc_id", "search_text", "labels", "brand", "program", "version"]


@dataclass(frozen=True, slots=True)
class PendingDocument:
    """A document read and chunked, waiting to be written."""

    meta: DocumentMeta
    chunks: list[Chunk]
    status: FileStatus


def search_text_of(chunk: Chunk) -> str:
    """What both retrievers see of a chunk: its heading path, then its text."""
    return " > ".join(chunk.heading_path) + "\n\n" + chunk.text


def write_documents(
    store: ChunkStore,
    lexical: LexicalIndex,
    embedder: TextEmbedder | None,
    pending: list[PendingDocument],
    report: IngestReport,
) -> None:
    """Replace the pending documents' chunks in both stores (vectors reused where known)."""
    if not pending:
        return
    doc_ids = [p.meta.doc_id for p in pending]
    chunks = [c for p in pending for c in p.chunks]
    meta_of = {p.meta.doc_id: p.meta for p in pending}
    texts = [search_text_of(c) for c in chunks]
    embed_hashes = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    earlier = store.first_of_hashes((c.content_hash for c in chunks), exclude=doc_ids)
    duplicate_of: list[str | None] = []
    for c in chunks:
        first = earlier.get(c.content_hash)
        duplicate_of.append(first)
        if first is None:
            earlier[c.content_hash] = c.chunk_id
        else:
            report.duplicate_chunks += 1
    columns: dict[str, Any] = {
        "chunk_id": [c.chunk_id for c in chunks],
        "doc_id": [c.doc_id for c in chunks],
        "ordinal": [c.ordinal for c in chunks],
        "kind": [c.kind for c in chunks],
        "text": [c.text for c in chunks],
        "search_text": texts,
        "heading_path": [list(c.heading_path) for c in chunks],
        "title": [meta_of[c.doc_id].title for c in chunks],
        "source": [meta_of[c.doc_id].source for c in chunks],
        "version": [meta_of[c.doc_id].version for c in chunks],
        "brand": [meta_of[c.doc_id].brand for c in chunks],
        "program": [meta_of[c.doc_id].program for c in chunks],
        "labels": [list(meta_of[c.doc_id].labels) for c in chunks],
        "content_hash": [c.content_hash for c in chunks],
        "embed_hash": embed_hashes,
        "duplicate_of": duplicate_of,
        "words": [c.words for c in chunks],
        **span_columns([c.span for c in chunks]),
    }
    if store.dim is not None and embedder is not None:
        columns["vector"] = _vectors(store, embedder, texts, embed_hashes, report)
    rows = pa.table(columns, schema=store.chunks.schema)
    metas = [(p.meta, len(p.chunks)) for p in pending]
    store.replace(doc_ids, metas, rows)
    lexical.replace(doc_ids, lexical_rows(rows.select(LEXICAL_COLUMNS).to_pylist()))
    report.chunks_added += len(chunks)
    report.files.extend(FileOutcome(p.meta.source, p.status, len(p.chunks)) for p in pending)


def _vectors(
    store: ChunkStore,
    embedder: TextEmbedder | None,
    texts: list[str],
    hashes: list[str],
    report: IngestReport,
) -> pa.Array:
    assert embedder is not None and store.dim is not None
    known = store.known_vectors(hashes)
    todo = {h: t for h, t in zip(hashes, texts, strict=True) if h not in known}
    if todo:
        computed = embedder.embed(list(todo.values()))
        known.update(zip(todo, computed, strict=True))
        report.embedded_chunks += len(todo)
    matrix = np.stack([known[h] for h in hashes]).astype(np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(matrix.ravel()), store.dim)
