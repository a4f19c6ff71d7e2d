"""Retrieval evaluation: a question set with expected passages, scored per search mode.

    questions = load_questions("tests/copilot/eval_questions.toml")
    check_questions(questions, corpus_root)          # [] when every phrase is in its files
    result = evaluate_retrieval(index, questions)    # index: a DocumentIndex of the corpus
    result.metrics   # per mode: recall@1/5/10, MRR@10, nDCG@10; also .per_question, .top_scores

**Expected passages are phrases, not chunk ids** (ids change with chunking):
files relative to the corpus root (equivalent versions of one text, e.g. the
Uptane Markdown and HTML) and a few words of the answer. A passage *matches*
when its source is one of the files (a path suffix) and its text holds a phrase
(case-folded, whitespace collapsed, curly quotes straightened). **Grades:** 2
for a match; with ``section_grade=1`` 1 for the other chunks of a *key section*
(the file and heading path of a matching chunk); else 0.

**Metrics** on the top 10, averaged over answerable questions: recall@k, the
share of a question's expectations matched within k; MRR@10, 1 / rank of the
first grade-2 passage; nDCG@10 = DCG / ideal DCG with DCG = Σ grade_i /
log2(i + 1) (linear gain, as scikit-learn's ``ndcg_score``). The ideal ranks
the grades of *every* relevant distinct chunk text of the indexed documents:
when several chunks hold the phrase (the Markdown and HTML copies of a clause,
a sentence repeated in two sections) each is an ideal grade-2 result. Relevant
chunks are found by re-chunking the indexed files with the index's chunker,
independently of any retriever.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import polars as pl

from drivetrain.copilot.chunking import DEFAULT_MAX_WORDS, chunk_document
from drivetrain.copilot.documents import DocumentDefaults, load_document
from drivetrain.copilot.index import DocumentIndex
from drivetrain.copilot.models import Chunk, Passage
from drivetrain.copilot.retrieval import SEARCH_MODES, SearchMode
from drivetrain.errors import InputError

RECALL_CUTOFFS = (1, 5, 10)
EVAL_DEPTH = 10
KEY_GRADE = 2
_RAW_TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".text"})
_Read = tuple[str, list[Chunk]]
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


@dataclass(frozen=True, slots=True)
class ExpectedPassage:
    """An answer: any of ``files`` (relative to the corpus root) holding any of ``phrases``."""

    files: tuple[str, ...]
    phrases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    """One question of the set; an unanswerable one expects no passage."""

    id: str
    question: str
    family: str
    answerable: bool
    expected: tuple[ExpectedPassage, ...] = ()
    table: bool = False  # the answer is (partly) in a table


@dataclass(frozen=True, slots=True)
class RetrievalEvaluation:
    """What :func:`evaluate_retrieval` measured, as polars DataFrames (``.to_arrow()``)."""

    metrics: pl.DataFrame
    per_question: pl.DataFrame
    top_scores: pl.DataFrame

    def ndcg(self, mode: SearchMode) -> float:
        """nDCG@10 of one mode."""
        return float(self.metrics.filter(pl.col("mode") == mode)["ndcg@10"].item())

    def to_markdown(self) -> str:
        """The metrics table in Markdown (for the docs and the CLI)."""
        names = ["mode", "questions", *(f"recall@{k}" for k in RECALL_CUTOFFS), "mrr@10", "ndcg@10"]
        lines = ["| " + " | ".join(names) + " |", "|---|" + "---:|" * (len(names) - 1)]
        for mode, n, *values in self.metrics.select(names).iter_rows():
            lines.append(f"| {mode} | {n} | " + " | ".join(f"{v:.3f}" for v in values) + " |")
        return "\n".join(lines)


# -- the question set ---------------------------------------------------------------------------
def load_questions(path: str | Path) -> list[EvalQuestion]:
    """Read a question set (TOML; its format is described in tests/copilot/eval_questions.toml)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the question set {path} ({exc.strerror})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"the question set {path} is not valid TOML ({exc})") from exc
    items = data.get("question")
    if not isinstance(items, list) or not items:
        raise InputError(f"{path} holds no [[question]] tables", hint="see evaluation.py")
    questions = [_parse_question(item, f"{path}, question {n}") for n, item in enumerate(items, 1)]
    ids = [q.id for q in questions]
    if dupes := sorted({i for i in ids if ids.count(i) > 1}):
        raise InputError(f"{path}: question ids used twice: {', '.join(dupes)}")
    return questions


