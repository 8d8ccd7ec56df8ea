"""`/watch`, end to end: members watch questions in two servers, the bot and the worker stop,
a server's feed gains a story that answers one question and one that answers none, the worker
polls and matches while the bot is down, and the bot, started again, posts exactly one
answer: to the member who watched it, by DM, with the buttons, without pings. Nothing for
the unrelated question, nothing for the same question watched in a server that does not
follow the feed. A member whose DMs are closed loses their watches without an error loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from config import Settings
from index.encode.embedder import Embedder
from index.engine import Engine, WatchTarget, ensure_index
from index.store.files import DataFiles
from index.store.watches import SqliteWatchStore
from index.worker import Worker
from tests.discord.checks import assert_embed_fits, eventually
from tests.discord.conftest import SEEDS, STARTUP, make_settings, running_articlebot
from tests.discord.fake_discord import FakeDiscord, FakeInteraction, FakeMessage
from tests.feed_site import FeedSite, Story, rss20

ANSWER = 60.0
QUESTION = "When will the Eastgate ferry terminal open?"
UNRELATED = "Which telescope did Brindle library lend out first?"
LIGHTHOUSE = Story(
    path="/news/lighthouse.html",
    title="Zorblatt lighthouse repainted in cobalt blue",
    date="2026-12-01T10:00:00+00:00",
    body=(
        "The Zorblatt lighthouse keeper Marta Ilves repainted the tower in cobalt blue last "
        "spring. She said the old white paint had peeled away after forty winters of salt spray."
    ),
    outlet="Zorblatt Herald",
)
FERRY = Story(
    path="/news/ferry.html",
    title="Eastgate ferry terminal to open in March",
    date="2026-12-03T08:00:00+00:00",
    body=(
        "The new Eastgate ferry terminal will open on 14 March, the port authority said on "
        "Tuesday. Ferries to the islands will leave from the terminal every hour, and the old "
        "pier will close. @everyone is welcome at the opening."
    ),
    outlet="Zorblatt Herald",
)
ORCHARD = Story(
    path="/news/orchard.html",
    title="Tansy Hill orchard wins the county prize",
    date="2026-12-03T09:00:00+00:00",
    body=(
        "The Tansy Hill orchard won the county prize for its russet apples. Its owner credits "
        "the cold spring and the bees that came early this year."
    ),
    outlet="Zorblatt Herald",
)


@pytest.fixture
def watch_settings(tmp_path: Path, fake_discord: FakeDiscord) -> Settings:
    # Every feed check finds the feed due: the poll after the restart comes at once.
    return make_settings(tmp_path, fake_discord, sources=[str(SEEDS)], feed_poll_minutes=0.001)


async def added(ix: FakeInteraction) -> FakeMessage:
    await eventually(
        lambda: ix.original is not None and not ix.original.loading,
        f"/{ix.command} to answer",
        ANSWER,
    )
    assert ix.original is not None
    return ix.original


async def worker_alone(settings: Settings, engine: Engine, until: Callable[[], bool]) -> None:
    """The worker without the bot, until `until()` holds."""
    worker = Worker(settings, engine.updates)
    working = threading.Thread(target=worker.run, name="worker", daemon=True)
    working.start()
    try:
        await eventually(until, "the worker to match the new story", ANSWER)
    finally:
        worker.stop.set()
        await asyncio.to_thread(working.join, STARTUP)


async def test_a_watched_question_is_answered_once_when_its_story_arrives(
    discord_at_fake: FakeDiscord,
    watch_settings: Settings,
    embedder: Embedder,
    feed_site: FeedSite,
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    other = fake.add_guild("Other Guild", owner_id=world.owner.id)
    other_channel = fake.add_channel(other.id, "general")
    neighbour = fake.add_user("neighbour", guild_id=other.id)
    neighbour_dm = fake.add_dm_channel(neighbour.id)
    feed_site.put_story(LIGHTHOUSE)
    feed = "/rss.xml"
    url = feed_site.put(
        feed, "application/rss+xml", rss20("Herald", "s", [LIGHTHOUSE], feed_site.base)
    )
    engine = Engine(watch_settings, embedder=embedder)
    ensure_index(engine)
    engine.add_feed(f"guild:{world.guild.id}", url)
    engine.poll_feeds(force=True)

    async with running_articlebot(fake, watch_settings, engine):
        mine = await fake.invoke_slash(
            "watch add",
            {"question": QUESTION},
            channel_id=world.channel.id,
            user_id=world.member.id,
        )
        unrelated = await fake.invoke_slash(
            "watch add",
            {"question": UNRELATED},
            channel_id=world.channel.id,
            user_id=world.member.id,
        )
        elsewhere = await fake.invoke_slash(
            "watch add", {"question": QUESTION}, channel_id=other_channel.id, user_id=neighbour.id
        )
        refused = await fake.invoke_slash(
            "watch add",
            {"question": QUESTION, "channel": world.channel.id},
            channel_id=world.channel.id,
            user_id=world.member.id,
        )
        replies = [await added(ix) for ix in (mine, unrelated, elsewhere)]
        refusal = await refused.wait_for_final(ANSWER)
        listing = await fake.invoke_slash(
            "watch list", channel_id=world.channel.id, user_id=world.member.id
        )
        listed = (await listing.wait_for_final(ANSWER)).embeds[0]

    # Bot and worker are down: the feed gains one story that answers and one that does not.
    feed_site.put_story(FERRY)
    feed_site.put_story(ORCHARD)
    feed_site.put(
        feed,
        "application/rss+xml",
        rss20("Herald", "s", [FERRY, ORCHARD, LIGHTHOUSE], feed_site.base),
        # No validators: the site's fixed Last-Modified would answer 304 to a changed feed.
        validators=False,
    )
    store = SqliteWatchStore(DataFiles(watch_settings.data_dir).watches)
    targets = (WatchTarget.DM, WatchTarget.CHANNEL)
    await worker_alone(watch_settings, engine, lambda: bool(store.unposted(10, targets)))
    recorded = store.unposted(10, targets)

    async with running_articlebot(fake, watch_settings, engine):
        posted = await fake.wait_for_bot_message(world.dm.id, timeout=ANSWER)
        await eventually(lambda: not store.unposted(10, targets), "the post marked", ANSWER)
        # A second round of polls and matching brings nothing new.
        await asyncio.sleep(3)

    assert [r.content.startswith("Watching #") for r in replies] == [True, True, True]
    assert "by direct message" in replies[0].content
    assert refusal.content == "You need the Manage Server permission for this command."
    # The member's own two watches (the neighbour's, in the other server, is not theirs).
    assert sorted(f["name"].split(" · ", 1)[1] for f in listed["fields"]) == [QUESTION, UNRELATED]
    (post,) = recorded
    assert post.watch.question == QUESTION and post.watch.owner == str(world.member.id)

    assert [m.id for m in fake.bot_messages(world.dm.id)] == [posted.id]
    assert fake.bot_messages(neighbour_dm.id) == []
    assert fake.bot_messages(world.channel.id, include_interactions=False) == []
    assert fake.bot_messages(other_channel.id, include_interactions=False) == []
    (embed,) = posted.embeds
    assert embed["title"] == QUESTION
    assert embed["description"] == f"Watching: “{QUESTION}”"
    assert embed["fields"][0]["name"] == FERRY.title
    assert "14 March" in embed["fields"][0]["value"]
    assert "#:~:text=" in embed["fields"][0]["value"]
    assert_embed_fits(embed)
    assert not posted.pings
    assert posted.allowed_mentions == {"parse": []}
    labels = [b.get("label") or b.get("emoji", {}).get("name") for b in fake.buttons(posted)]
    assert "More" in labels and "Context" in labels


async def test_members_who_closed_their_dms_or_left_lose_their_watches_quietly(
    discord_at_fake: FakeDiscord,
    watch_settings: Settings,
    embedder: Embedder,
    feed_site: FeedSite,
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    feed_site.put_story(LIGHTHOUSE)
    url = feed_site.put(
        "/rss.xml", "application/rss+xml", rss20("Herald", "s", [LIGHTHOUSE], feed_site.base)
    )
    engine = Engine(watch_settings, embedder=embedder)
    ensure_index(engine)
    engine.add_feed(f"guild:{world.guild.id}", url)
    engine.poll_feeds(force=True)
    store = SqliteWatchStore(DataFiles(watch_settings.data_dir).watches)

    async with running_articlebot(fake, watch_settings, engine):
        ix = await fake.invoke_slash(
            "watch add",
            {"question": QUESTION},
            channel_id=world.channel.id,
            user_id=world.member.id,
        )
        await added(ix)
        leaving = await fake.invoke_slash(
            "watch add", {"question": QUESTION}, channel_id=world.channel.id, user_id=world.admin.id
        )
        await added(leaving)
        fake.close_dms(world.member.id)
        fake.remove_member(world.guild.id, world.admin.id)
        admin_dm = fake.add_dm_channel(world.admin.id)
        feed_site.put_story(FERRY)
        feed_site.put(
            "/rss.xml",
            "application/rss+xml",
            rss20("Herald", "s", [FERRY, LIGHTHOUSE], feed_site.base),
            validators=False,
        )
        # The worker polls at its next feed check; the bot's post then meets the closed DMs.
        await eventually(
            lambda: not store.watches(0.0) and not store.unposted(10, list(WatchTarget)),
            "the watch to be removed",
            ANSWER,
        )

    assert fake.bot_messages(world.dm.id) == []
    assert fake.bot_messages(admin_dm.id) == []
