"""Shards across processes, with the real processes: two bots, each running one shard of two
(`articlebot run --shards N --shard-count 2`), and one worker, sharing one index and the state
(SQLite files in one data directory, or one PostgreSQL database through
`ARTICLEBOT_DATABASE_URL`), against a fake Discord that routes each server to its shard.

Both bots start at once and still IDENTIFY 5 s apart (Discord refuses closer ones with op 9:
the fake too); each server is answered by the process holding its shard; each feed's headline
is posted once, by that process; every job runs in the worker and the bots load no update
library; and a button on an answer given by the first process works after that process has
stopped and the second has taken its shard over. Each feed is fetched by one poll (the
default interval of 15 minutes is longer than the test, so a second poll anywhere would be a
third fetch, after the one that follows the feed).

Search is the shared data directory's index files, or Milvus: `milvus-lite server` over gRPC
(a Milvus Lite `.db` file opens in one process only, and here there are four), filled by
`sync` and kept in step by the worker's updates, which every bot process then searches.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from bot.discord_app.feed_task import CHECK_SECONDS
from index.store.files import DataFiles
from index.store.milvus.collection import ARTICLE, MilvusTarget, client_for, forget_client
from index.store.milvus.mirror import RECORD_NAME
from tests.discord.checks import eventually
from tests.discord.conftest import FAKE_TOKEN
from tests.discord.fake_discord import (
    PERM_MANAGE_GUILD,
    FakeChannel,
    FakeDiscord,
    FakeInteraction,
    FakeMessage,
    FakeUser,
)
from tests.discord.test_run_process import (
    ANSWER,
    ARTICLEBOT,
    KIRBY,
    START,
    _stop_bot,
    articlebot,
    bot_env,
)
from tests.feed_site import FeedSite, Story, rss20
from tests.postgres import fresh_database

STORIES = {
    0: Story(
        "/zero/quarry.html",
        "Quarry reopens",
        "2026-12-01T09:00:00+00:00",
        "The Vellmoor quarry reopened on Monday after the flood. Forty workers returned to cut "
        "granite for the new harbour wall.",
    ),
    1: Story(
        "/one/orchard.html",
        "Orchard wins prize",
        "2026-12-02T09:00:00+00:00",
        "The Tansy Hill orchard won the county prize for its russet apples. Its owner credits "
        "the cold spring and the bees.",
    ),
}


@dataclass
class ShardedWorld:
    channels: dict[int, FakeChannel]
    admin: FakeUser
    member: FakeUser


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    # One session start per 5 s across the whole bot, as for most bots on Discord.
    async with FakeDiscord(token=FAKE_TOKEN, shards=2, max_concurrency=1) as server:
        yield server


def sharded_world(fake: FakeDiscord) -> ShardedWorld:
    owner = fake.add_user("owner")
    admin = fake.add_user("admin")
    member = fake.add_user("member")
    channels = {}
    for shard in (0, 1):
        guild = fake.add_guild(f"Shard {shard} Guild", owner_id=owner.id, shard=(shard, 2))
        channels[shard] = fake.add_channel(guild.id, "general")
        fake.add_member(guild.id, admin.id, permissions=PERM_MANAGE_GUILD)
        fake.add_member(guild.id, member.id)
    return ShardedWorld(channels, admin, member)


async def start(tmp_path: Path, env: dict[str, str], log: Path, *args: str) -> Process:
    with log.open("ab") as sink:
        return await asyncio.create_subprocess_exec(
            ARTICLEBOT,
            *args,
            "--data-dir",
            str(tmp_path / "data"),
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
        )


Process = asyncio.subprocess.Process


def shard_that_got(fake: FakeDiscord, interaction: FakeInteraction) -> int:
    """The shard whose connection the interaction was dispatched on."""
    (frame,) = [
        f
        for f in fake.gateway_log
        if f.direction == "out"
        and f.event == "INTERACTION_CREATE"
        and f.payload["d"]["id"] == str(interaction.id)
    ]
    (record,) = [r for r in fake.identified if r.connection == frame.connection]
    return record.shard_id


def headline_posts(fake: FakeDiscord, channel: FakeChannel) -> list[FakeMessage]:
    return [
        m
        for m in fake.bot_messages(channel.id)
        if m.embeds and str(m.embeds[0].get("title", "")).startswith("New from")
    ]


def replied(interaction: FakeInteraction, start: str) -> Callable[[], bool]:
    return lambda: (
        interaction.original is not None and interaction.original.content.startswith(start)
    )


def posted_in(fake: FakeDiscord, channel: FakeChannel) -> Callable[[], bool]:
    return lambda: bool(headline_posts(fake, channel))


async def ask(fake: FakeDiscord, channel: FakeChannel, user: FakeUser) -> FakeInteraction:
    return await fake.invoke_slash(
        "ask", {"question": KIRBY, "results": 1}, channel_id=channel.id, user_id=user.id
    )


@contextlib.contextmanager
def state_database(backend: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The URL of a fresh PostgreSQL database for the state, or None for SQLite files."""
    if backend == "sqlite":
        yield None
        return
    with fresh_database(request.getfixturevalue("pg_server")) as url:
        yield url


