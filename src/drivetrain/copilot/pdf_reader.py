"""PDF into blocks, with pypdf.

Text comes from pypdf's layout mode, which keeps the columns of a table
aligned; runs of lines that split into the same number of cells on gaps of two
or more spaces become one Markdown table block (never split between rows).
The PDF outline (bookmarks), when there is one, gives the heading path: an
entry applies from the line on its page that shows its title (or from the top
of the page). Without an outline a passage is located by its pages only.

A PDF protected by a user password raises :class:`EncryptedDocument`; one that
opens with the empty password (owner password only) is read. Anything pypdf
cannot parse raises :class:`CorruptDocument`; a PDF with no text layer raises
:class:`EmptyDocument`.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pypdf import PasswordType, PdfReader
from pypdf.errors import PyPdfError

from drivetrain.copilot.errors import CorruptDocument, EmptyDocument, EncryptedDocument
from drivetrain.copilot.models import Block, ParsedDocument, Span, TableRow
from drivetrain.copilot.text_formats import HeadingStack

_GAP = re.compile(r"\s{2,}")
PAGE_SEPARATOR = "\f"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Entry:
    level: int
    title: str
    page: int  # 0-based


def _outline(reader: PdfReader) -> list[_Entry]:
    entries: list[_Entry] = []

    def walk(items: list[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
            except (PyPdfError, KeyError, ValueError, TypeError, AttributeError) as exc:
                log.debug("outline entry without a page skipped: %s", exc)
                continue  # a dangling bookmark is not worth failing the file for
            title = " ".join(str(getattr(item, "title", "") or "").split())
            if title and page is not None and page >= 0:
                entries.append(_Entry(level, title, page))

    try:
        walk(list(reader.outline), 1)
    except (PyPdfError, KeyError, ValueError, TypeError, AttributeError, RecursionError) as exc:
        log.debug("PDF outline unreadable, no heading paths: %s", exc)
        return []  # a broken outline only costs us the heading paths
    return entries


def _cells(line: str) -> list[str]:
    return [c for c in _GAP.split(line.strip()) if c]


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


class _PageWalker:
    """Turns the layout text of the pages into blocks."""

    def __init__(self, entries: list[_Entry]) -> None:
        self.headings = HeadingStack()
        self.entries = entries
        self.blocks: list[Block] = []

    def page(self, number: int, text: str, offset: int) -> None:
        raw = text.splitlines(keepends=True)
        starts, pos = [], offset
        for line in raw:
            starts.append(pos)
            pos += len(line)
        lines = [ln.rstrip() for ln in raw]
        switches = self._heading_lines(number, lines)
        i = 0
        while i < len(lines):
            for entry in switches.get(i, []):
                self.headings.push(entry.level, entry.title)
            if i in switches and any(_norm(lines[i]) == _norm(e.title) for e in switches[i]):
                i += 1
                continue
            if not lines[i].strip():
                i += 1
                continue
            end = self._table_end(lines, i, switches)
            if end > i:
                self._table(number, lines[i : end + 1], starts[i : end + 1])
                i = end + 1
                continue
            j = i
            while j + 1 < len(lines) and lines[j + 1].strip() and j + 1 not in switches:
                if (
                    len(_cells(lines[j + 1])) > 1
                    and self._table_end(lines, j + 1, switches) > j + 1
                ):
                    break
                j += 1
            body = " ".join(" ".join(ln.split()) for ln in lines[i : j + 1])
            span = Span(
                page_start=number,
                page_end=number,
                char_start=starts[i],
                char_end=starts[j] + len(lines[j]),
            )
            self.blocks.append(Block("text", body, self.headings.path, span))
            i = j + 1
        for entry in switches.get(len(lines), []):
            self.headings.push(entry.level, entry.title)

    def _heading_lines(self, number: int, lines: list[str]) -> dict[int, list[_Entry]]:
        """The line at which each outline entry of this page starts applying."""
        switches: dict[int, list[_Entry]] = {}
        at = 0
        for entry in (e for e in self.entries if e.page + 1 == number):
            wanted = _norm(entry.title)
            found = next((k for k in range(at, len(lines)) if _norm(lines[k]) == wanted), None)
            at = found if found is not None else at
            switches.setdefault(at, []).append(entry)
        return switches

    @staticmethod
    def _table_end(lines: list[str], i: int, switches: dict[int, list[_Entry]]) -> int:
        """Index of the last line of a table starting at ``i`` (``i`` itself if none)."""
        width = len(_cells(lines[i]))
        if width < 2:
            return i
        end, k = i, i + 1
        while k < len(lines) and k not in switches:
            if not lines[k].strip():
                if k + 1 < len(lines) and len(_cells(lines[k + 1])) == width:
                    k += 1
                    continue
                break
            if len(_cells(lines[k])) != width:
                break
            end = k
            k += 1
        return end

    def _table(self, number: int, lines: list[str], starts: list[int]) -> None:
        rows = [(ln, s) for ln, s in zip(lines, starts, strict=True) if ln.strip()]
        width = Counter(len(_cells(ln)) for ln, _ in rows).most_common(1)[0][0]
        rendered = [
            "| " + " | ".join(c.replace("|", "\\|") for c in _cells(ln)) + " |" for ln, _ in rows
        ]
        header = (rendered[0], "|" + "---|" * width)
        body = tuple(
            TableRow(
                text, Span(page_start=number, page_end=number, char_start=s, char_end=s + len(ln))
            )
            for text, (ln, s) in zip(rendered[1:], rows[1:], strict=True)
        )
        span = Span(
            page_start=number,
            page_end=number,
            char_start=rows[0][1],
            char_end=rows[-1][1] + len(rows[-1][0]),
        )
        text = "\n".join([*header, *(r.text for r in body)])
        self.blocks.append(Block("table", text, self.headings.path, span, header, body))


def read_pdf(data: bytes) -> ParsedDocument:
    """Blocks of a PDF; raises EncryptedDocument, CorruptDocument or EmptyDocument."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise EncryptedDocument(
                "the PDF is protected by a password",
                hint="export an unprotected copy (or remove the password) and add that file",
            )
        pages = [page.extract_text(extraction_mode="layout") for page in reader.pages]
        entries = _outline(reader)
        info = reader.metadata
        title = str(info.title).strip() if info is not None and info.title else None
        created = info.creation_date if info is not None else None
    except EncryptedDocument:
        raise
    except Exception as exc:  # pypdf raises many types (PdfReadError, KeyError, zlib.error...)
        raise CorruptDocument(
            f"the PDF cannot be parsed ({type(exc).__name__}: {exc})",
            hint="check that the file is a complete PDF (re-download or re-export it)",
        ) from exc
    if not any(p.strip() for p in pages):
        raise EmptyDocument(
            "the PDF has no text layer",
            hint="it is probably scanned: run OCR on it first and add the result",
        )
    walker = _PageWalker(entries)
    offset = 0
    for number, text in enumerate(pages, start=1):
        walker.page(number, text, offset)
        offset += len(text) + len(PAGE_SEPARATOR)
    meta: dict[str, object] = {"date": created.isoformat()} if created is not None else {}
    if title is None and entries:
        title = entries[0].title
    return ParsedDocument(format="pdf", title=title, blocks=tuple(walker.blocks), meta=meta)
