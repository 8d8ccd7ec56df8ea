"""The bot: settings and engine passed in, cogs loaded in `setup_hook`, nothing synced."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.discord_app.cogs.admin import Admin
from bot.discord_app.cogs.ask import Ask
from bot.discord_app.cogs.conversation import Conversation
from bot.discord_app.cogs.feedback import Feedback
from bot.discord_app.cogs.feeds import Feeds
from bot.discord_app.cogs.owner import Owner
from bot.discord_app.components import AnswerButton, answer_id_in
from bot.discord_app.feed_task import FeedTask
from bot.discord_app.tree import ArticleTree
from config.settings import Settings

if TYPE_CHECKING:
    from index.engine import AnsweringEngine

log = logging.getLogger(__name__)


class ArticleBot(commands.Bot):
    def __init__(
        self,
        settings: Settings,
        engine: AnsweringEngine | None = None,
        *,
        guild_ready_timeout: float = 2.0,
        progress_interval: float = 1.5,
    ) -> None:
        # The bot has no voice features: no warnings at every start about voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        # The default intents leave out every privileged one: slash commands, mentions and DMs
        # all arrive with their content without the message-content intent.
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            # Quoted articles may contain @everyone or <@id>: nothing the bot sends pings.
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=ArticleTree,
            help_command=None,
            guild_ready_timeout=guild_ready_timeout,
        )
        self.settings = settings
        self._engine = engine
        self.progress_interval = progress_interval
        self.feed_task = FeedTask(self)

    @property
    def engine(self) -> AnsweringEngine:
        if self._engine is None:
            raise RuntimeError("the engine is attached before the bot connects")
        return self._engine

    def attach_engine(self, engine: AnsweringEngine) -> None:
        """Give the bot its engine; `serve` logs in first, so a bad token fails before the
        model is loaded."""
        self._engine = engine

    async def setup_hook(self) -> None:
        for cog in (
            Ask(self),
            Admin(self),
            Feeds(self),
            Owner(self),
            Conversation(self),
            Feedback(self),
        ):
            await self.add_cog(cog)
        # Buttons on answers sent before this start are answered too.
        self.add_dynamic_items(AnswerButton)
        # It waits until the bot is ready, by when `serve` has attached the engine.
        self.feed_task.start()

    async def close(self) -> None:
        await self.feed_task.stop()
        await super().close()

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s, in %d servers", self.user, len(self.guilds))

    async def is_owner(self, user: discord.abc.User) -> bool:
        """The operator's ARTICLEBOT_OWNER_IDS, and the application's owner (or team)."""
        if user.id in self.settings.owner_ids:
            return True
        return await super().is_owner(user)

    async def on_message(self, message: discord.Message) -> None:
        """An owner's command, or a question: a mention in a server, any message in a DM."""
        if message.author.bot or self.user is None:
            return
        context = await self.get_context(message)
        if context.command is not None and await self.is_owner(message.author):
            await self.invoke(context)
            return
        mentioned = self.user in message.mentions
        if mentioned or message.guild is None:
            question = re.sub(rf"<@!?{self.user.id}>", " ", message.content).strip()
            earlier = self._replied_answer(message)
            if earlier is not None and question:
                self.dispatch("followup", message, question, earlier)
            else:
                self.dispatch("question", message, question)

    def _replied_answer(self, message: discord.Message) -> str | None:
        """The answer id of the bot's message that `message` replies to, if any."""
        reference = message.reference
        replied = reference.resolved if reference is not None else None
        if not isinstance(replied, discord.Message) or self.user is None:
            return None
        if replied.author.id != self.user.id:
            return None
        return answer_id_in(replied)
