"""The engine's conversation features with the hash embedder: answers remembered for buttons
(across a new Engine, as after a restart), paging, context, votes and the demotion rule,
the feedback report, follow-ups, and the `articlebot feedback` command."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot.cli import main
from config import Settings, load_settings
from index.engine import MAX_PAGES, Engine
from index.errors import InputError, UnknownAnswerError
from index.models import Article, ParsedArticle, PreviousTurn, SearchFilters
from tests.unit.conftest import HashEmbedder

HARBOUR = (
    "The harbour reopened on Tuesday after a week of repairs.\n"
    "Fishermen said the new harbour wall held during the spring tides. The harbour master "
    "praised the masons. The port authority expects harbour traffic to double.\n"
    "A festival on the harbour quay marked the reopening."
)


def _articles() -> list[ParsedArticle]:
    out = [ParsedArticle(Article(id="harbour", title="Harbour reopens", text=HARBOUR), (), "t")]
    for n in range(6):
        text = (
            f"Harbour note {n}: the harbour wall repairs cost {n} million. "
            f"Harbour crews worked {n} nights. Traffic in the harbour will grow."
        )
        out.append(ParsedArticle(Article(id=f"note{n}", title=f"Note {n}", text=text), (), "t"))
    out.append(
        ParsedArticle(
            Article(
                id="library",
                title="Library hours",
                text="The city library will open until nine on weekdays. A petition asked for it.",
            ),
            (),
            "t",
        )
    )
    return out


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        environ={},
        env_file=None,
        data_dir=tmp_path / "data",
        min_score=0.0,
        top_k=2,
        downvotes_to_demote=2,
        # The hash embedder's confidences mean little: every follow-up with a pronoun counts.
        followup_confidence=1.0,
        passage_sentences=1,
        passage_overlap=0,
    )


@pytest.fixture
def engine(settings: Settings, hash_embedder: HashEmbedder) -> Engine:
    engine = Engine(settings, embedder=hash_embedder)
    engine.build_from(_articles())
    return engine


QUESTION = "harbour wall repairs"


def test_an_answer_survives_a_new_engine_and_pages_until_the_last(
    engine: Engine, settings: Settings, hash_embedder: HashEmbedder
) -> None:
    result = engine.ask(QUESTION, 2, scope="guild:1")
    answer_id = engine.remember_answer(result, scope="guild:1", asker="7", k=2)

    restarted = Engine(settings, embedder=hash_embedder)
    pages = [restarted.more(answer_id, page, scope="guild:1") for page in range(1, MAX_PAGES)]

    shown = [(h.article.id, h.char_start) for h in result.hits] + [
        (h.article.id, h.char_start) for p in pages for h in p.result.hits
    ]
    assert len(set(shown)) == len(shown)
    assert all(len(p.result.hits) == 2 for p in pages)
    assert [p.last for p in pages] == [False, True]
    assert len(restarted.answer(answer_id).pages) == MAX_PAGES
    with pytest.raises(InputError):
        restarted.more(answer_id, MAX_PAGES)


def test_more_pages_within_the_answers_own_filters(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    # The notes match the question best; the filter keeps to the outlet they are not from.
    times = SearchFilters(outlets=("Harbour Times",))
    engine = Engine(settings, embedder=hash_embedder)
    engine.build_from(
        [
            p
            if p.article.id.startswith("note")
            else ParsedArticle(replace(p.article, source="Harbour Times"), p.excluded, p.origin)
            for p in _articles()
        ]
    )
    result = engine.ask(QUESTION, 2, scope="guild:1", filters=times)
    answer_id = engine.remember_answer(result, scope="guild:1", asker="7", k=2, filters=times)

    restarted = Engine(settings, embedder=hash_embedder)
    assert restarted.answer(answer_id).filters == times
    page = restarted.more(answer_id, 1, scope="guild:1")
    assert page.result.hits
    assert {h.article.id for h in page.result.hits} <= {"harbour", "library"}


def test_an_answer_of_another_scope_or_unknown_is_unknown(engine: Engine) -> None:
    answer_id = engine.remember_answer(engine.ask(QUESTION), scope="guild:1", asker="7", k=2)
    with pytest.raises(UnknownAnswerError):
        engine.more(answer_id, 1, scope="guild:2")
    with pytest.raises(UnknownAnswerError):
        engine.context(answer_id, scope="guild:2")
    with pytest.raises(UnknownAnswerError):
        engine.vote("guild:2", answer_id, "x", "7", -1)
    with pytest.raises(UnknownAnswerError):
        engine.answer("no-such-answer")


def test_context_is_the_paragraph_around_the_quote(engine: Engine) -> None:
    result = engine.ask("harbour master praised masons", 1)
    answer_id = engine.remember_answer(result, scope="guild:1", asker="7", k=1)

    context = engine.context(answer_id, scope="guild:1")

    assert result.hits[0].article.id == "harbour"
    assert context.quote == "The harbour master praised the masons."
    assert context.paragraph == HARBOUR.splitlines()[1]
    assert HARBOUR[context.paragraph_start :].startswith(context.paragraph)
    assert context.before.startswith("Fishermen") and context.after.endswith("double.")


def test_a_second_vote_replaces_the_first_and_the_rule_demotes_in_that_scope_only(
    engine: Engine,
) -> None:
    top = engine.ask(QUESTION, 2, scope="guild:1").hits[0]
    passage = f"{top.article.id}#{top.char_start}-{top.char_end}"
    answers = [
        engine.remember_answer(engine.ask(QUESTION, 2), scope="guild:1", asker=m, k=2)
        for m in ("a", "b")
    ]

    first = engine.vote("guild:1", answers[0], passage, "a", -1)
    again = engine.vote("guild:1", answers[0], passage, "a", 1)
    assert (first.previous, first.downvoters, again.previous, again.downvoters) == (None, 1, -1, 0)
    engine.vote("guild:1", answers[0], passage, "a", -1)
    assert not engine.feedback_report("guild:1").passages[0].demoted
    outcome = engine.vote("guild:1", answers[1], passage, "b", -1)

    assert outcome.demoted and outcome.downvoters == 2
    here = engine.ask(QUESTION, 2, scope="guild:1").hits
    elsewhere = engine.ask(QUESTION, 2, scope="guild:2").hits
    assert (here[0].article.id, here[0].char_start) != (top.article.id, top.char_start)
    assert (elsewhere[0].article.id, elsewhere[0].char_start) == (top.article.id, top.char_start)
    report = engine.feedback_report("guild:1")
    assert [(p.passage_id, p.down, p.up, p.demoted) for p in report.passages] == [
        (passage, 2, 0, True)
    ]
    assert engine.clear_votes("guild:1", passage) == 2
    assert engine.ask(QUESTION, 2, scope="guild:1").hits[0].char_start == top.char_start
    with pytest.raises(InputError):
        engine.clear_votes("guild:1", passage)


def test_upvotes_never_change_the_ranking(engine: Engine) -> None:
    before = engine.ask(QUESTION, 3, scope="guild:1")
    last = before.hits[-1]
    passage = f"{last.article.id}#{last.char_start}-{last.char_end}"
    for member in "abcdef":
        answer_id = engine.remember_answer(before, scope="guild:1", asker=member, k=3)
        engine.vote("guild:1", answer_id, passage, member, 1)
    after = engine.ask(QUESTION, 3, scope="guild:1")
    assert [h.char_start for h in after.hits] == [h.char_start for h in before.hits]


def test_no_match_questions_are_logged_per_scope(
    settings: Settings, hash_embedder: HashEmbedder
) -> None:
    strict = Engine(settings.__class__(**{**_fields(settings), "min_score": 0.99}), hash_embedder)
    strict.build_from(_articles())
    result = strict.ask("zebra migration patterns")
    assert not result.matched
    strict.remember_answer(result, scope="guild:1", asker="7", k=2)
    assert [q.question for q in strict.feedback_report("guild:1").no_match] == [
        "zebra migration patterns"
    ]
    assert strict.feedback_report("guild:2").no_match == ()


def _fields(settings: Settings) -> dict[str, object]:
    return {f: getattr(settings, f) for f in settings.__dataclass_fields__}


def test_a_follow_up_with_a_pronoun_uses_the_earlier_question(engine: Engine) -> None:
    previous = PreviousTurn("When will the city library open until nine?", ("library",))
    followup = engine.ask_followup("Who asked for it?", previous, 1)

    assert followup.with_context
    assert "library" in followup.searched
    assert followup.result.question == "Who asked for it?"
    assert followup.result.hits[0].article.id == "library"


def test_a_follow_up_about_something_new_is_answered_on_its_own_terms(engine: Engine) -> None:
    answer_id = engine.remember_answer(engine.ask("library hours"), scope="guild:1", asker="7", k=2)
    followup = engine.ask_followup("harbour wall repairs", answer_id, 1, scope="guild:1")
    assert not followup.with_context
    assert followup.searched == "harbour wall repairs"


def test_cli_feedback_report_json_and_clear(
    cli_env: Path,
    engine: Engine,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ARTICLEBOT_DOWNVOTES_TO_DEMOTE", "2")
    hit = engine.ask(QUESTION, 1).hits[0]
    passage = f"{hit.article.id}#{hit.char_start}-{hit.char_end}"
    answer_id = engine.remember_answer(engine.ask(QUESTION, 1), scope="guild:5", asker="a", k=1)
    engine.vote("guild:5", answer_id, passage, "a", -1)
    data_dir = str(settings.data_dir)

    assert main(["feedback", "--json", "--data-dir", data_dir]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["scope"] == "guild:5" and report["threshold"] == 2
    assert report["passages"][0]["passage_id"] == passage
    assert main(["feedback", "--scope", "guild:5", "--data-dir", data_dir]) == 0
    assert passage in capsys.readouterr().out
    assert main(["feedback", "--clear", passage, "--scope", "guild:5", "--data-dir", data_dir]) == 0
    assert "Cleared 1 vote" in capsys.readouterr().out
    assert main(["feedback", "--clear", passage, "--data-dir", data_dir]) == 1
    assert "--clear needs --scope" in capsys.readouterr().err
