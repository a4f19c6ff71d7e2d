"""Grounded answers: only from the passages found, every sentence cited, or "not found".

:func:`answer` searches the index as the reader (their access labels), then

* with a language model (:mod:`drivetrain.copilot.providers`), asks it to write
  the answer from the numbered passages only, citing ``[n]`` after each
  sentence, or to reply ``NOT_FOUND`` (the prompt is a versioned file,
  ``prompts/answer-v1.md``, and its version goes into the provenance record);
  a reply that cites nothing, cites a passage it was not given, or fails
  (endpoint down) degrades to the extractive answer, and says so;
* without one (the embedded default), builds an **extractive** answer: the
  sentences of the best passages that cover most of the question's content
  words, each followed by its citation.

Either way the answer says **"Not found in the documents."** instead of
guessing when the passages do not carry the question: the best passage must be
close to the question in meaning (cosine of their all-MiniLM-L6-v2 vectors,
:data:`MIN_COSINE`), or nearly as close and holding most of its content words
(:data:`NEAR_COSINE`, :data:`MIN_COVERAGE`). ``confidence`` is that evidence on a 0-1 scale — a
heuristic, not a probability. :func:`unsupported_sentences` is the faithfulness
check: each sentence of an answer must have most of its content words in the
passages it cites. Every answer is recorded through the provenance API with
the passages it used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.metadata import version as package_version

import numpy as np

from drivetrain.copilot.index import DocumentIndex
from drivetrain.copilot.lexical import STOP_WORDS
from drivetrain.copilot.models import Passage
from drivetrain.copilot.providers import LLMProvider, Message, ProviderError
from drivetrain.copilot.retrieval import SearchFilters, SearchMode
from drivetrain.governance.audit import AuditLog
from drivetrain.governance.provenance import record_output

PROMPT = "answer-v1.md"
NOT_FOUND = "Not found in the documents."
# "Not found" unless the best passages are this close to the question in meaning …
MIN_COSINE = 0.40
# … or nearly as close and holding this share of the question's content words. Chosen on
# the evaluation set (tests/copilot/eval_questions.toml; docs/copilot.md): 72 of 73
# answerable questions answered, 6 of 8 unanswerable ones refused.
NEAR_COSINE = 0.30
MIN_COVERAGE = 0.75
MAX_SENTENCES = 3
SUPPORT = 0.6  # share of a sentence's content words its cited passages must hold
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[`])")
_WORD = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*")
_CITE = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class Citation:
    """The passage behind ``[number]`` in an answer."""

    number: int
    passage: Passage

    def cite(self) -> str:
        return f"[{self.number}] {self.passage.location.cite()}"


@dataclass(slots=True)
class Answer:
    """An answer, the passages it cites, and how it was produced."""

    question: str
    text: str
    found: bool
    citations: list[Citation]
    confidence: float
    method: str  # "extractive" or the provider's name
    degraded: str | None = None  # why an LLM answer fell back to the extractive one
    unsupported: list[str] = field(default_factory=list)  # sentences no citation supports
    output_id: str | None = None


def _terms(text: str) -> list[str]:
    """Content words, lower-cased and lightly stemmed (plural and -ing/-ed endings)."""
    out = []
    for word in _WORD.findall(text.lower()):
        if word in STOP_WORDS or len(word) < 2:
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if len(word) > len(suffix) + 3 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
        out.append(word)
    return out


def _sentences(passage: Passage) -> list[str]:
    text = passage.text.strip()
    if "|" in text and "\n|" in f"\n{text}":  # a table: its rows are its sentences
        lines = [ln for ln in text.splitlines() if ln.strip() and not set(ln) <= set("|-: ")]
        return lines
    parts: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        flat = " ".join(block.split())
        parts.extend(s for s in _SENTENCE_END.split(flat) if len(s.split()) >= 3)
    return parts


def _coverage(question: set[str], passages: Sequence[Passage]) -> float:
    if not question:
        return 0.0
    seen: set[str] = set()
    for p in passages:
        seen |= set(_terms(p.text)) | set(_terms(" ".join(p.heading_path)))
    return len(question & seen) / len(question)


def _cosine(index: DocumentIndex, question: str, passages: Sequence[Passage]) -> float | None:
    embedder = index.embedder
    if embedder is None or not passages:
        return None
    vectors = embedder.embed([question, *(p.text for p in passages)])
    return float(np.max(vectors[1:] @ vectors[0]))


def _readable(sentence: str) -> bool:
    """Prose or a table row, not markup or a code blob."""
    words = sentence.split()
    if not 3 <= len(words) <= 70 or ("<" in sentence and ">" in sentence):
        return False
    alpha = sum(1 for w in words if w.strip(".,;:()[]").isalpha())
    return alpha >= 0.5 * len(words)


def _extract(question: str, passages: Sequence[Passage]) -> tuple[list[tuple[int, str]], float]:
    """The best sentences, each with the index of its passage, and the best sentence score.

    A sentence scores by the question's content words it holds, each weighted by
    how rare it is among the passages found (a word every passage has says
    little), discounted by its passage's rank.
    """
    wanted = set(_terms(question))
    if not wanted:
        return [], 0.0
    held = [set(_terms(p.text)) for p in passages]
    weight = {
        t: 1.0 + np.log((1 + len(passages)) / (1 + sum(t in h for h in held))) for t in wanted
    }
    total = sum(weight.values())
    scored = []
    for rank, passage in enumerate(passages):
        for position, sentence in enumerate(_sentences(passage)):
            if not _readable(sentence):
                continue
            words = set(_terms(sentence))
            score = sum(weight[t] for t in wanted & words) / total / (1 + 0.15 * rank)
            if score > 0:
                scored.append((score, rank, position, sentence))
    scored.sort(key=lambda s: -s[0])
    chosen: list[tuple[int, int, str]] = []
    per_passage: dict[int, int] = {}
    for score, rank, position, sentence in scored:
        if len(chosen) == MAX_SENTENCES or score < 0.5 * scored[0][0]:
            break
        if per_passage.get(rank, 0) >= 2 or any(sentence == c[2] for c in chosen):
            continue
        per_passage[rank] = per_passage.get(rank, 0) + 1
        chosen.append((rank, position, sentence))
    chosen.sort()
    return [(rank, sentence) for rank, _, sentence in chosen], scored[0][0] if scored else 0.0


def prompt_text(part: str = "") -> str:
    """The versioned answer prompt (package files): the system part, or ``part="user"``."""
    name = PROMPT if not part else PROMPT.replace(".md", f".{part}.md")
    return resources.files("drivetrain.copilot").joinpath("prompts", name).read_text("utf-8")


def _messages(question: str, passages: Sequence[Passage]) -> list[Message]:
    numbered = "\n\n".join(
        f"[{n}] ({p.location.cite()})\n{p.text}" for n, p in enumerate(passages, start=1)
    )
    user = prompt_text("user").replace("{passages}", numbered).replace("{question}", question)
    return [
        {"role": "system", "content": prompt_text()},
        {"role": "user", "content": user},
    ]


_LEADING_CITES = re.compile(r"^((?:\[\d+\]\s*)+)")


def _answer_sentences(text: str) -> list[str]:
    """An answer's sentences, each with the citations written after its full stop."""
    pieces = _SENTENCE_END.split(" ".join(text.split()))
    out: list[str] = []
    for piece in pieces:
        lead = _LEADING_CITES.match(piece)
        if lead and out:  # "… file. [1] Next …" splits before the [1]: it belongs before
            out[-1] = f"{out[-1]} {lead.group(1).strip()}"
            piece = piece[lead.end() :]
        if piece.strip():
            out.append(piece.strip())
    return out


