"""Copilot ingestion throughput and search latency on the shared document corpus.

Run: .venv/bin/python benchmarks/bench_copilot.py [--corpus DIR --repeat R]
Indexes ``../shared/data/docs`` (read in place) into a temporary folder twice:
BM25 only, then with all-MiniLM-L6-v2 embeddings (model loaded before the
clock starts), and prints chunks/s of each (best of ``--repeat`` for BM25
only; embedding is done once). Then runs a fixed set of questions ``--rounds``
times per mode with the reader label ``public`` and prints p50/p95 latency of
bm25, dense (query embedding included) and hybrid search. The reference:
the same chunk texts indexed and searched with bm25s (Snowball stemmer, no
filter), against tantivy as the copilot uses it (with the label filter).
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from drivetrain.copilot import DocumentIndex, MiniLMEmbedder, SearchMode

CORPUS = Path(__file__).resolve().parents[2] / "shared/data/docs"
QUESTIONS = [
    "What does the Director repository do?",
    "which metadata does the timestamp role sign",
    "how does a secondary ECU verify images with partial verification",
    "vehicle version manifest sent by the primary",
    "key rotation and revocation of the root role",
    "how to give a signal a default value",
    "restrict the allowed values of a signal",
    "struct types with several properties",
    "which physical units can a sensor use",
    "how to add instances such as door rows",
    "overlay to extend the standard catalog",
    "freeze attack and rollback attack",
    "consistent snapshots of the repository",
    "delegation to a tier-1 supplier",
    "time server and the latest time sent to secondaries",
    "difference between sensor actuator and attribute",
    "license of the specification",
    "mix-and-match attack on metadata",
    "how are deprecated signals handled",
    "threshold of signatures for a role",
]


def percentiles(seconds: list[float]) -> str:
    ms = np.array(seconds) * 1e3
    return f"p50 {np.percentile(ms, 50):6.1f} ms   p95 {np.percentile(ms, 95):6.1f} ms"


def bm25s_reference(texts: list[str], rounds: int) -> tuple[float, list[float]]:
    """(index seconds, query latencies) of bm25s over the same texts."""
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")
    began = time.perf_counter()
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    index_s = time.perf_counter() - began
    latencies = []
    for _ in range(rounds):
        for q in QUESTIONS:
            t = time.perf_counter()
            qt = bm25s.tokenize([q], stopwords="en", stemmer=stemmer, show_progress=False)
            retriever.retrieve(qt, k=10, show_progress=False)
            latencies.append(time.perf_counter() - t)
    return index_s, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not args.corpus.is_dir():
        raise SystemExit(f"no corpus at {args.corpus} (pass --corpus DIR)")
    with tempfile.TemporaryDirectory() as tmp:
        lexical_times = []
        for n in range(args.repeat):
            index = DocumentIndex.open(Path(tmp) / f"bm25-{n}", dense=False)
            report = index.add([args.corpus])
            lexical_times.append(report.seconds)
        chunks = report.chunks_added
        embedder = MiniLMEmbedder()
        t = time.perf_counter()
        embedder.embed(["warm up"])
        load_s = time.perf_counter() - t
        index = DocumentIndex.open(Path(tmp) / "dense", embedder=embedder)
        report = index.add([args.corpus])
        dense_s = report.seconds
        latencies: dict[SearchMode, list[float]] = {"bm25": [], "dense": [], "hybrid": []}
        for mode, seconds in latencies.items():
            index.search(QUESTIONS[0], k=10, labels={"public"}, mode=mode)  # warm caches
            for _ in range(args.rounds):
                for q in QUESTIONS:
                    t = time.perf_counter()
                    hits = index.search(q, k=10, labels={"public"}, mode=mode)
                    seconds.append(time.perf_counter() - t)
                    assert hits, q
        texts = index._store.scan(["search_text"]).column("search_text").to_pylist()
    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    print(f"corpus: {args.corpus} -> {len(report.files)} files, {chunks} chunks")
    print(
        f"index, BM25 only:        best {min(lexical_times):6.2f} s = "
        f"{chunks / min(lexical_times):8,.0f} chunks/s"
    )
    print(
        f"index, with embeddings:       {dense_s:6.2f} s = {chunks / dense_s:8,.1f} chunks/s "
        f"({report.embedded_chunks} embedded; model load {load_s:.1f} s not counted)"
    )
    for mode, seconds in latencies.items():
        print(f"search {mode:6s} k=10 ({len(seconds)} queries): {percentiles(seconds)}")
    try:
        ref_index_s, ref_latencies = bm25s_reference(texts, args.rounds)
    except ImportError:
        print("reference: bm25s / PyStemmer not installed (pip install -e '.[dev]')")
        return
    print(
        f"reference bm25s (texts only, no filter): index {ref_index_s:.2f} s, "
        f"search {percentiles(ref_latencies)}"
    )


if __name__ == "__main__":
    main()
