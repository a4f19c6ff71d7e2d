"""Copilot retrieval at 10k and 100k chunks: indexing, optimize, query latency, ANN recall.

Run: .venv/bin/python benchmarks/bench_copilot_scale.py [--chunks 10000 100000]
     [--rounds 3] [--keep DIR [--reuse]] [--corpus DIR] [--json FILE] [--validate]

Embedding 100k chunks with all-MiniLM-L6-v2 on 2 cores would take well over an
hour (about 20 chunks/s, measured by ``bench_copilot.py`` on real text), so the
large indexes are built from real text and real-model vectors, recombined:

Texts. The shared corpus (``../shared/data/docs``, read in place; the project's
``docs/`` when it is absent) is chunked by the copilot itself (a BM25-only
index in the work folder). The prose paragraphs of its chunks are cut into
sentences exactly where the chunker cuts (``chunking._SENTENCE_END``), and the
sentences that start with a letter, end with ``.``, ``!`` or ``?`` and hold
4-80 words are kept (no table rows, code or Markdown syntax). Synthetic
Markdown documents are then drawn with a seeded generator: a document takes a
real chunk as its topic anchor and that chunk's real document title as
``# title``; each of its 3-8 ``##`` sections takes a real chunk among the
anchor's 12 nearest (cosine of the sentence-mean vectors below) and that
chunk's real section heading, and is filled with sentences shuffled from that
chunk and two of its neighbours, up to a length drawn from the real chunks'
word counts of 25 or more (at least two sentences, at most 220 words, so a
section is exactly one chunk), in one to three paragraphs. BM25 thus sees the
corpus's own vocabulary, term co-occurrence and chunk lengths; the number of
documents is set so that the index holds the requested number of chunks. One
document in five goes to a folder indexed with the label ``engineering``, so
the ``public`` reader's filter excludes about 20 % of the chunks in both
stores.

Vectors. Every kept sentence, heading and title is embedded once with the real
model (about 2,100 short texts, 15-100 s here depending on the load; cached in
``--keep DIR``). The stand-in embedder (:class:`RecombinedEmbedder`: the
``TextEmbedder`` protocol with the *same* ``name`` and ``dim`` as
``MiniLMEmbedder``, so that the index reopens with the real model for queries)
cuts the text the index hands it (heading path, then chunk text) back into
headings and sentences and returns the normalised mean of their real vectors
plus noise of norm 0.05 (cosine ~0.999 to the mean), a seeded Gaussian
direction picked by a hash of the text. The vectors are therefore clustered
like real text (what an ANN index's partitions and graph see), not uniform
random; ``--validate`` embeds the ~490 real prose chunks and compares (cosine
between a chunk's real and stand-in vector p50 0.84; pairwise cosine mean 0.28
real, 0.33 stand-in, 0.42 in the synthetic indexes, which are a little more
concentrated than real text, i.e. no easier for an ANN index). With the
stand-in, the "with vectors" indexing figure is the store's write path
(vector rows, vector-reuse lookups) without the model; the model's own
throughput is the one measured by ``bench_copilot.py`` on real text.

Measured per size, each in a fresh process (for its own peak RSS): indexing
throughput BM25-only (``dense=False``) and with vectors, both from the same
Markdown files through ``DocumentIndex.add`` (read, parse, chunk, write);
``optimize()`` (compaction, and the IVF-HNSW-SQ vector index from 20k chunks
on); then the index reopened with the real ``MiniLMEmbedder`` (loaded and
warmed first) and 50 real questions per mode ``bm25``/``dense``/``hybrid``
(k=10, ``labels={"public"}``, modes interleaved, ``--rounds`` rounds), p50/p95
with the query embedding included; where a hybrid query's time goes (label
set, embedding, tantivy, LanceDB vector search, row fetch, each timed alone);
and the recall@10 of the dense search as the index runs it against an exact
(``bypass_vector_index``) search with the same filter.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import pickle
import platform
import re
import resource
import shutil
import tempfile
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

import numpy as np
import numpy.typing as npt

from bench_copilot import QUESTIONS as CORPUS_QUESTIONS
from drivetrain.copilot import DocumentIndex, MiniLMEmbedder
from drivetrain.copilot.chunking import _SENTENCE_END
from drivetrain.copilot.lexical import LexicalFilter
from drivetrain.copilot.retrieval import SearchFilters, _where_sql, forbidden_labels

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared/data/docs"
MAX_WORDS = 220
NEIGHBOURS = 12
NOISE = 0.05
RESTRICTED_SHARE = 0.2
READER = frozenset({"public"})
MODES = ("bm25", "dense", "hybrid")
QUESTIONS = [
    *CORPUS_QUESTIONS,
    "how does the primary verify metadata before installing an update",
    "what is full verification of metadata",
    "targets metadata lists the hashes and sizes of images",
    "what happens when the vehicle cannot reach the time server",
    "how long should metadata expiration times be",
    "compromise of the director repository keys",
    "offline keys for the root role of the image repository",
    "which encryption is used for images sent to an ECU",
    "what an ECU version report contains",
    "how the snapshot role prevents mix-and-match attacks",
    "endless data attack on a secondary",
    "what a delegated targets role may sign",
    "terminating delegations",
    "hashed bin delegations for many target files",
    "how a client updates the root metadata file",
    "what is a fast-forward attack",
    "mirrors and the mirror list",
    "target file custom field",
    "spec version field of role metadata",
    "how VSS branches organise signals",
    "what is the data type of a signal",
    "enumerated allowed values of a sensor",
    "minimum and maximum of a signal value",
    "include another vspec file",
    "the vehicle signal specification catalog",
    "tools to convert vspec to other formats",
    "relation of VSS to other standards",
    "cybersecurity profile extension",
    "comment and description of a data entry",
    "units such as km/h for speed",
]
_PROSE_START = re.compile(r"[A-Za-z(\"'“]")
_PROSE_END = re.compile(r"[.!?]$")  # so that joined sentences are cut apart again


def clean(text: str) -> str:
    return " ".join(text.split())


def sentences(paragraph: str) -> list[str]:
    """A paragraph's sentences, cut exactly where the chunker cuts a long paragraph."""
    return [s for s in _SENTENCE_END.split(clean(paragraph)) if s]