def unsupported_sentences(text: str, passages: Sequence[Passage]) -> list[str]:
    """Sentences of an answer whose cited passages do not hold most of their content words.

    ``passages[n - 1]`` is the passage cited as ``[n]``. A sentence that cites
    nothing is unsupported.
    """
    out = []
    for sentence in _answer_sentences(text):
        numbers = [int(n) for n in _CITE.findall(sentence)]
        words = set(_terms(_CITE.sub(" ", sentence)))
        if not words:
            continue
        cited = [passages[n - 1] for n in numbers if 0 < n <= len(passages)]
        held: set[str] = set()
        for p in cited:
            held |= set(_terms(p.text)) | set(_terms(" ".join(p.heading_path)))
        if not cited or len(words & held) < SUPPORT * len(words):
            out.append(sentence)
    return out


def answer(
    index: DocumentIndex,
    question: str,
    *,
    labels: Collection[str] | None,
    provider: LLMProvider | None = None,
    k: int = 5,
    filters: SearchFilters | None = None,
    audit: AuditLog | None = None,
    principal: str = "cli",
    purpose: str = "engineering_support",
    on_text: Callable[[str], None] | None = None,
) -> Answer:
    """Answer ``question`` from the passages ``labels`` may read (see the module docs).

    ``on_text`` receives the LLM's answer as it streams (nothing for extractive
    answers: they are complete at once).
    """
    # An index built without embeddings (--no-dense) answers from BM25 alone.
    mode: SearchMode = "hybrid" if index.embedder is not None else "bm25"
    passages = index.search(question, k, labels=labels, filters=filters, mode=mode)
    wanted = set(_terms(question))
    coverage = _coverage(wanted, passages[:3])
    cosine = _cosine(index, question, passages[:3])
    if cosine is None:  # a BM25-only index: the words are all there is to judge by
        close = coverage >= MIN_COVERAGE
    else:
        close = cosine >= MIN_COSINE or (cosine >= NEAR_COSINE and coverage >= MIN_COVERAGE)
    found = bool(passages) and close
    picked, best = _extract(question, passages) if found else ([], 0.0)
    found = found and bool(picked)
    confidence = 0.0
    if found:
        meaning = 0.5 if cosine is None else float(np.clip((cosine - 0.2) / 0.5, 0, 1))
        confidence = round(0.5 * meaning + 0.5 * min(best, 1.0), 2)
    result = Answer(question, NOT_FOUND, False, [], confidence, "extractive")
    if found:  # cite the passages used as [1], [2], … in the order they appear
        number: dict[int, int] = {}
        for rank, _ in picked:
            number.setdefault(rank, len(number) + 1)
        result.text = " ".join(f"{sentence} [{number[rank]}]" for rank, sentence in picked)
        result.found = True
        result.citations = [Citation(n, passages[rank]) for rank, n in number.items()]
    if provider is not None and passages and found:
        _with_llm(result, provider, question, passages, on_text)
    if audit is not None:
        result.output_id = record_output(
            audit,
            kind="copilot_answer",
            model=result.method,
            version=package_version("drivetrain"),
            params={
                "question": question,
                "k": k,
                "prompt": PROMPT if result.method != "extractive" else None,
                "found": result.found,
                "confidence": result.confidence,
                "degraded": result.degraded,
            },
            inputs={},
            sources=[c.cite() for c in result.citations] or ["(no passage)"],
            principal=principal,
            purpose=purpose,
        )
    return result


def _with_llm(
    result: Answer,
    provider: LLMProvider,
    question: str,
    passages: Sequence[Passage],
    on_text: Callable[[str], None] | None,
) -> None:
    """Replace the extractive answer by the model's, if the model's is grounded."""
    try:
        pieces = []
        for piece in provider.complete(_messages(question, passages), stream=on_text is not None):
            pieces.append(piece)
            if on_text is not None:
                on_text(piece)
        text = "".join(pieces).strip()
    except ProviderError as exc:
        result.degraded = f"{exc.message}; answered extractively"
        return
    if text.strip().upper().startswith("NOT_FOUND"):
        result.text, result.found, result.citations = NOT_FOUND, False, []
        result.method, result.confidence = provider.name, 0.0
        return
    numbers = sorted({int(n) for n in _CITE.findall(text)})
    if not numbers or any(not 0 < n <= len(passages) for n in numbers):
        result.degraded = (
            "the model's answer cited no passage"
            if not numbers
            else "the model's answer cited a passage it was not given"
        ) + "; answered extractively"
        return
    result.text, result.method = text, provider.name
    result.citations = [Citation(n, passages[n - 1]) for n in numbers]
    result.unsupported = unsupported_sentences(text, passages)
