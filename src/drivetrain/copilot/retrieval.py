"""Fusion, filters and the reranking hook of the hybrid search.

Reciprocal rank fusion (Cormack, Clarke & Büttcher, SIGIR 2009) scores a chunk
``sum(1 / (k + rank))`` over the result lists it appears in, with ``k = 60``:
it needs no score calibration between BM25 and cosine similarity, and a chunk
both retrievers like rises above one only one of them likes.

Access labels: a chunk carries the labels of its document, and a reader may
see it only if it holds *every* one of them (``{"public"}`` needs
``public``; ``{"engineering", "confidential"}`` needs both). Both stores
apply this inside the query, before the top k are cut.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from drivetrain.copilot.documents import normalise_label, source_of
from drivetrain.copilot.embeddings import TextEmbedder
from drivetrain.copilot.lexical import LexicalFilter, LexicalIndex
from drivetrain.copilot.models import DocumentMeta, Location, Passage
from drivetrain.copilot.vector_store import ChunkStore, span_of, sql_list
from drivetrain.errors import ConfigError, InputError

log = logging.getLogger(__name__)

RRF_K = 60
SearchMode = Literal["hybrid", "bm25", "dense"]
SEARCH_MODES: tuple[SearchMode, ...] = ("hybrid", "bm25", "dense")


@runtime_checkable
class Reranker(Protocol):
    """Reorders the fused candidates of a query (e.g. a cross-encoder); may rescore them."""

    def rerank(self, query: str, passages: Sequence[Passage]) -> list[Passage]:
        """The passages best first; it may drop some but must not add any."""
        ...


def _values(value: str | Collection[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Metadata a passage must match; each field takes one value or any of several.

    ``source`` matches a document's path exactly or any document under a folder;
    brand, program and version compare without case.
    """

    brand: str | Collection[str] | None = None
    program: str | Collection[str] | None = None
    source: str | Collection[str] | None = None
    version: str | Collection[str] | None = None

    @property
    def brands(self) -> tuple[str, ...] | None:
        return _values(self.brand)

    @property
    def programs(self) -> tuple[str, ...] | None:
        return _values(self.program)

    @property
    def sources(self) -> tuple[str, ...] | None:
        return _values(self.source)

    @property
    def versions(self) -> tuple[str, ...] | None:
        return _values(self.version)


@dataclass(frozen=True, slots=True)
class Fused:
    chunk_id: str
    score: float
    ranks: dict[str, int]


def reciprocal_rank_fusion(rankings: Mapping[str, Sequence[str]], *, k: int = RRF_K) -> list[Fused]:
    """Fuse ranked lists of chunk ids (best first) by RRF; ties keep first-seen order."""
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for name, ids in rankings.items():
        for rank, chunk_id in enumerate(ids, start=1):
            if name in ranks.get(chunk_id, {}):
                continue  # a list naming a chunk twice counts its best rank only
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (k + rank)
            ranks.setdefault(chunk_id, {})[name] = rank
    order = sorted(scores, key=lambda c: -scores[c])  # stable: first seen wins ties
    return [Fused(c, scores[c], ranks[c]) for c in order]


def forbidden_labels(known: Collection[str], allowed: Collection[str]) -> tuple[str, ...]:
    """Labels in the index that the reader does not hold (compared without case)."""
    have = {a.strip().lower() for a in allowed}
    return tuple(sorted({k for k in known if k.lower() not in have}))


def _where_sql(
    forbidden: tuple[str, ...], filters: SearchFilters, doc_ids: tuple[str, ...] | None
) -> str | None:
    """The same filter as the lexical one, as SQL for the vector store."""
    clauses = []
    if forbidden:
        clauses.append(f"NOT array_has_any(labels, make_array{sql_list(forbidden)})")
    if doc_ids is not None:
        clauses.append(f"doc_id IN {sql_list(doc_ids)}")
    for column, values in (
        ("brand", filters.brands),
        ("program", filters.programs),
        ("version", filters.versions),
    ):
        if values is not None:
            clauses.append(f"lower({column}) IN {sql_list(v.strip().lower() for v in values)}")
    return " AND ".join(clauses) or None


def documents_under(
    metas: Mapping[str, DocumentMeta], paths: Iterable[str | os.PathLike[str]]
) -> list[DocumentMeta]:
    """The documents at these paths, or under these folders."""
    roots = {source_of(Path(p)) for p in paths}
    # documents named exactly (a set lookup), then everything under the folders named
    folders = tuple(r.rstrip("/") + "/" for r in roots if r not in metas)
    return [
        meta
        for source, meta in metas.items()
        if source in roots or (folders and source.startswith(folders))
    ]


