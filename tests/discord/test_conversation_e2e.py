"""Buttons, votes and follow-ups end to end: the real bot, engine and model against the fake.

More pages through the hits and stops at the last page; Context is ephemeral and holds the
quote; a second vote replaces the first; enough down-votes demote a passage in one server
only; Post to channel is the asker's alone; a reply to an answer is a follow-up; an expired
answer gets one short line, and a reply to it is answered on its own terms. Press-to-update
times are printed (run with -s to see them).
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from bot.discord_app.client import ArticleBot
from config import Settings
from index.encode.embedder import Embedder
from index.engine import MAX_PAGES, Engine
from tests.discord.checks import assert_embed_fits
from tests.discord.conftest import LIGHTHOUSE, running_articlebot
from tests.discord.fake_discord import FakeDiscord, FakeMessage, FakeUser

ANSWER = 20.0
KIRBY = "Who said the targets were chosen because the facilities were used by militants?"
STRIKES = "Why did the United States strike the facilities?"


def button(fake: FakeDiscord, message: FakeMessage, action: str) -> dict[str, object]:
    (found,) = [b for b in fake.buttons(message) if str(b["custom_id"]).startswith(f"ab:{action}:")]
    return found


async def ask(
    fake: FakeDiscord,
    question: str,
    user: FakeUser,
    channel_id: int,
    results: int = 2,
    private: bool = False,
) -> FakeMessage:
    ix = await fake.invoke_slash(
        "ask",
        {"question": question, "results": results, "private": private},
        channel_id=channel_id,
        user_id=user.id,
    )
    return await ix.wait_for_final(ANSWER)


async def test_more_pages_through_new_hits_then_disables_itself(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    answer = await ask(fake, STRIKES, world.member, world.channel.id)
    assert len(fake.buttons(answer)) == 4 and not button(fake, answer, "more").get("disabled")
    seen = [[f["value"] for f in answer.embeds[0]["fields"]]]
    delays = []
    for _ in range(MAX_PAGES - 1):
        more = str(button(fake, answer, "more")["custom_id"])
        ix = await fake.press_button(answer, more, user_id=world.member.id)
        assert await ix.wait_for_response(ANSWER) == 6
        updated = await ix.wait_for_update(ANSWER)
        assert ix.update_delay is not None
        delays.append(ix.update_delay)
        (embed,) = updated.embeds
        assert_embed_fits(embed)
        seen.append([f["value"] for f in embed["fields"]])
    print(f"\npress-to-update (More): {', '.join(f'{d * 1000:.0f} ms' for d in delays)}")
    flat = [value for page in seen for value in page]
    assert len(flat) == len(set(flat))
    assert button(fake, answer, "more").get("disabled")
    assert answer.embeds[0]["footer"]["text"].endswith(f"page {MAX_PAGES}")
    assert not answer.pings


async def test_context_is_ephemeral_and_holds_the_quote(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    answer = await ask(fake, KIRBY, world.member, world.channel.id)

    ix = await fake.press_button(
        answer, str(button(fake, answer, "ctx")["custom_id"]), user_id=world.admin.id
    )
    shown = await ix.wait_for_final(ANSWER)

    assert ix.response_delay is not None and ix.response_delay < 3
    assert shown.ephemeral and shown.id != answer.id
    (embed,) = shown.embeds
    assert_embed_fits(embed)
    assert "**“Targets were chosen because" in embed["description"]
    assert embed["title"].startswith("The United States is attacking")
    assert not shown.pings


async def test_a_second_vote_by_the_same_member_replaces_the_first(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord, engine: Engine
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    answer = await ask(fake, KIRBY, world.member, world.channel.id)
    lines = []
    for action in ("down", "up"):
        ix = await fake.press_button(
            answer, str(button(fake, answer, action)["custom_id"]), user_id=world.admin.id
        )
        reply = await ix.wait_for_final(ANSWER)
        assert reply.ephemeral
        lines.append(reply.content)

    assert lines[0] == "Thanks, your 👎 is recorded."
    assert lines[1] == "Thanks, your vote is now 👍 (it replaces your earlier one)."
    assert engine.feedback_report(f"guild:{world.guild.id}").passages == ()


async def test_downvotes_demote_a_passage_in_that_server_only(
    discord_at_fake: FakeDiscord, bot_settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    settings = dataclasses.replace(bot_settings, downvotes_to_demote=2)
    engine = Engine(settings, embedder=embedder)
    engine.rebuild()
    other_owner = fake.add_user("other-owner")
    other = fake.add_guild("Other", owner_id=other_owner.id)
    other_channel = fake.add_channel(other.id, "general")
    voters = [world.member, world.admin]
    async with running_articlebot(fake, settings, engine):
        before = await ask(fake, KIRBY, world.member, world.channel.id)
        top = before.embeds[0]["fields"][0]["value"]
        for voter in voters:
            ix = await fake.press_button(
                before, str(button(fake, before, "down")["custom_id"]), user_id=voter.id
            )
            await ix.wait_for_final(ANSWER)
        here = await ask(fake, KIRBY, world.owner, world.channel.id)
        there = await ask(fake, KIRBY, other_owner, other_channel.id)

    assert here.embeds[0]["fields"][0]["value"] != top
    assert there.embeds[0]["fields"][0]["value"] == top
    report = engine.feedback_report(f"guild:{world.guild.id}")
    assert report.passages[0].down == 2 and report.passages[0].demoted


async def test_post_to_channel_is_the_askers_alone_and_pings_no_one(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    private = await ask(fake, KIRBY, world.member, world.channel.id, private=True)
    assert private.ephemeral
    post = str(button(fake, private, "post")["custom_id"])

    refused = await fake.press_button(private, post, user_id=world.admin.id, forged=True)
    refusal = await refused.wait_for_final(ANSWER)
    ix = await fake.press_button(private, post, user_id=world.member.id)
    (posted,) = await ix.wait_for_followups(1, ANSWER)

    assert refusal.ephemeral
    assert refusal.content == "Only the member who asked can post this answer to the channel."
    assert not posted.ephemeral
    assert posted.content == f"Asked by {world.member.mention}:"
    assert not posted.pings
    assert posted.embeds[0]["fields"][0]["name"] == private.embeds[0]["fields"][0]["name"]
    assert "ab:post:" not in str(posted.components)
    assert len(fake.buttons(posted)) == 4


async def test_a_reply_to_an_answer_is_answered_as_a_follow_up(
    discord_at_fake: FakeDiscord, bot_settings: Settings, shared_dir: Path, embedder: Embedder
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    (shared_dir / "lighthouse.txt").write_text(LIGHTHOUSE, encoding="utf-8")
    engine = Engine(bot_settings, embedder=embedder)
    engine.rebuild()
    async with running_articlebot(fake, bot_settings, engine):
        await fake.post_user_message(
            world.channel.id,
            world.member.id,
            "Who repainted the Zorblatt lighthouse?",
            mention_bot=True,
        )
        first = await fake.wait_for_bot_message(world.channel.id, timeout=ANSWER)
        await fake.post_user_message(
            world.channel.id,
            world.member.id,
            "Who paid for that?",
            mention_bot=True,
            reply_to=first.id,
        )
        followup = await fake.wait_for_bot_message(world.channel.id, timeout=ANSWER)

    assert first.embeds[0]["fields"][0]["name"].startswith("Zorblatt lighthouse")
    (embed,) = followup.embeds
    assert embed["description"] == "Follow-up to “Who repainted the Zorblatt lighthouse?”"
    assert embed["fields"][0]["name"].startswith("Zorblatt lighthouse")
    assert "harbour council paid" in embed["fields"][0]["value"]
    assert followup.message_reference is not None
    assert len(fake.buttons(followup)) == 4


async def test_an_expired_answer_gets_one_short_line(
    discord_at_fake: FakeDiscord, bot_settings: Settings, embedder: Embedder
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    # A retention of about 0.1 s: the answer has expired by the time its button is pressed.
    settings = dataclasses.replace(bot_settings, answer_retention_days=0.1 / 86400)
    engine = Engine(settings, embedder=embedder)
    engine.rebuild()
    async with running_articlebot(fake, settings, engine):
        answer = await ask(fake, KIRBY, world.member, world.channel.id)
        await asyncio.sleep(0.2)
        ix = await fake.press_button(
            answer, str(button(fake, answer, "more")["custom_id"]), user_id=world.member.id
        )
        (line,) = await ix.wait_for_followups(1, ANSWER)
        await fake.post_user_message(
            world.channel.id, world.member.id, KIRBY, mention_bot=True, reply_to=answer.id
        )
        reply = await fake.wait_for_bot_message(world.channel.id, timeout=ANSWER)

    # A reply to an expired answer is answered on its own terms.
    assert reply.embeds and "description" not in reply.embeds[0]
    assert reply.embeds[0]["fields"][0]["name"].startswith("The United States is attacking")
    assert line.ephemeral
    assert line.content == "That answer has expired or is unknown; ask the question again."
    # The answer itself is left as it was.
    assert ix.update_delay is None


async def test_feedback_lists_and_clears_down_votes_for_admins_only(
    articlebot: ArticleBot, discord_at_fake: FakeDiscord, engine: Engine
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    answer = await ask(fake, KIRBY, world.member, world.channel.id)
    down = str(button(fake, answer, "down")["custom_id"])
    await (await fake.press_button(answer, down, user_id=world.member.id)).wait_for_final(ANSWER)
    (passage,) = engine.feedback_report(f"guild:{world.guild.id}").passages

    denied = await fake.invoke_slash(
        "feedback", channel_id=world.channel.id, user_id=world.member.id, permission_override=True
    )
    report = await fake.invoke_slash(
        "feedback", channel_id=world.channel.id, user_id=world.admin.id
    )
    shown = await report.wait_for_final(ANSWER)
    cleared = await fake.invoke_slash(
        "feedback",
        {"clear": passage.passage_id},
        channel_id=world.channel.id,
        user_id=world.admin.id,
    )
    done = await cleared.wait_for_final(ANSWER)

    assert (await denied.wait_for_final(ANSWER)).content == (
        "You need the Manage Server permission for this command."
    )
    assert shown.ephemeral
    assert_embed_fits(shown.embeds[0])
    assert passage.passage_id in shown.text and "👎 1" in shown.text
    assert done.content.startswith("Cleared 1 vote(s)")
    assert engine.feedback_report(f"guild:{world.guild.id}").passages == ()


async def test_button_presses_share_a_per_member_rate_limit(
    discord_at_fake: FakeDiscord, bot_settings: Settings, engine: Engine
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    settings = dataclasses.replace(bot_settings, button_cooldown_seconds=60.0)
    async with running_articlebot(fake, settings, engine):
        answer = await ask(fake, KIRBY, world.member, world.channel.id)
        ctx = str(button(fake, answer, "ctx")["custom_id"])
        first = await fake.press_button(answer, ctx, user_id=world.member.id)
        await first.wait_for_final(ANSWER)
        second = await fake.press_button(answer, ctx, user_id=world.member.id)
        refused = await second.wait_for_final(ANSWER)
        other = await fake.press_button(answer, ctx, user_id=world.admin.id)
        allowed = await other.wait_for_final(ANSWER)

    assert refused.ephemeral and refused.content.startswith("You asked a moment ago; try again")
    assert allowed.embeds and not allowed.content
