"""Blocks into chunks: one section at a time, capped in words, tables cut between rows.

A chunk never spans two heading paths. Within a section, consecutive blocks are
packed into a chunk until the next one would take it over ``max_words``
(default 220, about the 256 word-piece window the embedding model reads). A
block that alone is too long is cut at sentence ends (code at line ends, and a
sentence longer than the cap between words). A table is cut into row groups
that each repeat the header, and a row is never split, even when it alone is
longer than the cap. The heading path of a chunk starts with the document's
title, so ``Uptane Standard for Design and Implementation > 5.3.2. Director
repository`` both locates a passage and is indexed with it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from drivetrain.copilot.models import Block, Chunk, ParsedDocument, Span

DEFAULT_MAX_WORDS = 220
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+(?=\S)")
_LINE_END = re.compile(r"\n")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class _Piece:
    kind: str
    text: str
    span: Span
    words: int


def content_hash(text: str) -> str:
    """Hash of a chunk's text with whitespace normalised (what deduplication compares)."""
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


def _ranges(text: str, boundary: re.Pattern[str], max_words: int) -> list[tuple[int, int]]:
    """Character ranges of ``text`` of at most ``max_words`` words, cut at ``boundary``."""
    units, start = [], 0
    for m in boundary.finditer(text):
        units.append((start, m.start()))
        start = m.end()
    units.append((start, len(text)))
    out: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    cur_words = 0
    for lo, hi in units:
        n = len(text[lo:hi].split())
        if n > max_words:  # one unit alone is too long: cut it between words
            if cur is not None:
                out.append(cur)
                cur, cur_words = None, 0
            words = list(_WORD.finditer(text, lo, hi))
            for k in range(0, len(words), max_words):
                group = words[k : k + max_words]
                out.append((group[0].start(), group[-1].end()))
            continue
        if cur is not None and cur_words + n > max_words:
            out.append(cur)
            cur, cur_words = None, 0
        cur = (lo, hi) if cur is None else (cur[0], hi)
        cur_words += n
    if cur is not None:
        out.append(cur)
    return [(lo, hi) for lo, hi in out if text[lo:hi].strip()]


def _sub_span(block: Block, lo: int, hi: int) -> Span:
    """The span of ``block.text[lo:hi]``, exact when the block text is a slice of the source."""
    s = block.span
    if s.char_start is None or s.char_end is None or s.char_end - s.char_start != len(block.text):
        return s
    line_start = None if s.line_start is None else s.line_start + block.text.count("\n", 0, lo)
    line_end = None if s.line_start is None else s.line_start + block.text.count("\n", 0, hi)
    return Span(
        line_start=line_start,
        line_end=line_end,
        page_start=s.page_start,
        page_end=s.page_end,
        char_start=s.char_start + lo,
        char_end=s.char_start + hi,
    )


def _pieces(block: Block, max_words: int) -> Iterator[_Piece]:
    """The indivisible parts of a block for packing."""
    if block.kind == "table" and block.table_rows:
        header = "\n".join(block.table_header)
        head_words = len(header.split())
        group: list[int] = []
        words = head_words
        for i, row in enumerate(block.table_rows):
            n = len(row.text.split())
            if group and words + n > max_words:
                yield _table_piece(block, header, group)
                group, words = [], head_words
            group.append(i)
            words += n
        if group:
            yield _table_piece(block, header, group)
        return
    n = len(block.text.split())
    if n <= max_words:
        yield _Piece(block.kind, block.text, block.span, n)
        return
    boundary = _LINE_END if block.kind == "code" else _SENTENCE_END
    for lo, hi in _ranges(block.text, boundary, max_words):
        text = block.text[lo:hi]
        yield _Piece(block.kind, text, _sub_span(block, lo, hi), len(text.split()))


def _table_piece(block: Block, header: str, rows: list[int]) -> _Piece:
    picked = [block.table_rows[i] for i in rows]
    span = picked[0].span
    for row in picked[1:]:
        span = span.join(row.span)
    if block.span.page_start is not None:
        span = span.join(Span(page_start=block.span.page_start, page_end=block.span.page_end))
    text = "\n".join([header, *(r.text for r in picked)])
    return _Piece("table", text, span, len(text.split()))


def heading_path_of(title: str, path: tuple[str, ...]) -> tuple[str, ...]:
    """The block's heading path under the document title (not repeated when it is the top)."""
    if path and path[0].casefold() == title.casefold():
        return path
    return (title, *path)


def chunk_document(
    doc_id: str, title: str, parsed: ParsedDocument, *, max_words: int = DEFAULT_MAX_WORDS
) -> list[Chunk]:
    """Chunks of a parsed document, in reading order."""
    if max_words < 20:
        raise ValueError("max_words must be at least 20")
    chunks: list[Chunk] = []
    current: list[_Piece] = []
    current_path: tuple[str, ...] = ()

    def flush() -> None:
        if not current:
            return
        text = "\n\n".join(p.text for p in current)
        span = current[0].span
        for p in current[1:]:
            span = span.join(p.span)
        kinds = {p.kind for p in current}
        chunks.append(
            Chunk(
                chunk_id=f"{doc_id}-{len(chunks):05d}",
                doc_id=doc_id,
                ordinal=len(chunks),
                kind=kinds.pop() if len(kinds) == 1 else "mixed",
                text=text,
                heading_path=current_path,
                span=span,
                content_hash=content_hash(text),
                words=sum(p.words for p in current),
            )
        )
        current.clear()

    for block in parsed.blocks:
        if not block.text.strip():
            continue
        path = heading_path_of(title, block.heading_path)
        if path != current_path:
            flush()
            current_path = path
        for piece in _pieces(block, max_words):
            if current and sum(p.words for p in current) + piece.words > max_words:
                flush()
            current.append(piece)
    flush()
    return chunks
