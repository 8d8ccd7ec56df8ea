"""The bot: settings and engine passed in, cogs loaded as extensions in `setup_hook`, nothing
synced.

Each cog module is an extension with its own `setup(bot)`; this module imports none of them.
What cogs share (settings, engine, the question gate, the build slot, the feed task) lives on
the bot, typed, so a cog reaches it as `self.bot.<name>`.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.discord_app.answers import AnswerPipeline
from bot.discord_app.components import answer_id_in
from bot.discord_app.feed_task import FeedTask
from bot.discord_app.questions import QuestionGate
from bot.discord_app.tree import ArticleTree
from config.settings import Settings

if TYPE_CHECKING:
    from index.engine import AnsweringEngine

log = logging.getLogger(__name__)

# Loaded in this order; each module's `setup(bot)` adds its cog.
EXTENSIONS = tuple(
    f"bot.discord_app.cogs.{name}"
    for name in ("ask", "admin", "feeds", "owner", "conversation", "feedback")
)


class ArticleBot(commands.Bot):
    def __init__(
        self,
        settings: Settings,
        engine: AnsweringEngine | None = None,
        *,
        guild_ready_timeout: float = 2.0,
        progress_interval: float = 1.5,
        **shard_options: Any,
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
            **shard_options,
        )
        self.settings = settings
        self._engine = engine
        self.questions = QuestionGate(settings)
        self.progress_interval = progress_interval
        self.feed_task = FeedTask(self)

    @property
    def engine(self) -> AnsweringEngine:
        if self._engine is None:
            raise RuntimeError("the engine is attached before the bot connects")
        return self._engine

    @property
    def answers(self) -> AnswerPipeline:
        return AnswerPipeline(self.engine)

    @property
    def sharded(self) -> bool:
        """Whether this process runs some of the bot's shards beside other processes."""
        return False

    def holds(self, guild_id: int | None) -> bool:
        """Whether Discord sends this server's events (None: DMs) to this process: always,
        unsharded."""
        return True

    def attach_engine(self, engine: AnsweringEngine) -> None:
        """Give the bot its engine; `serve` logs in first, so a bad token fails before the
        model is loaded."""
        self._engine = engine

    async def setup_hook(self) -> None:
        for name in EXTENSIONS:
            await self.load_extension(name)
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
