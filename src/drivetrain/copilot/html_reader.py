"""HTML into blocks, with the standard library's parser.

Headings ``h1``–``h6`` build the heading path; a heading whose text starts with
a section number (``5.3.2. Director repository``, as xml2rfc writes every
heading of the Uptane IEEE release as an ``h1``) takes its depth from the
number. Paragraphs, list items, definitions and preformatted text become
blocks; a ``<table>`` becomes one Markdown table block whose rows are never
split. Scripts, styles, navigation and tables of contents are skipped.
Positions are the source lines and characters from an element's start tag to
its end tag.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from drivetrain.copilot.models import Block, BlockKind, ParsedDocument, Span, TableRow
from drivetrain.copilot.text_formats import HeadingStack

_SKIP_TAGS = frozenset({"script", "style", "nav", "noscript", "template", "svg"})
_SKIP_CLASSES = frozenset({"toc", "noprint"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
_BLOCK_TAGS = frozenset(
    {"p", "li", "dd", "dt", "blockquote", "div", "section", "article", "figcaption", "ul", "ol"}
)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_NUMBERED = re.compile(r"^((?:\d+|[A-Z])(?:\.\d+)*)\.?\s+\S")
_DATE_META = frozenset({"dct.issued", "date", "dcterms.date", "article:published_time"})


class _BlockParser(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self._starts = [0]
        for line in text.splitlines(keepends=True):
            self._starts.append(self._starts[-1] + len(line))
        self.blocks: list[Block] = []
        self.title: str | None = None
        self.meta: dict[str, object] = {}
        self._headings = HeadingStack()
        self._skip: list[str] = []  # open skipped elements (outermost first)
        self._buf: list[str] = []
        self._buf_start: tuple[int, int] | None = None
        self._in_title = False
        self._title_buf: list[str] = []
        self._heading: tuple[int, list[str]] | None = None
        self._pre = 0
        self._table: list[list[str]] | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._table_start: tuple[int, int] | None = None
        self._row_spans: list[Span] = []
        self._row_start: tuple[int, int] | None = None

    # -- positions --------------------------------------------------------------------
    def _offset(self) -> int:
        line, col = self.getpos()
        return self._starts[min(line - 1, len(self._starts) - 1)] + col

    def _span(self, start: tuple[int, int]) -> Span:
        return Span(
            line_start=start[0],
            line_end=self.getpos()[0],
            char_start=start[1],
            char_end=self._offset(),
        )

    def _here(self) -> tuple[int, int]:
        return self.getpos()[0], self._offset()

    # -- text blocks ------------------------------------------------------------------
    def _flush(self, kind: BlockKind = "text") -> None:
        raw = "".join(self._buf)
        text = raw.strip("\n") if kind == "code" else " ".join(raw.split())
        if text.strip() and self._buf_start is not None:
            span = self._span(self._buf_start)
            self.blocks.append(Block(kind, text, self._headings.path, span))
        self._buf.clear()
        self._buf_start = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if tag == "meta" and attr.get("name", "").lower() in _DATE_META and attr.get("content"):
            self.meta.setdefault("date", attr["content"].strip())
        if self._skip:
            if tag == self._skip[-1] and tag not in _VOID:
                self._skip.append(tag)
            return
        if tag == "title":
            self._in_title = True
            return
        classes = set(attr.get("class", "").split())
        if tag not in _VOID and (tag in _SKIP_TAGS or classes & _SKIP_CLASSES):
            self._skip.append(tag)
            return
        if tag in _HEADINGS:
            self._flush()
            self._heading = (_HEADINGS[tag], [])
        elif tag == "pre":
            self._flush()
            self._pre += 1
            self._buf_start = self._here()
        elif tag == "table" and self._table is None:
            self._flush()
            self._table, self._table_start, self._row_spans = [], self._here(), []
        elif tag == "tr" and self._table is not None:
            self._row, self._row_start = [], self._here()
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "br":
            self._data("\n" if self._pre else " ")
        elif tag in _BLOCK_TAGS and self._table is None and self._heading is None:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag == self._skip[-1]:
                self._skip.pop()
            return
        if tag == "title":
            self._in_title = False
            self.title = " ".join("".join(self._title_buf).split()) or None
        elif tag in _HEADINGS and self._heading is not None:
            level, parts = self._heading
            text = " ".join("".join(parts).split())
            self._heading = None
            if text:
                if numbered := _NUMBERED.match(text):
                    level = numbered.group(1).count(".") + 1
                self._headings.push(level, text)
        elif tag == "pre" and self._pre:
            self._pre -= 1
            self._flush("code")
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()).replace("|", "\\|"))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if any(self._row) and self._row_start is not None:
                self._table.append(self._row)
                self._row_spans.append(self._span(self._row_start))
            self._row = None
        elif tag == "table" and self._table is not None:
            self._end_table()
        elif tag in _BLOCK_TAGS and self._table is None and self._heading is None:
            self._flush()

    def _end_table(self) -> None:
        rows, spans, start = self._table or [], self._row_spans, self._table_start
        self._table = None
        if not rows or start is None:
            return
        width = max(len(r) for r in rows)
        lines = ["| " + " | ".join(r + [""] * (width - len(r))) + " |" for r in rows]
        header = (lines[0], "|" + "---|" * width)
        body = tuple(TableRow(line, span) for line, span in zip(lines[1:], spans[1:], strict=True))
        text = "\n".join([*header, *(r.text for r in body)])
        self.blocks.append(
            Block("table", text, self._headings.path, self._span(start), header, body)
        )

    def _data(self, data: str) -> None:
        if self._heading is not None:
            self._heading[1].append(data)
        elif self._cell is not None:
            self._cell.append(data)
        elif self._table is None:
            if self._buf_start is None and data.strip():
                self._buf_start = self._here()
            self._buf.append(data)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title_buf.append(data)
        elif not self._skip:
            self._data(data)

    def close(self) -> None:
        super().close()
        self._flush()


def read_html(text: str) -> ParsedDocument:
    """Blocks of an HTML document under their heading paths (title from ``<title>``)."""
    parser = _BlockParser(text)
    parser.feed(text)
    parser.close()
    return ParsedDocument(
        format="html", title=parser.title, blocks=tuple(parser.blocks), meta=parser.meta
    )
