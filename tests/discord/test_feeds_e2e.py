"""`/feeds`, end to end: admins only, a feed's articles searchable in its server alone after a
poll, new headlines posted to the feed's channel without pings."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.discord_app.client import ArticleBot
from config import Settings
from index.encode.embedder import Embedder
from index.engine import Engine, ensure_index
from tests.discord.checks import assert_embed_fits, eventually
from tests.discord.conftest import SEEDS, make_settings, running_articlebot
from tests.discord.fake_discord import FakeDiscord, FakeDiscordError, FakeInteraction, FakeMessage
from tests.feed_site import FeedSite, Story, rss20

ANSWER = 30.0
QUESTION = "What colour did Marta Ilves paint the Zorblatt lighthouse?"
LIGHTHOUSE = Story(
    path="/news/lighthouse.html",
    title="Zorblatt lighthouse repainted in cobalt blue",
    date="2024-03-03T10:00:00+00:00",
    body=(
        "The Zorblatt lighthouse keeper Marta Ilves repainted the tower in cobalt blue last "
        "spring. She said the old white paint had peeled away after forty winters of salt "
        "spray.\n\nThe harbour council paid for the ladders and the paint. @everyone was "
        "invited to the reopening."
    ),
    outlet="Zorblatt Herald",
)


@pytest.fixture
def feed_settings(tmp_path: Path, fake_discord: FakeDiscord) -> Settings:
    # A long interval: the first poll after `/feeds add` is the one the command asks for.
    return make_settings(tmp_path, fake_discord, sources=[str(SEEDS)], feed_poll_minutes=60.0)


async def finished(ix: FakeInteraction, prefix: str) -> FakeMessage:
    await eventually(
        lambda: ix.original is not None and ix.original.content.startswith(prefix),
        f"/{ix.command} to finish with {prefix!r}",
        ANSWER,
    )
    assert ix.original is not None
    return ix.original


async def ask(fake: FakeDiscord, channel_id: int, user_id: int) -> FakeMessage:
    ix = await fake.invoke_slash(
        "ask", {"question": QUESTION}, channel_id=channel_id, user_id=user_id
    )
    return await ix.wait_for_final(ANSWER)


async def test_an_admin_follows_a_feed_its_headlines_are_posted_and_searchable_here_only(
    discord_at_fake: FakeDiscord,
    feed_settings: Settings,
    embedder: Embedder,
    feed_site: FeedSite,
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    other = fake.add_guild("Other Guild", owner_id=world.owner.id)
    other_channel = fake.add_channel(other.id, "general")
    fake.add_member(other.id, world.member.id)
    feed_site.put_story(LIGHTHOUSE)
    url = feed_site.put(
        "/rss.xml", "application/rss+xml", rss20("Herald", "s", [LIGHTHOUSE], feed_site.base)
    )
    engine = Engine(feed_settings, embedder=embedder)
    ensure_index(engine)

    async with running_articlebot(fake, feed_settings, engine):
        with pytest.raises(FakeDiscordError, match="default_member_permissions"):
            await fake.invoke_slash(
                "feeds add", {"url": url}, channel_id=world.channel.id, user_id=world.member.id
            )
        overridden = await fake.invoke_slash(
            "feeds add",
            {"url": url},
            channel_id=world.channel.id,
            user_id=world.member.id,
            permission_override=True,
        )
        refusal = await overridden.wait_for_final(ANSWER)
        added = await fake.invoke_slash(
            "feeds add",
            {"url": url, "channel": world.channel.id},
            channel_id=world.channel.id,
            user_id=world.admin.id,
        )
        done = await finished(added, "Following Herald")
        posted = await fake.wait_for_bot_message(world.channel.id, timeout=ANSWER)
        here = await ask(fake, world.channel.id, world.member.id)
        elsewhere = await ask(fake, other_channel.id, world.member.id)
        listing = await fake.invoke_slash(
            "feeds list", channel_id=world.channel.id, user_id=world.admin.id
        )
        page = (await listing.wait_for_final(ANSWER)).embeds[0]

    assert refusal.ephemeral
    assert refusal.content == "You need the Manage Server permission for this command."
    assert done.ephemeral
    (headlines,) = posted.embeds
    assert headlines["title"] == "New from Herald"
    assert "Zorblatt lighthouse repainted in cobalt blue" in headlines["description"]
    assert_embed_fits(headlines)
    assert not posted.pings
    assert posted.allowed_mentions == {"parse": []}
    fields = here.embeds[0]["fields"]
    assert fields[0]["name"] == "Zorblatt lighthouse repainted in cobalt blue"
    assert "Zorblatt lighthouse repainted" not in elsewhere.text
    (feed_field,) = page["fields"]
    assert feed_field["name"] == "1 · Herald"
    assert url in feed_field["value"] and "1 items" in feed_field["value"]
    assert "Last poll: 20" in feed_field["value"]


async def test_removing_a_feed_offers_this_servers_feeds_and_drops_their_articles(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord, feed_site: FeedSite
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    feed_site.put_story(LIGHTHOUSE)
    url = feed_site.put(
        "/rss.xml", "application/rss+xml", rss20("Herald", "s", [LIGHTHOUSE], feed_site.base)
    )
    added = await fake.invoke_slash(
        "feeds add", {"url": url}, channel_id=world.channel.id, user_id=world.admin.id
    )
    await finished(added, "Following Herald")
    await eventually(
        lambda: articlebot.engine.list_feeds()[0].items == 1 and not articlebot.engine.jobs.busy(),
        "the first poll",
        ANSWER,
    )

    member_typing = await fake.invoke_autocomplete(
        "feeds remove",
        focused="feed",
        typed="her",
        channel_id=world.channel.id,
        user_id=world.member.id,
        permission_override=True,
    )
    typing = await fake.invoke_autocomplete(
        "feeds remove",
        focused="feed",
        typed="her",
        channel_id=world.channel.id,
        user_id=world.admin.id,
    )
    assert await member_typing.wait_for_choices() == []
    assert await typing.wait_for_choices() == [{"name": "1 · Herald", "value": "1"}]

    removed = await fake.invoke_slash(
        "feeds remove", {"feed": "1"}, channel_id=world.channel.id, user_id=world.admin.id
    )
    done = await finished(removed, "Stopped following Herald")
    answer = await ask(fake, world.channel.id, world.member.id)

    assert "its 1 items are gone. Indexed" in done.content
    assert "Zorblatt lighthouse repainted" not in answer.text
