"""Watched questions with the real model and the real query encoder: an update bringing an
article that answers a watched question makes one post, judged like `/ask` judges it; an
article that answers nothing watched makes none."""

from __future__ import annotations

import pytest

from config import Settings
from index.engine import Engine, WatchPlace, WatchTarget, ensure_index
from index.models import Article, ParsedArticle

COLLECTION = "guild:7"
QUESTION = "When will the Eastgate ferry terminal open?"
UNRELATED = "How many goals did the Harwick under-twelves score in the final?"


def article(article_id: str, title: str, text: str) -> ParsedArticle:
    return ParsedArticle(
        Article(article_id, title, text, "2026-12-03", "Valley Courier", None, COLLECTION),
        (),
        f"test:{article_id}",
    )


FERRY = article(
    "ferry",
    "Eastgate ferry terminal to open in March",
    "The new Eastgate ferry terminal will open on 14 March, the port authority said on "
    "Tuesday. Ferries to the islands will leave from the terminal every hour, and the old pier "
    "will close for repairs.",
)
ORCHARD = article(
    "orchard",
    "Tansy Hill orchard wins the county prize",
    "The Tansy Hill orchard won the county prize for its russet apples. Its owner credits the "
    "cold spring and the bees that came early this year.",
)


@pytest.mark.usefixtures("shared_model")
def test_an_answering_article_is_posted_like_ask_answers_and_an_unrelated_one_is_not(
    settings: Settings,
) -> None:
    engine = Engine(settings)
    ensure_index(engine)
    engine.match_watches()
    place = WatchPlace(COLLECTION, "42", WatchTarget.DM)
    watched = engine.watches.add(QUESTION, place).watch
    engine.watches.add(UNRELATED, place)

    engine.add_articles(COLLECTION, [ORCHARD])
    engine.rebuild()
    nothing = engine.match_watches()
    engine.add_articles(COLLECTION, [FERRY])
    engine.rebuild()
    answered = engine.match_watches()

    assert (nothing.articles, nothing.posts) == (1, 0)
    assert (answered.articles, answered.posts) == (1, 1)
    (post,) = engine.watches.posts([WatchTarget.DM])
    assert post.watch.id == watched.id
    (hit,) = post.result.hits
    assert hit.article.id == f"{COLLECTION}/ferry"
    assert "14 March" in hit.quote
    asked = engine.ask(QUESTION, collections={"shared", COLLECTION})
    assert asked.matched
    top = asked.hits[0]
    assert (top.article.id, top.char_start, top.char_end) == (
        hit.article.id,
        hit.char_start,
        hit.char_end,
    )
    assert top.confidence == pytest.approx(hit.confidence, abs=1e-5)