def search_in(backend: str, request: pytest.FixtureRequest) -> MilvusTarget | None:
    """A collection of this test's own on `milvus-lite server`, or None for the local files."""
    if not backend.endswith("+milvus"):
        return None
    return MilvusTarget(request.getfixturevalue("milvus_server"), f"shards_{secrets.token_hex(4)}")


def articles_in_milvus(target: MilvusTarget) -> set[str]:
    """The article ids of every passage the Milvus collection holds."""
    client = client_for(target)
    try:
        rows = client.query(target.collection, filter="", output_fields=[ARTICLE], limit=16_384)
        return {str(row[ARTICLE]) for row in rows}
    finally:
        forget_client(target.uri)


def jobs_run(tmp_path: Path, database_url: str | None) -> tuple[int, int]:
    """(how many processes ran jobs, how many poll jobs there were) from the job queue."""
    runners = "SELECT COUNT(DISTINCT worker) FROM jobs"
    polls = "SELECT COUNT(*) FROM jobs WHERE kind = 'poll'"
    if database_url is None:
        with contextlib.closing(sqlite3.connect(DataFiles(tmp_path / "data").jobs)) as conn:
            return conn.execute(runners).fetchone()[0], conn.execute(polls).fetchone()[0]
    with psycopg.connect(database_url) as pg:
        counts = [pg.execute(sql).fetchone() for sql in (runners, polls)]
    return int(counts[0][0]), int(counts[1][0])  # type: ignore[index]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "postgresql+milvus"])