def is_prose(sentence: str) -> bool:
    n = len(sentence.split())
    return (
        4 <= n <= 80
        and bool(_PROSE_START.match(sentence))
        and bool(_PROSE_END.search(sentence))
        and not any(mark in sentence for mark in ("|", "```", "~~~", "<", ">"))
    )


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def peak_rss_mib() -> float:
    """Peak resident memory of this process image (VmHWM: ``ru_maxrss`` survives an exec)."""
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        status = ""
    if match := re.search(r"VmHWM:\s+(\d+) kB", status):
        return int(match.group(1)) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# -- the real material -----------------------------------------------------------------------
@dataclass
class Source:
    """Real sentences and headings of the corpus, their real vectors, and the chunk structure."""

    corpus: str
    chunks: int
    texts: list[str]  # sentences, then headings and titles (unique)
    vectors: npt.NDArray[np.float32]  # real all-MiniLM-L6-v2 vectors of ``texts``
    anchors: list[list[int]]  # per usable real chunk: its sentence ids
    headings: list[str]  # per anchor: its section heading
    titles: list[str]  # per anchor: its document title
    neighbours: npt.NDArray[np.int64]  # per anchor: the nearest anchors (itself first)
    lengths: npt.NDArray[np.int64]  # word counts of the real prose chunks
    embed_s: float


def read_source(corpus: Path, workdir: Path) -> Source:
    index = DocumentIndex.open(workdir / "source-index", dense=False)
    index.add([corpus])
    rows = index._store.scan(["text", "kind", "heading_path", "title", "words"]).to_pylist()
    ids: dict[str, int] = {}
    anchors, headings, titles, lengths = [], [], [], []
    for row in rows:
        if row["kind"] not in ("text", "mixed"):
            continue
        units = [s for para in row["text"].split("\n\n") for s in sentences(para) if is_prose(s)]
        if len(units) < 2:
            continue
        anchors.append([ids.setdefault(s, len(ids)) for s in units])
        path = [clean(h) for h in row["heading_path"] or ()] or [clean(row["title"])]
        headings.append(path[-1])
        titles.append(clean(row["title"]))
        lengths.append(min(int(row["words"]), MAX_WORDS))
    texts = list(ids)
    texts += sorted({*headings, *titles} - set(ids))
    embedder = MiniLMEmbedder()
    embedder.embed(["warm up"])
    began = time.perf_counter()
    vectors = embedder.embed(texts)
    embed_s = time.perf_counter() - began
    centroids = np.stack([vectors[u].mean(axis=0) for u in anchors])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    similarity = centroids @ centroids.T
    neighbours = np.argsort(-similarity, axis=1, kind="stable")[:, :NEIGHBOURS]
    return Source(
        corpus=str(corpus),
        chunks=len(rows),
        texts=texts,
        vectors=vectors,
        anchors=anchors,
        headings=headings,
        titles=titles,
        neighbours=neighbours,
        lengths=np.asarray(lengths),
        embed_s=embed_s,
    )


