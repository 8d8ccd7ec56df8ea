"""What members do with an answer: the buttons under it (More, Context, 👍/👎, Post to
channel) and follow-up questions asked by replying to it.

Every press is acknowledged at once (a deferred update, or a deferred ephemeral reply) and
the engine's work runs in a worker thread. The engine checks the answer's stored scope against
the place of the press, so a button copied from another server's answer reveals nothing:
that answer is simply unknown here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.discord_app.answers import AnswerMessage, AnswerOrigin, reply_with_answer
from bot.discord_app.components import AnswerButton
from bot.discord_app.cooldown import Cooldown
from bot.discord_app.errors import GENERIC, explain
from bot.discord_app.render_conversation import (
    asked_by,
    context_embed,
    vote_line,
)
from bot.discord_app.scope import answer_scope
from index.errors import InputError

if TYPE_CHECKING:
    from bot.discord_app.client import ArticleBot

log = logging.getLogger(__name__)


class Conversation(commands.Cog):
    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot
        self.cooldown = Cooldown(bot.settings.button_cooldown_seconds)

    async def cog_load(self) -> None:
        # The buttons are answered by this cog: on answers sent before this start too.
        self.bot.add_dynamic_items(AnswerButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(AnswerButton)

    async def on_button(
        self, interaction: discord.Interaction[Any], action: str, answer_id: str, page: int
    ) -> None:
        try:
            self.cooldown.take(interaction.user.id)
            scope = answer_scope(interaction.guild_id, interaction.user.id)
            if action == "more":
                await self._more(interaction, answer_id, page, scope)
            elif action == "ctx":
                await self._context(interaction, answer_id, page, scope)
            elif action in ("up", "down"):
                await self._vote(interaction, answer_id, page, scope, 1 if action == "up" else -1)
            else:
                await self._post(interaction, answer_id, scope)
        except Exception as error:
            text = explain(error)
            if text is None:
                log.exception("the %s button failed", action)
                text = GENERIC
            await _tell(interaction, text)

    async def _more(
        self, interaction: discord.Interaction[Any], answer_id: str, page: int, scope: str
    ) -> None:
        # A search takes longer than an acknowledgement may: the message is updated later.
        await interaction.response.defer()
        found = await self.bot.answers.more(answer_id, page, scope)
        if found.embed is None:
            await interaction.edit_original_response(view=found.view)
            await _tell(interaction, "There are no further passages for this question.")
        else:
            await interaction.edit_original_response(embed=found.embed, view=found.view)

    async def _context(
        self, interaction: discord.Interaction[Any], answer_id: str, page: int, scope: str
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        context = await asyncio.to_thread(self.bot.engine.context, answer_id, scope, page)
        await interaction.followup.send(embed=context_embed(context), ephemeral=True)

    async def _vote(
        self,
        interaction: discord.Interaction[Any],
        answer_id: str,
        page: int,
        scope: str,
        value: int,
    ) -> None:
        engine, member = self.bot.engine, str(interaction.user.id)

        def vote() -> str:
            record = engine.answer(answer_id, scope)
            if page >= len(record.pages) or not record.pages[page]:
                raise InputError("There is nothing on this page to vote on.")
            passage = record.pages[page][0].passage_id
            return vote_line(engine.vote(scope, answer_id, passage, member, value))

        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(await asyncio.to_thread(vote), ephemeral=True)

    async def _post(
        self, interaction: discord.Interaction[Any], answer_id: str, scope: str
    ) -> None:
        engine = self.bot.engine
        record = await asyncio.to_thread(engine.answer, answer_id, scope)
        if record.asker != str(interaction.user.id):
            raise InputError("Only the member who asked can post this answer to the channel.")
        if not record.private:
            raise InputError("This answer is already public.")
        await interaction.response.defer()
        origin = AnswerOrigin(
            scope, interaction.user.id, record.k, record.collections or (), filters=record.filters
        )
        reply = await self.bot.answers.ask(record.question, origin)
        await interaction.followup.send(
            asked_by(interaction.user.mention),
            embed=reply.embed,
            view=reply.view,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @commands.Cog.listener()
    async def on_followup(self, message: discord.Message, question: str, answer_id: str) -> None:
        """A reply to one of the bot's answers that mentions the bot."""
        pipeline = self.bot.answers

        def followup(question: str, origin: AnswerOrigin) -> Awaitable[AnswerMessage]:
            return pipeline.followup(question, answer_id, origin)

        await reply_with_answer(message, question, self.bot.questions, followup, "a follow-up")


async def _tell(interaction: discord.Interaction[Any], text: str) -> None:
    """A short line only the presser sees, whether or not the press was acknowledged yet."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException as error:
        log.warning("could not tell the user about an error: %s", error)


async def setup(bot: ArticleBot) -> None:
    await bot.add_cog(Conversation(bot))
