"""The fake's buttons: a press is a type 3 interaction carrying the message and custom_id;
callback 7 updates the message at once, 6 defers and @original then edits the pressed
message; the 3 s rule holds for presses; disabled buttons cannot be pressed; a reply carries
its message_reference and the referenced message."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest
from discord import app_commands

from tests.discord.fake_discord import FakeDiscord, FakeDiscordError

TIMEOUT = 10.0


class Buttons(discord.ui.View):
    def __init__(self, release: asyncio.Event, errors: asyncio.Queue[Exception]) -> None:
        super().__init__(timeout=None)
        self.release = release
        self.errors = errors

    @discord.ui.button(label="Now", custom_id="now")
    async def now(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await interaction.response.edit_message(content="updated now")

    @discord.ui.button(label="Later", custom_id="later")
    async def later(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await interaction.response.defer()
        await interaction.edit_original_response(content="updated later")
        await interaction.followup.send("done", ephemeral=True)

    @discord.ui.button(label="Slow", custom_id="slow")
    async def slow(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        await asyncio.wait_for(self.release.wait(), TIMEOUT)
        try:
            await interaction.response.defer()
        except discord.NotFound as error:
            await self.errors.put(error)

    @discord.ui.button(label="Off", custom_id="off", disabled=True)
    async def off(self, interaction: discord.Interaction, _: discord.ui.Button[Any]) -> None:
        raise AssertionError("a disabled button cannot be pressed")


class ButtonBot(discord.Client):
    def __init__(self) -> None:
        super().__init__(intents=discord.Intents.default(), guild_ready_timeout=0.1)
        self.tree = app_commands.CommandTree(self)
        self.release = asyncio.Event()
        self.errors: asyncio.Queue[Exception] = asyncio.Queue()
        self.replies: asyncio.Queue[discord.Message] = asyncio.Queue()

        @self.tree.command(description="Shows buttons")
        async def panel(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(
                "panel", view=Buttons(self.release, self.errors)
            )

    async def on_message(self, message: discord.Message) -> None:
        if self.user is not None and message.author.id != self.user.id:
            await self.replies.put(message)


@contextlib.asynccontextmanager
async def button_bot(fake: FakeDiscord) -> AsyncIterator[ButtonBot]:
    bot = ButtonBot()
    runner = asyncio.create_task(bot.start(fake.token))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), TIMEOUT)
        await bot.tree.sync()
        await fake.wait_for_commands("panel", timeout=TIMEOUT)
        yield bot
    finally:
        await bot.close()
        await asyncio.wait_for(runner, TIMEOUT)


async def test_update_now_defer_then_edit_and_the_three_second_rule(
    discord_at_fake: FakeDiscord,
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    async with button_bot(fake) as bot:
        ix = await fake.invoke_slash("panel", channel_id=world.channel.id, user_id=world.member.id)
        panel = await ix.wait_for_final(TIMEOUT)
        assert [b["custom_id"] for b in fake.buttons(panel)] == ["now", "later", "slow", "off"]

        now = await fake.press_button(panel, "now", user_id=world.member.id)
        assert await now.wait_for_response(TIMEOUT) == 7
        assert (await now.wait_for_update(TIMEOUT)).content == "updated now"
        assert now.payload["data"] == {"custom_id": "now", "component_type": 2}
        assert now.payload["message"]["id"] == str(panel.id)

        later = await fake.press_button(panel, "later", user_id=world.member.id)
        assert await later.wait_for_response(TIMEOUT) == 6
        assert (await later.wait_for_update(TIMEOUT)).content == "updated later"
        assert later.update_delay is not None and later.update_delay >= 0
        (done,) = await later.wait_for_followups(1, TIMEOUT)
        assert done.ephemeral and done.id != panel.id

        slow = await fake.press_button(panel, "slow", user_id=world.member.id)
        await slow.wait_until_expired(TIMEOUT)
        bot.release.set()
        refusal = await asyncio.wait_for(bot.errors.get(), TIMEOUT)
        assert isinstance(refusal, discord.NotFound) and refusal.code == 10062
        assert not slow.acknowledged

        with pytest.raises(FakeDiscordError, match="disabled"):
            await fake.press_button(panel, "off", user_id=world.member.id)
        with pytest.raises(FakeDiscordError, match="no button"):
            await fake.press_button(panel, "missing", user_id=world.member.id)


async def test_a_reply_carries_its_reference_and_the_referenced_message(
    discord_at_fake: FakeDiscord,
) -> None:
    fake, world = discord_at_fake, discord_at_fake.world
    async with button_bot(fake) as bot:
        ix = await fake.invoke_slash("panel", channel_id=world.channel.id, user_id=world.member.id)
        panel = await ix.wait_for_final(TIMEOUT)
        await fake.post_user_message(
            world.channel.id, world.member.id, "and then?", mention_bot=True, reply_to=panel.id
        )
        reply = await asyncio.wait_for(bot.replies.get(), TIMEOUT)
    assert reply.reference is not None and reply.reference.message_id == panel.id
    resolved = reply.reference.resolved
    assert isinstance(resolved, discord.Message)
    assert resolved.components and resolved.author.id == fake.bot_user.id
