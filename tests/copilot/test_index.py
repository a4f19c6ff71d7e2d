"""The document index: batch reports, incremental re-index, deduplication, persistence."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pypdf
import pytest

from drivetrain.copilot import DocumentIndex, MiniLMEmbedder
from drivetrain.errors import ConfigError

from .conftest import write_pdf

SECTIONS = {
    "Brakes": "Replace the brake pads when they are thinner than three millimetres.",
    "Tyres": "Check the tyre pressure every month and before long journeys.",
    "Battery": "The high-voltage battery must only be serviced by trained staff.",
}


def _manual(sections: dict[str, str]) -> str:
    return "# Service manual\n\n" + "".join(f"## {h}\n\n{t}\n\n" for h, t in sections.items())


def _mixed_folder(root: Path) -> Path:
    docs = root / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "manual.md").write_text(_manual(SECTIONS))
    (docs / "notes.txt").write_text(
        "Workshop notes\n\n1. Lifting\n\nUse the four lifting points.\n"
    )
    (docs / "page.html").write_text(
        "<html><head><title>Bulletin</title></head><body><h1>1. Recall</h1>"
        "<p>Airbag inflators of batch 7 are replaced free of charge.</p></body></html>"
    )
    (docs / "results.csv").write_text("test,value,limit\nT1,12.1,14\nT2,41.3,40\n")
    buf = io.BytesIO()
    pq.write_table(pa.table({"test": ["T3"], "value": [9.5]}), buf)
    (docs / "sub/results.parquet").write_bytes(buf.getvalue())
    pdf = write_pdf(docs / "sub/report.pdf", [(0, "Summary", "All brake tests passed.")])
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(pdf))
    writer.encrypt(user_password="pw", owner_password="pw2")
    with (docs / "locked.pdf").open("wb") as fh:
        writer.write(fh)
    (docs / "broken.pdf").write_bytes(pdf.read_bytes()[:300])
    (docs / "empty.md").write_text("\n")
    (docs / "image.png").write_bytes(b"\x89PNG")
    (root / "named.docx").write_bytes(b"PK")
    return docs


def test_a_batch_reports_every_file_and_bad_files_do_not_stop_it(tmp_path: Path) -> None:
    docs = _mixed_folder(tmp_path)
    index = DocumentIndex.open(tmp_path / "index", dense=False)
    report = index.add([docs, tmp_path / "named.docx", tmp_path / "missing.md"])
    status = {Path(f.source).name: (f.status, f.code) for f in report.files}
    assert status == {
        "manual.md": ("added", None),
        "notes.txt": ("added", None),
        "page.html": ("added", None),
        "results.csv": ("added", None),
        "results.parquet": ("added", None),
        "report.pdf": ("added", None),
        "locked.pdf": ("failed", "encrypted-document"),
        "broken.pdf": ("failed", "corrupt-document"),
        "empty.md": ("failed", "empty-document"),
        "image.png": ("ignored", None),
        "named.docx": ("failed", "unsupported-format"),
        "missing.md": ("failed", "not-found"),
    }
    assert all(f.reason and f.hint for f in report.failed if f.code != "not-found")
    assert len(index) == report.chunks_added == sum(f.chunks for f in report.of("added"))
    table = report.to_table()
    assert table.num_rows == len(report.files)
    assert set(table.column_names) == {"source", "status", "chunks", "code", "reason", "hint"}
    assert index.documents().num_rows == 6


def test_incremental_reindex_skips_replaces_and_prunes(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    manual = docs / "manual.md"
    manual.write_text(_manual(SECTIONS))
    (docs / "other.md").write_text("# Other\n\nWiper blades squeak when dry.\n")
    index = DocumentIndex.open(tmp_path / "index", embedder=embedder)
    first = index.add([docs])
    assert {f.status for f in first.files} == {"added"}
    assert first.embedded_chunks == first.chunks_added == 4

    again = index.add([docs])
    assert {f.status for f in again.files} == {"unchanged"}
    assert again.chunks_added == again.embedded_chunks == 0

    changed = dict(SECTIONS, Tyres="Rotate the tyres front to back every ten thousand km.")
    manual.write_text(_manual(changed))
    third = index.add([docs])
    assert {Path(f.source).name: f.status for f in third.files} == {
        "manual.md": "updated",
        "other.md": "unchanged",
    }
    assert third.embedded_chunks == 1  # the two sections whose text did not change reuse vectors
    assert len(index) == 4
    hits = index.search("rotate tyres front to back", k=4, labels={"public"}, mode="bm25")
    assert "Rotate the tyres" in hits[0].text
    everything = " ".join(p.text for p in index.search("tyre", k=10, labels=None, mode="bm25"))
    assert "pressure every month" not in everything  # the old text is gone

    relabelled = index.add([manual], labels={"service"})
    assert [f.status for f in relabelled.files] == ["updated"]
    assert relabelled.embedded_chunks == 0
    assert index.search("brake pads", k=3, labels={"public"}, mode="bm25") == []
    assert index.search("brake pads", k=3, labels={"public", "service"}, mode="bm25")

    (docs / "other.md").unlink()
    kept = index.add([docs])  # without prune a deleted file stays indexed
    assert not kept.of("removed")
    pruned = index.add([docs], prune=True)
    assert [Path(f.source).name for f in pruned.of("removed")] == ["other.md"]
    assert index.search("wiper blades", k=3, labels=None, mode="bm25") == []
    assert index.documents().column("source").to_pylist() == [manual.resolve().as_posix()]
    assert index.remove([docs]) == [manual.resolve().as_posix()]
    assert len(index) == 0


def test_identical_text_is_flagged_reused_and_returned_once(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    shared = "Torque the wheel bolts to 120 newton metres in a star pattern."
    (tmp_path / "a.md").write_text(f"# Wheels A\n\n{shared}\n")
    (tmp_path / "b.md").write_text(f"# Wheels A\n\n{shared}\n\n## Extra\n\nUnrelated sentence.\n")
    (tmp_path / "c.md").write_text(f"# Wheels A\n\n{shared}\n")
    (tmp_path / "c.md.meta.toml").write_text('labels = ["secret"]\n')
    index = DocumentIndex.open(tmp_path / "index", embedder=embedder)
    report = index.add([tmp_path / "a.md", tmp_path / "b.md", tmp_path / "c.md"])
    assert report.duplicate_chunks == 2
    assert report.embedded_chunks == 2  # one vector for the three identical chunks, one for Extra
    rows = index._store.scan(["source", "text", "duplicate_of", "chunk_id"]).to_pylist()
    copies = sorted((r for r in rows if r["text"] == shared), key=lambda r: r["source"])
    assert copies[0]["duplicate_of"] is None
    assert copies[1]["duplicate_of"] == copies[2]["duplicate_of"] == copies[0]["chunk_id"]
    for mode in ("bm25", "dense", "hybrid"):
        everyone = index.search("wheel bolt torque", k=5, labels=None, mode=mode)
        assert [p.text for p in everyone].count(shared) == 1
        assert len(everyone[0].duplicates) == 2 and everyone[0].text == shared
        public = index.search("wheel bolt torque", k=5, labels={"public"}, mode=mode)
        assert len(public[0].duplicates) == 1  # the secret copy is not even mentioned
        assert all("secret" not in p.labels for p in public)


def test_reopening_gives_the_same_results(tmp_path: Path, embedder: MiniLMEmbedder) -> None:
    docs = _mixed_folder(tmp_path)
    folder = tmp_path / "index"
    index = DocumentIndex.open(folder, embedder=embedder)
    index.add([docs])
    queries = ["brake test results", "airbag recall", "lifting points"]

    def results(ix: DocumentIndex) -> list[list[tuple[str, float]]]:
        return [
            [(p.chunk_id, round(p.score, 5)) for p in ix.search(q, k=5, labels={"public"}, mode=m)]
            for q in queries
            for m in ("bm25", "dense", "hybrid")
        ]

    before = results(index)
    assert all(before)
    assert results(DocumentIndex.open(folder, embedder=embedder)) == before
    shutil.rmtree(folder / "lexical")  # as if a crash had lost the lexical index
    repaired = DocumentIndex.open(folder, embedder=embedder)
    assert results(repaired) == before
    assert repaired.add([docs]).chunks_added == 0


class _OtherModel:
    name = "other-model"
    dim = 8

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), 8), dtype=np.float32) / np.sqrt(8)


def test_an_index_refuses_a_different_model_or_chunk_size(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("Some text.\n")
    folder = tmp_path / "index"
    DocumentIndex.open(folder, embedder=_OtherModel()).add([tmp_path / "a.md"])
    with pytest.raises(ConfigError, match="holds vectors of other-model"):
        DocumentIndex.open(folder, embedder=MiniLMEmbedder())
    with pytest.raises(ConfigError, match="chunked at"):
        DocumentIndex.open(folder, embedder=_OtherModel(), max_words=100)
    bm25_only = DocumentIndex.open(folder, dense=False)
    assert bm25_only.search("text", k=1, labels=None, mode="bm25")
    with pytest.raises(ConfigError, match="without an embedder"):
        bm25_only.add([tmp_path / "a.md"])


def test_a_bm25_only_index_says_so_when_asked_for_dense_search(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("Some text.\n")
    folder = tmp_path / "index"
    index = DocumentIndex.open(folder, dense=False)
    index.add([tmp_path / "a.md"])
    with pytest.raises(ConfigError, match="needs the embeddings"):
        index.search("text", k=1, labels=None, mode="hybrid")
    with pytest.raises(ConfigError, match="built without embeddings"):
        DocumentIndex.open(folder, dense=True)
    assert DocumentIndex.open(folder).search("text", k=1, labels=None, mode="bm25")


def test_optimize_compacts_and_builds_the_vector_index_only_when_big_enough(
    tmp_path: Path, embedder: MiniLMEmbedder
) -> None:
    docs = _mixed_folder(tmp_path)
    index = DocumentIndex.open(tmp_path / "index", embedder=embedder)
    index.add([docs])
    index.add([docs / "manual.md"], labels={"service"})  # a second table version to compact
    queries = ["brake pads thickness", "airbag recall"]

    def results() -> list[list[str]]:
        return [
            [p.chunk_id for p in index.search(q, k=4, labels={"public"}, mode=m)]
            for q in queries
            for m in ("dense", "hybrid")
        ]

    before = results()
    assert index.optimize() is False  # a few chunks: exact search, no index
    assert results() == before
    assert index.optimize(vector_index_min_rows=1) is True
    assert results() == before  # a handful of vectors: the ANN index finds the same
