"""Hybrid retrieval: RRF by hand, access labels inside the stores, filters, reranking."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from drivetrain.copilot import (
    DocumentIndex,
    MiniLMEmbedder,
    Passage,
    SearchFilters,
    SearchMode,
    passages_to_table,
    reciprocal_rank_fusion,
)
from drivetrain.errors import InputError

MODES = ("bm25", "dense", "hybrid")
QUERY = "brake fluid replacement interval"
TOPICS = [
    "Brake fluid absorbs water; replace it every two years.",
    "Brake pads wear faster in city traffic than on the motorway.",
    "The brake fluid reservoir sits under the bonnet on the driver's side.",
    "Check the brake discs for scoring when the pads are replaced.",
    "Old brake fluid lowers the boiling point and causes fade.",
    "The parking brake cable needs adjusting after long storage.",
    "A spongy brake pedal usually means air in the brake lines.",
    "Bleed the brakes starting with the wheel furthest from the master cylinder.",
    "Brake fluid DOT 4 is specified for all current models.",
    "Replacement intervals for brake fluid are printed in the service booklet.",
    "The brake warning lamp lights when the fluid level is low.",
    "Brake hoses are inspected for cracks at every service.",
]
SECRET = [
    "Internal: brake fluid replacement interval extended to three years for fleet P-500e.",
    "Internal: brake fluid replacement interval test data for the cold climate fleet.",
    "Internal: brake fluid replacement interval decision memo of the chief engineer.",
    "Internal: brake fluid replacement interval warranty cost estimate.",
    "Internal: brake fluid replacement interval supplier negotiation notes.",
    "Internal: brake fluid replacement interval draft bulletin, do not publish.",
]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, embedder: MiniLMEmbedder) -> DocumentIndex:
    root = tmp_path_factory.mktemp("retrieval")
    public = root / "public"
    public.mkdir()
    for i, text in enumerate(TOPICS):
        brand, program = ("Fiat", "P-500e") if i % 2 else ("Jeep", "J-Avenger")
        meta = (
            f'---\ntitle: "Note {i}"\nbrand: {brand}\nprogram: {program}\nversion: "{i % 3}"\n---\n'
        )
        (public / f"note{i:02d}.md").write_text(meta + text + "\n")
    secret = root / "secret"
    secret.mkdir()
    for i, text in enumerate(SECRET):
        (secret / f"memo{i}.md").write_text(f"# Memo {i}\n\n{text}\n")
    both = root / "both"
    both.mkdir()
    (both / "memo.md").write_text("# Joint memo\n\nbrake fluid replacement interval budget.\n")
    ix = DocumentIndex.open(root / "index", embedder=embedder)
    ix.add([public])
    ix.add([secret], labels={"secret"})
    ix.add([both], labels={"secret", "Engineering"})
    return ix


def test_reciprocal_rank_fusion_by_hand() -> None:
    fused = reciprocal_rank_fusion({"bm25": ["a", "b", "c"], "dense": ["c", "a", "d"]}, k=60)
    expected = {
        "a": 1 / 61 + 1 / 62,
        "b": 1 / 62,
        "c": 1 / 63 + 1 / 61,
        "d": 1 / 63,
    }
    assert [f.chunk_id for f in fused] == ["a", "c", "b", "d"]
    for f in fused:
        assert f.score == pytest.approx(expected[f.chunk_id], rel=1e-12)
    assert fused[1].ranks == {"bm25": 3, "dense": 1}
    assert fused[3].ranks == {"dense": 3}


@pytest.mark.parametrize("mode", MODES)
def test_restricted_passages_never_come_back_yet_k_results_do(
    index: DocumentIndex, mode: SearchMode
) -> None:
    unrestricted = index.search(QUERY, k=10, labels=None, mode=mode)
    restricted = sum("secret" in p.labels for p in unrestricted)
    assert restricted >= 3  # the memos are among the best matches: a filter after the top k...
    public = index.search(QUERY, k=10, labels={"public"}, mode=mode)
    assert len(public) == 10  # ...would leave fewer than k; in the stores it does not
    assert all(p.labels == ("public",) for p in public)
    assert all("Internal" not in p.text for p in public)


def test_a_reader_needs_every_label_of_a_passage(index: DocumentIndex) -> None:
    secret_only = index.search(QUERY, k=20, labels={"secret"}, mode="bm25")
    assert {p.labels for p in secret_only} == {("secret",)}
    assert len(secret_only) == len(SECRET)
    with_engineering = index.search(QUERY, k=20, labels={"SECRET", "engineering"}, mode="bm25")
    assert ("engineering", "secret") in {p.labels for p in with_engineering}
    assert index.search(QUERY, k=5, labels=set(), mode="hybrid") == []
    assert index.search(QUERY, k=5, labels={"nobody"}, mode="hybrid") == []


@pytest.mark.parametrize("mode", MODES)
def test_metadata_filters_apply_before_the_top_k(index: DocumentIndex, mode: SearchMode) -> None:
    fiat = index.search(
        QUERY, k=6, labels={"public"}, mode=mode, filters=SearchFilters(brand="fiat")
    )
    assert len(fiat) == 6 and {p.brand for p in fiat} == {"Fiat"}
    program = index.search(
        QUERY, k=20, labels=None, mode=mode, filters=SearchFilters(program=["J-Avenger"])
    )
    assert len(program) == 6 and {p.program for p in program} == {"J-Avenger"}
    version = index.search(
        QUERY, k=20, labels=None, mode=mode, filters=SearchFilters(version="2", brand="Jeep")
    )
    expected = {f"Note {i}" for i in range(len(TOPICS)) if i % 3 == 2 and i % 2 == 0}
    assert {p.title for p in version} == expected


def test_source_filter_takes_files_and_folders(index: DocumentIndex) -> None:
    docs = index.documents().column("source").to_pylist()
    secret_dir = str(Path(next(s for s in docs if "/secret/" in s)).parent)
    in_folder = index.search(QUERY, k=20, labels=None, filters=SearchFilters(source=secret_dir))
    assert {p.source for p in in_folder} == {s for s in docs if s.startswith(secret_dir + "/")}
    one = next(s for s in docs if s.endswith("note03.md"))
    only = index.search(QUERY, k=5, labels=None, filters=SearchFilters(source=one))
    assert [p.source for p in only] == [one]
    assert index.search(QUERY, k=5, labels=None, filters=SearchFilters(source="/nowhere")) == []


class _Reverse:
    def __init__(self) -> None:
        self.seen = 0

    def rerank(self, query: str, passages: Sequence[Passage]) -> list[Passage]:
        self.seen = len(passages)
        return list(reversed(passages))


class _Smuggler:
    def __init__(self, foreign: Passage) -> None:
        self.foreign = foreign

    def rerank(self, query: str, passages: Sequence[Passage]) -> list[Passage]:
        return [self.foreign, *passages]


def test_reranker_reorders_the_candidates_but_cannot_add_any(index: DocumentIndex) -> None:
    plain = index.search(QUERY, k=12, labels={"public"}, mode="hybrid")
    reverse = _Reverse()
    reranked = index.search(QUERY, k=3, labels={"public"}, reranker=reverse, rerank_depth=12)
    assert reverse.seen == 12
    assert [p.chunk_id for p in reranked] == [p.chunk_id for p in reversed(plain)][:3]
    secret = index.search(QUERY, k=1, labels=None, mode="bm25")[0]
    smuggled = index.search(QUERY, k=3, labels={"public"}, reranker=_Smuggler(secret))
    assert secret.chunk_id not in {p.chunk_id for p in smuggled}


def test_passages_carry_ranks_locations_and_convert_to_arrow(index: DocumentIndex) -> None:
    hybrid = index.search(QUERY, k=5, labels={"public"})
    assert all(set(p.ranks) <= {"bm25", "dense"} and p.ranks for p in hybrid)
    assert hybrid == sorted(hybrid, key=lambda p: -p.score)
    for p in hybrid:
        rrf = sum(1 / (60 + r) for r in p.ranks.values())
        assert p.score == pytest.approx(rrf)
        assert p.location.cite().startswith(Path(p.source).name)
        assert p.location.span.line_start is not None
    table = passages_to_table(hybrid)
    assert table.column("chunk_id").to_pylist() == [p.chunk_id for p in hybrid]
    assert table.column("rank").to_pylist() == [1, 2, 3, 4, 5]


def test_bad_queries_are_input_errors(index: DocumentIndex) -> None:
    with pytest.raises(InputError, match="empty"):
        index.search("  ", labels=None)
    with pytest.raises(InputError, match="unknown search mode"):
        index.search("brake", labels=None, mode="fuzzy")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="k must be"):
        index.search("brake", k=0, labels=None)
    assert index.search("zzzz qqqq", k=3, labels=None, mode="bm25") == []
    assert index.search('brake AND "fluid" (interval):', k=3, labels=None, mode="bm25")
