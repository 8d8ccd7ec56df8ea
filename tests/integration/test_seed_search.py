"""Questions over the seed collection with the real model: quotes, no-match, broken indexes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from config import Settings
from index.encode.embedder import Embedder
from index.engine import Engine, tuning_from
from index.errors import IndexMismatchError
from index.query.searcher import Searcher
from index.store.layout import DataDir

pytestmark = pytest.mark.integration

KIRBY_QUESTION = "Who said the targets were chosen because the facilities were used by militants?"
SEED_TITLE = "The United States is attacking Iranian-backed militants along the Iraq-Syria border"


@pytest.fixture
def engine(settings: Settings, embedder: Embedder) -> Engine:
    engine = Engine(settings, embedder)
    report = engine.rebuild()
    assert (report.articles, report.problems) == (1, [])
    return engine


def test_kirby_question_is_answered_with_his_quote(engine: Engine, seeds: Path) -> None:
    result = engine.ask(KIRBY_QUESTION)
    assert result.matched
    first = result.hits[0]
    assert first.quote.startswith("“Targets were chosen because these facilities")
    assert first.quote.endswith("he said.")
    assert first.article.title == SEED_TITLE
    assert first.article.date == "2024-07-21"
    assert first.article.id == "000_a635d8d7d57b0b11.txt"

    # Offsets index the article's text, which for a .txt is the file as it is on disk.
    text = (seeds / "000_a635d8d7d57b0b11.txt").read_text(encoding="utf-8")
    assert text[first.char_start : first.char_end] == first.text
    assert first.char_start <= first.quote_start < first.quote_end <= first.char_end
    assert text[first.quote_start : first.quote_end] == first.quote
    for hit in result.hits:
        assert text[hit.char_start : hit.char_end] == hit.text
        assert "Leave a Reply" not in hit.text


def test_a_question_the_articles_do_not_answer(engine: Engine) -> None:
    result = engine.ask("What is the best recipe for banana bread?")
    assert not result.matched
    assert result.hits == ()
    assert [ref.title for ref in result.nearest] == [SEED_TITLE]
    assert result.best_score < engine.settings.min_score


def test_a_crash_mid_build_leaves_the_previous_index_usable(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Embedder
) -> None:
    live = DataDir(engine.data_dir).current()
    extra = tmp_path / "extra.txt"
    extra.write_text(
        "Harbour reopens\n\nThe harbour reopened on Tuesday after a week of repairs.\n",
        encoding="utf-8",
    )

    def power_cut(self: DataDir, build: Path) -> Path:
        raise OSError("simulated crash while publishing")

    monkeypatch.setattr(DataDir, "publish", power_cut)
    with pytest.raises(OSError, match="simulated crash"):
        Engine(engine.settings, embedder).rebuild([str(engine.settings.sources[0]), str(extra)])
    monkeypatch.undo()

    assert DataDir(engine.data_dir).current() == live
    searcher = Searcher.open(engine.data_dir, embedder, tuning_from(engine.settings))
    try:
        assert [a.id for a in searcher.articles] == ["000_a635d8d7d57b0b11.txt"]
        result = searcher.search(KIRBY_QUESTION)
        assert result.matched
        assert "Targets were chosen" in result.hits[0].quote
    finally:
        searcher.close()


class _OtherModel:
    """A real (tiny) embedder: constant unit vectors, under a name and size of our choosing."""

    def __init__(self, name: str, dimension: int) -> None:
        self.name = name
        self.dimension = dimension

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        vectors = np.ones((len(texts), self.dimension), dtype=np.float32)
        return vectors / np.sqrt(self.dimension)


def test_another_model_name_is_a_readable_mismatch(engine: Engine, embedder: Embedder) -> None:
    folder = DataDir(engine.data_dir).current()
    other = _OtherModel("sentence-transformers/all-mpnet-base-v2", embedder.dimension)
    with pytest.raises(IndexMismatchError) as caught:
        Searcher(folder, other, tuning_from(engine.settings))
    message = str(caught.value)
    assert caught.value.path == folder / "manifest.json"
    assert str(folder) in message
    assert "'bundled:all-MiniLM-L6-v2'" in message
    assert "'sentence-transformers/all-mpnet-base-v2'" in message
    assert f"articlebot index build --data-dir {engine.data_dir}" in message


def test_another_dimension_is_a_readable_mismatch(engine: Engine, embedder: Embedder) -> None:
    folder = DataDir(engine.data_dir).current()
    other = _OtherModel(embedder.name, 768)
    with pytest.raises(IndexMismatchError) as caught:
        Searcher.open(engine.data_dir, other, tuning_from(engine.settings))
    message = str(caught.value)
    assert caught.value.path == folder / "manifest.json"
    assert "384 dimensions" in message and "768" in message
    assert f"articlebot index build --data-dir {engine.data_dir}" in message


def test_a_mismatch_message_names_the_manifest_file(engine: Engine) -> None:
    folder = DataDir(engine.data_dir).current()
    with pytest.raises(IndexMismatchError) as caught:
        Searcher(folder, _OtherModel("another-model", 384), tuning_from(engine.settings))
    assert str(folder / "manifest.json") in str(caught.value)
