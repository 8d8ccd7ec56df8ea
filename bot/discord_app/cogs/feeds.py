"""`/feeds add|remove|list`: the news feeds a server follows. Manage Server only, checked in
code as well as by `default_permissions` (which a server can override). A server's feeds fill
its own collection; the worker polls them and the bot's feed task posts their headlines."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.builds import watch
from bot.discord_app.guards import MANAGE_SERVER, require_manage_server
from bot.discord_app.render import build_summary
from bot.discord_app.render_feeds import feed_added_text, feed_name, feed_page, feed_removed_text
from bot.discord_app.safe_text import one_line
from bot.discord_app.scope import own_collection
from index.jobs import FeedAdded, FeedRemoved, Job

if TYPE_CHECKING:
    from bot.discord_app.client import ArticleBot

log = logging.getLogger(__name__)

CHOICE_TEXT_LIMIT = 100


class Feeds(commands.Cog):
    feeds = app_commands.Group(
        name="feeds",
        description="News feeds this server follows",
        guild_only=True,
        default_permissions=MANAGE_SERVER,
    )

    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        return require_manage_server(interaction)

    async def _watch(self, interaction: discord.Interaction, job: Job) -> dict[str, Any]:
        return await watch(
            self.bot.engine.jobs,
            job,
            lambda line: interaction.edit_original_response(content=line),
            self.bot.progress_interval,
        )

    @feeds.command(name="add", description="Follow a news feed (or a site that links to one)")
    @app_commands.describe(
        url="The feed's address, or the site's page", channel="Post new headlines here"
    )
    async def add(
        self,
        interaction: discord.Interaction,
        url: str,
        channel: discord.TextChannel | None = None,
    ) -> None:
        collection = own_collection(_guild_id(interaction))
        await interaction.response.defer(ephemeral=True, thinking=True)
        job = await asyncio.to_thread(
            self.bot.engine.jobs.add_feed, collection, url.strip(), channel.id if channel else None
        )
        # The worker fetches the feed to check it, then polls it at once.
        info = FeedAdded.of(await self._watch(interaction, job)).info
        log.info("server %s: %s follows %s", interaction.guild_id, interaction.user.id, info.url)
        await interaction.edit_original_response(content=feed_added_text(info))

    @feeds.command(name="remove", description="Stop following a feed and drop its articles")
    @app_commands.describe(feed="Pick one as you type, or give its id from /feeds list")
    async def remove(self, interaction: discord.Interaction, feed: str) -> None:
        collection = own_collection(_guild_id(interaction))
        job = await asyncio.to_thread(self.bot.engine.jobs.remove_feed, collection, feed.strip())
        await interaction.response.send_message("Removing the feed…", ephemeral=True)
        done = FeedRemoved.of(await self._watch(interaction, job))
        info = done.info
        summary = build_summary(done.build, 1000) if done.build is not None else None
        log.info(
            "server %s: %s removed feed %s", interaction.guild_id, interaction.user.id, info.url
        )
        await interaction.edit_original_response(content=feed_removed_text(info, summary))

    @remove.autocomplete("feed")
    async def _complete_feed(
        self, interaction: discord.Interaction, typed: str
    ) -> list[app_commands.Choice[str]]:
        # Autocomplete runs without interaction_check: the same guard, here.
        if interaction.guild_id is None or not interaction.permissions.manage_guild:
            return []
        feeds = await asyncio.to_thread(
            self.bot.engine.list_feeds, own_collection(interaction.guild_id)
        )
        needle = one_line(typed).casefold()
        choices = []
        for info in feeds:
            name = f"{info.id} · {feed_name(info)}"
            if needle in name.casefold() or needle in info.url.casefold():
                label = name if len(name) <= CHOICE_TEXT_LIMIT else name[:99] + "…"
                choices.append(app_commands.Choice(name=label, value=str(info.id)))
        return choices[:25]

    @feeds.command(name="list", description="The feeds this server follows")
    @app_commands.describe(page="Page number (5 feeds a page)")
    async def list_feeds(
        self, interaction: discord.Interaction, page: app_commands.Range[int, 1, 10_000] = 1
    ) -> None:
        collection = own_collection(_guild_id(interaction))
        feeds = await asyncio.to_thread(self.bot.engine.list_feeds, collection)
        await interaction.response.send_message(embed=feed_page(feeds, page), ephemeral=True)


def _guild_id(interaction: discord.Interaction) -> int:
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    return interaction.guild_id


async def setup(bot: ArticleBot) -> None:
    await bot.add_cog(Feeds(bot))
