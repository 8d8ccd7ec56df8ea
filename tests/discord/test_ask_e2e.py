"""Asking, end to end: the real bot, engine and model against the fake Discord.

/ask defers at once and follows up with one embed inside every limit that pings no one; a
mention is answered as a reply in place; "no match" shows the nearest headlines; hostile
article text is quoted inert; a cooldown answers "try again"; the bot survives a dropped
gateway; the owner syncs commands from chat.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import discord
import pytest
from discord import app_commands

from bot.discord_app.client import ArticleBot
from bot.discord_app.errors import GENERIC
from bot.discord_app.sync import sync_tree
from config import Settings
from index.encode.embedder import Embedder
from index.engine import Engine
from tests.discord.checks import assert_embed_fits, assert_inert
from tests.discord.conftest import running_articlebot
from tests.discord.fake_discord import FakeDiscord, FakeMessage

ANSWER = 20.0
KIRBY = "Who said the targets were chosen because the facilities were used by militants?"


def assert_pings_no_one(message: FakeMessage) -> None:
    assert not message.pings
    assert message.allowed_mentions is not None
    assert message.allowed_mentions.get("parse") == []
    assert not message.allowed_mentions.get("replied_user")


async def test_ask_defers_then_follows_up_with_one_embed(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world

    ix = await fake.invoke_slash(
        "ask", {"question": KIRBY}, channel_id=world.channel.id, user_id=world.member.id
    )
    answer = await ix.wait_for_final(ANSWER)

    assert ix.response_type == 5
    assert ix.response_delay is not None and ix.response_delay < 3
    assert [event.kind for event in ix.timeline] == ["dispatch", "callback", "followup"]
    assert not answer.ephemeral
    assert_pings_no_one(answer)
    (embed,) = answer.embeds
    assert_embed_fits(embed)
    assert embed["title"] == KIRBY
    assert 1 <= len(embed["fields"]) <= 3
    first = embed["fields"][0]
    assert first["name"].startswith("The United States is attacking Iranian-backed militants")
    assert "2024-07-21" in first["value"]
    assert "**“Targets were chosen because" in first["value"]
    assert embed["footer"]["text"].startswith("1 article indexed · index built ")


async def test_ask_results_and_private(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world

    ix = await fake.invoke_slash(
        "ask",
        {"question": KIRBY, "results": 1, "private": True},
        channel_id=world.channel.id,
        user_id=world.member.id,
    )
    answer = await ix.wait_for_final(ANSWER)

    assert answer.ephemeral
    assert len(answer.embeds[0]["fields"]) == 1


async def test_overlong_question_is_refused_by_discord_and_by_the_bot(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    (ask,) = [c for c in fake.synced_commands() if c["name"] == "ask"]
    question = next(o for o in ask["options"] if o["name"] == "question")
    assert question["max_length"] == articlebot.settings.max_question_chars

    ix = await fake.invoke_slash(
        "ask", {"question": "   "}, channel_id=world.channel.id, user_id=world.member.id
    )
    refusal = await ix.wait_for_final(ANSWER)

    assert refusal.ephemeral and ix.response_type == 4
    assert refusal.content.startswith("Ask a question")


async def test_mention_is_answered_as_a_reply_in_place(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world

    asked = await fake.post_user_message(world.channel.id, world.member.id, KIRBY, mention_bot=True)
    reply = await fake.wait_for_bot_message(world.channel.id, timeout=ANSWER)

    assert reply.message_reference is not None
    assert reply.message_reference["message_id"] == str(asked.id)
    assert_pings_no_one(reply)
    (embed,) = reply.embeds
    assert_embed_fits(embed)
    assert embed["title"] == KIRBY
    assert "**“Targets were chosen because" in embed["fields"][0]["value"]


async def test_bare_mention_gets_a_hint(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world

    await fake.post_user_message(world.channel.id, world.member.id, "", mention_bot=True)
    reply = await fake.wait_for_bot_message(world.channel.id, timeout=ANSWER)

    assert reply.content == "Ask me a question after the mention, or use `/ask`."
    assert_pings_no_one(reply)


async def test_question_with_no_match_says_so_with_nearest_headlines(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world

    ix = await fake.invoke_slash(
        "ask",
        {"question": "What is the recipe for sourdough bread?"},
        channel_id=world.channel.id,
        user_id=world.member.id,
    )
    answer = await ix.wait_for_final(ANSWER)

    (embed,) = answer.embeds
    assert "fields" not in embed or not embed["fields"]
    assert embed["description"].startswith("No passage in the collection answers")
    assert "Nearest headlines" in embed["description"]
    assert "The United States is attacking Iranian-backed militants" in embed["description"]


HOSTILE = """April 2, 2024
Quillon ferry timetable changes for @everyone <@123>
1 min read

