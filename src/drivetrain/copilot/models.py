"""What the copilot reads, stores and returns: blocks, chunks, passages, reports.

A reader turns a file into a :class:`ParsedDocument`: its own metadata and a
list of :class:`Block` s (a paragraph, a code block or a table) in reading order,
each under its heading path and with its place in the source. The chunker packs
blocks into :class:`Chunk` s; a search returns :class:`Passage` s. Locations are
what a citation needs: the file, the heading path, and the line, page, row and
character ranges that hold the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

BlockKind = Literal["text", "code", "table"]
FileStatus = Literal["added", "updated", "unchanged", "removed", "failed", "ignored"]


@dataclass(frozen=True, slots=True)
class Span:
    """Where a piece of text sits in its source; every range is inclusive but ``char_end``.

    Lines and pages are 1-based; ``rows`` are a table's 1-based data rows;
    characters are 0-based offsets into the decoded source text (for a PDF,
    into its extracted text, pages joined by a form feed).
    """

    line_start: int | None = None
    line_end: int | None = None
    page_start: int | None = None
    page_end: int | None = None
    row_start: int | None = None
    row_end: int | None = None
    char_start: int | None = None
    char_end: int | None = None

    def join(self, other: Span) -> Span:
        """The smallest span covering both."""
        return Span(
            _lo(self.line_start, other.line_start),
            _hi(self.line_end, other.line_end),
            _lo(self.page_start, other.page_start),
            _hi(self.page_end, other.page_end),
            _lo(self.row_start, other.row_start),
            _hi(self.row_end, other.row_end),
            _lo(self.char_start, other.char_start),
            _hi(self.char_end, other.char_end),
        )


def _lo(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _hi(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass(frozen=True, slots=True)
class TableRow:
    """One data row of a table block, already rendered as a Markdown table line."""

    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class Block:
    """A paragraph, code block or table under one heading path."""

    kind: BlockKind
    text: str
    heading_path: tuple[str, ...]
    span: Span
    #: For tables: the Markdown header lines (header and ``|---|`` rule) and the rows,
    #: so that a long table is split between rows with the header repeated.
    table_header: tuple[str, ...] = ()
    table_rows: tuple[TableRow, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedDocument:
    """A file as a reader sees it: metadata found inside it and its blocks in order."""

    format: str
    title: str | None
    blocks: tuple[Block, ...]
    #: Metadata from front matter or the file's own header (title, version, date,
    #: brand, program, labels); the sidecar and ``add`` arguments are merged later.
    meta: dict[str, object] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DocumentMeta:
    """An indexed document: where it came from, what it is, and who may read it."""

    doc_id: str
    source: str
    format: str
    title: str
    version: str | None
    date: str | None
    brand: str | None
    program: str | None
    labels: tuple[str, ...]
    content_hash: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class Location:
    """Where a passage is: enough to cite it and to open the source at that place."""

    source: str
    heading_path: tuple[str, ...]
    span: Span

    def cite(self) -> str:
        """A human citation, e.g. ``uptane-standard.md § Design > Roles, lines 370–401``."""
        name = self.source.rsplit("/", 1)[-1]
        parts = [f"{name} § {' > '.join(self.heading_path)}" if self.heading_path else name]
        s = self.span
        for label, lo, hi in (
            ("page", s.page_start, s.page_end),
            ("row", s.row_start, s.row_end),
            ("line", s.line_start, s.line_end),
        ):
            if lo is not None:
                parts.append(f"{label} {lo}" if hi in (None, lo) else f"{label}s {lo}–{hi}")
                break
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable unit of a document (a section or part of one)."""

    chunk_id: str
    doc_id: str
    ordinal: int
    kind: str
    text: str
    heading_path: tuple[str, ...]
    span: Span
    content_hash: str
    words: int


@dataclass(frozen=True, slots=True)
class Passage:
    """One search result: a chunk with its document's metadata, score and ranks.

    ``score`` is the fused RRF score in hybrid mode, the BM25 score in ``bm25``
    mode and the cosine similarity in ``dense`` mode. ``ranks`` holds the 1-based
    rank each retriever gave the chunk (absent when it did not return it).
    """

    chunk_id: str
    doc_id: str
    text: str
    title: str
    heading_path: tuple[str, ...]
    source: str
    location: Location
    score: float
    ranks: dict[str, int]
    labels: tuple[str, ...]
    brand: str | None
    program: str | None
    version: str | None
    content_hash: str
    #: Other readable chunks with the same text (deduplicated away from the results).
    duplicates: tuple[str, ...] = ()


PASSAGE_SCHEMA = pa.schema(
    [
        ("rank", pa.int32()),
        ("chunk_id", pa.string()),
        ("doc_id", pa.string()),
        ("score", pa.float64()),
        ("bm25_rank", pa.int32()),
        ("dense_rank", pa.int32()),
        ("title", pa.string()),
        ("heading_path", pa.string()),
        ("source", pa.string()),
        ("citation", pa.string()),
        ("text", pa.string()),
    ]
)


def passages_to_table(passages: list[Passage]) -> pa.Table:
    """Search results as an Arrow table (one row per passage, best first)."""
    return pa.table(
        {
            "rank": list(range(1, len(passages) + 1)),
            "chunk_id": [p.chunk_id for p in passages],
            "doc_id": [p.doc_id for p in passages],
            "score": [p.score for p in passages],
            "bm25_rank": [p.ranks.get("bm25") for p in passages],
            "dense_rank": [p.ranks.get("dense") for p in passages],
            "title": [p.title for p in passages],
            "heading_path": [" > ".join(p.heading_path) for p in passages],
            "source": [p.source for p in passages],
            "citation": [p.location.cite() for p in passages],
            "text": [p.text for p in passages],
        },
        schema=PASSAGE_SCHEMA,
    )


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """What ``add`` did with one file; ``code``/``reason``/``hint`` only when it failed."""

    source: str
    status: FileStatus
    chunks: int = 0
    code: str | None = None
    reason: str | None = None
    hint: str | None = None


@dataclass(slots=True)
class IngestReport:
    """The result of ``DocumentIndex.add``: one outcome per file, and counts."""

    files: list[FileOutcome] = field(default_factory=list)
    chunks_added: int = 0
    #: New chunks whose text was already in the index (flagged, embedding reused).
    duplicate_chunks: int = 0
    #: Chunks that went through the embedding model (duplicates and unchanged text reuse vectors).
    embedded_chunks: int = 0
    seconds: float = 0.0

    def of(self, status: FileStatus) -> list[FileOutcome]:
        return [f for f in self.files if f.status == status]

    @property
    def failed(self) -> list[FileOutcome]:
        return self.of("failed")

    def to_table(self) -> pa.Table:
        """One row per file: source, status, chunks, code, reason, hint."""
        return pa.table(
            {
                "source": [f.source for f in self.files],
                "status": [f.status for f in self.files],
                "chunks": pa.array([f.chunks for f in self.files], pa.int32()),
                "code": pa.array([f.code for f in self.files], pa.string()),
                "reason": pa.array([f.reason for f in self.files], pa.string()),
                "hint": pa.array([f.hint for f in self.files], pa.string()),
            }
        )
