"""The owner's chat commands. Only `sync`: registering slash commands is deliberate.

Written as `@bot sync [here] [clear]`: a mention, because without the message-content intent
that is the only message text a bot reads in a server (and any text in a DM).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from discord.ext import commands

from bot.discord_app.errors import GENERIC, explain
from bot.discord_app.sync import sync_tree

if TYPE_CHECKING:
    from bot.discord_app.client import ArticleBot

log = logging.getLogger(__name__)


class Owner(commands.Cog):
    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot

    @commands.command(name="sync")
    @commands.is_owner()
    async def sync(self, ctx: commands.Context[ArticleBot], *words: str) -> None:
        """`sync`: every server; `sync here`: this server now; `clear` removes instead."""
        unknown = set(words) - {"here", "clear"}
        if unknown:
            raise commands.BadArgument(
                "Use `sync`, `sync here`, `sync clear` or `sync clear here`."
            )
        here = "here" in words
        if here and ctx.guild is None:
            raise commands.NoPrivateMessage()
        guild_id = ctx.guild.id if here and ctx.guild is not None else None
        log.info("owner %s: sync here=%s clear=%s", ctx.author.id, here, "clear" in words)
        await ctx.reply(
            await sync_tree(self.bot.tree, guild_id, "clear" in words), mention_author=False
        )

    async def cog_command_error(self, ctx: commands.Context[Any], error: Exception) -> None:
        message = explain(error)
        if message is None:
            log.error("owner command %s failed", ctx.invoked_with, exc_info=error)
            message = GENERIC
        await ctx.reply(message, mention_author=False)


async def setup(bot: ArticleBot) -> None:
    await bot.add_cog(Owner(bot))
