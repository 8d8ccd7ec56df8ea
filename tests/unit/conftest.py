"""Fixtures of the unit layer: no model is loaded here, ever."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from index.build import build_index
from index.models import Article, BuildReport, ParsedArticle
from index.text.passages import PassagePlan, approximate_tokens


class HashEmbedder:
    """A deterministic stand-in for the sentence-transformers model: bag of hashed words.

    It implements the embedder interface for real (unit vectors, token counts), so the
    indexer, store, vector index and searcher all run unchanged; texts sharing words get
    similar vectors, which is enough to check wiring without a 90 MB model.
    """

    def __init__(self, name: str = "hash-test-model", dimension: int = 64) -> None:
        self.name = name
        self.dimension = dimension

    def count_tokens(self, text: str) -> int:
        return approximate_tokens(text)

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                bucket = int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension
                out[i, bucket] += 1.0
            norm = float(np.linalg.norm(out[i]))
            out[i] = out[i] / norm if norm else 1.0 / np.sqrt(self.dimension)
        if progress is not None:
            progress(len(texts))
        return out


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder()


def _article(article_id: str, text: str, title: str) -> ParsedArticle:
    return ParsedArticle(Article(id=article_id, title=title, text=text), (), "test")


@pytest.fixture
def sample_articles() -> list[ParsedArticle]:
    return [
        _article(
            "harbour",
            "The harbour reopened on Tuesday after a week of repairs. Fishermen said the new "
            "wall held during the spring tides. The port authority expects traffic to double.",
            "Harbour reopens",
        ),
        _article(
            "library",
            "The city library will open until nine on weekdays. The change follows a petition "
            "signed by two thousand residents. Staff will be hired for the evening shifts.",
            "Library hours",
        ),
    ]


@pytest.fixture
def built_index(
    tmp_path: Path, hash_embedder: HashEmbedder, sample_articles: list[ParsedArticle]
) -> tuple[Path, BuildReport]:
    """A small index generation built with the hash embedder; returns (data_dir, report)."""
    data_dir = tmp_path / "data"
    report = build_index(data_dir, sample_articles, hash_embedder, PassagePlan(max_sentences=2))
    return data_dir, report


@pytest.fixture
def hash_model(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every `Engine` the CLI creates gets the hash embedder, for builds and questions alike
    (no ONNX query model: the hash embedder has nothing to export)."""

    def load(model: str = "", device: str = "cpu") -> HashEmbedder:
        return HashEmbedder()

    monkeypatch.setattr("index.encode.slot.Embedder", load)
    monkeypatch.setenv("ARTICLEBOT_ONNX_QUERIES", "false")