# -- synthetic documents ---------------------------------------------------------------------
def write_documents(source: Source, chunks: int, folder: Path, seed: int) -> tuple[int, int]:
    """Markdown files holding ``chunks`` chunks (one per section): (documents, sections)."""
    rng = np.random.default_rng(seed)
    words = [len(t.split()) for t in source.texts]
    lengths = source.lengths[source.lengths >= 25]
    docs = sections = 0
    while sections < chunks:
        anchor = int(rng.integers(len(source.anchors)))
        want = min(int(rng.integers(3, 9)), chunks - sections)
        lines = [f"# {source.titles[anchor]}", ""]
        used_headings = {source.titles[anchor]}
        made = 0
        for _ in range(want * 3):
            if made == want:
                break
            section = int(rng.choice(source.neighbours[anchor]))
            heading = source.headings[section]
            if heading in used_headings:
                continue  # two sections of one heading path would merge into one chunk
            used_headings.add(heading)
            extra = rng.choice(source.neighbours[section][1:], size=2, replace=False)
            pool = [u for a in (section, *extra) for u in source.anchors[int(a)]]
            pool = list(dict.fromkeys(pool))
            rng.shuffle(pool)
            target = int(rng.choice(lengths))
            picked, total = [], 0
            for u in pool:
                if total + words[u] > MAX_WORDS:
                    continue
                picked.append(u)
                total += words[u]
                if total >= target and len(picked) >= 2:
                    break
            if len(picked) < 2:
                continue
            cuts = sorted(rng.choice(np.arange(1, len(picked)), size=min(2, len(picked) - 1)))
            paragraphs = np.split(np.asarray(picked), cuts)
            lines += [f"## {heading}", ""]
            for para in paragraphs:
                if len(para):
                    lines += [" ".join(source.texts[int(u)] for u in para), ""]
            made += 1
        if not made:
            continue
        restricted = rng.random() < RESTRICTED_SHARE
        sub = folder / ("engineering" if restricted else "public") / f"{docs // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"doc-{docs:06d}.md").write_text("\n".join(lines), encoding="utf-8")
        docs += 1
        sections += made
    return docs, sections


class RecombinedEmbedder:
    """Stand-in for all-MiniLM-L6-v2 at indexing: the mean of the real vectors of a text's parts.

    Same ``name`` and ``dim`` as :class:`MiniLMEmbedder`, so an index built with it
    reopens with the real model. A text is cut into its heading path (first
    paragraph, `` > ``-separated) and sentences; the vector is the normalised mean
    of their real vectors plus noise of norm ``NOISE``: one of 8,192 seeded
    Gaussian directions, picked by a hash of the text.
    """

    def __init__(self, source: Source, seed: int = 0) -> None:
        real = MiniLMEmbedder()
        self.name = real.name
        self.dim = real.dim
        self._vectors = source.vectors.astype(np.float32)
        self._ids = {t: i for i, t in enumerate(source.texts)}
        noise = np.random.default_rng(seed).standard_normal((8192, self.dim))
        self._noise = (NOISE * noise / np.linalg.norm(noise, axis=1, keepdims=True)).astype(
            np.float32
        )
        self.parts = self.missed = self.empty = 0
        self.seconds = 0.0

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        began = time.perf_counter()
        flat: list[int] = []
        starts: list[int] = []
        for text in texts:
            head, _, body = text.partition("\n\n")
            parts = [clean(h) for h in head.split(" > ")]
            parts += [s for para in body.split("\n\n") for s in sentences(para)]
            ids = [i for p in parts if (i := self._ids.get(p)) is not None]
            self.parts += len(parts)
            self.missed += len(parts) - len(ids)
            if not ids:  # nothing real in it (does not happen with these documents)
                self.empty += 1
                ids = [zlib.crc32(text.encode()) % len(self._vectors)]
            starts.append(len(flat))
            flat += ids
        sums = np.add.reduceat(self._vectors[flat], starts, axis=0)
        means = sums / np.linalg.norm(sums, axis=1, keepdims=True)
        picks = [zlib.crc32(t.encode()) % len(self._noise) for t in texts]
        out = means + self._noise[picks]
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        self.seconds += time.perf_counter() - began
        return out.astype(np.float32)


