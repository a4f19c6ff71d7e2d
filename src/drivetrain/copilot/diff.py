"""What changed between two versions of a document, each change cited in both versions.

    diff = diff_documents("spec-1.0.md", "spec-1.1.md")     # any formats load_document reads
    print(diff.summary)                                      # counts, the largest changes first
    diff.changes[0].kind, diff.changes[0].old.cite(), diff.changes[0].new.cite()

A section is a run of blocks under one heading path. Sections pair up first by heading path
once section numbers, markup and case are dropped (``4.1. Key management`` = ``Key
management``), then, best pairs first, by likeness: the token Jaccard of their texts, or its
mean with the token Jaccard of their last headings if that is higher (so a section renamed
with its text, or rewritten under its old name, still pairs), at least
:data:`MIN_SIMILARITY`. A pair that changed heading is ``renamed`` (same parent) or
``moved``; one that kept it but changed place among its neighbours is ``moved``; one whose
text changed is ``modified``. Within a pair, sentences (table rows, code lines) are aligned
with :mod:`difflib`; in a replaced run, sentences with a word similarity of at least
:data:`MIN_SIMILARITY` pair up as ``changed``, the rest are ``removed``/``added``. Text is
compared without Markdown/HTML markup or list numbers, so a Markdown and a plain-text
version compare by their words. A change weighs the words it touches. Deterministic; no
model involved.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Literal, TypeAlias

import pyarrow as pa

from drivetrain.copilot.chunking import heading_path_of
from drivetrain.copilot.documents import DocumentDefaults, LoadedDocument, load_document
from drivetrain.copilot.models import Block, Location, Span
from drivetrain.errors import NotFound

MIN_SIMILARITY = 0.5
TOP_CHANGES = 5  # listed in the summary
SectionKind = Literal["added", "removed", "modified", "renamed", "moved"]
EditKind = Literal["added", "removed", "changed"]
Cite: TypeAlias = Callable[[Span], Location]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[*_`<A-Z0-9])")
_MARKUP = (
    (re.compile(r"<[^>]+>"), ""),  # HTML tags (<a>THRESHOLD</a>)
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # [text](url)
    (re.compile(r"\[\[#?([^\]|]+)(?:\|[^\]]*)?\]\]"), r"\1"),  # bikeshed [[#anchor]]
    (re.compile(r"\*+|`+|(?<!\w)_+|_+(?!\w)|^\s*(?:[-+]|\d{1,3}[.)])\s+"), ""),  # emphasis, list
)
_SECTION_NUMBER = re.compile(r"^\s*(?:\d+(?:\.\d+)*\.?|[A-Z](?:\.\d+)+\.?|[A-Z]\.)\s+")
_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class SentenceEdit:
    """One sentence (table row, code line) added, removed or changed; text without markup."""

    kind: EditKind
    old_text: str | None
    new_text: str | None
    old: Location | None
    new: Location | None
    words: int  # words removed or added (for ``changed``: the larger of the two)


@dataclass(frozen=True, slots=True)
class SectionChange:
    """A section added, removed, modified, renamed or moved; ``old``/``new`` cite it whole."""

    kind: SectionKind
    old: Location | None
    new: Location | None
    similarity: float  # token Jaccard of the two texts (0 for added/removed)
    edits: tuple[SentenceEdit, ...] = ()
    words: int = 0  # words touched: the section's for added/removed, the edits' otherwise

    def describe(self) -> str:
        """One line: what happened to the section, with both citations."""
        old, new = (
            " > ".join(loc.heading_path[1:]) or "(before the first heading)" if loc else ""
            for loc in (self.old, self.new)
        )
        what = {
            "added": f"Added section '{new}' ({_plural(self.words, 'word')})",
            "removed": f"Removed section '{old}' ({_plural(self.words, 'word')})",
            "modified": f"Modified '{new}'",
            "renamed": f"Renamed '{old}' to '{new}'",
            "moved": f"Moved '{old}' to '{new}'" if old != new else f"Moved '{new}'",
        }[self.kind]
        if self.edits:
            counts = {
                k: sum(e.kind == k for e in self.edits) for k in ("changed", "added", "removed")
            }
            said = (f"{_plural(n, 'sentence')} {k}" for k, n in counts.items() if n)
            what += f": {', '.join(said)} ({_plural(self.words, 'word')})"
        cites = [
            f"{side}: {loc.cite()}" for side, loc in (("old", self.old), ("new", self.new)) if loc
        ]
        return f"{what} — {'; '.join(cites)}"


@dataclass(frozen=True, slots=True)
class DocumentDiff:
    """The changes between two versions, in the new version's order (removed sections where
    they stood in the old one)."""

    old_source: str
    new_source: str
    old_version: str | None
    new_version: str | None
    changes: tuple[SectionChange, ...]
    sections_old: int
    sections_new: int
    unchanged: int  # sections matched with the same heading, place and text

    def count(self, kind: str) -> int:
        return sum(c.kind == kind for c in self.changes)

    def most_significant(self, n: int = TOP_CHANGES) -> list[SectionChange]:
        """The ``n`` changes touching most words (document order among equals)."""
        return sorted(self.changes, key=lambda c: -c.words)[:n]

    @property
    def summary(self) -> str:
        """Counts, then the largest changes with their citations."""
        edits = [e for c in self.changes for e in c.edits]
        versions = [
            Path(src).name + (f" (version {v})" if v else "")
            for src, v in ((self.old_source, self.old_version), (self.new_source, self.new_version))
        ]
        kinds = ("modified", "renamed", "moved", "added", "removed")
        edit_counts = (
            f"{sum(e.kind == k for e in edits)} {k}" for k in ("changed", "added", "removed")
        )
        lines = [
            f"{versions[0]} → {versions[1]}: {self.sections_old} sections before, "
            + f"{self.sections_new} after; {', '.join(f'{self.count(k)} {k}' for k in kinds)}, "
            + f"{self.unchanged} unchanged; {len(edits)} sentence edits ({', '.join(edit_counts)})."
        ]
        if self.changes:
            lines += ["Largest changes:", *(f"- {c.describe()}" for c in self.most_significant())]
        else:
            lines.append("No changes once markup is set aside.")
        return "\n".join(lines)

    def to_table(self) -> pa.Table:
        """One row per sentence edit, and one per section change without any."""
        rows = [(c, e) for c in self.changes for e in (c.edits or (None,))]
        return pa.table(
            {
                "section_change": [c.kind for c, _ in rows],
                "edit": pa.array([e.kind if e else None for _, e in rows], pa.string()),
                "old_heading": [_heading(c.old) for c, _ in rows],
                "new_heading": [_heading(c.new) for c, _ in rows],
                "old_citation": [_cite(e.old if e else c.old) for c, e in rows],
                "new_citation": [_cite(e.new if e else c.new) for c, e in rows],
                "old_text": pa.array([e.old_text if e else None for _, e in rows], pa.string()),
                "new_text": pa.array([e.new_text if e else None for _, e in rows], pa.string()),
                "words": pa.array([e.words if e else c.words for c, e in rows], pa.int32()),
            }
        )


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _heading(loc: Location | None) -> str | None:
    return " > ".join(loc.heading_path) if loc else None


def _cite(loc: Location | None) -> str | None:
    return loc.cite() if loc else None


@dataclass(frozen=True, slots=True)
class _Unit:
    text: str  # without markup, whitespace collapsed
    span: Span


@dataclass(slots=True, eq=False)
class _Section:
    index: int
    path: tuple[str, ...]  # as in the document, under its title
    key: tuple[str, ...]  # normalised: no numbers, markup or case
    units: list[_Unit]
    span: Span
    tokens: set[str] = field(default_factory=set)

    @property
    def words(self) -> int:
        return sum(_words(u.text) for u in self.units)


def clean(text: str) -> str:
    """Text as compared: Markdown/HTML markup and list numbers dropped, whitespace collapsed."""
    for pattern, repl in _MARKUP:
        text = pattern.sub(repl, text)
    return " ".join(text.split())


def _words(text: str) -> int:
    return len(_TOKEN.findall(text.lower()))


def _heading_key(heading: str) -> str:
    return " ".join(_TOKEN.findall(_SECTION_NUMBER.sub("", clean(heading)).lower()))


def _sub_span(block: Block, lo: int, hi: int) -> Span:
    """The span of ``block.text[lo:hi]``: exact lines where the block text is a source slice."""
    s = block.span
    if s.char_start is None or s.char_end is None or s.char_end - s.char_start != len(block.text):
        return s
    first = None if s.line_start is None else s.line_start + block.text.count("\n", 0, lo)
    last = None if s.line_start is None else s.line_start + block.text.count("\n", 0, hi)
    return Span(first, last, s.page_start, s.page_end, char_start=s.char_start + lo,
                char_end=s.char_start + hi)  # fmt: skip


def _units(block: Block) -> list[_Unit]:
    """Sentences of a paragraph, rows of a table (and its header), lines of code."""
    if block.kind == "table" and block.table_rows:
        head = Span(block.span.line_start, block.span.line_start, block.span.page_start)
        rows = [(block.table_header[0], head)] + [(r.text, r.span) for r in block.table_rows]
        cells = ((" | ".join(raw.strip().strip("|").split("|")), s) for raw, s in rows)
        return [_Unit(t, s) for raw, s in cells if (t := clean(raw))]
    cut = re.compile(r"\n") if block.kind == "code" else _SENTENCE_END
    out, start = [], 0
    for m in [*cut.finditer(block.text), None]:
        end = m.start() if m else len(block.text)
        if text := clean(block.text[start:end]):
            out.append(_Unit(text, _sub_span(block, start, end)))
        start = m.end() if m else end
    return out


def _sections(doc: LoadedDocument) -> list[_Section]:
    sections: list[_Section] = []
    for block in doc.parsed.blocks:
        path = heading_path_of(doc.meta.title, block.heading_path)
        units = _units(block)
        if not block.heading_path:  # a plain-text title line is not content
            units = [u for u in units if u.text.casefold() != doc.meta.title.casefold()]
        if not units:
            continue
        if sections and sections[-1].path == path:
            sections[-1].units += units
            sections[-1].span = sections[-1].span.join(block.span)
            continue
        key = tuple(_heading_key(h) for h in path[1:])  # the title is not part of it
        sections.append(_Section(len(sections), path, key, units, block.span))
    for s in sections:
        s.tokens = set(_TOKEN.findall(" ".join(u.text for u in s.units).lower()))
    return sections


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _likeness(o: _Section, n: _Section) -> float:
    """Text similarity, raised by a similar last heading (a section renamed and rewritten)."""
    text = _jaccard(o.tokens, n.tokens)
    heading = _jaccard(set(o.key[-1].split()), set(n.key[-1].split())) if o.key and n.key else 0
    return max(text, (text + heading) / 2)


def _align(old: list[_Section], new: list[_Section]) -> list[tuple[_Section, _Section]]:
    """Pairs of sections: the same normalised heading path, else alike enough, best first."""
    pairs: dict[int, _Section] = {}  # new index -> old section
    free = {o.index: o for o in old}
    for n in new:  # the same heading path, first come first served
        if m := next((o for o in free.values() if o.key == n.key), None):
            pairs[n.index] = free.pop(m.index)
    scored = sorted(
        (-sim, o.index, n.index)
        for o in free.values()
        for n in new
        if n.index not in pairs and (sim := _likeness(o, n)) >= MIN_SIMILARITY
    )
    for _, oi, ni in scored:
        if ni not in pairs and oi in free:
            pairs[ni] = free.pop(oi)
    return [(pairs[n.index], n) for n in new if n.index in pairs]


def _word_edits(a: str, b: str) -> tuple[float, int]:
    """(similarity, words touched) of two sentences, by their words."""
    wa, wb = a.split(), b.split()
    matcher = SequenceMatcher(None, wa, wb, autojunk=False)
    touched = sum(
        max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
    )
    return matcher.ratio(), touched


def _edits(old: _Section, new: _Section, loc_old: Cite, loc_new: Cite) -> list[SentenceEdit]:
    """Sentence edits from ``old`` to ``new``: removed, added, or changed (similar enough)."""
    a, b = [u.text for u in old.units], [u.text for u in new.units]
    edits: list[SentenceEdit] = []

    def add(kind: EditKind, i: int | None, j: int | None, words: int) -> None:
        edits.append(
            SentenceEdit(
                kind,
                None if i is None else a[i],
                None if j is None else b[j],
                None if i is None else loc_old(old.units[i].span),
                None if j is None else loc_new(new.units[j].span),
                words,
            )
        )

    opcodes = SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            continue
        j = j1
        for i in range(i1, i2):  # pair each old sentence with the next similar new one
            best = max(((*_word_edits(a[i], b[k]), k) for k in range(j, j2)), default=(0.0, 0, -1))
            if best[0] < MIN_SIMILARITY:
                add("removed", i, None, _words(a[i]))
                continue
            for k in range(j, best[2]):
                add("added", None, k, _words(b[k]))
            add("changed", i, best[2], best[1])
            j = best[2] + 1
        for k in range(j, j2):
            add("added", None, k, _words(b[k]))
    return edits


def diff_documents(old_path: str | Path, new_path: str | Path) -> DocumentDiff:
    """The section and sentence changes from ``old_path`` to ``new_path``, cited in both."""
    docs = []
    for path in (Path(old_path), Path(new_path)):
        if not path.is_file():
            raise NotFound(f"{path} does not exist", hint="check the paths of both versions")
        docs.append(load_document(path, DocumentDefaults()))
    old_doc, new_doc = docs
    old, new = _sections(old_doc), _sections(new_doc)
    pairs = _align(old, new)

    def at(doc: LoadedDocument, section: _Section) -> Cite:
        return lambda span: Location(doc.meta.source, section.path, span)

    # a pair is in place if it is in the longest runs that keep the old order
    old_order = sorted(o.index for o, _ in pairs)
    runs = SequenceMatcher(None, old_order, [o.index for o, _ in pairs], autojunk=False)
    in_place = {i for r in runs.get_matching_blocks() for i in old_order[r.a : r.a + r.size]}
    placed: list[tuple[float, SectionChange]] = []
    for o, n in pairs:
        edits = tuple(_edits(o, n, at(old_doc, o), at(new_doc, n)))
        if o.key != n.key:
            kind: SectionKind = "renamed" if o.key[:-1] == n.key[:-1] else "moved"
        elif o.index not in in_place or edits:
            kind = "modified" if o.index in in_place else "moved"
        else:
            continue
        sim, words = _jaccard(o.tokens, n.tokens), sum(e.words for e in edits)
        where = at(old_doc, o)(o.span), at(new_doc, n)(n.span)
        placed.append((n.index, SectionChange(kind, *where, sim, edits, words)))
    paired_new, paired_old = {n.index for _, n in pairs}, {o.index: n for o, n in pairs}
    for n in new:
        if n.index not in paired_new:
            placed.append(
                (n.index, SectionChange("added", None, at(new_doc, n)(n.span), 0.0, (), n.words))
            )
    for o in old:  # a removed section goes after where its old predecessor went
        if o.index not in paired_old:
            before = [paired_old[i].index for i in range(o.index) if i in paired_old]
            change = SectionChange("removed", at(old_doc, o)(o.span), None, 0.0, (), o.words)
            placed.append(((before[-1] if before else -1) + 0.5, change))
    changes = tuple(c for _, c in sorted(placed, key=lambda t: t[0]))
    kept = len(pairs) - sum(c.kind not in ("added", "removed") for c in changes)
    meta_old, meta_new = old_doc.meta, new_doc.meta
    return DocumentDiff(meta_old.source, meta_new.source, meta_old.version, meta_new.version,
                        changes, len(old), len(new), kept)  # fmt: skip
