"""Scoring a model on labelled utterances: intent accuracy, slot F1, confusion, latency.

Slots are compared CoNLL style, on tokens: gold and predicted slots both
become BIO tags over the same tokens (:func:`slots_to_bio`), and a predicted
span counts as correct only if its name, first token and last token equal a
gold span's (micro-averaged over all spans, as ``conlleval`` and ``seqeval``
do). Slots are scored whatever the predicted intent, so one wrong intent does
not hide its slots' score.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence

import numpy as np

from drivetrain.cockpit.nlu.engine import NluModel
from drivetrain.cockpit.nlu.models import NluReport, Parse, SlotScore, Utterance
from drivetrain.cockpit.nlu.tokens import bio_spans, slots_to_bio, tokenize
from drivetrain.errors import InputError


def slot_scores(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
) -> tuple[SlotScore, dict[str, SlotScore]]:
    """Exact-span counts over BIO tag sequences: all slots, and per slot name."""
    if len(gold) != len(predicted):
        raise InputError(f"{len(gold)} gold tag sequences but {len(predicted)} predicted")
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for gold_tags, predicted_tags in zip(gold, predicted, strict=True):
        if len(gold_tags) != len(predicted_tags):
            raise InputError("a gold and a predicted tag sequence differ in length")
        gold_spans = set(bio_spans(gold_tags))
        predicted_spans = set(bio_spans(predicted_tags))
        for name, _, _ in gold_spans & predicted_spans:
            tp[name] += 1
        for name, _, _ in predicted_spans - gold_spans:
            fp[name] += 1
        for name, _, _ in gold_spans - predicted_spans:
            fn[name] += 1
    names = sorted(set(tp) | set(fp) | set(fn))
    by_name = {n: SlotScore(tp[n], fp[n], fn[n]) for n in names}
    overall = SlotScore(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return overall, by_name


def evaluate(
    model: NluModel, utterances: Sequence[Utterance], *, keep_errors: int = 50
) -> NluReport:
    """Parse every utterance with ``model`` and score the parses against the labels.

    ``keep_errors`` wrong parses (intent or slots) are kept in the report for
    a person to read.
    """
    if not utterances:
        raise InputError("nothing to evaluate: the list of utterances is empty")
    pattern = model.pack.token_pattern
    confusion: dict[str, Counter[str]] = {}
    gold_tags: list[list[str]] = []
    predicted_tags: list[list[str]] = []
    latencies: list[float] = []
    errors: list[tuple[Utterance, Parse]] = []
    correct_intents = exact = 0
    for utterance in utterances:
        started = time.perf_counter()
        parse = model.parse(utterance.text)
        latencies.append((time.perf_counter() - started) * 1000.0)
        tokens = tokenize(utterance.text, pattern)
        gold = slots_to_bio(tokens, utterance.slots)
        predicted = slots_to_bio(tokens, parse.slots)
        gold_tags.append(gold)
        predicted_tags.append(predicted)
        confusion.setdefault(utterance.intent, Counter())[parse.intent] += 1
        intent_ok = parse.intent == utterance.intent
        correct_intents += intent_ok
        if intent_ok and gold == predicted:
            exact += 1
        elif len(errors) < keep_errors:
            errors.append((utterance, parse))
    overall, by_name = slot_scores(gold_tags, predicted_tags)
    p50, p95 = np.percentile(np.asarray(latencies), [50, 95])
    return NluReport(
        utterances=len(utterances),
        intent_accuracy=correct_intents / len(utterances),
        slots=overall,
        slots_by_name=by_name,
        confusion={gold: dict(row) for gold, row in sorted(confusion.items())},
        exact_match=exact / len(utterances),
        latency_ms_p50=float(p50),
        latency_ms_p95=float(p95),
        errors=errors,
    )