The Quillon ferry timetable changed on Monday. @everyone should know that <@123> and <@&456> \
announced it on [the official page](https://evil.example/phish) and at discord.gg/quillon. \
The first Quillon ferry now leaves at 6:40 in the morning.
"""


async def test_hostile_article_text_is_quoted_without_pings_or_links(
    discord_at_fake: FakeDiscord, bot_settings: Settings, shared_dir: Path, embedder: Embedder
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    (shared_dir / "ferry.txt").write_text(HOSTILE, encoding="utf-8")
    engine = Engine(bot_settings, embedder=embedder)
    await asyncio.to_thread(engine.rebuild)
    question = "When does the first Quillon ferry leave now?"

    async with running_articlebot(fake, bot_settings, engine):
        ix = await fake.invoke_slash(
            "ask", {"question": question}, channel_id=world.channel.id, user_id=world.member.id
        )
        answer = await ix.wait_for_final(ANSWER)
        await fake.post_user_message(world.channel.id, world.member.id, question, mention_bot=True)
        reply = await fake.wait_for_bot_message(world.channel.id, timeout=ANSWER)

    for message in (answer, reply):
        assert_pings_no_one(message)
        field = message.embeds[0]["fields"][0]
        assert_inert(field["name"])
        body = field["value"]
        assert_inert(body)
        assert "**The first Quillon ferry now leaves at 6:40 in the morning.**" in body
        assert "@\u200beveryone should know that \\<@123\\> and \\<@&456\\>" in body
        assert "\\[the official page\\](https://evil.example/phish)" in body
        assert "discord\u200b.gg/quillon" in body


async def test_cooldown_answers_try_again_privately(
    discord_at_fake: FakeDiscord, bot_settings: Settings, engine: Engine
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    settings = dataclasses.replace(bot_settings, ask_cooldown_seconds=30.0)

    async with running_articlebot(fake, settings, engine):
        first = await fake.invoke_slash(
            "ask", {"question": KIRBY}, channel_id=world.channel.id, user_id=world.member.id
        )
        await first.wait_for_final(ANSWER)
        second = await fake.invoke_slash(
            "ask", {"question": KIRBY}, channel_id=world.channel.id, user_id=world.member.id
        )
        refusal = await second.wait_for_final(ANSWER)
        other_user = await fake.invoke_slash(
            "ask", {"question": KIRBY}, channel_id=world.channel.id, user_id=world.admin.id
        )
        answered = await other_user.wait_for_final(ANSWER)

    assert second.response_type == 4 and refusal.ephemeral
    assert refusal.content in {f"You asked a moment ago; try again in {n} s." for n in (29, 30)}
    assert answered.embeds and not answered.ephemeral


async def test_dm_ask_searches_the_shared_collection(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world

    ix = await fake.invoke_slash(
        "ask", {"question": KIRBY}, channel_id=world.dm.id, user_id=world.member.id
    )
    answer = await ix.wait_for_final(ANSWER)
    await fake.post_user_message(world.dm.id, world.member.id, KIRBY)
    reply = await fake.wait_for_bot_message(world.dm.id, timeout=ANSWER)

    for message in (answer, reply):
        assert message.embeds[0]["fields"][0]["name"].startswith("The United States is attacking")


async def test_bot_reconnects_after_the_gateway_drops_and_answers_again(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world

    await fake.drop_gateway(code=4000)
    how = await fake.wait_until_reconnected(timeout=ANSWER)
    ix = await fake.invoke_slash(
        "ask", {"question": KIRBY}, channel_id=world.channel.id, user_id=world.member.id
    )
    answer = await ix.wait_for_final(ANSWER)

    assert how in {"resumed", "identified"}
    assert answer.embeds[0]["fields"]


async def test_owner_syncs_commands_from_chat_and_others_just_ask(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    fake.add_member(world.guild.id, fake.app_owner.id)
    assert fake.synced_commands(world.guild.id) == []

    await fake.post_user_message(world.channel.id, fake.app_owner.id, "sync here", mention_bot=True)
    done = await fake.wait_for_bot_message(world.channel.id, timeout=ANSWER)
    await fake.post_user_message(world.channel.id, world.member.id, "sync here", mention_bot=True)
    not_a_command = await fake.wait_for_bot_message(world.channel.id, timeout=ANSWER)

    assert done.content.startswith(f"Synced 7 commands in server {world.guild.id}: /articles")
    assert {c["name"] for c in fake.synced_commands(world.guild.id)} == {
        "ask",
        "feedback",
        "articles",
        "feeds",
        "index",
        "reindex",
        "watch",
    }
    # A member's "sync" is a question like any other.
    assert not_a_command.embeds and not not_a_command.content

    await fake.post_user_message(
        world.channel.id, fake.app_owner.id, "sync clear here", mention_bot=True
    )
    cleared = await fake.wait_for_bot_message(world.channel.id, timeout=ANSWER)
    assert cleared.content == f"Removed the bot's commands in server {world.guild.id}."
    assert fake.synced_commands(world.guild.id) == []
    # The global commands were not touched, and the bot still answers them.
    ix = await fake.invoke_slash(
        "ask", {"question": KIRBY}, channel_id=world.channel.id, user_id=world.member.id
    )
    assert (await ix.wait_for_final(ANSWER)).embeds


async def test_unexpected_error_is_logged_and_shown_as_one_generic_line(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world

    # A command with a bug in it, run by the real tree and its error handler.
    @app_commands.command(name="broken", description="Fails the way a bug would")
    async def broken(interaction: discord.Interaction) -> None:
        raise RuntimeError("a bug in a command")

    articlebot.tree.add_command(broken)
    await sync_tree(articlebot.tree, None, clear=False)
    ix = await fake.invoke_slash("broken", channel_id=world.channel.id, user_id=world.member.id)
    shown = await ix.wait_for_final(ANSWER)

    assert shown.ephemeral and shown.content == GENERIC
    (record,) = [r for r in caplog.records if r.name == "bot.discord_app.tree"]
    assert record.levelname == "ERROR" and record.getMessage() == "/broken failed"
    assert "RuntimeError: a bug in a command" in caplog.text
