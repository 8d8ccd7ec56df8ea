"""Server admin commands, end to end: permissions, builds that never block questions, and
articles that belong to the server they were added in."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from pathlib import Path

import pytest

from bot.dates_text import date_label
from bot.discord_app.client import ArticleBot
from config import Settings
from index.encode.embedder import Embedder
from index.engine import Engine, ensure_index
from tests.discord.checks import eventually, unescape
from tests.discord.conftest import (
    LIGHTHOUSE,
    SEEDS,
    ArticleServer,
    make_settings,
    running_articlebot,
)
from tests.discord.fake_discord import (
    FakeDiscord,
    FakeDiscordError,
    FakeInteraction,
    FakeMessage,
)

ANSWER = 20.0
LIGHTHOUSE_QUESTION = "What colour did Marta Ilves paint the Zorblatt lighthouse?"


async def ask(fake: FakeDiscord, question: str, channel_id: int, user_id: int) -> FakeMessage:
    ix = await fake.invoke_slash(
        "ask", {"question": question}, channel_id=channel_id, user_id=user_id
    )
    return await ix.wait_for_final(ANSWER)


def titles(answer: FakeMessage) -> list[str]:
    return [field["name"] for field in answer.embeds[0].get("fields") or []]


async def finished(ix: FakeInteraction, prefix: str) -> FakeMessage:
    """The command's reply once it has been edited to its final text."""
    await eventually(
        lambda: ix.original is not None and ix.original.content.startswith(prefix),
        f"/{ix.command} to finish with {prefix!r}",
        ANSWER,
    )
    assert ix.original is not None
    return ix.original


