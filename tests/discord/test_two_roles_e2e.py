"""The two roles with the real processes: `articlebot start` runs the bot in the foreground
and the worker as its child. Feed polls, a reindex and an upload run in the worker while the
bot answers; the bot swaps in each new index state, posts the polls' headlines, and never
loads torch, sentence-transformers, trafilatura or feedparser.

Also prints the bot's RSS after a fast-forwarded hour of polls (60 poll jobs, one a minute in
real life, a new story every tenth) against its RSS after the first question.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from index.store.files import DataFiles
from index.store.jobs import JobKind, SqliteJobQueue
from tests.discord.checks import eventually
from tests.discord.fake_discord import FakeDiscord, FakeMessage
from tests.discord.test_run_process import (
    ANSWER,
    KIRBY,
    START,
    _start_bot,
    _stop_bot,
    articlebot,
    bot_env,
)
from tests.feed_site import FeedSite, Story, rss20

# Shared objects only the update side loads (sentence-transformers, trafilatura and feedparser
# are pure Python: the bot's own check of sys.modules, logged at shutdown, covers them).
HEAVY_LIBRARIES = ("libtorch", "libc10", "torch/lib")
# One hour at one poll a minute.
POLLS = 60
NEW_STORY_EVERY = 10
# Distinct stories: generated ones look alike, and the poll folds near-duplicates together.
NEWS = [
    (
        "Quarry reopens",
        "The Vellmoor quarry reopened on Monday after the flood. Forty workers "
        "returned to cut granite for the new harbour wall.",
    ),
    (
        "Orchard wins prize",
        "The Tansy Hill orchard won the county prize for its russet apples. "
        "Its owner credits the cold spring and the bees.",
    ),
    (
        "Ferry timetable changes",
        "The island ferry will sail at dawn and dusk from June. The "
        "operator blamed the cost of diesel for the cut.",
    ),
    (
        "Library gets telescope",
        "Brindle library lent out its first telescope this week. Children "
        "queued to borrow it to watch the moons of Jupiter.",
    ),
    (
        "Bakery marks centenary",
        "The Oakcombe bakery baked its hundredth birthday cake in a "
        "wood-fired oven. The recipe uses treacle and rye.",
    ),
    (
        "Choir tours abroad",
        "The Millbrook male voice choir sang in three cathedrals on its tour. "
        "The tenors were praised for a Welsh hymn.",
    ),
]
LIGHTHOUSE = """Zorblatt lighthouse repainted in cobalt blue

