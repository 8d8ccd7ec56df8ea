"""An engine that answers keeps FAISS to one thread: a one-question search split over a
thread pool spins against the other processes of a busy machine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import faiss
import pytest

from config import load_settings
from index.engine import Engine
from index.models import Article, ParsedArticle
from tests.unit.conftest import HashEmbedder


@pytest.fixture
def two_threads() -> Iterator[None]:
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(2)
    yield
    faiss.omp_set_num_threads(before)


@pytest.mark.usefixtures("two_threads")
def test_answering_sets_faiss_to_one_thread(tmp_path: Path, hash_embedder: HashEmbedder) -> None:
    assert faiss.omp_get_max_threads() == 2
    settings = load_settings(environ={}, env_file=None, data_dir=tmp_path / "data")
    engine = Engine(settings, embedder=hash_embedder)
    text = "The harbour reopened on Tuesday after a week of repairs."
    engine.build_from([ParsedArticle(Article(id="h", title="Harbour", text=text), (), "t")])
    result = engine.ask("When did the harbour reopen?")
    assert result.hits or result.nearest
    assert faiss.omp_get_max_threads() == 1
