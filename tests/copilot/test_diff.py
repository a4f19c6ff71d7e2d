"""diff_documents on constructed version pairs with known changes, and on the real TUF pair.

data/diff/manual-v1.md → manual-v2.md changes exactly: one sentence ("3 mm" → "2 mm"),
one table row removed, a section renamed, a section moved to another chapter, a section
added; one section stays as it was. manual-v2.html is v2 as HTML, procedure.txt and
procedure.md are one text in two formats. The TUF specification 0.9 (plain text, 2015)
and 1.0.34 (Markdown, 2026) in ../shared/data/docs are read in place.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drivetrain.copilot.diff import DocumentDiff, SectionChange, clean, diff_documents
from drivetrain.copilot.errors import EmptyDocument, UnsupportedFormat
from drivetrain.errors import NotFound

from .conftest import CORPUS_DIR, unavailable, write_pdf

DATA = Path(__file__).parent / "data" / "diff"


def _by_kind(diff: DocumentDiff) -> dict[str, list[SectionChange]]:
    out: dict[str, list[SectionChange]] = {}
    for change in diff.changes:
        out.setdefault(change.kind, []).append(change)
    return out


@pytest.fixture(scope="module", params=["manual-v2.md", "manual-v2.html"])
def manual(request: pytest.FixtureRequest) -> DocumentDiff:
    return diff_documents(DATA / "manual-v1.md", DATA / request.param)


def test_each_known_change_is_found_once(manual: DocumentDiff) -> None:
    kinds = _by_kind(manual)
    assert {k: len(v) for k, v in kinds.items()} == {
        "modified": 2,
        "renamed": 1,
        "moved": 1,
        "added": 1,
    }
    assert (manual.sections_old, manual.sections_new, manual.unchanged) == (5, 6, 1)
    renamed, moved, added = kinds["renamed"][0], kinds["moved"][0], kinds["added"][0]
    assert renamed.old and renamed.new and moved.old and moved.new and added.new
    assert renamed.old.heading_path[-1] == "Tyre pressure"
    assert renamed.new.heading_path[-1] == "Tyre inflation pressure"
    assert (renamed.edits, renamed.similarity) == ((), 1.0)
    assert moved.old.heading_path[-2:] == ("Maintenance", "Wiper blades")
    assert moved.new.heading_path[-2:] == ("Exterior", "Wiper blades")
    assert added.new.heading_path[-1] == "Software updates" and added.old is None
    assert added.words == 19


def test_the_changed_sentence_and_the_removed_row_are_cited_in_both_versions(
    manual: DocumentDiff,
) -> None:
    pads, torque = _by_kind(manual)["modified"]
    (edit,) = pads.edits
    assert edit.kind == "changed" and edit.words == 1
    assert (
        edit.old_text == "Replace the brake pads when the friction material is thinner than 3 mm."
    )
    assert (
        edit.new_text == "Replace the brake pads when the friction material is thinner than 2 mm."
    )
    assert edit.old and edit.new
    assert edit.old.cite() == "manual-v1.md § Service manual > Brakes > Brake pads, line 7"
    assert edit.new.cite().endswith("§ Service manual > Brakes > Brake pads, line 7")
    (row,) = torque.edits
    assert (row.kind, row.old_text, row.new_text, row.new) == (
        "removed",
        "Caliper bracket bolt | 110",
        None,
        None,
    )
    assert (
        row.old
        and row.old.cite() == "manual-v1.md § Service manual > Brakes > Torque values, line 15"
    )
    assert torque.new and torque.new.heading_path[-1] == "Torque values"  # cited in both


def test_summary_counts_and_orders_by_changed_words(manual: DocumentDiff) -> None:
    first, *rest = manual.summary.splitlines()
    assert first.startswith("manual-v1.md → manual-v2.")
    assert (
        "5 sections before, 6 after; 2 modified, 1 renamed, 1 moved, 1 added, 0 removed, "
        "1 unchanged; 2 sentence edits (1 changed, 0 added, 1 removed)." in first
    )
    assert rest[0] == "Largest changes:"
    assert rest[1].startswith("- Added section 'Software updates' (19 words) — new: manual-v2.")
    assert rest[2].startswith("- Modified 'Brakes > Torque values': 1 sentence removed (4 words)")
    assert "Renamed 'Tyres > Tyre pressure' to 'Tyres > Tyre inflation pressure'" in rest[4]
    table = manual.to_table()
    assert table.num_rows == 5  # two edits and three section changes without edits
    assert table.column("old_citation").to_pylist()[1].endswith("Torque values, line 15")


def test_markup_numbering_and_format_do_not_count_as_changes() -> None:
    same = diff_documents(DATA / "procedure.txt", DATA / "procedure.md")
    assert same.changes == ()
    assert (same.sections_old, same.sections_new, same.unchanged) == (2, 2, 2)
    assert same.summary.endswith("No changes once markup is set aside.")
    assert clean("**Check** the <a>KEYID</a> in [[#file-formats-root]] and [spec](x.md).") == (
        "Check the KEYID in file-formats-root and spec."
    )
    assert clean("1. spec_version is `1.0`") == "spec_version is 1.0"


def test_a_section_reordered_within_its_chapter_is_moved(tmp_path: Path) -> None:
    one = "# Guide\n\n## Alpha\n\nFirst text here.\n\n## Beta\n\nSecond text here.\n\n## Gamma\n\nThird one.\n"
    two = "# Guide\n\n## Beta\n\nSecond text here.\n\n## Alpha\n\nFirst text here.\n\n## Gamma\n\nThird one.\n"
    (tmp_path / "a.md").write_text(one)
    (tmp_path / "b.md").write_text(two)
    diff = diff_documents(tmp_path / "a.md", tmp_path / "b.md")
    assert [c.kind for c in diff.changes] == ["moved"]
    assert diff.unchanged == 2


def test_a_rewritten_section_under_a_new_chapter_is_matched_by_its_heading(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.md").write_text("# G\n\n## Usage\n\n### Key rotation\n\nRotate keys yearly.\n")
    (tmp_path / "b.md").write_text(
        "# G\n\n## Operations\n\n### Key rotation\n\nA new root is signed by the old one.\n"
    )
    (change,) = diff_documents(tmp_path / "a.md", tmp_path / "b.md").changes
    assert change.kind == "moved" and change.similarity == 0.0
    assert [e.kind for e in change.edits] == ["removed", "added"]


def test_removed_section_and_pdf_pages(tmp_path: Path) -> None:
    old = write_pdf(
        tmp_path / "v1.pdf",
        [(0, "Brakes", "Replace the pads below 3 mm. Check the discs."), (0, "Horn", "Test it.")],
        title="Manual",
    )
    new = write_pdf(
        tmp_path / "v2.pdf",
        [(0, "Brakes", "Replace the pads below 2 mm. Check the discs."), (0, "Wipers", "Yearly.")],
        title="Manual",
        new_page_for=[1],
    )
    kinds = _by_kind(diff_documents(old, new))
    assert sorted(kinds) == ["added", "modified", "removed"]
    (edit,) = kinds["modified"][0].edits
    assert edit.old and edit.new
    assert (edit.old.cite(), edit.new.cite()) == (
        "v1.pdf § Manual > Brakes, page 1",
        "v2.pdf § Manual > Brakes, page 1",
    )
    added = kinds["added"][0]
    assert added.new and added.new.cite() == "v2.pdf § Manual > Wipers, page 2"


def test_bad_input(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        diff_documents(tmp_path / "missing.md", DATA / "manual-v1.md")
    (tmp_path / "a.docx").write_bytes(b"PK")
    with pytest.raises(UnsupportedFormat):
        diff_documents(DATA / "manual-v1.md", tmp_path / "a.docx")
    (tmp_path / "empty.md").write_text("   \n")
    with pytest.raises(EmptyDocument):
        diff_documents(tmp_path / "empty.md", DATA / "manual-v1.md")


@pytest.fixture(scope="module")
def tuf() -> DocumentDiff:
    old, new = CORPUS_DIR / "tuf/tuf-spec.0.9.txt", CORPUS_DIR / "tuf/tuf-spec.md"
    if not (old.is_file() and new.is_file()):
        unavailable(f"the TUF specification pair is not in {CORPUS_DIR / 'tuf'}")
    return diff_documents(old, new)


def test_tuf_0_9_to_current(tuf: DocumentDiff) -> None:
    """Expected changes read from the two texts, not from the diff's output."""
    assert (tuf.old_version, tuf.new_version) == ("0.9", "1.0.34")
    by_new = {c.new.heading_path[-1]: c for c in tuf.changes if c.new}
    by_old = {c.old.heading_path[-1]: c for c in tuf.changes if c.old}
    # numbering dropped: "1.4 Non-goals" is "Non-goals", where "aren't" became "are not"
    (edit,) = by_new["Non-goals"].edits
    assert by_new["Non-goals"].kind == "modified" and edit.kind == "changed"
    assert "We aren't creating" in str(edit.old_text) and "We are not creating" in str(
        edit.new_text
    )
    assert edit.old and edit.old.cite().endswith("1 Introduction > 1.4 Non-goals, lines 57–59")
    assert edit.new and edit.new.cite().endswith("Introduction > Non-goals, lines 86–88")
    # the RFC 2119 keywords sentence is new in Scope
    assert [e.kind for e in by_new["Scope"].edits] == ["added"]
    assert "RFC 2119" in str(by_new["Scope"].edits[0].new_text)
    # renamed, and moved from "7 Consistent Snapshots" under "Repository operations"
    assert by_new["Goals for PKI (Public key infrastructure)"].kind == "renamed"
    assert by_old["1.5.3 Goals for PKIs"] is by_new["Goals for PKI (Public key infrastructure)"]
    assert by_new["Writing consistent snapshots"].kind == "moved"
    reading = by_new["Reading consistent snapshots"]  # rewritten to a pointer, same heading
    assert reading.kind == "moved" and reading.old
    assert reading.old.heading_path[-1] == "7.2 Reading consistent snapshots"
    # sections the 0.9 text does not have
    for heading in ("TUF Augmentation Proposal (TAP) support", "Key objects", "Fetch target"):
        assert by_new[heading].kind == "added"
    assert by_old["4.2 File formats: general principles"].kind == "removed"
    head = tuf.summary.splitlines()[0]
    assert head.startswith("tuf-spec.0.9.txt (version 0.9) → tuf-spec.md (version 1.0.34): ")
    assert f"{tuf.sections_old} sections before, {tuf.sections_new} after" in head
    assert tuf.sections_old == 36  # numbered headings with text under them in the 0.9 file
    words = [c.words for c in tuf.most_significant()]
    assert words == sorted(words, reverse=True) and len(words) == 5
