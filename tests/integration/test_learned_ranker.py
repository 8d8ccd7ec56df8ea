"""The committed learned ranker with the real model: it loads, ranks and quotes, and its
confidence declines a question the articles do not touch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config import Settings
from index.encode.embedder import Embedder
from index.engine import Engine
from index.query import learned

pytestmark = pytest.mark.integration

ARTICLES = [
    {
        "id": "harbour",
        "title": "Harbour gets a breakwater",
        "date": "2024-03-05",
        "text": (
            "The harbour authority approved a new breakwater on Tuesday. "
            "Engineers said construction would start in the spring of 2025. "
            "The project is funded by a regional grant of 4 million euros. "
            "Fishermen welcomed the decision after years of storm damage. "
            "The council's vote was unanimous."
        ),
    },
    {
        "id": "library",
        "title": "Library reopens",
        "text": (
            "The city library reopened after a two-year renovation. "
            "Architect Maria Lindqvist designed the new reading room. "
            "Visitors can borrow e-readers from the front desk."
        ),
    },
]


@pytest.fixture
def engine(tmp_path: Path, embedder: Embedder) -> Engine:
    source = tmp_path / "articles.jsonl"
    source.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "data", sources=(str(source),), ranker="learned")
    engine = Engine(settings, embedder)
    engine.rebuild()
    return engine


def test_the_committed_model_is_there_and_reads() -> None:
    model = learned.load()
    assert model.depth >= 1


@pytest.mark.parametrize(
    ("question", "article", "quote"),
    [
        (
            "How much money funds the breakwater?",
            "harbour",
            "The project is funded by a regional grant of 4 million euros.",
        ),
        (
            "Who designed the reading room?",
            "library",
            "Architect Maria Lindqvist designed the new reading room.",
        ),
        (
            "When will construction of the breakwater start?",
            "harbour",
            "Engineers said construction would start in the spring of 2025.",
        ),
    ],
)
def test_the_learned_ranker_finds_and_quotes_the_answer(
    engine: Engine, question: str, article: str, quote: str
) -> None:
    # The ranking and the quote, whatever the confidence says about a two-article index.
    result = engine.searcher().search(question, 3, apply_threshold=False)
    first = result.hits[0]
    assert first.article.id == article
    assert first.quote == quote
    assert first.confidence == result.best_score
    assert all(h.confidence is not None and 0 <= h.confidence <= 1 for h in result.hits)


def test_a_question_the_articles_do_not_touch_is_declined(engine: Engine) -> None:
    result = engine.ask("Which team won the football world cup final in extra time?")
    assert not result.matched
    assert result.best_score is not None and result.best_score < engine.settings.min_score
    answered = engine.ask("How much money funds the breakwater?")
    assert answered.best_score is not None and answered.best_score > result.best_score
