"""Wrappers around a test embedder that observe or hold the encoding a build does."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from index.build import EncodesText


class WrappedEmbedder:
    """Delegates to `inner`; subclasses hook `before_encode` to watch or pause a build."""

    def __init__(self, inner: EncodesText) -> None:
        self.inner = inner
        self.name = inner.name
        self.dimension = inner.dimension

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def before_encode(self, texts: Sequence[str]) -> None:
        """Called with every batch of texts the build asks to encode."""

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        self.before_encode(texts)
        return self.inner.encode(texts, batch_size, progress)
