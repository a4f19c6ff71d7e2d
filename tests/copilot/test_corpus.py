"""A retrieval sanity check over the real corpus in ../shared/data/docs, read in place.

BM25 runs over the whole corpus (indexing it lexically takes well under a
second); the dense and hybrid checks embed the VSS rule-set pages only (~85
chunks), which keeps the suite fast. Expected sources were chosen by reading
the documents' headings, not from the index's output.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from drivetrain.copilot import SUPPORTED_EXTENSIONS, DocumentIndex, MiniLMEmbedder, SearchMode


@pytest.fixture(scope="module")
def lexical_index(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> DocumentIndex:
    index = DocumentIndex.open(tmp_path_factory.mktemp("corpus-bm25"), dense=False)
    report = index.add([corpus_dir])
    assert not report.failed, report.failed
    return index


@pytest.fixture(scope="module")
def rule_set_index(
    corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory, embedder: MiniLMEmbedder
) -> DocumentIndex:
    index = DocumentIndex.open(tmp_path_factory.mktemp("corpus-dense"), embedder=embedder)
    index.add([corpus_dir / "vss-docs/rule_set"])
    return index


def test_every_supported_file_is_indexed_and_the_rest_reported(
    corpus_dir: Path, lexical_index: DocumentIndex
) -> None:
    files = [p for p in corpus_dir.rglob("*") if p.is_file()]
    supported = {p.resolve().as_posix() for p in files if p.suffix.lower() in SUPPORTED_EXTENSIONS}
    assert set(lexical_index.documents().column("source").to_pylist()) == supported
    report = lexical_index.add([corpus_dir])
    assert {f.source for f in report.of("unchanged")} == supported
    ignored = {Path(f.source).name for f in report.of("ignored")}
    assert ignored == {p.name for p in files if p.suffix.lower() not in SUPPORTED_EXTENSIONS}


def test_chunks_carry_the_document_title_first(lexical_index: DocumentIndex) -> None:
    titles = dict(
        zip(
            lexical_index.documents().column("doc_id").to_pylist(),
            lexical_index.documents().column("title").to_pylist(),
            strict=True,
        )
    )
    for p in lexical_index.search("metadata", k=50, labels={"public"}, mode="bm25"):
        assert p.heading_path[0] == titles[p.doc_id]
        assert len(p.text.split()) <= lexical_index.max_words


@pytest.mark.parametrize(
    ("query", "heading"),
    [
        ("What does the Director repository do?", "Director repository"),
        ("which metadata does the timestamp role sign", "Timestamp role"),
        ("vehicle version manifest sent by the primary", "Vehicle version manifest"),
    ],
)
def test_bm25_finds_the_section_named_by_the_question(
    lexical_index: DocumentIndex, query: str, heading: str
) -> None:
    hits = lexical_index.search(query, k=5, labels={"public"}, mode="bm25")
    assert any(heading.lower() in p.heading_path[-1].lower() for p in hits), [
        p.location.cite() for p in hits
    ]


@pytest.mark.parametrize(
    ("query", "file"),
    [
        ("how to give a signal a default value", "default.md"),
        ("restrict the allowed values of a signal", "allowed.md"),
        ("struct types with several properties", "data_types_struct.md"),
        ("which physical units can a sensor use", "data_units.md"),
        ("how to add instances such as door rows", "instances.md"),
    ],
)
@pytest.mark.parametrize("mode", ["dense", "hybrid"])
def test_dense_and_hybrid_find_the_page_of_the_question(
    rule_set_index: DocumentIndex, query: str, file: str, mode: SearchMode
) -> None:
    hits = rule_set_index.search(query, k=3, labels={"public"}, mode=mode)
    assert any(p.source.endswith("/" + file) for p in hits), [p.location.cite() for p in hits]