def _doc_ids_for(store: ChunkStore, sources: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if sources is None:
        return None
    return tuple(sorted(m.doc_id for m in documents_under(store.document_metas(), sources)))


def _passage(row: dict[str, Any], fused: Fused, score: float, dupes: list[str]) -> Passage:
    heading_path = tuple(row["heading_path"] or ())
    return Passage(
        chunk_id=row["chunk_id"],
        doc_id=row["doc_id"],
        text=row["text"],
        title=row["title"],
        heading_path=heading_path,
        source=row["source"],
        location=Location(row["source"], heading_path, span_of(row)),
        score=score,
        ranks=dict(fused.ranks),
        labels=tuple(row["labels"] or ()),
        brand=row["brand"],
        program=row["program"],
        version=row["version"],
        content_hash=row["content_hash"],
        duplicates=tuple(dupes),
    )


def search_index(
    store: ChunkStore,
    lexical: LexicalIndex,
    embedder: TextEmbedder | None,
    query: str,
    k: int,
    *,
    labels: Collection[str] | None,
    mode: SearchMode,
    filters: SearchFilters,
    reranker: Reranker | None,
    rerank_depth: int,
) -> list[Passage]:
    """Filtered BM25 and/or dense retrieval, fused, deduplicated, optionally reranked."""
    if mode not in SEARCH_MODES:
        raise InputError(
            f"unknown search mode {mode!r}", hint=f"use one of {', '.join(SEARCH_MODES)}"
        )
    if k < 1:
        raise InputError(f"k must be at least 1, not {k}")
    if not query.strip():
        raise InputError("the query is empty", hint="ask with a few words")
    if mode != "bm25" and (embedder is None or store.dim is None):
        raise ConfigError(
            f"{mode} search needs the embeddings, and this index has none (or was opened without)",
            hint="search with mode='bm25', or open an index built with embeddings",
        )
    if isinstance(labels, str):
        labels = (labels,)
    allowed = None if labels is None else {normalise_label(v) for v in labels} - {""}
    if allowed is not None and not allowed:
        return []
    doc_ids = _doc_ids_for(store, filters.sources)
    if doc_ids is not None and not doc_ids:
        return []
    forbidden = forbidden_labels(store.known_labels(), allowed) if allowed is not None else ()
    lex_filter = LexicalFilter(
        doc_ids=doc_ids,
        brands=filters.brands,
        programs=filters.programs,
        versions=filters.versions,
        forbidden_labels=forbidden,
    )
    where = _where_sql(forbidden, filters, doc_ids)
    vector = embedder.embed([query])[0] if mode != "bm25" and embedder is not None else None
    wanted = max(k, rerank_depth) if reranker is not None else k
    depth = max(3 * wanted, 30)
    while True:
        lex = lexical.search(query, depth, lex_filter) if mode != "dense" else []
        dense = store.dense_search(vector, depth, where) if vector is not None else []
        rankings: dict[str, list[str]] = {}
        if mode != "dense":
            rankings["bm25"] = [c for c, _ in lex]
        if mode != "bm25":
            rankings["dense"] = [h.chunk_id for h in dense]
        raw = (
            {c: s for c, s in lex} if mode == "bm25" else {h.chunk_id: h.similarity for h in dense}
        )
        fused = reciprocal_rank_fusion(rankings)
        head = max(wanted + wanted // 2, 15)
        rows = store.fetch([f.chunk_id for f in fused[:head]])
        firsts: dict[str, tuple[Fused, list[str]]] = {}
        for n, f in enumerate(fused):
            if n == head:
                if len(firsts) >= wanted:
                    break  # later candidates cannot enter the top k
                rows.update(store.fetch([g.chunk_id for g in fused[head:]]))
            row = rows.get(f.chunk_id)
            if row is None:
                continue
            if allowed is not None and not set(row["labels"] or ()) <= allowed:
                # the stores filter before ranking; this guard only catches a bug there
                log.error("label filter let %s through; dropped", f.chunk_id)
                continue
            if row["content_hash"] in firsts:
                firsts[row["content_hash"]][1].append(f.chunk_id)
            else:
                firsts[row["content_hash"]] = (f, [])
        exhausted = len(lex) < depth and len(dense) < depth
        if len(firsts) >= wanted or exhausted:
            break
        depth *= 4
    passages = [
        _passage(rows[f.chunk_id], f, f.score if mode == "hybrid" else raw[f.chunk_id], dupes)
        for f, dupes in firsts.values()
    ]
    if reranker is not None:
        candidates = passages[: max(k, rerank_depth)]
        allowed_ids = {p.chunk_id for p in candidates}
        passages = [p for p in reranker.rerank(query, candidates) if p.chunk_id in allowed_ids]
    return passages[:k]