# -- one size ----------------------------------------------------------------------------------
def build(folder: Path, docs: Path, embedder: RecombinedEmbedder | None) -> dict[str, Any]:
    index = DocumentIndex.open(folder, embedder=embedder, dense=embedder is not None)
    began = time.perf_counter()
    public = index.add([docs / "public"])
    restricted = index.add([docs / "engineering"], labels={"engineering"})
    seconds = time.perf_counter() - began
    chunks = public.chunks_added + restricted.chunks_added
    return {
        "chunks": chunks,
        "seconds": seconds,
        "chunks_per_s": chunks / seconds,
        "duplicates": public.duplicate_chunks + restricted.duplicate_chunks,
        "failed": sum(f.status == "failed" for r in (public, restricted) for f in r.files),
    }


def time_hybrid_parts(index: DocumentIndex, questions: list[str]) -> dict[str, list[float]]:
    """Per query: the query embedding, tantivy, the filtered LanceDB vector search, row fetch."""
    store, lexical, embedder = index._store, index._lexical, index.embedder
    assert embedder is not None
    parts: dict[str, list[float]] = {
        "labels": [],
        "embed": [],
        "tantivy": [],
        "lance_vector": [],
        "fetch": [],
    }
    for q in questions:
        t0 = time.perf_counter()
        known = {v for m in store.document_metas().values() for v in m.labels}
        lex_filter = LexicalFilter(forbidden_labels=forbidden_labels(known, READER))
        where = _where_sql(set(READER), SearchFilters(), None)
        t1 = time.perf_counter()
        vector = embedder.embed([q])[0]
        t2 = time.perf_counter()
        lex = lexical.search(q, 30, lex_filter)
        t3 = time.perf_counter()
        dense = store.dense_search(vector, 30, where)
        t4 = time.perf_counter()
        store.fetch(list(dict.fromkeys([c for c, _ in lex] + [h.chunk_id for h in dense])))
        t5 = time.perf_counter()
        for name, seconds in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
            parts[name].append(seconds)
    return parts


def ann_recall(index: DocumentIndex, questions: list[str]) -> dict[str, float]:
    """Recall@10 of the dense search as the index runs it, against an exact search."""
    store, embedder = index._store, index.embedder
    assert embedder is not None
    where = _where_sql(set(READER), SearchFilters(), None)
    recalls, exact_s = [], []
    for q in questions:
        vector = embedder.embed([q])[0].astype(np.float32)
        ann = [h.chunk_id for h in store.dense_search(vector, 30, where)[:10]]
        began = time.perf_counter()
        exact = (
            store.chunks.search(vector, vector_column_name="vector")
            .distance_type("cosine")
            .where(where, prefilter=True)
            .bypass_vector_index()
            .select(["chunk_id", "_distance"])
            .limit(10)
            .to_arrow()
            .column("chunk_id")
            .to_pylist()
        )
        exact_s.append(time.perf_counter() - began)
        recalls.append(len(set(ann) & set(exact)) / len(exact))
    return {
        "recall_at_10": float(np.mean(recalls)),
        "recall_min": float(np.min(recalls)),
        "exact_p50_ms": pct(exact_s, 50) * 1e3,
        "exact_p95_ms": pct(exact_s, 95) * 1e3,
    }


def pairwise_cosine(index: DocumentIndex, sample: int = 2000) -> dict[str, float]:
    """Mean and spread of the cosine between 2,000 stored vectors and all (how clustered)."""
    table = index._store.scan(["vector"])
    matrix = table.column("vector").combine_chunks().flatten().to_numpy()
    matrix = matrix.reshape(table.num_rows, -1)
    rng = np.random.default_rng(0)
    picked = matrix[rng.choice(len(matrix), min(sample, len(matrix)), replace=False)]
    total = square = 0.0
    for i in range(0, len(matrix), 10_000):
        block = (picked @ matrix[i : i + 10_000].T).astype(np.float64)
        total += block.sum()
        square += (block**2).sum()
    n = len(picked) * len(matrix)
    return {"mean": total / n, "sd": (square / n - (total / n) ** 2) ** 0.5}


