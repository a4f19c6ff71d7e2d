"""The in-car understanding engine on our held-out split and on SNIPS, beside published numbers.

    .venv/bin/python benchmarks/bench_nlu.py [--snips DIR] [--no-embeddings] [--threads N]

1. Trains on the generated training split and scores the held-out split
   (other templates, other slot values: see drivetrain.cockpit.nlu.generator).
2. Trains on SNIPS ``train_<Intent>_full.json`` (read in place from
   ../shared/data/snips, never copied) and scores ``validate_<Intent>.json``
   (700 utterances). The car lexicon is switched off for SNIPS, so the
   tagger knows only what the SNIPS training files teach it.

Prints intent accuracy, slot precision/recall/F1 (exact spans, CoNLL style),
exact-match rate (intent and every slot right), p50/p95 latency of one
``parse`` and training time, all with ``--threads`` BLAS/OpenMP/torch threads
(1 by default: a head unit's share of a CPU). The SNIPS lines sit beside
Snips NLU's own 2017 results on the same files (derived from the metrics
files that ship with the benchmark) and the published joint-BERT numbers
(Chen et al. 2019, on the related Goo et al. 2018 split).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import torch
from threadpoolctl import threadpool_limits

from drivetrain.cockpit.nlu import (
    NluReport,
    TrainingOptions,
    Utterance,
    evaluate,
    generate_sets,
    load_snips,
    train,
)
from drivetrain.cockpit.nlu.snips import SNIPS_INTENTS

SNIPS_DIR = Path(__file__).parents[1].parent / "shared/data/snips/2017-06-custom-intent-engines"
# (system, intent accuracy, slot F1, sentence accuracy) on SNIPS, Goo et al. 2018 split.
PUBLISHED = [
    ("joint BERT (Chen et al. 2019)", "98.6 %", "97.0 %", "92.8 %"),
    ("joint BERT + CRF (Chen et al. 2019)", "98.4 %", "96.7 %", "92.6 %"),
    ("slot-gated BiLSTM (Goo et al. 2018)", "97.0 %", "88.8 %", "75.5 %"),
]


def _line(name: str, report: NluReport, seconds: float) -> str:
    return (
        f"{name:<30} n={report.utterances:>5}  intent {report.intent_accuracy:6.2%}  "
        f"slot P/R/F1 {report.slot_precision:6.2%} {report.slot_recall:6.2%} "
        f"{report.slot_f1:6.2%}  exact {report.exact_match:6.2%}  "
        f"p50 {report.latency_ms_p50:5.1f} ms  p95 {report.latency_ms_p95:5.1f} ms  "
        f"train {seconds:6.1f} s"
    )


def _run(
    name: str, train_set: list[Utterance], test_set: list[Utterance], options: TrainingOptions
) -> NluReport:
    started = time.perf_counter()
    model = train(train_set, options=options)
    seconds = time.perf_counter() - started
    model.parse("warm up")  # first call opens the tagger; not a cost of every request
    report = evaluate(model, test_set)
    gold_slots = sum(len(u.slots) for u in test_set)
    print(_line(name, report, seconds), flush=True)
    print(f"  trained on {len(train_set)} utterances; {gold_slots} gold slots in the test set")
    weakest = sorted(report.slots_by_name.items(), key=lambda item: item[1].f1)[:6]
    print("  weakest slots:", ", ".join(f"{n} {s.f1:.0%}" for n, s in weakest))
    print("  most confused (gold, predicted, count):", report.intent_errors()[:8])
    return report


def _snips_2017(folder: Path) -> tuple[float, float]:
    """Snips NLU's 2017 result on the same files: (mean intent recall, micro slot F1).

    Its metrics files give precision and recall per slot with the slot's count;
    the counts of true and false positives are recovered from them.
    """
    tp = fp = fn = 0.0
    recalls = []
    for intent in SNIPS_INTENTS:
        metrics = json.loads((folder / intent / "Snips_metrics_full.json").read_text())
        result = metrics["intents"][intent]
        size = next(iter(result["recall"]))
        recalls.append(result["recall"][size][0])
        for slot in result["slots"].values():
            hits = slot["recall"][size][0] * slot["rate"]
            precision = slot["precision"][size][0]
            tp += hits
            fn += slot["rate"] - hits
            fp += hits / precision - hits if precision else 0.0
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    return sum(recalls) / len(recalls), 2 * precision * recall / (precision + recall)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--snips", type=Path, default=SNIPS_DIR)
    parser.add_argument("--no-embeddings", action="store_true", help="TF-IDF intents only")
    parser.add_argument("--threads", type=int, default=1, help="BLAS/OpenMP/torch threads")
    args = parser.parse_args()
    options = TrainingOptions(use_sentence_embeddings=not args.no_embeddings)
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {args.threads} thread(s), Python {platform.python_version()}"
    )
    print(f"options: {options}")
    torch.set_num_threads(args.threads)
    with threadpool_limits(limits=args.threads):
        sets = generate_sets()
        _run("drivetrain held-out split", sets.train, sets.eval, options)
        if not args.snips.is_dir():
            print(f"SNIPS not found at {args.snips}; skipped")
            return 0
        _run(
            "SNIPS train_full -> validate",
            load_snips(args.snips, "train_full"),
            load_snips(args.snips, "validate"),
            replace(options, use_lexicon=False),
        )
    intent_recall, slot_f1 = _snips_2017(args.snips)
    print("on SNIPS (intent accuracy, slot F1, sentence accuracy):")
    print(
        f"  {'Snips NLU 2017, same files, one model per intent':<50} "
        f"{intent_recall:7.1%} {slot_f1:7.1%}        -"
    )
    for name, accuracy, f1, sentence in PUBLISHED:
        print(f"  {name:<50} {accuracy:>7} {f1:>7} {sentence:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