def _strings(value: object, where: str, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise InputError(f"{where}: '{what}' is missing")
    if not all(isinstance(v, str) and v.strip() for v in value):
        raise InputError(f"{where}: '{what}' must be non-empty strings")
    return tuple(v.strip() for v in value)


def _parse_question(item: Mapping[str, Any], where: str) -> EvalQuestion:
    answerable = item.get("answerable", True)
    if not isinstance(answerable, bool):
        raise InputError(f"{where}: 'answerable' must be true or false")
    expected = []
    for entry in item.get("expected", []):
        files = _strings(entry.get("files"), where, "files")
        if any(f.startswith("/") or ".." in PurePosixPath(f).parts for f in files):
            raise InputError(f"{where}: files must be relative to the corpus root: {files}")
        key = "phrases" if "phrases" in entry else "phrase"
        expected.append(ExpectedPassage(files, _strings(entry.get(key), where, key)))
    if answerable != bool(expected):
        raise InputError(
            f"{where}: an answerable question needs [[question.expected]] passages, "
            "an unanswerable one (answerable = false) has none"
        )
    return EvalQuestion(
        id=_strings(item.get("id"), where, "id")[0],
        question=_strings(item.get("question"), where, "question")[0],
        family=_strings(item.get("family", "other"), where, "family")[0],
        answerable=answerable,
        expected=tuple(expected),
        table=bool(item.get("table", False)),
    )


def _normalise(text: str) -> str:
    return " ".join(text.translate(_QUOTES).casefold().split())


def _in_file(source: str, files: Collection[str]) -> bool:
    return any(source == f or source.endswith("/" + f) for f in files)


def check_questions(questions: Sequence[EvalQuestion], corpus_root: str | Path) -> list[str]:
    """Problems of the set against the corpus; empty when every phrase is where it is said to be.

    Every listed file must hold one of the expectation's phrases and every
    phrase must be in one of its files: verbatim in the file's text with
    whitespace collapsed (for HTML and PDF, in the text the reader extracts),
    and whole inside one chunk of it.
    """
    root, problems = Path(corpus_root), []
    texts: dict[str, tuple[str, list[str]]] = {}
    for q in questions:
        for exp in q.expected:
            seen: set[str] = set()
            for rel in exp.files:
                if rel not in texts:
                    try:
                        text, chunks = _read(root / rel)
                        texts[rel] = (text, [_normalise(c.text) for c in chunks])
                    except (InputError, OSError):
                        texts[rel] = ("", [])  # reported below: it holds no phrase
                text, chunk_texts = texts[rel]
                here = {
                    p
                    for p in exp.phrases
                    if " ".join(p.split()) in text and any(_normalise(p) in c for c in chunk_texts)
                }
                if not here:
                    problems.append(f"{q.id}: no phrase of {list(exp.phrases)} is whole in {rel}")
                seen |= here
            problems += [
                f"{q.id}: {p!r} is in none of {exp.files}" for p in exp.phrases if p not in seen
            ]
    return problems


def _read(path: Path, title: str | None = None, max_words: int = DEFAULT_MAX_WORDS) -> _Read:
    """A file's text (whitespace collapsed; as extracted for HTML and PDF) and its chunks."""
    loaded = load_document(path, DocumentDefaults())
    if path.suffix.lower() in _RAW_TEXT_SUFFIXES:
        text = path.read_text(encoding="utf-8", errors="replace")
    else:
        text = "\n".join(b.text for b in loaded.parsed.blocks)
    title = title or loaded.meta.title
    chunks = chunk_document(loaded.meta.doc_id, title, loaded.parsed, max_words=max_words)
    return " ".join(text.split()), chunks


# -- metrics ------------------------------------------------------------------------------------
def dcg_at_k(grades: Sequence[float], k: int) -> float:
    """Discounted cumulative gain of grades in rank order: Σ grade_i / log2(i + 1), i ≤ k."""
    return sum(g / math.log2(i + 1) for i, g in enumerate(grades[:k], start=1))


def ndcg_at_k(grades: Sequence[float], ideal_grades: Collection[float], k: int) -> float:
    """DCG of a ranking over the DCG of the best ranking of all relevant items (0 if none)."""
    ideal = dcg_at_k(sorted(ideal_grades, reverse=True), k)
    return dcg_at_k(grades, k) / ideal if ideal > 0 else 0.0


def reciprocal_rank(grades: Sequence[float], k: int, *, relevant: float = KEY_GRADE) -> float:
    """1 / rank of the first item graded at least ``relevant`` within the top k, else 0."""
    return next((1.0 / i for i, g in enumerate(grades[:k], start=1) if g >= relevant), 0.0)


def recall_at_k(found_at: Sequence[int | None], k: int) -> float:
    """Share of expected items found within rank k (``found_at``: each one's 1-based rank or None)."""
    if not found_at:
        return 0.0
    return sum(1 for r in found_at if r is not None and r <= k) / len(found_at)


# -- relevance ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Judgement:
    """What a passage is worth for one question, and the grades of every relevant chunk."""

    expected: tuple[ExpectedPassage, ...]
    #: (source, heading path) of every indexed chunk that matches: the key sections.
    key_sections: frozenset[tuple[str, tuple[str, ...]]] = frozenset()
    ideal_grades: tuple[int, ...] = ()

    def matches(self, source: str, text: str) -> list[int]:  # indices of matched expectations
        norm = _normalise(text)
        return [
            j
            for j, exp in enumerate(self.expected)
            if _in_file(source, exp.files) and any(_normalise(p) in norm for p in exp.phrases)
        ]

    def grade(self, source: str, text: str, heading_path: tuple[str, ...], section: int) -> int:
        if self.matches(source, text):
            return KEY_GRADE
        return section if (source, tuple(heading_path)) in self.key_sections else 0


def _indexed_chunks(index: DocumentIndex, files: Collection[str]) -> dict[str, list[Chunk]]:
    """The chunks of the indexed documents among ``files``, re-chunked as the index did."""
    out = {}
    for doc in index.documents().select(["source", "title"]).to_pylist():
        if _in_file(doc["source"], files):
            try:
                out[doc["source"]] = _read(Path(doc["source"]), doc["title"], index.max_words)[1]
            except (InputError, OSError) as exc:
                raise InputError(
                    f"cannot re-read {doc['source']} to find its relevant passages ({exc})",
                    hint="evaluate an index of the corpus as it is on disk",
                ) from exc
    return out


def _judge(question: EvalQuestion, chunks: Mapping[str, list[Chunk]], section: int) -> _Judgement:
    """Grade every indexed chunk for the question; an expectation no chunk matches is an error."""
    probe, matched, key_sections = _Judgement(question.expected), set[int](), set()
    for source, doc_chunks in chunks.items():
        for c in doc_chunks:
            if hits := probe.matches(source, c.text):
                matched.update(hits)
                key_sections.add((source, c.heading_path))
    if missing := [e for j, e in enumerate(question.expected) if j not in matched]:
        raise InputError(
            f"question {question.id}: no indexed passage matches {missing[0]}",
            hint="index the corpus the question set was written for (check_questions finds typos)",
        )
    judged = _Judgement(question.expected, frozenset(key_sections))
    best: dict[str, int] = {}  # per distinct text, as a search returns each text once
    for source, doc_chunks in chunks.items():
        for c in doc_chunks:
            if g := judged.grade(source, c.text, c.heading_path, section):
                best[c.content_hash] = max(g, best.get(c.content_hash, 0))
    return _Judgement(question.expected, judged.key_sections, tuple(best.values()))


# -- the evaluation -----------------------------------------------------------------------------
def evaluate_retrieval(
    index: DocumentIndex,
    questions: Sequence[EvalQuestion],
    *,
    modes: Sequence[SearchMode] = ("bm25", "dense", "hybrid"),
    labels: Collection[str] | None = None,
    section_grade: int = 1,
) -> RetrievalEvaluation:
    """Ask every question in each mode and score the top 10 passages against the set.

    ``labels``: the access labels searched with (None: no label check, as a
    trusted system caller). ``section_grade``: the grade of the other chunks of
    a key section (0 counts only the chunks holding a phrase).
    """
    if bad := [m for m in modes if m not in SEARCH_MODES]:
        raise InputError(f"unknown search mode {bad[0]!r}", hint=f"use {', '.join(SEARCH_MODES)}")
    if section_grade not in (0, 1):
        raise InputError(f"section_grade must be 0 or 1, not {section_grade}")
    chunks = _indexed_chunks(index, {f for q in questions for e in q.expected for f in e.files})
    judgements = {q.id: _judge(q, chunks, section_grade) for q in questions if q.answerable}
    rows = [
        _score(mode, q, index.search(q.question, EVAL_DEPTH, labels=labels, mode=mode),
               judgements.get(q.id), section_grade)
        for mode in modes
        for q in questions
    ]  # fmt: skip
    per_question = pl.DataFrame(rows, schema=_ROW_SCHEMA)
    return RetrievalEvaluation(
        _metrics(per_question, modes), per_question, _top_scores(per_question)
    )


_ROW_SCHEMA: dict[str, Any] = {
    "mode": pl.String,
    "question_id": pl.String,
    "family": pl.String,
    "table": pl.Boolean,
    "answerable": pl.Boolean,
    **{f"recall@{k}": pl.Float64 for k in RECALL_CUTOFFS},
    "rr@10": pl.Float64,
    "ndcg@10": pl.Float64,
    "first_relevant_rank": pl.Int32,  # rank of the first grade-2 passage
    "relevant_passages": pl.Int32,  # distinct grade-2 chunk texts in the index
    "grades": pl.List(pl.Int8),
    "top_score": pl.Float64,  # BM25 score, cosine similarity or RRF score by mode
    "top_citation": pl.String,
    "question": pl.String,
}


def _score(
    mode: str, q: EvalQuestion, hits: list[Passage], judged: _Judgement | None, section: int
) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(_ROW_SCHEMA)
    row |= {"mode": mode, "question_id": q.id, "family": q.family, "table": q.table}
    row |= {"answerable": q.answerable, "question": q.question, "grades": []}
    if hits:
        row |= {"top_score": hits[0].score, "top_citation": hits[0].location.cite()}
    if judged is None:
        return row
    grades = [judged.grade(p.source, p.text, p.heading_path, section) for p in hits]
    found_at: list[int | None] = [None] * len(q.expected)
    for rank, p in enumerate(hits, start=1):
        for j in judged.matches(p.source, p.text):
            found_at[j] = found_at[j] or rank
    row |= {f"recall@{k}": recall_at_k(found_at, k) for k in RECALL_CUTOFFS}
    return row | {
        "rr@10": reciprocal_rank(grades, EVAL_DEPTH),
        "ndcg@10": ndcg_at_k(grades, judged.ideal_grades, EVAL_DEPTH),
        "first_relevant_rank": next((i for i, g in enumerate(grades, 1) if g >= KEY_GRADE), None),
        "relevant_passages": sum(1 for g in judged.ideal_grades if g >= KEY_GRADE),
        "grades": grades,
    }


def _metrics(per_question: pl.DataFrame, modes: Sequence[str]) -> pl.DataFrame:
    measured = [*(f"recall@{k}" for k in RECALL_CUTOFFS), "rr@10", "ndcg@10"]
    means = (
        per_question.filter(pl.col("answerable"))
        .group_by("mode")
        .agg(pl.len().alias("questions"), *(pl.col(c).mean() for c in measured))
    )
    order = pl.DataFrame({"mode": list(modes)})
    return order.join(means, on="mode", how="left", maintain_order="left").rename(
        {"rr@10": "mrr@10"}
    )


def _top_scores(per_question: pl.DataFrame) -> pl.DataFrame:
    """The top hit's score per mode, answerable vs unanswerable questions, and their separation.

    ``auc`` is the chance that an answerable question's top score beats an
    unanswerable one's (ties count half): 1.0 means some threshold separates them.
    """
    scored = per_question.filter(pl.col("top_score").is_not_null())
    table = scored.group_by("mode", "answerable", maintain_order=True).agg(
        pl.len().alias("questions"),
        *(getattr(pl.col("top_score"), f)().alias(f) for f in ("min", "median", "max")),
    )
    auc = {}
    for mode in table["mode"].unique():
        split = [scored.filter((pl.col("mode") == mode) & (pl.col("answerable") == flag))
                 ["top_score"].to_list() for flag in (True, False)]  # fmt: skip
        pairs = [(p > n) + 0.5 * (p == n) for p in split[0] for n in split[1]]
        auc[mode] = sum(pairs) / len(pairs) if pairs else None
    return table.with_columns(
        pl.col("mode").replace_strict(auc, return_dtype=pl.Float64).alias("auc")
    )
