"""The command tree with the one error handler every slash command goes through."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.discord_app.errors import GENERIC, explain

log = logging.getLogger(__name__)


class ArticleTree(app_commands.CommandTree[Any]):
    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        message = explain(error)
        if message is None:
            name = interaction.command.qualified_name if interaction.command else "?"
            log.error("/%s failed", name, exc_info=error)
            message = GENERIC
        await tell(interaction, message)


async def tell(interaction: discord.Interaction[Any], message: str) -> None:
    """Show `message` to the user who ran the command, and only to them when possible.

    Before any response it is an ephemeral reply; after one (a deferral, a progress line) the
    command's own reply becomes the message, so no stale "thinking…" or progress stays behind.
    """
    try:
        if interaction.response.is_done():
            await interaction.edit_original_response(content=message, embeds=[])
        else:
            await interaction.response.send_message(message, ephemeral=True)
    except discord.HTTPException as error:
        log.warning("could not tell the user about an error: %s", error)
