"""The understanding engine: an intent classifier and a slot tagger, trained together.

Intents: TF-IDF of word uni- and bigrams and of character 2–5-grams (within
word boundaries, so misspellings and unseen inflections still share
features) and, by default, the all-MiniLM-L6-v2 sentence embedding (so new
phrasings land near known ones; :mod:`.sentence_features`), into a
multinomial logistic regression whose probabilities are the confidence.
Slots: a linear-chain CRF (CRFsuite, L-BFGS with L1 and L2 penalties) over
BIO tags, with the features of
:mod:`drivetrain.cockpit.nlu.features`; the intent is one of them (the gold
intent in training, the predicted one when parsing). Slots the training data
never showed with the predicted intent are dropped.

One ``parse`` takes about 17 ms (p50, one thread of the 2-core reference
machine in ``docs/cockpit_nlu.md``): the embedding about 15 ms of it, the
TF-IDF classifier about 4 ms and the tagger under 1 ms. There is no network
and no GPU anywhere. A parse whose confidence is under
``confidence_threshold`` or whose two best intents are closer than
``margin_threshold`` is flagged ``needs_clarification``.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pycrfsuite
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from drivetrain.cockpit.nlu.features import Gazetteer, GazetteerKey, token_features
from drivetrain.cockpit.nlu.generator import lexicon
from drivetrain.cockpit.nlu.language import LanguagePack, language_pack
from drivetrain.cockpit.nlu.models import IntentScore, Parse, Slot, Utterance
from drivetrain.cockpit.nlu.sentence_features import SentenceEmbeddingFeatures
from drivetrain.cockpit.nlu.tokens import Token, bio_to_slots, slots_to_bio, tokenize
from drivetrain.errors import InputError

_ALTERNATIVES = 3


@dataclass(frozen=True, slots=True)
class TrainingOptions:
    """Knobs of :func:`train`; the defaults are the ones the benchmark measures."""

    intent_c: float = 10.0
    use_sentence_embeddings: bool = True
    sentence_weight: float = 3.0
    crf_c1: float = 0.05
    crf_c2: float = 0.01
    crf_iterations: int = 80
    use_lexicon: bool = True
    gazetteer_from_training: bool = True
    restrict_slots_to_intent: bool = True
    confidence_threshold: float = 0.5
    margin_threshold: float = 0.15


@dataclass
class NluModel:
    """A trained engine: parse texts, save it with :func:`save_model`."""

    language: str
    intents: list[str]
    intent_pipeline: Pipeline
    crf_model: bytes
    gazetteer: Gazetteer
    slots_by_intent: dict[str, frozenset[str]]
    options: TrainingOptions
    trained_on: int
    training_seconds: float
    _tagger: Any = field(default=None, init=False, repr=False, compare=False)
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def __getstate__(self) -> dict[str, Any]:
        # A CRFsuite handle and a lock do not pickle: the handle reopens from the bytes.
        state = dict(self.__dict__)
        state.pop("_tagger", None)
        state.pop("_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._tagger = None
        self._lock = threading.Lock()

    @property
    def pack(self) -> LanguagePack:
        return language_pack(self.language)

    def parse(self, text: str) -> Parse:
        """The intent, its confidence and alternatives, and the slots of ``text``."""
        probabilities = self.intent_pipeline.predict_proba([text])[0]
        order = np.argsort(-probabilities)
        classes = self.intent_pipeline.classes_
        ranked = tuple(
            IntentScore(str(classes[i]), float(probabilities[i])) for i in order[:_ALTERNATIVES]
        )
        best = ranked[0]
        margin = best.probability - (ranked[1].probability if len(ranked) > 1 else 0.0)
        slots = self._tag(text, best.intent)
        unclear = (
            best.probability < self.options.confidence_threshold
            or margin < self.options.margin_threshold
        )
        return Parse(text, best.intent, best.probability, slots, ranked, margin, unclear)

    def _tag(self, text: str, intent: str) -> tuple[Slot, ...]:
        tokens = tokenize(text, self.pack.token_pattern)
        if not tokens:
            return ()
        if self.options.restrict_slots_to_intent and not self.slots_by_intent.get(intent):
            return ()
        features = token_features(tokens, intent, self.gazetteer, self.pack.number_words)
        with self._lock:  # a CRFsuite tagger is not safe to share between threads
            tags = self._crf().tag(features)
        slots = bio_to_slots(text, tokens, tags)
        if self.options.restrict_slots_to_intent:
            allowed = self.slots_by_intent.get(intent, frozenset())
            slots = tuple(s for s in slots if s.name in allowed)
        return slots

    def _crf(self) -> Any:
        if self._tagger is None:
            tagger = pycrfsuite.Tagger()
            tagger.open_inmemory(self.crf_model)
            self._tagger = tagger
        return self._tagger


def train(
    utterances: Sequence[Utterance],
    *,
    language: str = "en",
    options: TrainingOptions | None = None,
) -> NluModel:
    """Fit the intent classifier and the slot tagger on labelled utterances."""
    options = options or TrainingOptions()
    pack = language_pack(language)
    intents = sorted({u.intent for u in utterances})
    if len(intents) < 2:
        raise InputError(
            f"training needs utterances of at least two intents, got {intents}",
            hint="pass the generated training split or a benchmark's train files",
        )
    started = time.perf_counter()
    pipeline = _intent_pipeline(options)
    pipeline.fit([u.text for u in utterances], [u.intent for u in utterances])

    tokenized = [tokenize(u.text, pack.token_pattern) for u in utterances]
    gazetteer = Gazetteer()
    if options.use_lexicon:
        gazetteer.add_lexicon(
            {
                name: [[t.text for t in tokenize(v, pack.token_pattern)] for v in values]
                for name, values in lexicon(language).items()
            }
        )
    own_values = [_values(u, tokens) for u, tokens in zip(utterances, tokenized, strict=True)]
    if options.gazetteer_from_training:
        for values in own_values:
            for name, words in values:
                gazetteer.add(name, words)
    crf_model = _train_crf(pack, utterances, tokenized, gazetteer, own_values, options)
    slots_by_intent: dict[str, set[str]] = {intent: set() for intent in intents}
    for u in utterances:
        slots_by_intent[u.intent].update(s.name for s in u.slots)
    return NluModel(
        language=language,
        intents=intents,
        intent_pipeline=pipeline,
        crf_model=crf_model,
        gazetteer=gazetteer,
        slots_by_intent={k: frozenset(v) for k, v in slots_by_intent.items()},
        options=options,
        trained_on=len(utterances),
        training_seconds=time.perf_counter() - started,
    )


def _intent_pipeline(options: TrainingOptions) -> Pipeline:
    parts: list[tuple[str, Any]] = [
        ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
    ]
    if options.use_sentence_embeddings:
        parts.append(("sentences", SentenceEmbeddingFeatures(options.sentence_weight)))
    features = FeatureUnion(parts)
    classifier = LogisticRegression(C=options.intent_c, max_iter=2000)
    return Pipeline([("features", features), ("classifier", classifier)])


def _values(utterance: Utterance, tokens: Sequence[Token]) -> frozenset[GazetteerKey]:
    """The utterance's own slot values as gazetteer keys."""
    out = set()
    for slot in utterance.slots:
        words = tuple(t.text.lower() for t in tokens if t.start < slot.end and t.end > slot.start)
        if words:
            out.add((slot.name, words))
    return frozenset(out)


def _train_crf(
    pack: LanguagePack,
    utterances: Sequence[Utterance],
    tokenized: Sequence[Sequence[Token]],
    gazetteer: Gazetteer,
    own_values: Sequence[frozenset[GazetteerKey]],
    options: TrainingOptions,
) -> bytes:
    trainer = pycrfsuite.Trainer(verbose=False)
    for utterance, tokens, own in zip(utterances, tokenized, own_values, strict=True):
        if not tokens:
            continue
        leave_out = own if options.gazetteer_from_training else frozenset()
        features = token_features(tokens, utterance.intent, gazetteer, pack.number_words, leave_out)
        trainer.append(features, slots_to_bio(tokens, utterance.slots))
    trainer.set_params(
        {
            "c1": options.crf_c1,
            "c2": options.crf_c2,
            "max_iterations": options.crf_iterations,
            "feature.possible_transitions": True,
        }
    )
    with tempfile.TemporaryDirectory(prefix="drivetrain-crf-") as folder:
        path = Path(folder) / "slots.crfsuite"
        trainer.train(str(path))
        return path.read_bytes()
