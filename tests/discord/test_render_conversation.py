"""The conversation messages stay inside Discord's limits whatever the article says."""

from __future__ import annotations

from bot.discord_app.components import answer_view
from bot.discord_app.render_conversation import context_embed, feedback_embed, vote_line
from index.models import (
    ArticleRef,
    FeedbackReport,
    NoMatchQuestion,
    PassageFeedback,
    QuoteContext,
    VoteOutcome,
)
from tests.discord.checks import assert_embed_fits, assert_inert

REF = ArticleRef("a", "T" * 300, "2024-07-21", "Outlet", "https://example.org/a", "shared")


def test_context_of_a_huge_hostile_paragraph_fits_and_bolds_the_quote() -> None:
    before = "@everyone [click](https://evil.example) discord.gg/abc " * 200
    quote = "The *quote* is here."
    paragraph = f"{before}{quote} after " * 2
    context = QuoteContext(REF, paragraph, 100, 100 + len(before), 100 + len(before) + len(quote))
    embed = context_embed(context).to_dict()
    assert_embed_fits(embed)
    assert_inert(embed["description"])
    assert "**The \\*quote\\* is here.**" in embed["description"]
    assert embed["url"] == REF.url


def test_feedback_report_fits_with_many_long_entries() -> None:
    passages = tuple(
        PassageFeedback(f"id-{n}" + "x" * 200, "a", "t" * 300, "q" * 500, 9, 1, True)
        for n in range(50)
    )
    questions = tuple(NoMatchQuestion("w" * 400, 0.0) for _ in range(50))
    embed = feedback_embed(FeedbackReport("guild:1", 3, passages, questions)).to_dict()
    assert_embed_fits(embed)
    assert all(not v["value"].endswith("…\\n") for v in embed["fields"])


def test_buttons_are_within_components_limits() -> None:
    view = answer_view("A" * 32, 9, matched=True, last=False, private=True)
    rows = view.to_components()
    assert len(rows) == 1 and len(rows[0]["components"]) == 5
    for button in rows[0]["components"]:
        assert len(button["custom_id"]) <= 100
        assert len(button.get("label") or "") <= 80


def test_vote_lines() -> None:
    assert vote_line(VoteOutcome("p", -1, None, 1, False)) == "Thanks, your 👎 is recorded."
    assert "replaces" in vote_line(VoteOutcome("p", 1, -1, 0, False))
    assert "already" in vote_line(VoteOutcome("p", 1, 1, 0, False))
