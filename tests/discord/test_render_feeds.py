"""Feed lists and headline posts stay within Discord's limits and inert, whatever feeds say."""

from __future__ import annotations

from bot.discord_app.render_feeds import feed_page, headlines_embed
from index.models import ArticleRef, FeedInfo, FeedPollResult
from tests.discord.checks import assert_embed_fits, assert_inert

HOSTILE = "@everyone [click](https://evil.example) **bold** <@123> discord.gg/x " * 20


def _feed(n: int, error: str | None = None) -> FeedInfo:
    return FeedInfo(
        id=n,
        collection="guild:1",
        url=f"https://news.example/{n}/rss?x=" + "y" * 300,
        title=HOSTILE,
        channel_id=42,
        items=n,
        last_poll="2024-07-21T08:00:00+00:00",
        next_poll="2024-07-21T08:15:00+00:00",
        last_error=error,
        from_summary=1,
    )


def test_a_page_of_feeds_fits_and_shows_what_admins_need() -> None:
    feeds = [_feed(n, error=HOSTILE if n % 2 else None) for n in range(1, 13)]

    embed = feed_page(feeds, 3).to_dict()

    assert_embed_fits(embed)
    assert [f["name"].split(" · ")[0] for f in embed["fields"]] == ["11", "12"]
    value = embed["fields"][0]["value"]
    assert "11 items (1 from the feed's summary) · posts to <#42>" in value
    assert "Last poll: 2024-07-21 08:00 UTC · next: 2024-07-21 08:15 UTC" in value
    assert value.split("\n")[-1].startswith("Last error: ")
    assert_inert(embed["fields"][0]["name"])
    assert_inert(value.split("\n")[-1])
    assert embed["footer"]["text"] == "Page 3/3 · 12 feeds · remove one by its id"


def test_an_empty_list_says_how_to_add_one() -> None:
    assert "/feeds add" in (feed_page([], 1).description or "")


def test_headlines_fit_in_one_embed_and_cannot_ping() -> None:
    added = tuple(
        ArticleRef(f"a{n}", HOSTILE, "2024-07-21", HOSTILE, f"https://news.example/{n}", "g")
        for n in range(30)
    )

    embed = headlines_embed(FeedPollResult(_feed(1), added=added)).to_dict()

    assert_embed_fits(embed)
    assert_inert(embed["title"])
    lines = embed["description"].split("\n")
    assert len(lines) <= 11
    for line in lines:
        assert_inert(line)