async def test_two_bot_processes_share_the_shards_the_answers_and_the_headlines(
    fake: FakeDiscord, tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    milvus = search_in(backend, request)
    with state_database(backend, request) as database_url:
        await two_bot_processes_and_a_worker(fake, tmp_path, database_url, milvus)


async def two_bot_processes_and_a_worker(
    fake: FakeDiscord, tmp_path: Path, database_url: str | None, milvus: MilvusTarget | None
) -> None:
    world = sharded_world(fake)
    env = bot_env(fake, fake.token) | {
        "ARTICLEBOT_ALLOW_PRIVATE_URLS": "1",
        "ARTICLEBOT_BUTTON_COOLDOWN_SECONDS": "0",
    }
    if milvus is not None:
        env["ARTICLEBOT_MILVUS_URI"] = milvus.uri
        env["ARTICLEBOT_MILVUS_COLLECTION"] = milvus.collection
    if database_url is not None:
        env["ARTICLEBOT_DATABASE_URL"] = database_url
        code, _, err = await articlebot(tmp_path, env, "db", "upgrade")
        assert code == 0, err
    code, _, err = await articlebot(tmp_path, env, "sync")
    assert code == 0, err
    logs = {name: tmp_path / f"{name}.log" for name in ("worker", "zero", "one", "both")}
    shard_args = {name: ("run", "--shards", name, "--shard-count", "2") for name in ("0", "1")}

    with FeedSite() as site:
        feeds = {}
        for shard, story in STORIES.items():
            site.put_story(story)
            body = rss20(f"Gazette {shard}", "s", [story], site.base)
            feeds[shard] = site.put(f"/feed-{shard}.rss", "application/rss+xml", body)

        worker = await start(tmp_path, env, logs["worker"], "worker")
        bots = {
            "zero": await start(tmp_path, env, logs["zero"], *shard_args["0"]),
            "one": await start(tmp_path, env, logs["one"], *shard_args["1"]),
        }
        try:
            await fake.wait_until_identified(timeout=START, shard_id=0)
            await fake.wait_until_identified(timeout=START, shard_id=1)
            asked = {
                shard: await ask(fake, world.channels[shard], world.member) for shard in (0, 1)
            }
            answers = {shard: await ix.wait_for_final(ANSWER) for shard, ix in asked.items()}

            for shard, url in feeds.items():
                added = await fake.invoke_slash(
                    "feeds add",
                    {"url": url, "channel": world.channels[shard].id},
                    channel_id=world.channels[shard].id,
                    user_id=world.admin.id,
                )
                await eventually(
                    replied(added, "Following"),
                    f"the feed of shard {shard} to be followed",
                    ANSWER * 2,
                )
            for channel in world.channels.values():
                await eventually(
                    posted_in(fake, channel),
                    f"a headline in {channel.name} of guild {channel.guild_id}",
                    ANSWER * 2,
                )
            # Every bot process looks for headlines every CHECK_SECONDS: after three looks
            # each, a second post of either headline would be there.
            await asyncio.sleep(3 * CHECK_SECONDS)
            fetches = {shard: len(site.requests(f"/feed-{shard}.rss")) for shard in feeds}
        finally:
            codes = {name: await _stop_bot(process) for name, process in bots.items()}
        await fake.wait_until_disconnected(timeout=ANSWER)

        # Shard 0 moves: the second process comes back holding both shards, and a button on
        # the answer the first process gave (in shard 0's server) works there.
        more = next(
            b["custom_id"]
            for b in fake.buttons(answers[0])
            if b["custom_id"].startswith("ab:more:")
        )
        both = await start(
            tmp_path, env, logs["both"], "run", "--shards", "0-1", "--shard-count", "2"
        )
        try:
            await fake.wait_until_identified(timeout=START, shard_id=0)
            await fake.wait_until_identified(timeout=START, shard_id=1)
            press = await fake.press_button(answers[0], more, user_id=world.member.id)
            updated = await press.wait_for_update(ANSWER)
        finally:
            codes["both"] = await _stop_bot(both)
            codes["worker"] = await _stop_bot(worker)

    output = {name: log.read_text(encoding="utf-8") for name, log in logs.items()}
    assert codes == {"zero": 0, "one": 0, "both": 0, "worker": 0}, output
    assert not any("Traceback" in text for text in output.values()), output

    # Started together, the two processes still identified 5 s apart: nothing was refused;
    # the process holding both shards waited for its second shard's turn.
    assert fake.refused_identifies == [], (fake.identified, fake.refused_identifies)
    assert "shard 1: another shard is identifying; waiting" in output["both"]
    assert sorted((r.shard_id, r.shard_count) for r in fake.identified) == [
        (0, 2),
        (0, 2),
        (1, 2),
        (1, 2),
    ]
    # Each server answered by the process running its shard.
    assert {shard: shard_that_got(fake, ix) for shard, ix in asked.items()} == {0: 0, 1: 1}
    for answer in answers.values():
        assert answer.embeds[0]["fields"][0]["name"].startswith("The United States is attacking")
    # One post per headline, by the process holding the channel's server.
    for shard, channel in world.channels.items():
        (post,) = headline_posts(fake, channel)
        assert f"Gazette {shard}" in str(post.embeds[0]["title"])
    posted = "headlines posted to channel"
    assert f"{posted} {world.channels[0].id}" in output["zero"]
    assert f"{posted} {world.channels[1].id}" not in output["zero"]
    assert f"{posted} {world.channels[1].id}" in output["one"]
    assert f"{posted} {world.channels[0].id}" not in output["one"]
    # The button pressed after the move: the next page of the first process's answer.
    assert press.response_type == 6
    assert updated.embeds[0]["footer"]["text"].endswith("page 2")
    # Every job (the feed adds, their polls) ran in the one worker; the bots never polled,
    # and each feed was fetched twice: once to follow it, once by the one poll of the
    # interval, wherever that ran.
    runners, polls = jobs_run(tmp_path, database_url)
    assert runners == 1 and polls >= 1
    assert fetches == {0: 2, 1: 2}, fetches
    searched = (
        "searched in the local index files"
        if milvus is None
        else f", searched in Milvus collection {milvus.collection}"
    )
    for name in ("zero", "one", "both"):
        assert "heavy modules loaded: none" in output[name]
        assert searched in output[name], output[name]
    if milvus is not None:
        # The worker kept Milvus in step: it holds the state the bots searched, the seed
        # article and both feeds' stories among it.
        assert (tmp_path / "data" / RECORD_NAME).exists()
        held = articles_in_milvus(milvus)
        assert len(held) == 3, held
