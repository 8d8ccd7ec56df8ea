"""/ask within a window, an outlet, newest first, end to end: the real bot, engine and model
against the fake Discord, on a small dated collection from three outlets."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.discord_app.scope import own_collection
from config import Settings
from index.encode.embedder import Embedder
from index.engine import Engine
from index.models import Article, ParsedArticle
from tests.discord.checks import assert_embed_fits
from tests.discord.conftest import running_articlebot
from tests.discord.fake_discord import FakeDiscord

ANSWER = 20.0
QUESTION = "How many crossings did the Merrow ferry company cancel?"
YESTERDAY = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
EDITIONS = (
    ("2024-07-01", "Coastline Daily", "four"),
    ("2024-07-10", "Velmar Gazette", "nine"),
    (YESTERDAY, "Coastline Daily", "fourteen"),
)


def edition(day: str, outlet: str, count: str) -> dict[str, str]:
    return {
        "id": f"ferry-{day}",
        "title": f"Merrow ferry cancels {count} crossings",
        "date": day,
        "source": outlet,
        "url": f"https://news.example/ferry-{day}",
        "text": f"The Merrow ferry company cancelled {count} crossings to the islands because "
        "of storms. Passengers were offered refunds at the harbour office.",
    }


async def ask(fake: FakeDiscord, **options: Any) -> dict[str, Any]:
    world = fake.world
    ix = await fake.invoke_slash(
        "ask",
        {"question": QUESTION, **options},
        channel_id=world.channel.id,
        user_id=world.member.id,
    )
    answer = await ix.wait_for_final(ANSWER)
    (embed,) = answer.embeds
    assert_embed_fits(embed)
    return embed


def titles(embed: dict[str, Any]) -> list[str]:
    """The ferry editions answered, in order (the seed article may follow them: once the best
    passage answers, the next ones are shown whatever their own score)."""
    return [field["name"] for field in embed.get("fields", []) if "Merrow" in field["name"]]


async def test_since_until_outlet_and_newest_change_the_answer(
    discord_at_fake: FakeDiscord, bot_settings: Settings, shared_dir: Path, embedder: Embedder
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    records = [edition(*e) for e in EDITIONS]
    (shared_dir / "ferry.jsonl").write_text(
        "\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8"
    )
    other = fake.add_guild("Other Guild", owner_id=world.owner.id)
    engine = Engine(bot_settings, embedder=embedder)
    elsewhere = Article(
        id="herald",
        title="Island Herald report",
        text="The ferry ran late.",
        source="Island Herald",
    )
    engine.add_articles(own_collection(other.id), [ParsedArticle(elsewhere, (), "test")])
    await asyncio.to_thread(engine.rebuild)

    async with running_articlebot(fake, bot_settings, engine):
        every = titles(await ask(fake, results=3))
        assert sorted(every) == sorted(r["title"] for r in records)

        recent = await ask(fake, results=3, since="3 days ago")
        assert titles(recent) == ["Merrow ferry cancels fourteen crossings"]
        # The date shows relative and absolute.
        assert f"Coastline Daily · yesterday · {YESTERDAY}" in recent["fields"][0]["value"]
        # The source links to the quote.
        assert "(https://news.example/ferry-" in recent["fields"][0]["value"]
        assert "#:~:text=" in recent["fields"][0]["value"]

        early = await ask(fake, results=3, until="2024-07-05")
        assert titles(early) == ["Merrow ferry cancels four crossings"]
        assert early["fields"][0]["name"] == "Merrow ferry cancels four crossings"

        gazette = await ask(fake, results=3, outlet="velmar GAZETTE")
        assert titles(gazette) == ["Merrow ferry cancels nine crossings"]

        newest = await ask(fake, results=3, sort="newest")
        assert titles(newest) == [
            "Merrow ferry cancels fourteen crossings",
            "Merrow ferry cancels nine crossings",
            "Merrow ferry cancels four crossings",
        ]


async def test_bad_date_is_an_ephemeral_error_naming_the_forms(
    articlebot: Any, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    ix = await fake.invoke_slash(
        "ask",
        {"question": QUESTION, "since": "soonish"},
        channel_id=world.channel.id,
        user_id=world.member.id,
    )
    refusal = await ix.wait_for_final(ANSWER)

    assert ix.response_type == 4 and refusal.ephemeral
    assert refusal.content.startswith("Cannot read “soonish” as a date. Use an ISO date")
    assert "yesterday" in refusal.content and "3 days ago" in refusal.content


async def test_outlet_autocompletes_from_the_askers_scope(
    discord_at_fake: FakeDiscord, bot_settings: Settings, shared_dir: Path, embedder: Embedder
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    (shared_dir / "ferry.jsonl").write_text(
        "\n".join(json.dumps(edition(*e)) for e in EDITIONS) + "\n", encoding="utf-8"
    )
    other = fake.add_guild("Other Guild", owner_id=world.owner.id)
    other_channel = fake.add_channel(other.id, "general")
    fake.add_member(other.id, world.member.id)
    engine = Engine(bot_settings, embedder=embedder)
    herald = Article(id="h", title="Herald", text="The ferry ran late.", source="Island Herald")
    engine.add_articles(own_collection(other.id), [ParsedArticle(herald, (), "test")])
    await asyncio.to_thread(engine.rebuild)

    async def suggested(typed: str, channel_id: int) -> list[str]:
        ix = await fake.invoke_autocomplete(
            "ask",
            {"question": QUESTION},
            focused="outlet",
            typed=typed,
            channel_id=channel_id,
            user_id=world.member.id,
        )
        choices = await ix.wait_for_choices(5.0)
        assert ix.response_type == 8
        return [c["value"] for c in choices]

    async with running_articlebot(fake, bot_settings, engine):
        assert await suggested("", world.channel.id) == ["Coastline Daily", "Velmar Gazette"]
        assert await suggested("gaz", world.channel.id) == ["Velmar Gazette"]
        assert await suggested("", other_channel.id) == [
            "Coastline Daily",
            "Island Herald",
            "Velmar Gazette",
        ]
