"""Markdown (with Hugo/YAML/TOML front matter) and plain text into blocks.

Markdown is read line by line, which is enough for what chunking needs and
keeps exact line and character positions: ATX (``## Title {#anchor}``) and
setext headings, fenced code blocks (a ``#`` inside a fence is not a heading),
pipe tables, and paragraphs separated by blank lines. Front matter between
``---`` (YAML) or ``+++`` (TOML) lines, and a bikeshed ``<pre class='metadata'>``
header, give the title, version, date, brand, program and access labels.

Plain text has no markup; a line at the left margin that looks like an RFC
section number and title (``4.1. Key management``) after a blank line is taken
as a heading, its depth given by the number.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import yaml

from drivetrain.copilot.models import Block, BlockKind, ParsedDocument, Span, TableRow

_ATX = re.compile(
    r"^ {0,3}(#{1,6})(?:[ \t\u00a0]+(.*?))?[ \t]*$"
)  # NBSP: seen after ## in the TUF spec
_ANCHOR = re.compile(r"\s*\{#[^}]*\}\s*$")
_CLOSING_HASHES = re.compile(r"\s+#+\s*$|^#+\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_TXT_HEADING = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,5})\.?[ \t]+(\S.{0,78})$")
_VERSION_LINE = re.compile(r"^\s*version[:\s]+v?(\d[\w.\-]*)\s*$", re.IGNORECASE)
# kramdown-rfc ends its YAML header with the first part marker ("--- abstract").
_KRAMDOWN_PART = re.compile(r"^--- ?(abstract|middle|back|note_\w+)\s*$")
_BIKESHED = re.compile(r"^\s*<pre class=['\"]metadata['\"]>\s*$")

#: Front-matter keys understood, and the metadata field each fills.
META_KEYS = {
    "title": "title",
    "version": "version",
    "date": "date",
    "brand": "brand",
    "program": "program",
    "vehicle_program": "program",
    "labels": "labels",
    "access_labels": "labels",
}


class HeadingStack:
    """The current heading path as headings of various levels go by."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def push(self, level: int, text: str) -> None:
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, text))

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(t for _, t in self._stack)


@dataclass(slots=True)
class _Lines:
    """The source split into lines, with the offset at which each line starts."""

    text: str
    lines: list[str]
    starts: list[int]

    @classmethod
    def of(cls, text: str) -> _Lines:
        lines = text.splitlines(keepends=True)
        starts, pos = [], 0
        for line in lines:
            starts.append(pos)
            pos += len(line)
        return cls(text, [ln.rstrip("\r\n") for ln in lines], starts)

    def block(
        self, kind: BlockKind, first: int, last: int, path: tuple[str, ...], **extra: Any
    ) -> Block:
        """A block of lines ``first..last`` (0-based, inclusive), text exactly as in the source."""
        start = self.starts[first]
        end = self.starts[last] + len(self.lines[last])
        span = Span(line_start=first + 1, line_end=last + 1, char_start=start, char_end=end)
        return Block(kind, self.text[start:end], path, span, **extra)


def normalise_meta(raw: dict[str, Any]) -> dict[str, object]:
    """Keep the metadata keys drivetrain understands, as strings (labels as a tuple)."""
    meta: dict[str, object] = {}
    for key, value in raw.items():
        target = META_KEYS.get(str(key).lower())
        if target is None or value is None:
            continue
        if target == "labels":
            items = [value] if isinstance(value, str) else list(value)
            meta["labels"] = tuple(str(v).strip() for v in items if str(v).strip())
        elif isinstance(value, datetime | date):
            meta[target] = value.isoformat()
        else:
            meta[target] = str(value).strip()
    return meta


def _front_matter(doc: _Lines) -> tuple[int, dict[str, object], list[str]]:
    """(index of the first body line, metadata, warnings) of a Markdown file."""
    lines = doc.lines
    if not lines or lines[0].strip() not in ("---", "+++"):
        return _bikeshed_header(doc)
    fence = lines[0].strip()
    closers = ("---", "...") if fence == "---" else ("+++",)
    for i in range(1, len(lines)):
        if lines[i].strip() in closers or (fence == "---" and _KRAMDOWN_PART.match(lines[i])):
            body = "\n".join(lines[1:i])
            try:
                raw = yaml.safe_load(body) if fence == "---" else tomllib.loads(body)
            except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
                first = str(exc).splitlines()[0]
                return i + 1, {}, [f"front matter ignored: not valid YAML/TOML ({first})"]
            if not isinstance(raw, dict):
                return i + 1, {}, ["front matter ignored: not a mapping"]
            return i + 1, normalise_meta(raw), []
    return 0, {}, []  # an opening rule with no closing one is a horizontal rule


