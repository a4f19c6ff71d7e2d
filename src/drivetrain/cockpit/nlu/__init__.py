"""Understanding in-car requests: intents and slots, offline on the CPU.

:meth:`NluModel.parse` turns "set the passenger side to twenty one degrees"
into the intent ``set_temperature`` with its confidence, alternatives and
slots (``zone``, ``temperature``), and says when the caller should ask back
instead of acting (``Parse.needs_clarification``). The slot names are the
ones :mod:`drivetrain.cockpit.actions` and :mod:`drivetrain.cockpit.requests`
read; the values are the words as said (the resolvers turn them into
numbers and zones with :mod:`drivetrain.cockpit.slots`).

    model = default_model(settings.data_dir)   # trained on first use (~1 min), then cached
    model.parse("take me to the airport")

The engine learns from a generated, documented training set
(:mod:`.generator`) and is scored on a held-out split with other templates
and other values (:func:`evaluate`); ``benchmarks/bench_nlu.py`` also trains
and scores it on the public SNIPS benchmark (``docs/cockpit_nlu.md`` has the
figures). English only for now; the language-specific pieces live in a
language pack (:mod:`.language`).
"""

from drivetrain.cockpit.nlu.artefact import default_model, load_model, save_model
from drivetrain.cockpit.nlu.engine import NluModel, TrainingOptions, train
from drivetrain.cockpit.nlu.evaluation import evaluate, slot_scores
from drivetrain.cockpit.nlu.generator import (
    GeneratedSets,
    generate_sets,
    generate_utterances,
    intents,
    lexicon,
)
from drivetrain.cockpit.nlu.language import LanguagePack, language_codes, language_pack
from drivetrain.cockpit.nlu.models import (
    NONE_INTENT,
    IntentScore,
    NluReport,
    Parse,
    Slot,
    SlotScore,
    Utterance,
)
from drivetrain.cockpit.nlu.snips import load_snips
from drivetrain.cockpit.nlu.tokens import Token, bio_spans, bio_to_slots, slots_to_bio, tokenize

__all__ = [
    "NONE_INTENT",
    "GeneratedSets",
    "IntentScore",
    "LanguagePack",
    "NluModel",
    "NluReport",
    "Parse",
    "Slot",
    "SlotScore",
    "Token",
    "TrainingOptions",
    "Utterance",
    "bio_spans",
    "bio_to_slots",
    "default_model",
    "evaluate",
    "generate_sets",
    "generate_utterances",
    "intents",
    "language_codes",
    "language_pack",
    "lexicon",
    "load_model",
    "load_snips",
    "save_model",
    "slot_scores",
    "slots_to_bio",
    "tokenize",
    "train",
]
