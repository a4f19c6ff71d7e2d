"""Answers over the evaluation set: found when they should be, not found when they should not,
and faithful to the passages they cite.

For every question of the set (:func:`drivetrain.copilot.evaluation.load_questions`)
:func:`evaluate_answers` asks :func:`~drivetrain.copilot.answers.answer` and reports:

* **answered** — answerable questions given an answer (not "not found");
* **grounded** — of those, answers citing a passage the set marks relevant (the
  expected file and phrase);
* **refused** — questions the corpus does not answer that got "not found";
* **faithful sentences** — answer sentences whose cited passages hold most of
  their content words (:func:`~drivetrain.copilot.answers.unsupported_sentences`);
  extractive answers are faithful by construction, a model's are not.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from drivetrain.copilot.answers import _answer_sentences, answer, unsupported_sentences
from drivetrain.copilot.evaluation import EvalQuestion, _in_file, _normalise
from drivetrain.copilot.index import DocumentIndex
from drivetrain.copilot.providers import LLMProvider


def evaluate_answers(
    index: DocumentIndex,
    questions: Sequence[EvalQuestion],
    *,
    provider: LLMProvider | None = None,
    k: int = 5,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(one row of metrics, one row per question) for the answers to ``questions``."""
    rows = []
    for q in questions:
        result = answer(index, q.question, labels=None, provider=provider, k=k)
        cited = [c.passage for c in result.citations]
        grounded = any(
            _in_file(p.source, e.files)
            and any(_normalise(ph) in _normalise(p.text) for ph in e.phrases)
            for p in cited
            for e in q.expected
        )
        sentences = _answer_sentences(result.text) if result.found else []
        rows.append(
            {
                "id": q.id,
                "answerable": q.answerable,
                "found": result.found,
                "grounded": grounded,
                "confidence": result.confidence,
                "sentences": len(sentences),
                "unsupported": len(unsupported_sentences(result.text, cited))
                if result.found
                else 0,
                "method": result.method,
                "degraded": result.degraded,
            }
        )
    per_question = pl.DataFrame(rows)
    answerable = per_question.filter(pl.col("answerable"))
    unanswerable = per_question.filter(~pl.col("answerable"))
    answered = answerable.filter(pl.col("found"))
    n_sentences = int(per_question["sentences"].sum())
    unsupported = int(per_question["unsupported"].sum())
    n_grounded = int(answered["grounded"].sum())
    n_refused = int((~unanswerable["found"]).sum())
    metrics = pl.DataFrame(
        {
            "questions": [per_question.height],
            "answered": [answered.height / answerable.height if answerable.height else None],
            "grounded": [n_grounded / answered.height if answered.height else None],
            "refused": [n_refused / unanswerable.height if unanswerable.height else None],
            "faithful_sentences": [1 - unsupported / n_sentences if n_sentences else None],
            "method": [per_question["method"][0] if per_question.height else None],
        }
    )
    return metrics, per_question
