"""The answer pipeline with a real engine (hash embedder): what `/ask`, mentions, follow-ups,
posted answers and the More button send. The embed, the stored answer and the buttons must
agree: a button's custom id names the answer the engine remembered, on the page shown."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest

from bot.discord_app.answers import AnswerMessage, AnswerOrigin, AnswerPipeline
from bot.discord_app.render import IndexFacts, answer_embed
from config import Settings, load_settings
from index.engine import Engine
from index.errors import InputError
from index.models import Article, ParsedArticle, SearchFilters
from tests.unit.conftest import HashEmbedder

HARBOUR = (
    "The harbour reopened on Tuesday after a week of repairs. Fishermen said the new harbour "
    "wall held during the spring tides. The harbour master praised the masons."
)
QUESTION = "harbour wall repairs"
SCOPE = "guild:1"
COLLECTIONS = frozenset({"shared"})


def _articles(notes: int) -> list[ParsedArticle]:
    out = [ParsedArticle(Article(id="harbour", title="Harbour reopens", text=HARBOUR), (), "t")]
    for n in range(notes):
        text = f"Harbour note {n}: the harbour wall repairs cost {n} million."
        out.append(ParsedArticle(Article(id=f"note{n}", title=f"Note {n}", text=text), (), "t"))
    return out


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "min_score": 0.0,
        "top_k": 2,
        "followup_confidence": 1.0,
        "passage_sentences": 1,
        "passage_overlap": 0,
    }
    return load_settings(environ={}, env_file=None, **(values | overrides))


@pytest.fixture
def engine(tmp_path: Path, hash_embedder: HashEmbedder) -> Engine:
    engine = Engine(_settings(tmp_path), embedder=hash_embedder)
    engine.build_from(_articles(notes=6))
    return engine


def _origin(private: bool = False, filters: SearchFilters | None = None) -> AnswerOrigin:
    return AnswerOrigin(SCOPE, 7, 2, COLLECTIONS, private=private, filters=filters)


def _buttons(view: discord.ui.View) -> list[tuple[str, bool]]:
    return [(c.custom_id or "", c.item.disabled) for c in view.children]  # type: ignore[attr-defined]


def _expected_buttons(
    answer_id: str, page: int, *, live: bool, more: bool
) -> list[tuple[str, bool]]:
    return [
        (f"ab:more:{answer_id}:{page}", not more),
        (f"ab:ctx:{answer_id}:{page}", not live),
        (f"ab:up:{answer_id}:{page}", not live),
        (f"ab:down:{answer_id}:{page}", not live),
    ]


async def test_an_answer_is_rendered_remembered_and_given_its_buttons(engine: Engine) -> None:
    filters = SearchFilters(outlets=())
    reply = await AnswerPipeline(engine).ask(QUESTION, _origin(filters=filters))

    stored = engine.answer(reply.answer_id, SCOPE)
    result = engine.ask(QUESTION, 2, COLLECTIONS, scope=SCOPE, filters=filters)
    expected = answer_embed(result, IndexFacts.of(engine.status(), COLLECTIONS))
    assert reply.embed.to_dict() == expected.to_dict()
    assert (stored.question, stored.asker, stored.k, stored.private) == (QUESTION, "7", 2, False)
    assert stored.collections == ("shared",)
    assert [h.passage_id.split("#")[0] for h in stored.pages[0]] == [
        h.article.id for h in result.hits
    ]
    assert _buttons(reply.view) == _expected_buttons(reply.answer_id, 0, live=True, more=True)


async def test_a_private_answer_has_the_post_button_and_is_stored_private(
    engine: Engine,
) -> None:
    reply = await AnswerPipeline(engine).ask(QUESTION, _origin(private=True))

    assert engine.answer(reply.answer_id, SCOPE).private
    assert _buttons(reply.view)[-1] == (f"ab:post:{reply.answer_id}:0", False)


async def test_no_match_is_remembered_with_its_buttons_disabled(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    strict = Engine(_settings(tmp_path, min_score=0.99), embedder=hash_embedder)
    strict.build_from(_articles(notes=1))

    reply = await AnswerPipeline(strict).ask("zebra migration patterns", _origin())

    assert not reply.embed.fields and "No passage" in (reply.embed.description or "")
    assert _buttons(reply.view) == _expected_buttons(reply.answer_id, 0, live=False, more=False)
    assert [q.question for q in strict.feedback_report(SCOPE).no_match] == [
        "zebra migration patterns"
    ]


async def test_more_pages_until_the_last_then_refuses(engine: Engine) -> None:
    pipeline = AnswerPipeline(engine)
    first = await pipeline.ask(QUESTION, _origin())

    second = await pipeline.more(first.answer_id, 0, SCOPE)
    third = await pipeline.more(first.answer_id, 1, SCOPE)

    assert second.embed is not None and third.embed is not None
    assert (second.embed.footer.text or "").endswith("· page 2")
    assert (third.embed.footer.text or "").endswith("· page 3")
    assert _buttons(second.view) == _expected_buttons(first.answer_id, 1, live=True, more=True)
    assert _buttons(third.view) == _expected_buttons(first.answer_id, 2, live=True, more=False)
    shown = [f.name for page in (first.embed, second.embed, third.embed) for f in page.fields]
    assert len(set(shown)) == len(shown) == 6
    with pytest.raises(InputError):
        await pipeline.more(first.answer_id, 2, SCOPE)


async def test_more_with_nothing_beyond_keeps_the_page_without_more(
    tmp_path: Path, hash_embedder: HashEmbedder
) -> None:
    small = Engine(_settings(tmp_path), embedder=hash_embedder)
    # Three one-sentence passages: the first page of two leaves one, the second none.
    small.build_from(
        [ParsedArticle(Article(id="harbour", title="Harbour reopens", text=HARBOUR), (), "t")]
    )
    pipeline = AnswerPipeline(small)
    first = await pipeline.ask(QUESTION, _origin())
    second = await pipeline.more(first.answer_id, 0, SCOPE)
    assert second.embed is not None

    beyond = await pipeline.more(first.answer_id, 1, SCOPE)

    assert beyond.embed is None
    assert _buttons(beyond.view) == _expected_buttons(first.answer_id, 1, live=True, more=False)


async def test_a_follow_up_names_the_earlier_question(engine: Engine) -> None:
    pipeline = AnswerPipeline(engine)
    earlier = await pipeline.ask("When did the harbour reopen?", _origin())

    reply = await pipeline.followup("Who praised it?", earlier.answer_id, _origin())

    assert reply.embed.description == "Follow-up to “When did the harbour reopen?”"
    assert engine.answer(reply.answer_id, SCOPE).question == "Who praised it?"
    assert reply.answer_id != earlier.answer_id


async def test_a_follow_up_to_an_unknown_answer_is_answered_on_its_own(engine: Engine) -> None:
    reply: AnswerMessage = await AnswerPipeline(engine).followup(
        QUESTION, "no-such-answer", _origin()
    )

    assert reply.embed.description is None and reply.embed.fields
    assert engine.answer(reply.answer_id, SCOPE).question == QUESTION
