"""The sentence-transformers model, shared by the query and update sides of one process and
loaded (torch and all) only when one of them needs it."""

from __future__ import annotations

import threading

from index.encode.embedder import Embedder


class EmbedderSlot:
    def __init__(self, model: str, given: Embedder | None = None) -> None:
        """`given` (tests, benches) is used for builds and questions alike."""
        self.model = model
        self.given = given is not None
        self._embedder = given
        self._lock = threading.Lock()

    def get(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                self._embedder = Embedder(self.model)
            return self._embedder