def _bikeshed_header(doc: _Lines) -> tuple[int, dict[str, object], list[str]]:
    """A bikeshed ``<pre class='metadata'>`` block at the top (as in the TUF spec)."""
    first = next((i for i, ln in enumerate(doc.lines) if ln.strip()), None)
    if first is None or not _BIKESHED.match(doc.lines[first]):
        return 0, {}, []
    raw: dict[str, Any] = {}
    for i in range(first + 1, len(doc.lines)):
        line = doc.lines[i]
        if line.strip().lower() == "</pre>":
            return i + 1, normalise_meta(raw), []
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "text macro" and value.upper().startswith("VERSION "):
            raw["version"] = value.split(None, 1)[1]
        elif key in ("title", "date"):
            raw[key] = value
    return 0, {}, []


def _heading_text(raw: str) -> str:
    text = _ANCHOR.sub("", raw)
    text = _CLOSING_HASHES.sub("", text)
    return " ".join(text.split())


def _is_table_start(lines: list[str], i: int) -> bool:
    """A pipe table's header: cells split by ``|`` (outer pipes optional, as in GFM) over a
    delimiter row (``---|---``; a table without outer pipes needs a pipe in it)."""
    return (
        "|" in lines[i]
        and i + 1 < len(lines)
        and "|" in lines[i + 1]
        and bool(_TABLE_RULE.match(lines[i + 1]))
    )


def read_markdown(text: str) -> ParsedDocument:
    """Blocks of a Markdown document under their heading paths (title not yet prefixed)."""
    doc = _Lines.of(text)
    i, meta, warnings = _front_matter(doc)
    lines, headings, blocks = doc.lines, HeadingStack(), []
    first_h1: str | None = None
    para: list[int] = []

    def flush() -> None:
        if para:
            blocks.append(doc.block("text", para[0], para[-1], headings.path))
            para.clear()

    while i < len(lines):
        line = lines[i]
        if fence := _FENCE.match(line):
            flush()
            marker, start = fence.group(1), i
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(marker):
                i += 1
            last = min(i, len(lines) - 1)
            blocks.append(doc.block("code", start, last, headings.path))
            i = last + 1
            continue
        if atx := _ATX.match(line):
            flush()
            title = _heading_text(atx.group(2) or "")
            if title:
                level = len(atx.group(1))
                if level == 1 and first_h1 is None:
                    first_h1 = title
                headings.push(level, title)
            i += 1
            continue
        if _SETEXT.match(line) and len(para) == 1:
            title = " ".join(lines[para[0]].split())
            para.clear()
            level = 1 if line.strip().startswith("=") else 2
            if level == 1 and first_h1 is None:
                first_h1 = title
            headings.push(level, title)
            i += 1
            continue
        if _KRAMDOWN_PART.match(line):  # a part marker ("--- middle"), not content
            flush()
            i += 1
            continue
        if _is_table_start(lines, i):
            flush()
            start, i = i, i + 2
            rows: list[TableRow] = []
            while i < len(lines) and lines[i].strip() and "|" in lines[i]:
                row = doc.block("table", i, i, ())
                rows.append(TableRow(lines[i].strip(), row.span))
                i += 1
            header = (lines[start].strip(), lines[start + 1].strip())
            blocks.append(
                doc.block(
                    "table",
                    start,
                    i - 1,
                    headings.path,
                    table_header=header,
                    table_rows=tuple(rows),
                )
            )
            continue
        if line.strip():
            para.append(i)
        else:
            flush()
        i += 1
    flush()
    own_title = meta.get("title")
    return ParsedDocument(
        format="markdown",
        title=str(own_title) if own_title else first_h1,
        blocks=tuple(blocks),
        meta=meta,
        warnings=tuple(warnings),
    )


def read_plain_text(text: str) -> ParsedDocument:
    """Paragraphs of a plain-text document, with RFC-style numbered section headings."""
    doc = _Lines.of(text)
    lines, headings, blocks = doc.lines, HeadingStack(), []
    title = next((ln.strip() for ln in lines if ln.strip()), None)
    meta: dict[str, object] = {}
    for ln in lines[:15]:
        if m := _VERSION_LINE.match(ln):
            meta["version"] = m.group(1)
            break
    para: list[int] = []

    def flush() -> None:
        if para:
            blocks.append(doc.block("text", para[0], para[-1], headings.path))
            para.clear()

    for i, line in enumerate(lines):
        heading = _TXT_HEADING.match(line)
        if (
            heading
            and (i == 0 or not lines[i - 1].strip())
            and not line.rstrip().endswith((".", ",", ":", ";"))
        ):
            flush()
            number = heading.group(1)
            headings.push(number.count(".") + 1, f"{number} {heading.group(2).strip()}")
        elif line.strip():
            para.append(i)
        else:
            flush()
    flush()
    if title is not None and len(title) > 120:
        title = None
    return ParsedDocument(format="text", title=title, blocks=tuple(blocks), meta=meta)