The Zorblatt lighthouse keeper Marta Ilves repainted the tower in cobalt blue last spring. \
She said the old white paint had peeled away after forty winters of salt spray.
"""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def mapped_heavy(pid: int) -> set[str]:
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {name for name in HEAVY_LIBRARIES if name in maps}


def titles(message: FakeMessage) -> list[str]:
    return [str(f["name"]) for f in message.embeds[0].get("fields", [])] if message.embeds else []


async def _ask(fake: FakeDiscord, question: str) -> FakeMessage:
    world = fake.world
    ix = await fake.invoke_slash(
        "ask", {"question": question}, channel_id=world.channel.id, user_id=world.member.id
    )
    return await ix.wait_for_final(ANSWER)


async def test_updates_run_in_the_worker_while_a_light_bot_answers(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    fake, world = fake_discord, fake_discord.world
    env = bot_env(fake, fake.token) | {
        "ARTICLEBOT_ALLOW_PRIVATE_URLS": "1",
        # Every poll job finds the feed due: the hour of polls is fast-forwarded.
        "ARTICLEBOT_FEED_POLL_MINUTES": "0.001",
        "ARTICLEBOT_FEED_MAX_AGE_DAYS": "0",
    }
    code, _, err = await articlebot(tmp_path, env, "sync")
    assert code == 0, err
    log = tmp_path / "start.log"
    news = [
        Story(f"/hour/{i}.html", title, f"2026-12-0{1 + i % 5}T09:00:00+00:00", body)
        for i, (title, body) in enumerate(NEWS)
    ]
    with FeedSite() as site:
        site.put_story(news[0])
        # No validators: the site's fixed Last-Modified would answer 304 to a changed feed.
        feed = site.put(
            "/rss",
            "application/rss+xml",
            rss20("Gazette", "s", news[:1], site.base),
            validators=False,
        )
        process = await _start_bot(tmp_path, env, log)
        try:
            await fake.wait_until_identified(timeout=START)
            first = await _ask(fake, KIRBY)
            after_first = rss_kib(process.pid)

            added = await fake.invoke_slash(
                "feeds add",
                {"url": feed, "channel": world.channel.id},
                channel_id=world.channel.id,
                user_id=world.admin.id,
            )
            await eventually(
                lambda: (
                    added.original is not None and added.original.content.startswith("Following")
                ),
                "the feed to be followed",
                ANSWER,
            )
            headline = await fake.wait_for_bot_message(world.channel.id, timeout=ANSWER)

            upload = fake.add_attachment(LIGHTHOUSE.encode(), "lighthouse.txt", "text/plain")
            uploaded = await fake.invoke_slash(
                "articles add",
                {"file": upload},
                channel_id=world.channel.id,
                user_id=world.admin.id,
            )
            reindex = await fake.invoke_slash(
                "reindex", channel_id=world.channel.id, user_id=world.admin.id
            )
            during = await _ask(fake, KIRBY)
            await eventually(
                lambda: (
                    uploaded.original is not None and uploaded.original.content.startswith("Added")
                ),
                "the upload",
                ANSWER * 2,
            )
            await eventually(
                lambda: (
                    reindex.original is not None
                    and reindex.original.content.startswith(("Indexed", "The index is up to date"))
                ),
                "the reindex",
                ANSWER * 2,
            )
            lighthouse = await _ask(fake, "What colour is the Zorblatt lighthouse now?")
            after_updates = rss_kib(process.pid)

            # The hour of polls: one poll job at a time, as the worker's schedule would make
            # them, a new story on the feed every tenth, questions in between.
            queue = SqliteJobQueue(DataFiles(tmp_path / "data").jobs)
            for i in range(POLLS):
                if i % NEW_STORY_EVERY == 0:
                    shown = news[: i // NEW_STORY_EVERY + 1]
                    for story in shown:
                        site.put_story(story)
                    body = rss20("Gazette", "s", shown, site.base)
                    site.put("/rss", "application/rss+xml", body, validators=False)
                job = await asyncio.to_thread(queue.submit, JobKind.POLL, {})
                await eventually(
                    lambda job_id=job.id: queue.get(job_id).finished, "a poll", ANSWER * 2
                )
                if i % NEW_STORY_EVERY == NEW_STORY_EVERY - 1:
                    await _ask(fake, KIRBY)
            last = news[(POLLS - 1) // NEW_STORY_EVERY]
            newest = await _ask(fake, "Where did the Millbrook male voice choir sing on its tour?")
            after_hour = rss_kib(process.pid)
            mapped = mapped_heavy(process.pid)
        finally:
            code = await _stop_bot(process)

    output = log.read_text(encoding="utf-8")
    print(
        f"\nbot RSS: {after_first / 1024:.0f} MB after the first question, "
        f"{after_updates / 1024:.0f} MB after a poll, an upload and a reindex, "
        f"{after_hour / 1024:.0f} MB after {POLLS} polls "
        f"({(after_hour - after_first) / 1024:+.1f} MB)"
    )
    assert code == 0, output
    assert "Traceback" not in output
    assert titles(first)[0].startswith("The United States is attacking")
    assert titles(during)[0].startswith("The United States is attacking")
    assert headline.embeds and "Gazette" in str(headline.embeds[0].get("title"))
    assert titles(lighthouse)[0] == "Zorblatt lighthouse repainted in cobalt blue"
    assert newest.embeds and last.title in titles(newest)
    assert mapped == set()
    assert "INFO bot.discord_app.main: heavy modules loaded: none" in output
    assert after_updates - after_first < 50 * 1024
    assert after_hour - after_first < 50 * 1024