async def test_reindex_needs_manage_server(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    (reindex,) = [c for c in fake.synced_commands() if c["name"] == "reindex"]
    assert int(reindex["default_member_permissions"]) == 1 << 5

    with pytest.raises(FakeDiscordError, match="default_member_permissions"):
        await fake.invoke_slash("reindex", channel_id=world.channel.id, user_id=world.member.id)
    # A server may show the command to everyone; the bot still refuses.
    overridden = await fake.invoke_slash(
        "reindex",
        channel_id=world.channel.id,
        user_id=world.member.id,
        permission_override=True,
    )
    refusal = await overridden.wait_for_final(ANSWER)
    accepted = await fake.invoke_slash(
        "reindex", channel_id=world.channel.id, user_id=world.admin.id
    )
    done = await finished(accepted, "The index is up to date")

    assert refusal.ephemeral
    assert refusal.content == "You need the Manage Server permission for this command."
    assert done.ephemeral
    assert re.fullmatch(r"The index is up to date: 1 article, \d+ passages\.", done.content)


async def test_questions_are_answered_while_reindex_runs_and_a_second_is_busy(
    discord_at_fake: FakeDiscord,
    tmp_path: Path,
    shared_dir: Path,
    embedder: Embedder,
    article_server: ArticleServer,
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    slow = article_server.add("slow.txt", "Slow news\n\nA page the operator lists as a source.")
    settings = make_settings(tmp_path, fake, sources=[str(SEEDS), str(shared_dir), slow])
    engine = Engine(settings, embedder=embedder)
    # In a thread: the first build fetches the slow page from a server on this event loop.
    await asyncio.to_thread(ensure_index, engine)
    (shared_dir / "lighthouse.txt").write_text(LIGHTHOUSE, encoding="utf-8")

    async with running_articlebot(fake, settings, engine):
        article_server.hold()
        first = await fake.invoke_slash(
            "reindex", channel_id=world.channel.id, user_id=world.admin.id
        )
        # The build is now reading its sources, held at the slow page.
        await article_server.wait_until_asked()
        during = await ask(fake, LIGHTHOUSE_QUESTION, world.channel.id, world.member.id)
        kirby = await ask(
            fake, "Who is the Pentagon press secretary?", world.channel.id, world.member.id
        )
        second = await fake.invoke_slash(
            "reindex", channel_id=world.channel.id, user_id=world.guild.owner_id
        )
        busy = await second.wait_for_final(ANSWER)
        assert first.original is not None
        still_running = first.original.content
        article_server.release()
        done = await finished(first, "Indexed ")
        after = await ask(fake, LIGHTHOUSE_QUESTION, world.channel.id, world.member.id)

    assert still_running.startswith("Reindexing")
    # Answered from the old index: the new article is not in it yet, the old ones are.
    assert "Zorblatt lighthouse repainted in cobalt blue" not in titles(during)
    assert titles(kirby)[0].startswith("The United States is attacking")
    assert busy.ephemeral
    assert busy.content.startswith("An index build is already running")
    assert "1 added" in done.content
    assert first.original is not None and len(first.original.edits) >= 2
    assert titles(after)[0] == "Zorblatt lighthouse repainted in cobalt blue"


async def test_added_file_is_searchable_in_its_server_only(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    other = fake.add_guild("Other Guild", owner_id=world.owner.id)
    other_channel = fake.add_channel(other.id, "general")
    fake.add_member(other.id, world.member.id)
    upload = fake.add_attachment(LIGHTHOUSE.encode(), "lighthouse.txt", "text/plain")

    added = await fake.invoke_slash(
        "articles add", {"file": upload}, channel_id=world.channel.id, user_id=world.admin.id
    )
    done = await finished(added, "Added ")
    here = await ask(fake, LIGHTHOUSE_QUESTION, world.channel.id, world.member.id)
    elsewhere = await ask(fake, LIGHTHOUSE_QUESTION, other_channel.id, world.member.id)
    in_dm = await ask(fake, LIGHTHOUSE_QUESTION, world.dm.id, world.member.id)

    assert done.ephemeral
    assert done.content.startswith(
        "Added 1 article to this server: “Zorblatt lighthouse repainted in cobalt blue”. Indexed"
    )
    assert titles(here)[0] == "Zorblatt lighthouse repainted in cobalt blue"
    assert (
        "**The Zorblatt lighthouse keeper Marta Ilves repainted"
        in here.embeds[0]["fields"][0]["value"]
    )
    for outside in (elsewhere, in_dm):
        # Neither quoted nor listed among the nearest headlines.
        assert "Zorblatt lighthouse repainted" not in outside.text

    listing = await fake.invoke_slash(
        "articles list", channel_id=world.channel.id, user_id=world.admin.id
    )
    page = (await listing.wait_for_final(ANSWER)).embeds[0]
    assert (
        "• Zorblatt lighthouse repainted in cobalt blue (2024-03-03) — id `lighthouse.txt`"
        in page["description"]
    )
    status = await fake.invoke_slash(
        "index status", channel_id=world.channel.id, user_id=world.admin.id
    )
    fields = {
        f["name"]: f["value"] for f in (await status.wait_for_final(ANSWER)).embeds[0]["fields"]
    }
    assert fields["Searchable here"] == "2 articles"
    assert fields["This server's own"] == "1 article"

    removed = await fake.invoke_slash(
        "articles remove",
        {"article": "lighthouse.txt"},
        channel_id=world.channel.id,
        user_id=world.admin.id,
    )
    await finished(removed, "Removed “Zorblatt lighthouse repainted in cobalt blue”.")
    gone = await ask(fake, LIGHTHOUSE_QUESTION, world.channel.id, world.member.id)
    assert "Zorblatt lighthouse repainted in cobalt blue" not in titles(gone)


async def test_added_url_is_fetched_and_searchable(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord, article_server: ArticleServer
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    url = article_server.add("lighthouse.txt", LIGHTHOUSE)

    added = await fake.invoke_slash(
        "articles add", {"url": url}, channel_id=world.channel.id, user_id=world.admin.id
    )
    await finished(added, "Added 1 article")
    answer = await ask(fake, LIGHTHOUSE_QUESTION, world.channel.id, world.member.id)

    assert article_server.served == ["lighthouse.txt"]
    field = answer.embeds[0]["fields"][0]
    assert field["name"] == "Zorblatt lighthouse repainted in cobalt blue"
    assert field["value"].startswith(f"[{date_label('2024-03-03')}]({url}#:~:text=The%20Zorblatt")


async def test_private_url_is_refused_unless_allowed(
    discord_at_fake: FakeDiscord,
    bot_settings: Settings,
    engine: Engine,
    article_server: ArticleServer,
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    url = article_server.add("lighthouse.txt", LIGHTHOUSE)
    settings = dataclasses.replace(bot_settings, allow_private_urls=False)

    async with running_articlebot(fake, settings, engine):
        added = await fake.invoke_slash(
            "articles add", {"url": url}, channel_id=world.channel.id, user_id=world.admin.id
        )
        refused = await finished(added, url)

    assert refused.content.endswith("refused, 127.0.0.1 is a private or local address")
    assert article_server.served == []
    assert engine.list_articles(f"guild:{world.guild.id}") == []


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"\x00\x01\x02binary\xff" * 10, "photo.txt", "photo.txt: binary file, not text"),
        (b"x" * 20_001, "huge.txt", "huge.txt: too large (20001 bytes, limit 20000)."),
        (b"", "empty.txt", "empty.txt: empty file"),
        (b"%PDF-1.4 text", "paper.pdf", "paper.pdf: unsupported file type .pdf"),
        (b'{"title": "no text"}\n', "list.jsonl", "list.jsonl: no article could be read"),
    ],
    ids=["binary", "oversize", "empty", "unsupported", "no-articles"],
)
async def test_bad_attachment_is_refused_and_changes_nothing(
    articlebot: ArticleBot,
    discord_at_fake: FakeDiscord,
    engine: Engine,
    data: bytes,
    name: str,
    reason: str,
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    before = engine.status()
    upload = fake.add_attachment(data, name, "application/octet-stream")

    ix = await fake.invoke_slash(
        "articles add", {"file": upload}, channel_id=world.channel.id, user_id=world.admin.id
    )
    await eventually(
        lambda: ix.final_message is not None and not ix.final_message.content.startswith("Reading"),
        "the refusal",
    )
    assert ix.final_message is not None
    refusal = ix.final_message

    assert refusal.ephemeral
    assert unescape(refusal.content).startswith(reason)
    assert engine.list_articles(f"guild:{world.guild.id}") == []
    assert engine.status() == before


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        ("big.txt", "too large"),
        # The download's own deadline (1 s) or the command's (2 s, which also covers starting
        # the reading process), whichever a loaded machine reaches first.
        ("drip.txt", "no complete answer within"),
        ("missing.txt", "the server answered 404"),
    ],
)
async def test_url_is_fetched_within_size_and_time_limits(
    discord_at_fake: FakeDiscord,
    bot_settings: Settings,
    engine: Engine,
    article_server: ArticleServer,
    page: str,
    reason: str,
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    article_server.add("big.txt", "Big page\n\n" + "word " * 10_000)
    settings = dataclasses.replace(bot_settings, fetch_timeout=1.0)
    url = f"{article_server.base}/{page}"

    async with running_articlebot(fake, settings, engine):
        added = await fake.invoke_slash(
            "articles add", {"url": url}, channel_id=world.channel.id, user_id=world.admin.id
        )
        refused = await finished(added, url)

    assert reason in refused.content
    assert engine.list_articles(f"guild:{world.guild.id}") == []


# --------------------------------------------------------------------------- autocomplete


async def add_articles(
    fake: FakeDiscord, records: list[dict[str, str]], channel_id: int, user_id: int
) -> None:
    """Add `records` to the channel's server through `/articles add` with a .jsonl file."""
    data = "\n".join(json.dumps(record) for record in records).encode()
    upload = fake.add_attachment(data, "articles.jsonl", "application/x-ndjson")
    added = await fake.invoke_slash(
        "articles add", {"file": upload}, channel_id=channel_id, user_id=user_id
    )
    await finished(added, "Added ")


async def suggestions(
    fake: FakeDiscord, typed: str, channel_id: int, user_id: int, *, override: bool = False
) -> list[dict[str, str]]:
    """The choices `/articles remove article:` offers while `typed` is in the box."""
    ix = await fake.invoke_autocomplete(
        "articles remove",
        focused="article",
        typed=typed,
        channel_id=channel_id,
        user_id=user_id,
        permission_override=override,
    )
    # The fake refuses an answer after 3 s, so a slow one never arrives.
    choices = await ix.wait_for_choices(5.0)
    assert ix.response_type == 8
    return choices


def article(article_id: str, title: str, **extra: str) -> dict[str, str]:
    return {"id": article_id, "title": title, "text": f"{title}. Reported this week.", **extra}


async def test_remove_suggests_this_servers_articles_as_the_admin_types(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    other = fake.add_guild("Other Guild", owner_id=world.owner.id)
    other_channel = fake.add_channel(other.id, "general")
    here, admin = world.channel.id, world.admin.id
    await add_articles(
        fake,
        [article("keepers", "Lighthouse keepers strike", date="2024-05-01")],
        other_channel.id,
        world.owner.id,
    )
    await add_articles(
        fake,
        [
            article("spot", "Spotlight on the harbour"),
            article("council", "Harbour council meets"),
            article("old-keeper", "Old lighthouse keeper retires"),
            article("daylight-saving", "Clocks go forward"),
            article(
                "cobalt", "Lighthouse repainted in cobalt blue", date="2024-03-03", source="Post"
            ),
        ],
        here,
        admin,
    )

    typed = await suggestions(fake, "LIGHT", here, admin)
    everything = await suggestions(fake, "", here, admin)
    elsewhere = await suggestions(fake, "light", other_channel.id, world.owner.id)

    # Title prefix, then a word of the title, then anywhere in the title or id (by title).
    assert typed == [
        {"name": "Lighthouse repainted in cobalt blue (2024-03-03 · Post)", "value": "cobalt"},
        {"name": "Old lighthouse keeper retires", "value": "old-keeper"},
        {"name": "Clocks go forward", "value": "daylight-saving"},
        {"name": "Spotlight on the harbour", "value": "spot"},
    ]
    # Neither the other server's articles nor the shared collection's.
    assert [c["value"] for c in everything] == [
        "daylight-saving",
        "council",
        "cobalt",
        "old-keeper",
        "spot",
    ]
    assert elsewhere == [{"name": "Lighthouse keepers strike (2024-05-01)", "value": "keepers"}]

    removed = await fake.invoke_slash(
        "articles remove", {"article": typed[0]["value"]}, channel_id=here, user_id=admin
    )
    await finished(removed, "Removed “Lighthouse repainted in cobalt blue”.")
    assert "cobalt" not in [c["value"] for c in await suggestions(fake, "", here, admin)]


async def test_remove_suggests_nothing_to_members_or_for_unmatched_text(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    here = world.channel.id
    await add_articles(fake, [article("cobalt", "Lighthouse repainted")], here, world.admin.id)

    # A server may show the command to everyone; its suggestions stay with admins.
    member = await suggestions(fake, "", here, world.member.id, override=True)
    admin = await suggestions(fake, "", here, world.admin.id)
    unmatched = await suggestions(fake, "zeppelin", here, world.admin.id)

    assert member == []
    assert admin == [{"name": "Lighthouse repainted", "value": "cobalt"}]
    assert unmatched == []


async def test_remove_suggests_at_most_25_and_only_what_discord_can_carry(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    here, admin = world.channel.id, world.admin.id
    long_title = "Story of a long " + "and winding " * 12 + "road"
    await add_articles(
        fake,
        [article(f"story-{n:02}", f"Story {n:02}") for n in range(30, 0, -1)]
        + [article("winding", long_title, date="2024-03-03"), article("x" * 101, "Long id")],
        here,
        admin,
    )

    stories = await suggestions(fake, "story", here, admin)
    winding = await suggestions(fake, "long", here, admin)

    assert [c["value"] for c in stories] == [f"story-{n:02}" for n in range(1, 26)]
    # The 101-character id cannot be a choice's value; it is left out, not cut.
    (choice,) = winding
    assert choice["value"] == "winding"
    assert len(choice["name"]) == 100
    assert choice["name"].startswith("Story of a long and winding")
    assert choice["name"].endswith("… (2024-03-03)")