def validate(source: Source, corpus: Path, workdir: Path) -> None:
    """Real chunk vectors against the stand-in's for the same texts (embeds ~500 chunks)."""
    index = DocumentIndex.open(workdir / "validate-index", dense=False)
    index.add([corpus])
    rows = index._store.scan(["search_text", "kind"]).to_pylist()
    texts = [r["search_text"] for r in rows if r["kind"] in ("text", "mixed")]
    shutil.rmtree(workdir / "validate-index")
    real = MiniLMEmbedder().embed(texts)
    stand_in = RecombinedEmbedder(source).embed(texts)
    agree = (real * stand_in).sum(axis=1)
    print(
        f"validation on {len(texts)} real prose chunks: cosine(real vector, stand-in vector) "
        f"p5 {pct(agree, 5):.2f}, p50 {pct(agree, 50):.2f}, p95 {pct(agree, 95):.2f}"
    )
    for name, m in (("real model", real), ("stand-in", stand_in)):
        cosine = m @ m.T
        pairs = cosine[np.triu_indices(len(m), 1)]
        np.fill_diagonal(cosine, -1.0)
        print(
            f"  {name:10s}: pairwise cosine mean {pairs.mean():.3f} sd {pairs.std():.3f}, "
            f"nearest neighbour p50 {np.median(cosine.max(axis=1)):.3f}"
        )


def run_size(source: Source, chunks: int, workdir: Path, rounds: int, reuse: bool) -> dict:
    out: dict[str, Any] = {"target_chunks": chunks}
    docs = workdir / "docs"
    dense_dir = workdir / "index-vectors"
    if not (reuse and (dense_dir / "index.json").is_file()):
        shutil.rmtree(workdir, ignore_errors=True)
        began = time.perf_counter()
        out["documents"], _ = write_documents(source, chunks, docs, seed=chunks)
        out["generate_s"] = time.perf_counter() - began
        out["bm25_only"] = build(workdir / "index-bm25", docs, None)
        shutil.rmtree(workdir / "index-bm25")
        out["rss_bm25_mib"] = peak_rss_mib()
        embedder = RecombinedEmbedder(source)
        out["with_vectors"] = build(dense_dir, docs, embedder)
        out["with_vectors"]["stand_in_s"] = embedder.seconds
        out["with_vectors"]["store_chunks_per_s"] = out["with_vectors"]["chunks"] / (
            out["with_vectors"]["seconds"] - embedder.seconds
        )
        out["with_vectors"]["missed_parts"] = embedder.missed / max(embedder.parts, 1)
        out["with_vectors"]["empty_texts"] = embedder.empty
        index = DocumentIndex.open(dense_dir, embedder=embedder)
        began = time.perf_counter()
        out["ann_index"] = index.optimize()
        out["optimize_s"] = time.perf_counter() - began
        del index
    out["rss_build_mib"] = peak_rss_mib()

    model = MiniLMEmbedder()
    model.embed(["warm up"])
    index = DocumentIndex.open(dense_dir, embedder=model)
    out["indexed_chunks"] = len(index)
    for mode in MODES:  # warm caches
        index.search(QUESTIONS[0], k=10, labels=READER, mode=mode)
    latencies: dict[str, list[float]] = {mode: [] for mode in MODES}
    empty = 0
    for _ in range(rounds):
        for q in QUESTIONS:
            for mode in MODES:
                began = time.perf_counter()
                hits = index.search(q, k=10, labels=READER, mode=mode)
                latencies[mode].append(time.perf_counter() - began)
                empty += not hits
    out["queries_per_mode"] = len(latencies["bm25"])
    out["empty_results"] = empty
    out["latency_ms"] = {
        mode: {"p50": pct(s, 50) * 1e3, "p95": pct(s, 95) * 1e3} for mode, s in latencies.items()
    }
    parts = time_hybrid_parts(index, QUESTIONS * rounds)
    out["hybrid_parts_ms"] = {
        name: {"p50": pct(s, 50) * 1e3, "p95": pct(s, 95) * 1e3} for name, s in parts.items()
    }
    out["dense_recall"] = ann_recall(index, QUESTIONS)
    out["rss_peak_mib"] = peak_rss_mib()
    out["vector_pairs"] = pairwise_cosine(index)
    return out


def _child(
    source: Source, chunks: int, workdir: Path, rounds: int, reuse: bool, queue: Any
) -> None:
    queue.put(run_size(source, chunks, workdir, rounds, reuse))


