"""`/watch add|list|remove`: a question the bot answers by itself when a new article does.

A member watches for themselves (answers by DM); a watch posting in a channel needs Manage
Server, checked in code (a channel option cannot be hidden by `default_permissions`). In a
server a watch searches what `/ask` searches there; in a DM, the shared collection.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_app.guards import require_manage_server
from bot.discord_app.render_watch import (
    watch_added_text,
    watch_choice,
    watch_list_embed,
    watch_removed_text,
)
from bot.discord_app.safe_text import one_line
from bot.discord_app.scope import own_collection
from index.engine import Watch, WatchPlace, WatchTarget
from index.errors import InputError
from index.models import SHARED_COLLECTION

if TYPE_CHECKING:
    from bot.discord_app.client import ArticleBot

log = logging.getLogger(__name__)


class Watches(commands.Cog):
    watch = app_commands.Group(
        name="watch", description="Questions answered as soon as a new article does"
    )

    def __init__(self, bot: ArticleBot) -> None:
        self.bot = bot

    @watch.command(name="add", description="Watch a question: its answer is posted when it arrives")
    @app_commands.describe(
        question="What you want to know",
        channel="Post the answers in this channel (Manage Server) instead of by DM",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, 300],
        channel: discord.TextChannel | None = None,
    ) -> None:
        guild_id = interaction.guild_id
        collection = own_collection(guild_id) if guild_id is not None else SHARED_COLLECTION
        user = str(interaction.user.id)
        if channel is not None:
            require_manage_server(interaction)
            place = WatchPlace(collection, user, WatchTarget.CHANNEL, channel.id)
        else:
            place = WatchPlace(collection, user, WatchTarget.DM)
        await interaction.response.defer(ephemeral=True, thinking=True)
        added = await asyncio.to_thread(self.bot.engine.watches.add, question, place)
        log.info("%s watches #%d in %s", user, added.watch.id, collection)
        await interaction.edit_original_response(content=watch_added_text(added))

    @watch.command(name="list", description="The questions you watch (and this server's channels')")
    async def list_watches(self, interaction: discord.Interaction) -> None:
        watches = await asyncio.to_thread(self._visible, interaction)
        await interaction.response.send_message(embed=watch_list_embed(watches), ephemeral=True)

    @watch.command(name="remove", description="Stop watching a question")
    @app_commands.describe(watch="Pick one as you type, or give its number from /watch list")
    async def remove(self, interaction: discord.Interaction, watch: str) -> None:
        try:
            watch_id = int(watch.strip().lstrip("#"))
        except ValueError:
            raise InputError(f"“{one_line(watch)[:50]}” is not a watch number.") from None
        admin_of = (
            own_collection(interaction.guild_id)
            if interaction.guild_id is not None and interaction.permissions.manage_guild
            else None
        )
        removed = await asyncio.to_thread(
            self.bot.engine.watches.remove,
            watch_id,
            owner=str(interaction.user.id),
            channels_of=admin_of,
        )
        await interaction.response.send_message(watch_removed_text(removed), ephemeral=True)

    @remove.autocomplete("watch")
    async def _complete_watch(
        self, interaction: discord.Interaction, typed: str
    ) -> list[app_commands.Choice[str]]:
        watches = await asyncio.to_thread(self._visible, interaction)
        needle = one_line(typed).casefold().lstrip("#")
        return [
            app_commands.Choice(name=watch_choice(w), value=str(w.id))
            for w in watches
            if needle in watch_choice(w).casefold()
        ][:25]

    def _visible(self, interaction: discord.Interaction) -> list[Watch]:
        """The member's own watches, and in a server they manage, its channel watches."""
        desk = self.bot.engine.watches
        mine = desk.watches(owner=str(interaction.user.id))
        if interaction.guild_id is None or not interaction.permissions.manage_guild:
            return mine
        known = {w.id for w in mine}
        channels = [
            w
            for w in desk.watches(collection=own_collection(interaction.guild_id))
            if w.target is WatchTarget.CHANNEL and w.id not in known
        ]
        return mine + channels


async def setup(bot: ArticleBot) -> None:
    await bot.add_cog(Watches(bot))