def report(source: Source, results: list[dict[str, Any]]) -> None:
    print(
        f"machine: {platform.machine()}, python {platform.python_version()}, "
        f"{multiprocessing.cpu_count()} cores"
    )
    print(
        f"source: {source.corpus}: {source.chunks} chunks -> {len(source.anchors)} prose chunks, "
        f"{len(source.texts)} sentences/headings embedded with the real model "
        f"in {source.embed_s:.1f} s"
    )
    for r in results:
        n = r["indexed_chunks"]
        print(f"\n== {n:,} chunks ({r.get('documents', '?')} documents)")
        for key, label in (("bm25_only", "BM25 only"), ("with_vectors", "with vectors")):
            if key in r:
                b = r[key]
                print(
                    f"index {label:13s}: {b['seconds']:7.1f} s = {b['chunks_per_s']:7,.0f} chunks/s"
                    f"  ({b['duplicates']} duplicate texts, {b['failed']} failed files)"
                )
        if "with_vectors" in r:
            b = r["with_vectors"]
            print(
                f"  stand-in embedder: {b['stand_in_s']:.1f} s of it; "
                f"{b['missed_parts'] * 100:.2f} % parts without a real vector, "
                f"{b['empty_texts']} texts with none"
            )
            print(
                f"  store write path alone (stand-in time taken out): "
                f"{b['store_chunks_per_s']:,.0f} chunks/s"
            )
            print(f"optimize: {r['optimize_s']:.1f} s (vector index built: {r['ann_index']})")
        for mode, lat in r["latency_ms"].items():
            print(
                f"search {mode:6s} ({r['queries_per_mode']} queries): "
                f"p50 {lat['p50']:6.1f} ms  p95 {lat['p95']:6.1f} ms"
            )
        parts = "  ".join(
            f"{k} {v['p50']:.1f}/{v['p95']:.1f}" for k, v in r["hybrid_parts_ms"].items()
        )
        print(f"hybrid parts p50/p95 ms: {parts}")
        print(f"searches that returned nothing: {r['empty_results']}")
        rec = r["dense_recall"]
        print(
            f"dense recall@10 vs exact: {rec['recall_at_10']:.3f} (min {rec['recall_min']:.1f}); "
            f"exact search p50 {rec['exact_p50_ms']:.1f} ms, p95 {rec['exact_p95_ms']:.1f} ms"
        )
        pairs = r["vector_pairs"]
        print(f"stored vectors: pairwise cosine mean {pairs['mean']:.3f} sd {pairs['sd']:.3f}")
        if "with_vectors" in r:
            print(
                f"peak RSS: {r['rss_bm25_mib']:.0f} MiB after the BM25-only build, "
                f"{r['rss_build_mib']:.0f} MiB after building with vectors and optimize, "
                f"{r['rss_peak_mib']:.0f} MiB with the model and queries"
            )
        else:
            print(
                f"peak RSS (index reused): {r['rss_peak_mib']:.0f} MiB with the model and queries"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--keep", type=Path, help="build in DIR and keep documents and indexes")
    parser.add_argument("--reuse", action="store_true", help="with --keep: query existing indexes")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument(
        "--validate", action="store_true", help="compare stand-in and real vectors of real chunks"
    )
    args = parser.parse_args()
    corpus = args.corpus if args.corpus.is_dir() else ROOT / "docs"
    tmp = None
    if args.keep is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench-copilot-scale-")
        base = Path(tmp.name)
    else:
        base = args.keep
        base.mkdir(parents=True, exist_ok=True)
    try:
        cached = base / "source.pickle"
        if args.reuse and cached.is_file():
            source = pickle.loads(cached.read_bytes())
        else:
            shutil.rmtree(base / "source-index", ignore_errors=True)
            source = read_source(corpus, base)
            shutil.rmtree(base / "source-index")
            if args.keep is not None:
                cached.write_bytes(pickle.dumps(source))
        context = multiprocessing.get_context("spawn")
        results = []
        for chunks in args.chunks:
            queue = context.Queue()
            child = context.Process(
                target=_child,
                args=(source, chunks, base / f"chunks-{chunks}", args.rounds, args.reuse, queue),
            )
            child.start()
            while True:
                try:
                    results.append(queue.get(timeout=5))
                    break
                except Empty:
                    if not child.is_alive():
                        break
            child.join()
            if child.exitcode:
                raise SystemExit(f"the {chunks}-chunk run failed (exit {child.exitcode})")
        report(source, results)
        if args.validate:
            validate(source, corpus, base)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
